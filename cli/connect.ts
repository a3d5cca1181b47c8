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
 */
import { randomBytes } from 'node:crypto';
import Cloudflare, { APIError, NotFoundError } from 'cloudflare';
import { ApiSecretKey, SecretKey } from '../lambda/core/contract';
import { connectOptions } from './connect-options';
import { CliError, UsageError } from './errors';
import { UNIT_MS } from './format';
import type { Command } from './index';
import { SecretConflictError, secretsManagerStore, short, type SecretStore, type StoredSecret } from './secret-store';
import { howToPass, readTokens, TOKEN_ENV, TokenKind } from './tokens';
import {
  accept,
  activate,
  activeValues,
  fingerprint,
  parseWebhookSecret,
  pruneRetired,
  serializeWebhookSecret,
  type RotatedKey,
  type SecretChange,
  type WebhookSecret,
} from './secret-rotation';
import { describeStack, required, resolveTarget, StackOutput, type TargetFlags } from './target';
import { CLOUDFLARE_API } from '../lambda/core/cloudflare';

export { secretsManagerStore, type SecretStore } from './secret-store';

export type ConnectArea = 'secret' | 'stream' | 'images' | 'policy' | 'uploads' | 'read';

export interface ConnectAction {
  readonly area: ConnectArea;
  /** `unchanged` when Cloudflare or the secret already had it right; `planned` in a dry run. */
  readonly result: 'created' | 'updated' | 'stored' | 'dropped' | 'unchanged' | 'planned' | 'warning';
  readonly message: string;
  readonly id?: string;
}

export interface ConnectReport {
  readonly accountId: string;
  readonly dryRun: boolean;
  readonly actions: readonly ConnectAction[];
}

export interface ConnectSettings {
  readonly accountId: string;
  readonly apiToken: string;
  /** @default Cloudflare's API */
  readonly baseURL?: string;
  readonly imagesUrl: string;
  readonly streamUrl: string;
  /** The webhook secret `{images, stream, toolkit}`. */
  readonly secretId: string;
  readonly secrets: SecretStore;
  readonly graceMs: number;
  readonly rotate?: boolean;
  readonly dryRun?: boolean;
  readonly only?: 'images' | 'stream';
  /** Name of the webhook destination; the policy is named after it. */
  readonly name: string;
  /** The upload route's secret, and a token to store in it. */
  readonly uploads?: ApiSecretTarget;
  /** The read-only API secret, and a token to store in it. */
  readonly read?: ApiSecretTarget;
  readonly now: () => Date;
  /** @default 2 (the SDK's default) */
  readonly maxRetries?: number;
}

export interface ApiSecretTarget {
  readonly secretId: string;
  readonly apiToken?: string;
}

/** Attempts at one write of the webhook secret while others keep changing it. */
const MAX_SECRET_WRITES = 3;
const IMAGES_ALERT = 'image_notification';
const DEFAULT_GRACE_MS = 60 * 60_000;

