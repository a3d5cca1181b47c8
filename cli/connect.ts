/**
 * `connect`: tells Cloudflare where this stack's webhooks are, with the official SDK, and
 * stores the secrets Cloudflare will use in the stack's webhook secret.
 *
 * - Stream: `PUT /accounts/{id}/stream/webhook` with the Stream URL, unless Cloudflare already
 *   delivers there; the signing secret it returns becomes the current `stream` value. Cloudflare
 *   issues a new secret when the URL changes: the previous one stays accepted for `--grace`.
 * - Images: a Notifications webhook destination for the Images URL, created (or updated) with a
 *   freshly generated secret that is stored before Cloudflare gets it, and a notification
 *   policy for `image_notification` that delivers to it.
 * - Optionally the upload route's API secret and the read-only API secret, each
 *   `{accountId, apiToken}`.
 *
 * Found, not duplicated: a second run changes nothing that is already right, drops values
 * whose grace has ended, and says so. `--dry-run` only reads. Tokens never come from the command
 * line (`cli/tokens.ts`); every secret is written with compare-and-swap (`cli/secret-store.ts`).
 *
 * One file per step: connect-stream.ts, connect-images.ts with connect-policy.ts,
 * connect-api-secret.ts; the webhook secret as a run edits it in connect-secret.ts.
 */
import { connectApiSecret } from './connect-api-secret.js';
import { cloudflareClient } from './connect-cloudflare.js';
import { connectImages } from './connect-images.js';
import { webhookSecretEditor } from './connect-secret.js';
import { connectStream } from './connect-stream.js';
import type { ApiSecretTarget, ConnectAction, ConnectArea, ConnectReport, ConnectSettings } from './connect-types.js';
import { str } from './command-options.js';
import { UsageError } from './errors.js';
import { durationMs } from './format.js';
import type { Command } from './index.js';
import { secretsManagerStore } from './secret-store.js';
import { howToPass, readTokens, TOKEN_ENV, TokenKind } from './tokens.js';
import { describeStack, required, resolveTarget, StackOutput, type TargetFlags } from './target.js';

export type { ConnectSettings } from './connect-types.js';

const DEFAULT_GRACE_MS = 60 * 60_000;

export async function connect(settings: ConnectSettings): Promise<ConnectReport> {
  const { accountId, dryRun = false } = settings;
  const cf = cloudflareClient(settings);
  const actions: ConnectAction[] = [];
  const act = (area: ConnectArea, result: ConnectAction['result'], message: string, id?: string) =>
    actions.push({ area, result: dryRun && result !== 'unchanged' && result !== 'warning' ? 'planned' : result, message, ...(id && { id }) });

  const secret = await webhookSecretEditor(settings, act);
  if (settings.only !== 'images') await connectStream(cf, settings, secret, act);
  if (settings.only !== 'stream') await connectImages(cf, settings, secret, act);
  // Writes what pruning alone changed.
  await secret.update((s) => s);
  if (settings.uploads) await connectApiSecret(settings, 'uploads', settings.uploads, act);
  if (settings.read) await connectApiSecret(settings, 'read', settings.read, act);
  return { accountId, dryRun, actions };
}

/** `90s`, `30m`, `1h`, `2d`, or `0`. */
export function parseDuration(text: string, flag: string): number {
  const ms = text.trim() === '0' ? 0 : durationMs(text);
  if (ms === undefined) throw new UsageError(`${flag} takes a duration such as 30m, 1h or 2d (or 0), got '${text}'`);
  return ms;
}

export function formatConnectReport(report: ConnectReport): string {
  const head = `Cloudflare account ${report.accountId}${report.dryRun ? ' (dry run: nothing changed)' : ''}`;
  const lines = report.actions.map((a) => `  ${a.area.padEnd(8)} ${a.result.padEnd(9)} ${a.message}${a.id && !a.message.includes(a.id) ? ` [id ${a.id}]` : ''}`);
  return [head, ...lines].join('\n');
}

type RunArgs = Parameters<Command['run']>[0];

