/**
 * `images sync`: ask Cloudflare's API what became of items, and apply its answer through the path
 * every writer shares: the report `reportFromApi` makes of the answer, `decide`, the
 * version-guarded write, then the publish (`settle`). What the webhook would have done had its
 * delivery arrived, for the items whose delivery did not.
 *
 * - An image Cloudflare has (no longer a draft) becomes `uploaded`, with Cloudflare's variants and
 *   upload time; one Cloudflare does not know becomes `failed` (`NOT_FOUND`). One it still holds as a
 *   draft becomes `expired` only once the item's own upload window (`expiresAt`) has ended, as the
 *   sweep does; until then nothing changes.
 * - A video ready or failed becomes `ready` or `error`; one still processing changes nothing.
 *
 * Read-only on Cloudflare's side: GET /accounts/{account_id}/images/v1/{image_id} (Images Read) and
 * GET /accounts/{account_id}/stream/{identifier} (Stream Read), through the functions' own reader
 * (lambda/adapters/cloudflare.ts; the answers' shapes and their documentation pages are cited there
 * and in lambda/core/cloudflare.ts).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { FetchCloudflare, type CloudflareReader } from '../lambda/adapters/cloudflare.js';
import { ApiTokenSecret } from '../lambda/adapters/secrets.js';
import { ApiFailure, CLOUDFLARE_API, CloudflareApiError, type ApiCredentials, type ImageTruth, type VideoTruth } from '../lambda/core/cloudflare.js';
import { Defaults, ItemKind, type DetailType, type ItemStatus } from '../lambda/core/contract.js';
import { decide } from '../lambda/core/decide.js';
import { DependencyError } from '../lambda/core/errors.js';
import type { Item, StatusReport } from '../lambda/core/item.js';
import { NOTHING, settle } from '../lambda/core/outbox.js';
import { reportFromApi } from '../lambda/core/reconcile.js';
import { DEFAULT_RELAY_MAX_WAIT_MS } from '../lambda/relay/config.js';
import { expiryReport } from '../lambda/sweep/sweep.js';
import { CliError, UsageError } from './errors.js';
import { parseSince, plural, positiveInteger, table, transition } from './format.js';
import { checkedStatuses, documentClient, kindFlag, listItems } from './images.js';
import type { Command } from './index.js';
import { required, resolveTarget, type ClientConfig, type Target, type TargetFlags } from './target.js';
import { TOKEN_ENV } from './tokens.js';
import { itemWriter, type ItemWriter } from './writer.js';

/** What became of one item. */
export const SyncOutcome = {
  /** Its status changed to what Cloudflare says. */
  Transitioned: 'transitioned',
  /** Cloudflare agrees with the table, or the table already holds a later report. */
  Unchanged: 'unchanged',
  /** Cloudflare has not settled it: a draft whose upload window is still open, a video still processing. */
  Waiting: 'waiting',
  /** Another writer held the item's outbox lease beyond the wait: try again. */
  Busy: 'busy',
  /** Cloudflare could not be asked: nothing was written. */
  Unreachable: 'unreachable',
  /** No such item in the table. */
  Missing: 'missing',
} as const;
export type SyncOutcome = (typeof SyncOutcome)[keyof typeof SyncOutcome];

export interface SyncResult {
  readonly id: string;
  readonly kind?: ItemKind;
  readonly before?: ItemStatus;
  readonly after?: ItemStatus;
  readonly outcome: SyncOutcome;
  /** What Cloudflare said, in a few words, or why it could not be asked. */
  readonly cloudflare: string;
  /** Why Cloudflare could not be asked (`unreachable`). */
  readonly failure?: ApiFailure;
  /** Events this sync published: its own transition's, and any an earlier writer left in the outbox. */
  readonly published: readonly { readonly eventId: string; readonly detailType: DetailType }[];
}

/** The item writer's store, publisher, clock and sleep, and Cloudflare's answers. */
export interface SyncPorts extends Omit<ItemWriter, 'close'> {
  readonly cloudflare: CloudflareReader;
}

export interface SyncOptions {
  readonly leaseMs: number;
  /** The longest a sync waits for another writer's lease on the item before it gives up on it. */
  readonly maxWaitMs: number;
}

