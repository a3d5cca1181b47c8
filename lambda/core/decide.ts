import { createHash } from 'node:crypto';
import { detailTypeOf, EVENT_SOURCE, ImageStatus, ItemKind, TableDesign, VideoStatus, type ItemStatus } from './contract.js';
import type { HistoryEntry, Item, ItemWrite, StatusReport, TransitionDetail, TransitionEvent } from './item.js';
import { isRecord } from './values.js';

/**
 * What a report does to an item. Pure: the caller reads the item, asks `decide`, and writes the
 * answer with a version check, so the decision is atomic.
 *
 * Ordering. Every status carries a precedence `tier#occurredAt#rank`, compared as text:
 * - tier 0 `pending` (the item before Cloudflare said anything), tier 1 every other
 *   status, tier 2 the terminal ones (`uploaded`, `ready`): once Cloudflare has the file,
 *   no later or replayed failure takes it back;
 * - within a tier the report's own timestamp decides, so a late or replayed delivery
 *   never overwrites a newer one;
 * - at an equal timestamp the rank breaks the tie.
 * A report is applied only if its precedence is strictly greater than the item's. The final
 * state is therefore the greatest report seen, whatever order deliveries arrive in.
 *
 * Publishing. A transition and its event id go into the item's outbox (`unpublished`) in the same
 * write, under a lease held by the writer; the writer publishes and then clears them. Anyone who
 * later finds ids in the outbox with the lease run out (a redelivery, the stream relay) publishes
 * them again under the same ids: `recover`.
 */

export type Outcome = 'transitioned' | 'refreshed' | 'duplicate' | 'stale';

/** Write `write`, then publish `publish` (which may also carry events an earlier writer left in the outbox). */
export interface WriteDecision {
  readonly type: 'write';
  readonly write: ItemWrite;
  readonly publish: readonly TransitionEvent[];
  /** Of `publish`, the events an earlier writer left unpublished (all but this report's own transition). */
  readonly republished: number;
}

/** Another writer holds the lease on the outbox: look again at `untilMs`. */
export interface WaitDecision {
  readonly type: 'wait';
  readonly untilMs: number;
  /** Set when the lease is the stream relay's own, taken at its n-th takeover: it is backing off, not publishing. */
  readonly relayAttempts?: number;
}

/** What finding the outbox asks for: nothing, wait for its writer, or take it over. */
export type Recovery = { readonly type: 'none' } | WaitDecision | WriteDecision;

export type Decision =
  | { readonly type: 'unknown' }
  | (WriteDecision & { readonly outcome: Outcome; readonly previousStatus: ItemStatus })
  | WaitDecision
  | { readonly type: 'none'; readonly outcome: Outcome; readonly previousStatus: ItemStatus };

export interface DecideOptions {
  readonly now: Date;
  /** How long a writer owns the publishing of its events before someone else may take over. */
  readonly leaseMs: number;
}

/** Who takes an outbox over: a writer (a redelivery, the sweep, `images sync`) or the stream relay. */
export type Recoverer = 'writer' | 'relay';

export interface RecoverOptions extends DecideOptions {
  /** @default 'writer' */
  readonly by?: Recoverer;
}

/**
 * The relay's lease doubles at each of its takeovers, up to this many times: 3 s, 6 s, 12 s, … 768 s
 * with the default lease. Its retries find the lease held and do not write, so while PutEvents keeps
 * failing the relay's writes and publishes thin out to one per 12.8 minutes.
 */
export const MAX_LEASE_DOUBLINGS = 8;

/** Transitions kept on the item: enough to audit a flapping upload, small enough to bound the item. */
const HISTORY_LIMIT = 20;

const TERMINAL: ReadonlySet<ItemStatus> = new Set([ImageStatus.Uploaded, VideoStatus.Ready]);
/**
 * Statuses whose item keeps its `expiresAt`, and so its `byExpiry` entry (TableDesign.byExpiry):
 * the open uploads the sweep looks at. Any other status drops it in the same write, so the item
 * leaves the index once and later writes (the outbox clean-up) no longer rewrite an entry there.
 */
const KEEPS_EXPIRY: ReadonlySet<ItemStatus> = new Set([ImageStatus.Pending, ImageStatus.Draft]);
const RANK: Readonly<Record<ItemKind, Readonly<Record<string, number>>>> = {
  image: { pending: 0, draft: 1, expired: 2, failed: 3, uploaded: 4 },
  video: { pending: 0, error: 1, ready: 2 },
};

export function precedenceOf(kind: ItemKind, status: ItemStatus, occurredAt: string): string {
  const tier = status === 'pending' ? 0 : TERMINAL.has(status) ? 2 : 1;
  return `${tier}#${occurredAt}#${RANK[kind][status] ?? 0}`;
}