/** The command as `cli/index.ts` registers it (`lazy`). */
export const runConnect: Command['run'] = async ({ flags, io }) => {
  const report = await connect(await connectSettings(flags, io));
  io.out(flags.json ? JSON.stringify(report, null, 2) : formatConnectReport(report));
};

/** The command's flags, then the stack's outputs, as connect's settings. */
async function connectSettings(flags: RunArgs['flags'], io: RunArgs['io']): Promise<ConnectSettings> {
  const { accountId, apiToken, tokens, only, graceMs } = await checkedFlags(flags, io);
  // The stack's outputs, read once: resolveTarget gets the receiver's, the upload secret is ours.
  let outputs: Record<string, string> = {};
  const target = await resolveTarget(flags as TargetFlags, {
    env: io.env,
    describeStackOutputs: async (stackName, config) => (outputs = await describeStack(stackName, config)),
  });
  const uploads = apiSecretTarget('uploads', str(flags, 'uploads-secret') ?? outputs[StackOutput.CloudflareApiSecretArn], tokens.uploads, StackOutput.CloudflareApiSecretArn);
  const read = apiSecretTarget('read', str(flags, 'read-secret') ?? outputs[StackOutput.CloudflareReadSecretArn], tokens.read, StackOutput.CloudflareReadSecretArn);
  const baseURL = str(flags, 'base-url') ?? io.env.CLOUDFLARE_BASE_URL;
  return {
    accountId,
    apiToken,
    ...(baseURL && { baseURL }),
    imagesUrl: only === 'stream' ? target.imagesUrl ?? '' : required(target, 'imagesUrl'),
    streamUrl: only === 'images' ? target.streamUrl ?? '' : required(target, 'streamUrl'),
    secretId: required(target, 'secretId'),
    secrets: secretsManagerStore(target.clientConfig),
    graceMs,
    rotate: flags.rotate === true,
    dryRun: flags['dry-run'] === true,
    ...(only && { only }),
    name: str(flags, 'name') ?? `cloudflare-webhook ${str(flags, 'stack') ?? hostOf(target.imagesUrl ?? target.streamUrl)}`,
    ...(uploads && { uploads }),
    ...(read && { read }),
    now: io.now,
  };
}

/** What the flags and the environment say, checked before anything is asked of AWS or Cloudflare. */
async function checkedFlags(flags: RunArgs['flags'], io: RunArgs['io']) {
  const accountId = str(flags, 'account-id') ?? io.env.CLOUDFLARE_ACCOUNT_ID;
  if (!accountId) throw new UsageError('connect needs --account-id (or $CLOUDFLARE_ACCOUNT_ID)');
  const tokens = await readTokens(flags, io.env, io.readInput);
  const apiToken = tokens.api;
  if (!apiToken) throw new UsageError(`connect needs a Cloudflare API token with Stream Write and Notifications Write: ${howToPass(TokenKind.Api)}`);
  const only = str(flags, 'only');
  if (only !== undefined && only !== 'images' && only !== 'stream') throw new UsageError(`--only is images or stream, got '${only}'`);
  const grace = str(flags, 'grace');
  const graceMs = grace === undefined ? DEFAULT_GRACE_MS : parseDuration(grace, '--grace');
  return { accountId, apiToken, tokens, only: only as ConnectSettings['only'], graceMs };
}

/** Where an API secret's token goes, or an error when a token was given for a secret the stack does not have. */
function apiSecretTarget(area: 'uploads' | 'read', secretId: string | undefined, apiToken: string | undefined, output: string): ApiSecretTarget | undefined {
  if (!secretId) {
    if (apiToken === undefined) return undefined;
    const deploy = area === 'uploads' ? 'deploy with -c uploads=true or pass --uploads-secret' : 'pass --read-secret';
    throw new UsageError(`a ${area} token (${TOKEN_ENV[area]} or --token-stdin ${area}) was given, but this stack has no ${output} output: ${deploy}`);
  }
  return { secretId, ...(apiToken !== undefined && { apiToken }) };
}

function hostOf(url: string | undefined): string {
  try {
    return url ? new URL(url).host : 'local';
  } catch {
    return 'local';
  }
}