export async function connect(settings: ConnectSettings): Promise<ConnectReport> {
  const { accountId, dryRun = false } = settings;
  const cf = new Cloudflare({
    apiToken: settings.apiToken,
    // Explicit, so nothing but the settings decides where requests go or how they authenticate.
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: settings.baseURL ?? CLOUDFLARE_API,
    maxRetries: settings.maxRetries ?? 2,
    timeout: 30_000,
  });
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

type Act = (area: ConnectArea, result: ConnectAction['result'], message: string, id?: string) => void;

/** The webhook secret as this run sees it, and the one way to change it. */
interface WebhookSecretEditor {
  readonly current: WebhookSecret;
  /**
   * Applies `change` and writes the result (not in a dry run) with compare-and-swap. If someone
   * else wrote the secret since this run read it, says so and applies `change` again on top of
   * what they wrote, so neither side's values are lost.
   */
  update(change: (secret: WebhookSecret) => WebhookSecret): Promise<WebhookSecret>;
}

async function webhookSecretEditor(settings: ConnectSettings, act: Act): Promise<WebhookSecretEditor> {
  const { secretId, secrets, dryRun, now } = settings;
  const read = () =>
    secrets.read(secretId).catch((error: unknown) => {
      throw new CliError(`could not read the webhook secret ${secretId}: ${(error as Error).message}`, 1, { cause: error });
    });
  // Values whose grace has ended are dropped first, from whichever version is being changed.
  const parsed = (stored: StoredSecret) => {
    try {
      return pruneRetired(parseWebhookSecret(stored.text), now());
    } catch (error) {
      throw new CliError(`${(error as Error).message} (${secretId})`);
    }
  };

  let written = await read();
  const start = parsed(written);
  let secret = start.secret;
  for (const change of start.dropped) {
    act('secret', 'dropped', `${dryRun ? 'would drop' : 'dropped'} ${change.key} value ${change.fingerprint} (accepted until ${change.notAfter})`);
  }
  return {
    get current() {
      return secret;
    },
    async update(change) {
      secret = change(secret);
      for (let attempt = 1; !dryRun; attempt++) {
        const text = serializeWebhookSecret(secret);
        if (text === written.text) break;
        try {
          written = { text, version: await secrets.write(secretId, text, written.version) };
          break;
        } catch (error) {
          if (!(error instanceof SecretConflictError)) throw new CliError(`could not write the webhook secret ${secretId}: ${(error as Error).message}`, 1, { cause: error });
          if (attempt === MAX_SECRET_WRITES) {
            throw new CliError(`the webhook secret ${secretId} kept changing under connect (${attempt} attempts); nothing of anyone's was overwritten. Run connect again when no one else is changing it`, 1, { cause: error });
          }
          const theirs = await read();
          act('secret', 'warning', `the webhook secret was changed by someone else while connect ran (version ${short(error.expected)} → ${short(theirs.version)}); applied this run's change on top of theirs, overwriting nothing`);
          written = theirs;
          secret = change(parsed(theirs).secret);
        }
      }
      return secret;
    },
  };
}

async function connectStream(cf: Cloudflare, settings: ConnectSettings, secret: WebhookSecretEditor, act: Act): Promise<void> {
  const { accountId, streamUrl, dryRun, now, graceMs } = settings;
  const current = await call('read the Stream webhook', () => cf.stream.webhooks.get({ account_id: accountId }), { notFound: undefined });
  const currentUrl = urlOf(current);

  if (currentUrl === streamUrl) {
    const value = current?.secret;
    if (!value) {
      act('stream', 'warning', `Cloudflare delivers to ${streamUrl} but did not return its signing secret; nothing stored`);
    } else if (activeValues(secret.current, SecretKey.Stream).includes(value)) {
      act('stream', 'unchanged', `Stream webhook already delivers to ${streamUrl}; its signing secret ${fingerprint(value)} is stored`);
    } else {
      const retired = await activateValue(secret, SecretKey.Stream, value, now(), graceMs);
      act('stream', 'stored', `Stream webhook already delivers to ${streamUrl}; stored its signing secret ${fingerprint(value)}${retiredText(retired)}`);
    }
    return;
  }

  const was = currentUrl ? ` (was ${currentUrl})` : '';
  if (dryRun) {
    act('stream', 'updated', `would register the Stream webhook ${streamUrl}${was}; Cloudflare issues a new signing secret, ${graceText(secret.current.values.stream.length, graceMs)}`);
    return;
  }
  const updated = await call('register the Stream webhook', () => cf.stream.webhooks.update({ account_id: accountId, notificationUrl: streamUrl }));
  if (!updated.secret) throw new CliError('Cloudflare registered the Stream webhook but returned no signing secret; run connect again');
  // Cloudflare signs with the new secret from now on: store it before anything else.
  const retired = await activateValue(secret, SecretKey.Stream, updated.secret, now(), graceMs);
  act('stream', currentUrl ? 'updated' : 'created', `registered the Stream webhook ${streamUrl}${was}; stored its new signing secret ${fingerprint(updated.secret)}${retiredText(retired)}`);
}

/** Makes `value` current and returns what it retired (as applied to the version finally written). */
async function activateValue(secret: WebhookSecretEditor, key: RotatedKey, value: string, now: Date, graceMs: number): Promise<SecretChange[]> {
  let retired: SecretChange[] = [];
  await secret.update((current) => {
    const activated = activate(current, key, value, now, graceMs);
    retired = activated.retired;
    return activated.secret;
  });
  return retired;
}

async function connectImages(cf: Cloudflare, settings: ConnectSettings, secret: WebhookSecretEditor, act: Act): Promise<void> {
  const { accountId, imagesUrl, name, dryRun, now, graceMs } = settings;
  const destinations = await call('list webhook destinations', async () => {
    const all = [];
    for await (const destination of cf.alerting.destinations.webhooks.list({ account_id: accountId })) all.push(destination);
    return all;
  });
  // Ours is the one delivering to our URL (preferring our name), else the one with our name
  // (the stack's URL changed), so a re-run or a dashboard-made destination is updated, never duplicated.
  const atUrl = destinations.filter((d) => d.url === imagesUrl);
  const existing = atUrl.find((d) => d.name === name) ?? atUrl[0] ?? destinations.find((d) => d.name === name);
  let destinationId = existing?.id;

  const inSync = existing !== undefined && existing.url === imagesUrl && existing.name === name && activeValues(secret.current, SecretKey.Images).length > 0;
  if (inSync && !settings.rotate) {
    act('images', 'unchanged', `webhook destination "${name}" already delivers to ${imagesUrl}`, destinationId);
  } else {
    const verb = existing ? 'update' : 'create';
    const why = !existing ? '' : existing.url !== imagesUrl ? ` (was ${existing.url})` : existing.name !== name ? ` (was named "${existing.name}")` : settings.rotate ? ' (--rotate)' : ' (no stored secret)';
    if (dryRun) {
      act('images', existing ? 'updated' : 'created', `would ${verb} webhook destination "${name}" → ${imagesUrl}${why} with a new secret, ${graceText(secret.current.values.images.length, graceMs)}`, destinationId);
    } else {
      const fresh = randomBytes(32).toString('hex');
      // Accepted before Cloudflare has it: a delivery (or Cloudflare's test message) may follow at once.
      await secret.update((current) => accept(current, SecretKey.Images, fresh));
      const params = { account_id: accountId, name, url: imagesUrl, secret: fresh };
      try {
        const result = existing?.id
          ? await call('update the webhook destination', () => cf.alerting.destinations.webhooks.update(existing.id!, params))
          : await call('create the webhook destination', () => cf.alerting.destinations.webhooks.create(params));
        destinationId = result.id ?? existing?.id;
      } catch (error) {
        // Cloudflare did not take it: forget the value rather than accept a secret nobody uses.
        await secret.update((current) => ({ ...current, values: { ...current.values, images: current.values.images.filter((v) => v !== fresh) } }));
        throw error;
      }
      const retired = await activateValue(secret, SecretKey.Images, fresh, now(), graceMs);
      act('images', existing ? 'updated' : 'created', `${existing ? 'updated' : 'created'} webhook destination "${name}" → ${imagesUrl}${why}; stored its new secret ${fingerprint(fresh)}${retiredText(retired)}`, destinationId);
    }
  }

  await connectPolicy(cf, settings, destinationId, act);
}

async function connectPolicy(cf: Cloudflare, settings: ConnectSettings, destinationId: string | undefined, act: Act): Promise<void> {
  const { accountId, dryRun } = settings;
  const policyName = `${settings.name}: Images uploads`;
  const policies = await call('list notification policies', async () => {
    const all = [];
    for await (const policy of cf.alerting.policies.list({ account_id: accountId })) all.push(policy);
    return all;
  });
  const delivers = (p: (typeof policies)[number]) => destinationId !== undefined && (p.mechanisms?.webhooks ?? []).some((w) => w.id === destinationId);
  const existing = policies.find((p) => p.name === policyName) ?? policies.find((p) => p.alert_type === IMAGES_ALERT && delivers(p));
  const target = destinationId ? `destination ${destinationId}` : 'the new destination';

  if (existing && existing.enabled && existing.alert_type === IMAGES_ALERT && delivers(existing)) {
    act('policy', 'unchanged', `notification policy "${existing.name}" already sends ${IMAGES_ALERT} to ${target}`, existing.id);
    return;
  }
  if (dryRun) {
    act('policy', existing ? 'updated' : 'created', `would ${existing ? 'update' : 'create'} notification policy "${existing?.name ?? policyName}": ${IMAGES_ALERT} → ${target}, enabled`, existing?.id);
    return;
  }
  if (!destinationId) throw new CliError('Cloudflare created the webhook destination without returning its id; run connect again');
  const webhooks = [...(existing?.mechanisms?.webhooks ?? []).filter((w) => w.id !== destinationId), { id: destinationId }];
  if (existing?.id) {
    await call('update the notification policy', () =>
      cf.alerting.policies.update(existing.id!, {
        account_id: accountId,
        name: existing.name ?? policyName,
        alert_type: IMAGES_ALERT,
        enabled: true,
        mechanisms: { ...existing.mechanisms, webhooks },
      }),
    );
    act('policy', 'updated', `updated notification policy "${existing.name}": ${IMAGES_ALERT} → destination ${destinationId}, enabled`, existing.id);
    return;
  }
  const created = await call('create the notification policy', () =>
    cf.alerting.policies.create({
      account_id: accountId,
      name: policyName,
      description: 'Cloudflare Images direct creator uploads, delivered to the webhook receiver on AWS (managed by connect)',
      alert_type: IMAGES_ALERT,
      enabled: true,
      mechanisms: { webhooks },
    }),
  );
  act('policy', 'created', `created notification policy "${policyName}": ${IMAGES_ALERT} → destination ${destinationId}`, created.id);
}

/** What each `{accountId, apiToken}` secret is for, as the report names it. */
const API_SECRETS = {
  uploads: { what: "the upload route's API secret", kind: TokenKind.Uploads, needs: 'Images Write', without: 'POST /uploads answers 503 until one is stored' },
  read: {
    what: 'the read-only API secret',
    kind: TokenKind.Read,
    needs: 'Images Read and Stream Read',
    without: "the receiver cannot confirm deliveries with Cloudflare's API until one is stored",
  },
} as const;

/**
 * Stores the account id (and the token, when one was given) in an API secret of the same JSON
 * shape as the upload route's (`ApiSecretKey`), with compare-and-swap. Keys it does not know stay.
 */
async function connectApiSecret(settings: ConnectSettings, area: keyof typeof API_SECRETS, target: ApiSecretTarget, act: Act): Promise<void> {
  const { what, kind, needs, without } = API_SECRETS[area];
  let stored: StoredSecret;
  try {
    stored = await settings.secrets.read(target.secretId);
  } catch (error) {
    throw new CliError(`could not read ${what} ${target.secretId}: ${(error as Error).message}`, 1, { cause: error });
  }
  const current = jsonObject(stored.text);
  const token = target.apiToken ?? (typeof current[ApiSecretKey.ApiToken] === 'string' ? (current[ApiSecretKey.ApiToken] as string) : '');
  const desired = { ...current, [ApiSecretKey.AccountId]: settings.accountId, [ApiSecretKey.ApiToken]: token };
  const changed = current[ApiSecretKey.AccountId] !== settings.accountId || current[ApiSecretKey.ApiToken] !== token;
  const stores = target.apiToken !== undefined ? `the account id and API token ${fingerprint(token)}` : 'the account id';
  if (!changed) {
    act(area, 'unchanged', `${what} already holds ${stores}`);
  } else {
    if (!settings.dryRun) {
      try {
        await settings.secrets.write(target.secretId, JSON.stringify(desired), stored.version);
      } catch (error) {
        const why = error instanceof SecretConflictError ? `it was changed by someone else while connect ran (version ${short(error.expected)} → ${short(error.found)}); nothing was overwritten, run connect again` : (error as Error).message;
        throw new CliError(`could not store ${what} ${target.secretId}: ${why}`, 1, { cause: error });
      }
    }
    act(area, 'stored', `${settings.dryRun ? 'would store' : 'stored'} ${stores} in ${what}`);
  }
  if (!token) act(area, 'warning', `${what} has no Cloudflare API token yet: ${without} (${howToPass(kind)}; a token with ${needs})`);
}

/** A secret's JSON object; anything else (empty, not JSON, an array) reads as `{}` and is replaced. */
function jsonObject(text: string | undefined): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text ?? '{}');
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function urlOf(webhook: { notificationUrl?: string; notification_url?: string } | undefined): string | undefined {
  // The SDK's type says `notificationUrl`, Cloudflare's documented answer has `notification_url` (and both in examples).
  return webhook?.notificationUrl ?? webhook?.notification_url;
}