/**
 * Syncs items one after the other. A refused token or a rate limit stops the asking (every further
 * call would fail alike): the rest are reported unreachable, untouched.
 */
async function syncItems(ports: SyncPorts, options: SyncOptions, ids: readonly string[]): Promise<SyncResult[]> {
  let stopped: SyncResult | undefined;
  const results: SyncResult[] = [];
  for (const id of ids) {
    const result: SyncResult = stopped
      ? { id, outcome: SyncOutcome.Unreachable, cloudflare: `not asked: ${stopped.cloudflare}`, failure: stopped.failure!, published: [] }
      : await syncItem(ports, options, id);
    if (result.failure === ApiFailure.Auth || result.failure === ApiFailure.Throttled) stopped ??= result;
    results.push(result);
  }
  return results;
}

async function syncItem(ports: SyncPorts, options: SyncOptions, id: string): Promise<SyncResult> {
  const item = await ports.store.get(id);
  if (!item) return { id, outcome: SyncOutcome.Missing, cloudflare: 'not asked', published: [] };
  const kind = item.kind ?? ItemKind.Image;
  const base = { id, kind, before: item.status ?? 'pending' } as const;

  let truth: ImageTruth | VideoTruth;
  try {
    truth = kind === ItemKind.Image ? await ports.cloudflare.image(id) : await ports.cloudflare.video(id);
  } catch (error) {
    if (!(error instanceof CloudflareApiError)) throw error;
    return { ...base, after: base.before, outcome: SyncOutcome.Unreachable, cloudflare: error.message, failure: error.failure, published: [] };
  }

  const fromApi = reportFromApi({ kind, id }, truth, ports.now());
  // A draft settles nothing by itself: the item's own window decides, read afresh on every attempt.
  const reportFor = (current: Item): StatusReport | undefined =>
    fromApi ?? (truth.state === 'draft' ? expiryReport(current, ports.now().toISOString()) : undefined);
  const decision = await settle(
    ports,
    id,
    (current) => {
      const report = current && reportFor(current);
      return current && report ? decide(current, report, { now: ports.now(), leaseMs: options.leaseMs }) : NOTHING;
    },
    (untilMs) => waitFor(ports, options, untilMs),
  );

  return resultOf(decision, { ...base, cloudflare: describeTruth(truth), settles: fromApi !== undefined });
}

/** What `settle` returns: the decision it stuck to. */
type Settled = ReturnType<typeof decide> | typeof NOTHING;

/** What the decision `settle` stuck to means for the person who asked. */
function resultOf(decision: Settled, base: { id: string; kind: ItemKind; before: ItemStatus; cloudflare: string; settles: boolean }): SyncResult {
  const { settles, ...known } = base;
  const gone = { id: base.id, outcome: SyncOutcome.Missing, cloudflare: base.cloudflare, published: [] };
  const unchanged = (status: ItemStatus, outcome: SyncOutcome = SyncOutcome.Unchanged) => ({ ...known, before: status, after: status, outcome, published: [] });
  switch (decision.type) {
    case 'write': {
      const transitioned = decision.outcome === 'transitioned';
      return {
        ...known,
        before: decision.previousStatus,
        after: transitioned ? reportStatus(decision.write.set) : decision.previousStatus,
        outcome: transitioned ? SyncOutcome.Transitioned : SyncOutcome.Unchanged,
        published: decision.publish.map((event) => ({ eventId: event.detail.eventId, detailType: event.detailType })),
      };
    }
    case 'none':
      return unchanged(decision.previousStatus);
    case 'wait':
      return unchanged(base.before, SyncOutcome.Busy);
    case 'unknown':
      return gone;
    default:
      // Nothing to apply: the item went away meanwhile, or Cloudflare has not settled one still open.
      if (settles) return gone;
      return unchanged(base.before, base.before === 'pending' || base.before === 'draft' ? SyncOutcome.Waiting : SyncOutcome.Unchanged);
  }
}

const reportStatus = (set: Readonly<Record<string, unknown>>) => set.status as ItemStatus;