/** Deterministic, so a republished event keeps the id consumers deduplicate on. */
export function eventIdOf(kind: ItemKind, id: string, precedence: string): string {
  return createHash('sha256').update(`${kind}\n${id}\n${precedence}`).digest('hex').slice(0, 32);
}

function currentPrecedence(item: Item, kind: ItemKind): string {
  return item.precedence ?? precedenceOf(kind, item.status ?? 'pending', item.statusAt ?? '');
}

export function decide(item: Item | undefined, report: StatusReport, options: DecideOptions): Decision {
  if (!item || (item.kind !== undefined && item.kind !== report.kind)) return { type: 'unknown' };
  const previousStatus = item.status ?? 'pending';
  const incoming = precedenceOf(report.kind, report.status, report.occurredAt);
  const changes = previousStatus !== report.status;

  if (incoming <= currentPrecedence(item, report.kind)) {
    const outcome: Outcome = changes ? 'stale' : 'duplicate';
    // Answering 200 while an earlier transition is unpublished would let it be lost:
    // take over the ones whose writer is gone, wait for the ones still being published.
    const recovery = recover(item, options);
    return recovery.type === 'none' ? { type: 'none', outcome, previousStatus } : recovery.type === 'wait' ? recovery : { ...recovery, outcome, previousStatus };
  }
  return { ...apply(item, report, incoming, options), outcome: changes ? 'transitioned' : 'refreshed', previousStatus };
}

/**
 * What a redelivery does when it changes nothing itself, and all the stream relay ever does: events
 * left in the outbox are republished under their own ids once their writer's lease has run out.
 *
 * The relay's takeover also counts itself (`relayAttempts`) and doubles its back-off with each count.
 * That write keeps the outbox, so without the count its stream record would invoke the relay again
 * (RELAY_FILTER lets no record carrying it through): only a retry of the record that put the events
 * there brings the relay back, and that retry finds the back-off still running. A writer's takeover
 * takes the plain lease and leaves the count ([leaseEndFor] says why it need not wait for the back-off).
 */
export function recover(item: Item, options: RecoverOptions): Recovery {
  const outbox = liveOutbox(item);
  if (outbox.length === 0) return { type: 'none' };
  const nowMs = options.now.getTime();
  const attempts = relayAttemptsOf(item);
  const heldUntil = leaseEndFor(item, options.by);
  if (heldUntil > nowMs) return { type: 'wait', untilMs: heldUntil, ...(heldUntil !== (item.leaseUntil ?? 0) && { relayAttempts: attempts }) };
  const publish = eventsFor(item, item.history ?? [], outbox);
  const set: Record<string, unknown> = { [OUTBOX]: outbox, [LEASE]: nowMs + options.leaseMs, version: (item.version ?? 0) + 1 };
  const write: ItemWrite =
    options.by === 'relay'
      ? { expectedVersion: item.version, set: { ...set, [RELAY_ATTEMPTS]: attempts + 1, [RELAY_BACKOFF]: nowMs + relayLeaseMs(options.leaseMs, attempts) } }
      : // A writer's takeover leaves the relay's count and back-off: its record stays out of the relay's
        // filter, and should the writer die too, the relay's retried record still covers the item.
        { expectedVersion: item.version, set };
  return { type: 'write', write, publish, republished: publish.length };
}

/**
 * When the claim on the outbox ends for `by`. The relay publishes right after its takeover write, so
 * only the plain lease (`leaseUntil`) is ever a live publisher's; its back-off (`relayBackoffUntil`)
 * is the relay pacing its own retries. The relay honours both; a writer (a redelivery, the sweep,
 * `images sync`, `events redrive`) the lease only, so it never waits out the relay's back-off.
 */
function leaseEndFor(item: Item, by: Recoverer = 'writer'): number {
  const lease = item.leaseUntil ?? 0;
  if (by !== 'relay' || relayAttemptsOf(item) === 0) return lease;
  const backoff = item[RELAY_BACKOFF];
  return Math.max(lease, typeof backoff === 'number' && Number.isFinite(backoff) ? backoff : 0);
}

/** How long the relay backs off after its takeover that follows `attempts` earlier ones. */
export function relayLeaseMs(leaseMs: number, attempts: number): number {
  return leaseMs * 2 ** Math.min(attempts, MAX_LEASE_DOUBLINGS);
}

const OUTBOX = TableDesign.outbox.attribute;
const LEASE = TableDesign.outbox.lease;
const RELAY_ATTEMPTS = TableDesign.outbox.relayAttempts;
const RELAY_BACKOFF = TableDesign.outbox.relayBackoff;

