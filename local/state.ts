/**
 * What `npm start` tells other terminals: where the local receiver and its emulator
 * resources are, so `npm run cli -- …` needs no flags in local mode.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LocalState {
  readonly version: 1;
  /** The `npm start` process; the file is ignored once it is gone. */
  readonly pid: number;
  readonly startedAt: string;
  readonly endpoint: string;
  readonly imagesUrl: string;
  readonly streamUrl: string;
  readonly tableName: string;
  readonly eventBusName: string;
  readonly eventBusArn: string;
  readonly secretId: string;
  readonly watchQueueUrl: string;
  /** `POST /uploads`, served by npm start. */
  readonly uploadsUrl?: string;
  /** The read-only Cloudflare token's secret `{accountId, apiToken}` (`images sync`). */
  readonly readSecretId?: string;
  /** The bus's archive (`events replay`). */
  readonly eventArchiveArn?: string;
  /** The stream relay's dead-letter queue (`events redrive`). */
  readonly relayDeadLetterQueueUrl?: string;
  /** The API root of the local stand-in of Cloudflare's API (`images sync`). */
  readonly cloudflareBaseUrl?: string;
}

/** Overrides the state file's path, so a second local receiver (or a test) does not clobber the first. */
export const LOCAL_STATE_ENV = 'CF_WEBHOOK_LOCAL_STATE' as const;

const defaultPath = join(fileURLToPath(new URL('..', import.meta.url)), '.build', 'local.json');

export function localStatePath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env[LOCAL_STATE_ENV] || defaultPath;
}

export async function writeLocalState(path: string, state: LocalState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // Written whole then renamed, so a CLI starting at that moment never reads half a file.
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(state, null, 2)}\n`);
  await rename(partial, path);
}

export type LocalStateLookup =
  | { readonly found: true; readonly state: LocalState }
  | { readonly found: false; readonly reason: string };

export async function readLocalState(path: string): Promise<LocalStateLookup> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { found: false, reason: `no local receiver is running (${path} does not exist)` };
  }
  const state = JSON.parse(text) as LocalState;
  if (state.version !== 1) return { found: false, reason: `${path} was written by another version; restart npm start` };
  if (!isRunning(state.pid)) return { found: false, reason: `the local receiver in ${path} (pid ${state.pid}) is no longer running` };
  return { found: true, state };
}

/** Removes the file only if it still describes `pid`: a newer `npm start` may have replaced it. */
export async function removeLocalState(path: string, pid: number): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === undefined || (JSON.parse(current) as LocalState).pid !== pid) return;
  await rm(path, { force: true });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