/** Waits out another writer's lease when it ends within the bound; `false` gives up on the item. */
async function waitFor(ports: SyncPorts, options: SyncOptions, untilMs: number): Promise<boolean> {
  const waitMs = untilMs - ports.now().getTime() + 50;
  if (waitMs > options.maxWaitMs) return false;
  await ports.sleep(Math.max(0, waitMs));
  return true;
}

function describeTruth(truth: ImageTruth | VideoTruth): string {
  switch (truth.state) {
    case 'missing':
      return 'not found';
    case 'draft':
      return 'still a draft (no file yet)';
    case 'processing':
      return `still processing (${truth.streamState})`;
    case 'uploaded':
      return `uploaded${truth.uploadedAt ? ` ${truth.uploadedAt}` : ''}`;
    default:
      return truth.state;
  }
}

export function formatSyncResults(results: readonly SyncResult[]): string {
  if (results.length === 0) return 'no items';
  const rows = results.map((r) => [
    r.id,
    r.kind ?? '',
    r.before === undefined ? '' : r.before === r.after ? `${r.before} (unchanged)` : transition(r.before, r.after ?? '?'),
    r.outcome,
    r.cloudflare,
    r.published.map((event) => `${event.detailType} ${event.eventId}`).join(', '),
  ]);
  return table(['ID', 'KIND', 'STATUS', 'OUTCOME', 'CLOUDFLARE SAYS', 'PUBLISHED'], rows);
}

// ---- Where the token comes from ------------------------------------------------------------------

export interface ReadTokenFlags {
  readonly 'read-secret'?: string;
  readonly 'account-id'?: string;
}

/**
 * The read token: `--read-secret`, else `$CLOUDFLARE_READ_API_TOKEN` with `--account-id`, else the
 * secret the stack (or local mode) names. Its value is never printed, logged or taken as a flag.
 */
async function readCredentials(
  found: Target,
  flags: ReadTokenFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ readonly credentials: ApiCredentials; readonly from: string }> {
  const envToken = env[TOKEN_ENV.read]?.trim();
  const accountId = flags['account-id'] ?? env.CLOUDFLARE_ACCOUNT_ID;
  if (flags['read-secret'] === undefined && envToken) {
    if (!accountId) throw new UsageError(`$${TOKEN_ENV.read} needs --account-id (or $CLOUDFLARE_ACCOUNT_ID)`);
    return { credentials: { accountId, apiToken: envToken }, from: `$${TOKEN_ENV.read}` };
  }
  if (flags['account-id'] !== undefined) throw new UsageError(`--account-id goes with $${TOKEN_ENV.read}; a read secret names its own account`);
  const secretId = flags['read-secret'] ?? found.readSecretId;
  if (!secretId) {
    throw new CliError(
      `no Cloudflare read token from ${found.source}: pass --read-secret ID, or set $${TOKEN_ENV.read} and --account-id ` +
        '(a deployed stack names its secret in the CloudflareReadSecretArn output; `npm run connect` fills it)',
    );
  }
  return { credentials: await readSecret(secretId, found.clientConfig), from: `secret ${secretId}` };
}

async function readSecret(secretId: string, config: ClientConfig): Promise<ApiCredentials> {
  const client = new SecretsManagerClient(config);
  try {
    const reading = await new ApiTokenSecret(secretId, client).reading();
    if (!reading.ok) throw new CliError(`${reading.problem} (${secretId}); store a read token with npm run connect`);
    return reading.credentials;
  } catch (error) {
    if (error instanceof CliError) throw error;
    const cause = (error as Error).cause as Error | undefined;
    throw new CliError(`could not read the Cloudflare read secret ${secretId}: ${cause ? `${cause.name}: ${cause.message}` : (error as Error).message}`, 1, { cause: error });
  } finally {
    client.destroy();
  }
}

// ---- The command --------------------------------------------------------------------------------

type Flags = Parameters<Command['run']>[0]['flags'];


