import { createHash } from 'node:crypto';
import {
  DetailType,
  EVENT_SOURCE,
  ImageStatus,
  ItemKind,
  VideoStatus,
  type ItemStatus,
} from './contract.js';
import type { ErrorInfo, StatusReport } from '../webhook/parse.js';

/**
 * Step 3: decide what a status report does to an item. Pure: the caller reads the item,
 * asks `decide`, and writes the answer with a version check, so the decision is atomic.
 *
 * Ordering. Every status carries a precedence `tier#occurredAt#rank`, compared as text:
 * - tier 0 `pending` (the item before Cloudflare said anything), tier 1 every other
 *   status, tier 2 the terminal ones (`uploaded`, `ready`): once Cloudflare has the file,
 *   no later or replayed failure takes it back;
 * - within a tier the payload's own timestamp decides, so a late or replayed delivery
 *   never overwrites a newer one;
 * - at an equal timestamp the rank breaks the tie.
 * A report is applied only if its precedence is strictly greater than the item's. The final
 * state is therefore the greatest report seen, whatever order deliveries arrive in.
 */

export interface HistoryEntry {
  readonly eventId: string;
  readonly from: ItemStatus;
  readonly to: ItemStatus;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly error?: ErrorInfo;
}

/** The item as stored. Items created by users may hold as little as `{ id, kind, status }`. */
export interface Item {
  readonly id: string;
  readonly kind?: ItemKind;
  readonly status?: ItemStatus;
  readonly precedence?: string;
  readonly statusAt?: string;
  readonly version?: number;
  readonly history?: readonly HistoryEntry[];
  /** Event ids written but not yet confirmed published → lease expiry (epoch ms). */
  readonly unpublished?: Readonly<Record<string, number>>;
  readonly [attribute: string]: unknown;
}

/** Attribute values to SET (and attributes to REMOVE), guarded by the version the decision was made on. */
export interface ItemWrite {
  readonly expectedVersion: number | undefined;
  readonly set: Readonly<Record<string, unknown>>;
  readonly remove?: readonly string[];
}

export interface TransitionEvent {
  readonly source: typeof EVENT_SOURCE;
  readonly detailType: DetailType;
  readonly detail: TransitionDetail;
}

/** `detail` of every published event. `eventId` is stable across republishing: deduplicate on it. */
export interface TransitionDetail {
  readonly eventId: string;
  readonly id: string;
  readonly kind: ItemKind;
  readonly status: ItemStatus;
  readonly previousStatus: ItemStatus;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly error?: ErrorInfo;
  readonly variants?: readonly string[];
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly playback?: Readonly<Record<string, unknown>>;
  readonly thumbnail?: string;
}

export type Outcome = 'transitioned' | 'refreshed' | 'duplicate' | 'stale';

export type Decision =
  | { readonly type: 'unknown' }
  /** Write, then publish `publish` (which may also carry events an earlier attempt left unpublished). */
  | {
      readonly type: 'write';
      readonly outcome: Outcome;
      readonly previousStatus: ItemStatus;
      readonly write: ItemWrite;
      readonly publish: readonly TransitionEvent[];
      /** Of `publish`, the events an earlier writer left unpublished (all but this report's own transition). */
      readonly republished: number;
    }
  /** Another invocation holds the lease on an unpublished event: re-read after `untilMs`. */
  | { readonly type: 'wait'; readonly untilMs: number }
  | { readonly type: 'none'; readonly outcome: Outcome; readonly previousStatus: ItemStatus };

export interface DecideOptions {
  readonly now: Date;
  /** How long a writer owns the publishing of its event before another delivery may take over. */
  readonly leaseMs: number;
  /** Transitions kept on the item. */
  readonly historyLimit?: number;
}

const TERMINAL: ReadonlySet<ItemStatus> = new Set([ImageStatus.Uploaded, VideoStatus.Ready]);
/**
 * Statuses whose item keeps its `expiresAt`, and so its `byExpiry` entry (TableDesign.byExpiry):
 * the open uploads the sweep expires, and `expired`, which only the sweep writes and which its
 * crash recovery must find again. Any other status drops it in the same write, so the item
 * leaves the index once and later writes (the marker clean-up) no longer rewrite an entry there.
 */
const KEEPS_EXPIRY: ReadonlySet<ItemStatus> = new Set([ImageStatus.Pending, ImageStatus.Draft, ImageStatus.Expired]);
const RANK: Readonly<Record<ItemKind, Readonly<Record<string, number>>>> = {
  image: { pending: 0, draft: 1, expired: 2, failed: 3, uploaded: 4 },
  video: { pending: 0, error: 1, ready: 2 },
};