function retiredText(retired: readonly SecretChange[]): string {
  if (retired.length === 0) return '';
  const dropped = retired.filter((r) => !r.notAfter).map((r) => r.fingerprint);
  const kept = retired.filter((r) => r.notAfter);
  return [
    ...(kept.length > 0 ? [`; ${kept.map((r) => r.fingerprint).join(', ')} accepted until ${kept[0]!.notAfter}`] : []),
    ...(dropped.length > 0 ? [`; dropped ${dropped.join(', ')}`] : []),
  ].join('');
}

function graceText(previous: number, graceMs: number): string {
  if (previous === 0) return 'stored in the webhook secret';
  return graceMs > 0 ? `the ${previous === 1 ? 'previous value stays' : `${previous} previous values stay`} accepted for ${formatDuration(graceMs)}` : 'previous values dropped at once';
}

/** Runs an SDK call; Cloudflare's refusal becomes one line naming what failed and why. */
async function call<T, F = never>(action: string, run: () => Promise<T>, options?: { notFound: F }): Promise<T | F> {
  try {
    return await run();
  } catch (error) {
    if (options && 'notFound' in options && error instanceof NotFoundError) return options.notFound;
    // The SDK reports an answer it never got (refused, timed out) as an APIError without a status.
    if (error instanceof APIError && error.status === undefined) {
      throw new CliError(`could not reach Cloudflare to ${action}: ${error.message}${error.cause ? ` (${(error.cause as Error).message})` : ''}`, 1, { cause: error });
    }
    if (error instanceof APIError) {
      const errors = ((error.errors ?? []) as { code?: number; message?: string }[]).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ');
      const hint = error.status === 401 || error.status === 403 ? ' (the API token needs Stream Write and Notifications Write on this account)' : '';
      throw new CliError(`Cloudflare refused to ${action}: HTTP ${error.status}${errors ? `: ${errors}` : ''}${hint}`, 1, { cause: error });
    }
    throw new CliError(`could not ${action}: ${(error as Error).message}`, 1, { cause: error });
  }
}