/** The command as `cli/index.ts` registers it (`lazy`). */
export const runImagesSync: Command['run'] = async ({ flags, positionals: [id], io }) => {
  const selection = selectionOf(flags, id, io.now());
  const found = await resolveTarget(flags as TargetFlags, { env: io.env });
  const tableName = required(found, 'tableName');
  const { credentials, from } = await readCredentials(found, flags as ReadTokenFlags, io.env);
  const baseUrl = (flags['base-url'] as string | undefined) ?? io.env.CLOUDFLARE_BASE_URL ?? found.cloudflareBaseUrl ?? CLOUDFLARE_API;

  let ids: string[];
  let truncated = false;
  if (selection.id !== undefined) ids = [selection.id];
  else {
    const listed = await listItems(documentClient(found.clientConfig), tableName, selection.query);
    ids = listed.items.map((item) => item.id);
    truncated = listed.truncated;
  }
  if (!flags.json) io.out(`asking Cloudflare (account ${credentials.accountId}, token from ${from}, ${baseUrl}) about ${plural(ids.length, 'item')}`);

  const writer = itemWriter(found, io.now);
  const ports: SyncPorts = {
    ...writer,
    cloudflare: new FetchCloudflare({ baseUrl, credentials: { reading: async () => ({ ok: true, credentials }), invalidate: () => {} }, timeoutMs: 10_000, maxRetryAfterMs: 5_000 }),
  };
  let results: SyncResult[];
  try {
    results = await syncItems(ports, { leaseMs: Defaults.publishLeaseMs, maxWaitMs: DEFAULT_RELAY_MAX_WAIT_MS }, ids);
  } catch (error) {
    throw writeFailure(error);
  } finally {
    writer.close();
  }
  io.out(flags.json ? JSON.stringify(results, null, 2) : formatSyncResults(results) + (truncated ? '\n(stopped at --limit; more items may match)' : ''));
  failIfIncomplete(results, selection.id !== undefined ? tableName : undefined);
};

interface Selection {
  readonly id?: string;
  readonly query: Parameters<typeof listItems>[2];
}

function selectionOf(flags: Flags, id: string | undefined, now: Date): Selection {
  const statuses = flags.status as string[] | undefined;
  const olderThan = flags['older-than'] as string | undefined;
  const kind = flags.kind as string | undefined;
  const limit = flags.limit as string | undefined;
  if (id !== undefined) {
    if (statuses || olderThan !== undefined || kind !== undefined || limit !== undefined) {
      throw new UsageError('images sync takes an <id> or a selection (--status, --older-than, --kind, --limit), not both');
    }
    return { id, query: { limit: 1 } };
  }
  if (!statuses) throw new UsageError('images sync needs an <id> or --status (e.g. --status pending --older-than 1h)');
  const itemKind = kindFlag(kind);
  return {
    query: {
      statuses: checkedStatuses(itemKind, statuses),
      ...(itemKind && { kind: itemKind }),
      ...(olderThan !== undefined && { before: parseSince(olderThan, now, '--older-than') }),
      limit: positiveInteger('--limit', limit, 50),
    },
  };
}

function failIfIncomplete(results: readonly SyncResult[], tableName: string | undefined): void {
  const [single] = results;
  if (tableName !== undefined && single?.outcome === SyncOutcome.Missing) throw new CliError(`no item ${single.id} in table ${tableName}`);
  const unreachable = results.filter((r) => r.outcome === SyncOutcome.Unreachable);
  const busy = results.filter((r) => r.outcome === SyncOutcome.Busy);
  const problems = [
    ...(unreachable.length > 0 ? [`Cloudflare could not be asked about ${plural(unreachable.length, 'item')} (nothing was written for them): ${unreachable[0]!.cloudflare}`] : []),
    ...(busy.length > 0 ? [`${plural(busy.length, 'item')} held by another writer beyond the wait (${busy.map((r) => r.id).join(', ')}): run it again`] : []),
  ];
  if (problems.length > 0) throw new CliError(problems.join('; '));
}

function writeFailure(error: unknown): CliError {
  if (!(error instanceof DependencyError)) throw error;
  // A publish that fails after its write leaves the event in the item's outbox, where the stream relay finds it.
  const after = error.dependency === 'eventbridge' ? ' (the transition is written; its event waits in the item’s outbox for the stream relay)' : '';
  return new CliError(`could not sync: ${error.message}${after}`, 1, { cause: error });
}