const DETAIL_TYPES: Readonly<Record<ItemKind, Readonly<Partial<Record<ItemStatus, DetailType>>>>> = {
  image: {
    draft: DetailType.ImageDraft,
    uploaded: DetailType.ImageUploaded,
    failed: DetailType.ImageUploadFailed,
    expired: DetailType.ImageExpired,
  },
  video: { ready: DetailType.VideoReady, error: DetailType.VideoFailed },
};

export function precedenceOf(kind: ItemKind, status: ItemStatus, occurredAt: string): string {
  const tier = status === 'pending' ? 0 : TERMINAL.has(status) ? 2 : 1;
  return `${tier}#${occurredAt}#${RANK[kind][status] ?? 0}`;
}

export function detailTypeOf(kind: ItemKind, status: ItemStatus): DetailType | undefined {
  return DETAIL_TYPES[kind][status];
}

/** Deterministic, so a republished event keeps the id consumers deduplicate on. */
export function eventIdOf(kind: ItemKind, id: string, precedence: string): string {
  return createHash('sha256').update(`${kind}\n${id}\n${precedence}`).digest('hex').slice(0, 32);
}

export function currentPrecedence(item: Item, kind: ItemKind): string {
  return item.precedence ?? precedenceOf(kind, item.status ?? 'pending', item.statusAt ?? '');
}

export function decide(item: Item | undefined, report: StatusReport, options: DecideOptions): Decision {
  if (!item || (item.kind !== undefined && item.kind !== report.kind)) return { type: 'unknown' };

  const nowMs = options.now.getTime();
  const recordedAt = options.now.toISOString();
  const previousStatus = item.status ?? 'pending';
  const incoming = precedenceOf(report.kind, report.status, report.occurredAt);
  const newer = incoming > currentPrecedence(item, report.kind);
  const changes = previousStatus !== report.status;

  const history = item.history ?? [];
  const unpublished: Record<string, number> = {};
  // A marker whose history entry is gone can never be republished; dropping it stops retries forever.
  for (const [eventId, lease] of Object.entries(item.unpublished ?? {})) {
    if (history.some((h) => h.eventId === eventId)) unpublished[eventId] = lease;
  }
  const expired = Object.keys(unpublished).filter((eventId) => unpublished[eventId]! <= nowMs);
  const leased = Object.keys(unpublished).filter((eventId) => unpublished[eventId]! > nowMs);

  if (!newer) {
    const outcome: Outcome = changes ? 'stale' : 'duplicate';
    // Answering 200 while an earlier transition is unpublished would let it be lost:
    // take over the ones whose writer is gone, wait for the ones still being published.
    if (expired.length > 0) {
      for (const eventId of expired) unpublished[eventId] = nowMs + options.leaseMs;
      const publish = eventsFor(item, history, expired);
      return {
        type: 'write',
        outcome,
        previousStatus,
        write: { expectedVersion: item.version, set: { unpublished, version: (item.version ?? 0) + 1 } },
        publish,
        republished: publish.length,
      };
    }
    if (leased.length > 0) return { type: 'wait', untilMs: Math.min(...leased.map((eventId) => unpublished[eventId]!)) };
    return { type: 'none', outcome, previousStatus };
  }

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

  let nextHistory = history;
  let own: string | undefined;
  const toPublish = [...expired];
  if (changes) {
    const entry: HistoryEntry = {
      eventId: eventIdOf(report.kind, report.id, incoming),
      from: previousStatus,
      to: report.status,
      occurredAt: report.occurredAt,
      recordedAt,
      ...(report.error ? { error: report.error } : {}),
    };
    nextHistory = [...history, entry].slice(-(options.historyLimit ?? 20));
    set.history = nextHistory;
    own = entry.eventId;
    toPublish.push(own);
  }
  if (toPublish.length > 0 || item.unpublished !== undefined) {
    for (const eventId of toPublish) unpublished[eventId] = nowMs + options.leaseMs;
    set.unpublished = unpublished;
  }
  const leavesExpiryIndex = item.expiresAt !== undefined && !KEEPS_EXPIRY.has(report.status);
  const next: Item = { ...item, ...set, id: item.id };
  const publish = eventsFor(next, nextHistory, toPublish);
  return {
    type: 'write',
    outcome: changes ? 'transitioned' : 'refreshed',
    previousStatus,
    write: { expectedVersion: item.version, set, ...(leavesExpiryIndex && { remove: ['expiresAt'] }) },
    publish,
    republished: publish.filter((event) => event.detail.eventId !== own).length,
  };
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The item a `record` unknown-id policy creates before applying the delivery to it. */
export function recordedItem(kind: ItemKind, id: string, now: Date): Item {
  const createdAt = now.toISOString();
  return { id, kind, status: 'pending', precedence: precedenceOf(kind, 'pending', ''), createdAt, updatedAt: createdAt, version: 0, recordedFrom: 'webhook' };
}