/** `90s`, `30m`, `1h`, `2d`, or `0`. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+)(s|m|h|d)?$/.exec(text.trim());
  if (!match || (match[2] === undefined && match[1] !== '0')) throw new UsageError(`${flag} takes a duration such as 30m, 1h or 2d (or 0), got '${text}'`);
  return Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS];
}

function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${Math.round(ms / UNIT_MS.s)}s`;
}

export function formatConnectReport(report: ConnectReport): string {
  const head = `Cloudflare account ${report.accountId}${report.dryRun ? ' (dry run: nothing changed)' : ''}`;
  const lines = report.actions.map((a) => `  ${a.area.padEnd(8)} ${a.result.padEnd(9)} ${a.message}${a.id && !a.message.includes(a.id) ? ` [id ${a.id}]` : ''}`);
  return [head, ...lines].join('\n');
}

/** The command as `cli/index.ts` registers it. */
export const connectCommand: Command = {
  options: connectOptions,
  positionals: [],
  run: async ({ flags, io }) => {
    const str = (name: string) => flags[name] as string | undefined;
    const accountId = str('account-id') ?? io.env.CLOUDFLARE_ACCOUNT_ID;
    if (!accountId) throw new UsageError('connect needs --account-id (or $CLOUDFLARE_ACCOUNT_ID)');
    const tokens = await readTokens(flags, io.env, io.readInput);
    const apiToken = tokens.api;
    if (!apiToken) throw new UsageError(`connect needs a Cloudflare API token with Stream Write and Notifications Write: ${howToPass(TokenKind.Api)}`);
    const only = str('only');
    if (only !== undefined && only !== 'images' && only !== 'stream') throw new UsageError(`--only is images or stream, got '${only}'`);
    const graceMs = str('grace') === undefined ? DEFAULT_GRACE_MS : parseDuration(str('grace')!, '--grace');

    // The stack's outputs, read once: resolveTarget gets the receiver's, the upload secret is ours.
    let outputs: Record<string, string> = {};
    const target = await resolveTarget(flags as TargetFlags, {
      env: io.env,
      describeStackOutputs: async (stackName, config) => (outputs = await describeStack(stackName, config)),
    });
    const uploads = apiSecretTarget('uploads', str('uploads-secret') ?? outputs[StackOutput.CloudflareApiSecretArn], tokens.uploads, StackOutput.CloudflareApiSecretArn);
    const read = apiSecretTarget('read', str('read-secret') ?? outputs[StackOutput.CloudflareReadSecretArn], tokens.read, StackOutput.CloudflareReadSecretArn);
    const stack = flags.stack as string | undefined;
    const report = await connect({
      accountId,
      apiToken,
      ...((str('base-url') ?? io.env.CLOUDFLARE_BASE_URL) && { baseURL: str('base-url') ?? io.env.CLOUDFLARE_BASE_URL }),
      imagesUrl: only === 'stream' ? target.imagesUrl ?? '' : required(target, 'imagesUrl'),
      streamUrl: only === 'images' ? target.streamUrl ?? '' : required(target, 'streamUrl'),
      secretId: required(target, 'secretId'),
      secrets: secretsManagerStore(target.clientConfig),
      graceMs,
      rotate: flags.rotate === true,
      dryRun: flags['dry-run'] === true,
      ...(only && { only }),
      name: str('name') ?? `cloudflare-webhook ${stack ?? hostOf(target.imagesUrl ?? target.streamUrl)}`,
      ...(uploads && { uploads }),
      ...(read && { read }),
      now: io.now,
    });
    io.out(flags.json ? JSON.stringify(report, null, 2) : formatConnectReport(report));
  },
};

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

