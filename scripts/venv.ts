/**
 * Python tools the project needs (moto, cfn-lint), each installed once into its own
 * project-local virtualenv under .cache/, so nobody has to set Python up.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { repoRoot } from './root.js';

// A lock older than this belongs to an install that died without cleaning up.
const STALE_LOCK_MS = 10 * 60_000;

export { repoRoot } from './root.js';

export interface Venv {
  /** Folder under .cache/, e.g. 'emulator-venv'. */
  readonly name: string;
  /** What pip installs, space-separated, pinned. */
  readonly spec: string;
  /** Prefix of the progress lines. */
  readonly label: string;
}

export const venvDir = (venv: Venv) => join(repoRoot, '.cache', venv.name);
export const venvBin = (venv: Venv, command: string) => join(venvDir(venv), 'bin', command);

/**
 * Installs `spec` unless a stamp says this exact spec is there; returns the venv's bin folder.
 * Serialised by a lock file, because several test processes may ask at once.
 */
export async function ensureVenv(venv: Venv, probe: string): Promise<string> {
  const dir = venvDir(venv);
  const stampFile = join(dir, '.installed');
  const lockFile = `${dir}.lock`;
  const installed = async () => (await readFile(stampFile, 'utf8').catch(() => '')) === venv.spec && existsSync(venvBin(venv, probe));
  if (await installed()) return join(dir, 'bin');

  const release = await acquireLock(lockFile);
  try {
    // Another process may have finished the install while we waited for the lock.
    if (await installed()) return join(dir, 'bin');
    const started = Date.now();
    process.stderr.write(`${venv.label}: installing ${venv.spec} into ${relative(process.cwd(), dir)} (first run only)\n`);
    // A venv from another pin or a half-finished install is cheaper to rebuild than to repair.
    await rm(dir, { recursive: true, force: true });
    await run(process.env.PYTHON ?? 'python3', ['-m', 'venv', dir]);
    await run(venvBin(venv, 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...venv.spec.split(' ')]);
    await writeFile(stampFile, venv.spec);
    process.stderr.write(`${venv.label}: installed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return join(dir, 'bin');
  } finally {
    await release();
  }
}

async function acquireLock(lockFile: string): Promise<() => Promise<void>> {
  await mkdir(dirname(lockFile), { recursive: true });
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(lockFile).catch(() => {});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await lockIsStale(lockFile)) {
      await unlink(lockFile).catch(() => {});
      continue;
    }
    await new Promise<void>((done) => setTimeout(done, 250));
  }
}

async function lockIsStale(lockFile: string): Promise<boolean> {
  try {
    const [pid, info] = await Promise.all([readFile(lockFile, 'utf8'), stat(lockFile)]);
    if (Date.now() - info.mtimeMs > STALE_LOCK_MS) return true;
    if (!pid) return false; // The owner has created the file but not written its pid yet.
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    // ESRCH: the owner is gone. ENOENT: released meanwhile, so just retry.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Runs a command with its output on our stderr, so stdout stays clean for callers that parse it. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 2, 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolveRun() : reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal})`)),
    );
  });
}
