import { ImageStatus, ItemKind } from '../core/contract.js';
import { decide, type Item } from '../core/decide.js';
import { DependencyError } from '../core/errors.js';
import { MAX_WRITE_ATTEMPTS, writeThenPublish } from '../core/outbox.js';
import type { StatusReport } from '../webhook/parse.js';
import type { Publisher } from '../adapters/publish.js';
import type { ItemStore } from '../adapters/store.js';

/**
 * The expiry sweep: an upload window that ended without Cloudflare reporting the upload is
 * just another status report, `expired` at the window's end, applied through the same
 * `decide` → version-guarded write → publish → clear-marker path as a webhook. So it cannot
 * lose an event, publishes each expiry once (its `eventId` is derived from the transition),
 * and never overrides a completed upload: `uploaded` is terminal and outranks `expired`,
 * whichever of the two is written first.
 */

export interface ExpiryIndex {
  /** Ids of items in `status` whose window ended at or before `until`, oldest window first. */
  due(status: string, until: string, limit: number): Promise<string[]>;
  /** Ids of `expired` items whose window ended in [from, until] and that still hold unpublished events. */
  unpublished(from: string, until: string, limit: number): Promise<string[]>;
}

export interface SweepPorts {
  readonly index: ExpiryIndex;
  readonly store: ItemStore;
  readonly publisher: Publisher;
  readonly now: () => Date;
  /** Milliseconds this run may still use; the sweep stops taking items when it runs low. */
  readonly remainingMs?: () => number;
}

export interface SweepOptions {
  /** A window must have ended this long ago: lets a webhook for an upload made at the last second arrive first. */
  readonly graceSeconds: number;
  readonly maxItems: number;
  readonly leaseMs: number;
  /** How far back expired items are checked for events a crashed run left unpublished. */
  readonly recoverySeconds?: number;
  readonly concurrency?: number;
}

export type ItemOutcome = 'expired' | 'republished' | 'skipped';

export interface SweepResult {
  readonly expired: number;
  readonly republished: number;
  /** Completed, failed or changed meanwhile: nothing to do. */
  readonly skipped: number;
  readonly failed: number;
  /** More items were due than this run took; the next run continues. */
  readonly more: boolean;
  readonly published: number;
  /** The first item failure (DynamoDB or EventBridge trouble); the item is retried by the next run. */
  readonly firstError?: unknown;
}

/** Statuses an upload can be stuck in. */
export const EXPIRABLE: readonly string[] = [ImageStatus.Pending, ImageStatus.Draft];
const RECOVERY_SECONDS = 24 * 60 * 60;
/** Stop taking items when less than this is left of the invocation. */
const SAFETY_MS = 5000;

export async function sweep(ports: SweepPorts, options: SweepOptions): Promise<SweepResult> {
  const now = ports.now();
  const until = new Date(now.getTime() - options.graceSeconds * 1000).toISOString();
  const from = new Date(now.getTime() - (options.recoverySeconds ?? RECOVERY_SECONDS) * 1000).toISOString();

  // Ask for one more than we take, to know whether the next run has work left.
  const due: string[] = [];
  for (const status of EXPIRABLE) due.push(...(await ports.index.due(status, until, options.maxItems + 1 - due.length)));
  const recovery = await ports.index.unpublished(from, now.toISOString(), options.maxItems);
  const ids = [...new Set([...recovery, ...due])];
  const more = ids.length > options.maxItems;

  const counts = { expired: 0, republished: 0, skipped: 0, failed: 0, published: 0 };
  let firstFailure: unknown;
  await pool(ids.slice(0, options.maxItems), options.concurrency ?? 4, async (id) => {
    if (ports.remainingMs && ports.remainingMs() < SAFETY_MS) return;
    try {
      const { outcome, published } = await expireItem(id, ports, options);
      counts[outcome] += 1;
      counts.published += published;
    } catch (error) {
      counts.failed += 1;
      firstFailure ??= error;
    }
  });
  return { ...counts, more, ...(firstFailure !== undefined && { firstError: firstFailure }) };
}

/** One item: re-read, decide, write with the version check, publish, clear the marker. */
export async function expireItem(id: string, ports: SweepPorts, options: Pick<SweepOptions, 'leaseMs'>): Promise<{ outcome: ItemOutcome; published: number }> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; ) {
    const item = await ports.store.get(id);
    const report = item && expiryReport(item);
    if (!report) return { outcome: 'skipped', published: 0 };
    const decision = decide(item, report, { now: ports.now(), leaseMs: options.leaseMs });

    if (decision.type === 'unknown' || decision.type === 'none') return { outcome: 'skipped', published: 0 };
    // Another invocation holds the lease on an unpublished event of this item: it publishes, or
    // once the lease ends the next run takes over. Waiting here would only hold this run up.
    if (decision.type === 'wait') return { outcome: 'skipped', published: 0 };
    if (!(await writeThenPublish(ports, id, decision))) {
      attempt += 1;
      continue;
    }
    return { outcome: decision.outcome === 'transitioned' ? 'expired' : decision.publish.length > 0 ? 'republished' : 'skipped', published: decision.publish.length };
  }
  throw new DependencyError('dynamodb', `item ${id} kept changing under ${MAX_WRITE_ATTEMPTS} attempts`);
}

/**
 * The report the sweep makes for an item, decided on the item as just read (consistently):
 * only an image still waiting for its upload expires. One already `expired` gets the same
 * report again, which `decide` treats as a duplicate that republishes what a crashed run
 * left unpublished. Anything else (uploaded, failed, a video, no window) is left alone.
 */
export function expiryReport(item: Item): StatusReport | undefined {
  const expiresAt = typeof item.expiresAt === 'string' ? isoOrUndefined(item.expiresAt) : undefined;
  if (expiresAt === undefined || (item.kind ?? ItemKind.Image) !== ItemKind.Image) return undefined;
  const status = item.status ?? ImageStatus.Pending;
  if (!EXPIRABLE.includes(status) && status !== ImageStatus.Expired) return undefined;
  return {
    kind: ItemKind.Image,
    id: item.id,
    status: ImageStatus.Expired,
    occurredAt: expiresAt,
    // `decide` never reads `payload`; `sweep` marks a report the receiver makes itself.
    payload: 'sweep',
    attributes: {},
  };
}

function isoOrUndefined(value: string): string | undefined {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

async function pool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}