/** Anything but a count the relay wrote reads as none: the next takeover starts the doubling over. */
function relayAttemptsOf(item: Item): number {
  const value = item[RELAY_ATTEMPTS];
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/** The write of a report that outranks the item: its attributes, its history entry, its event in the outbox. */
function apply(item: Item, report: StatusReport, incoming: string, options: DecideOptions): WriteDecision {
  const nowMs = options.now.getTime();
  const recordedAt = options.now.toISOString();
  const previousStatus = item.status ?? 'pending';
  const set: Record<string, unknown> = {
    ...report.attributes,
    kind: report.kind,
    status: report.status,
    precedence: incoming,
    statusAt: report.occurredAt,
    updatedAt: recordedAt,
    version: (item.version ?? 0) + 1,
  };
  if (item.createdAt === undefined) set.createdAt = recordedAt;
  if (report.error) set.lastError = { ...report.error, at: report.occurredAt };

  // Events a dead writer left behind go out with this one; a live writer's stay its own.
  const leaseHeld = leaseEndFor(item) > nowMs;
  const outbox = liveOutbox(item);
  const toPublish = leaseHeld ? [] : [...outbox];
  let history = item.history ?? [];
  let own: string | undefined;
  if (previousStatus !== report.status) {
    own = eventIdOf(report.kind, report.id, incoming);
    history = [...history, historyEntry(own, previousStatus, report, recordedAt)].slice(-HISTORY_LIMIT);
    set.history = history;
    toPublish.push(own);
  }
  const nextOutbox = [...new Set([...outbox, ...toPublish])];
  const remove: string[] = [];
  if (nextOutbox.length > 0) set[OUTBOX] = nextOutbox;
  // A String Set cannot be empty: an outbox with nothing left in it is removed.
  else if (item.unpublished !== undefined) remove.push(OUTBOX);
  if (toPublish.length > 0) set[LEASE] = nowMs + options.leaseMs;
  // A writer's write starts the relay's count over: its record must reach the relay (RELAY_FILTER),
  // which then begins again from the plain lease.
  remove.push(...[RELAY_ATTEMPTS, RELAY_BACKOFF].filter((name) => item[name] !== undefined));
  if (item.expiresAt !== undefined && !KEEPS_EXPIRY.has(report.status)) remove.push('expiresAt');

  const publish = eventsFor({ ...item, ...set, id: item.id }, history, toPublish);
  return {
    type: 'write',
    write: { expectedVersion: item.version, set, ...(remove.length > 0 && { remove }) },
    publish,
    republished: publish.filter((event) => event.detail.eventId !== own).length,
  };
}

function historyEntry(eventId: string, from: ItemStatus, report: StatusReport, recordedAt: string): HistoryEntry {
  return {
    eventId,
    from,
    to: report.status,
    occurredAt: report.occurredAt,
    recordedAt,
    source: report.source,
    ...(report.error && { error: report.error }),
    ...(report.notification && { notification: report.notification }),
  };
}

/** Outbox ids that can still be published: one whose history entry is gone never can, and is dropped. */
function liveOutbox(item: Item): string[] {
  const history = item.history ?? [];
  return (item.unpublished ?? []).filter((eventId) => history.some((h) => h.eventId === eventId));
}

/** Events for history entries, rebuilt from the item so a republish sends what the first attempt would have. */
function eventsFor(item: Item, history: readonly HistoryEntry[], eventIds: readonly string[]): TransitionEvent[] {
  const kind = item.kind ?? ItemKind.Image;
  const events: TransitionEvent[] = [];
  for (const eventId of eventIds) {
    const entry = history.find((h) => h.eventId === eventId);
    const detailType = entry && detailTypeOf(kind, entry.to);
    if (!entry || !detailType) continue;
    const detail: TransitionDetail = {
      eventId,
      id: item.id,
      kind,
      status: entry.to,
      previousStatus: entry.from,
      occurredAt: entry.occurredAt,
      recordedAt: entry.recordedAt,
      ...(entry.source && { source: entry.source }),
      ...(entry.error ? { error: entry.error } : {}),
      ...(Array.isArray(item.variants) ? { variants: item.variants as string[] } : {}),
      ...(isRecord(item.metadata) ? { metadata: item.metadata } : {}),
      ...(isRecord(item.playback) ? { playback: item.playback } : {}),
      ...(typeof item.thumbnail === 'string' ? { thumbnail: item.thumbnail } : {}),
    };
    events.push({ source: EVENT_SOURCE, detailType, detail });
  }
  return events;
}

/** The item a `record` unknown-id policy (or an upload) creates before any report applies to it. */
export function recordedItem(kind: ItemKind, id: string, now: Date): Item {
  const createdAt = now.toISOString();
  return { id, kind, status: 'pending', precedence: precedenceOf(kind, 'pending', ''), createdAt, updatedAt: createdAt, version: 0, recordedFrom: 'webhook' };
}
