/**
 * An independent model of the documented ordering rule (lambda/decide.ts): a report is applied
 * only if its precedence `tier#occurredAt#rank` is greater than the item's, so an item ends at
 * the greatest report it was sent, whatever the order of arrival. The races and the soak
 * compare the real bundle with this model, and check its histories and events.
 */
import assert from 'node:assert/strict';
import type { WatchedEvent } from '../../local/provision.js';
import { payloads } from '../../local/payloads.js';
import type { Item } from '../../lambda/core/item.js';

export type Kind = 'image' | 'video';
export type Scheme = 'toolkit' | 'notification' | 'stream';

/** One status report, as a sender would deliver it. */
export interface Report {
  readonly kind: Kind;
  readonly id: string;
  readonly status: 'draft' | 'uploaded' | 'failed' | 'ready' | 'error';
  /** ISO 8601 with milliseconds, UTC. */
  readonly occurredAt: string;
  readonly scheme: Scheme;
}

export type Outcome = 'transitioned' | 'refreshed' | 'duplicate' | 'stale';

// Tiers as documented: pending 0, non-terminal 1, terminal (the file is there) 2. The rank only
// breaks ties at an equal timestamp.
const TERMINAL = new Set(['uploaded', 'ready']);
const RANK: Record<Kind, Record<string, number>> = {
  image: { pending: 0, draft: 1, expired: 2, failed: 3, uploaded: 4 },
  video: { pending: 0, error: 1, ready: 2 },
};

export function precedence(kind: Kind, status: string, occurredAt: string): string {
  const tier = status === 'pending' ? 0 : TERMINAL.has(status) ? 2 : 1;
  return `${tier}#${occurredAt}#${RANK[kind][status]}`;
}

export interface ModelItem {
  status: string;
  precedence: string;
  statusAt?: string;
  transitions: { from: string; to: string; occurredAt: string }[];
}

export const pendingItem = (kind: Kind): ModelItem => ({ status: 'pending', precedence: precedence(kind, 'pending', ''), transitions: [] });

/** Applies one report the way the documentation says, returning the delivery's outcome. */
export function apply(item: ModelItem, report: Report): Outcome {
  const incoming = precedence(report.kind, report.status, report.occurredAt);
  const changes = report.status !== item.status;
  if (incoming <= item.precedence) return changes ? 'stale' : 'duplicate';
  if (changes) item.transitions.push({ from: item.status, to: report.status, occurredAt: report.occurredAt });
  item.status = report.status;
  item.precedence = incoming;
  item.statusAt = report.occurredAt;
  return changes ? 'transitioned' : 'refreshed';
}

/** The greatest report: where the item must end, in any order of arrival. */
function finalOf(reports: readonly Report[]): Report | undefined {
  let best: Report | undefined;
  for (const report of reports) {
    if (!best || precedence(report.kind, report.status, report.occurredAt) > precedence(best.kind, best.status, best.occurredAt)) best = report;
  }
  return best;
}

/** The body a sender of `report.scheme` would send. */
export function bodyOf(report: Report): Record<string, unknown> {
  const { id, occurredAt } = report;
  switch (report.scheme) {
    case 'toolkit':
      return report.status === 'failed'
        ? payloads.imageFailed(id, occurredAt)
        : payloads.imageUploaded(id, occurredAt, report.status === 'draft' ? { draft: true } : {});
    case 'notification': {
      const data =
        report.status === 'failed'
          ? { id, error: 'Image processing failed', timestamp: occurredAt }
          : report.status === 'draft'
            ? { id, draft: true, timestamp: occurredAt }
            : { id, status: 'complete', uploaded: occurredAt, variants: [`https://imagedelivery.net/x/${id}/public`] };
      const text = report.status === 'failed' ? 'Image upload failed' : report.status === 'draft' ? 'Image draft created' : 'Image upload complete';
      return payloads.notification(data, Math.floor(Date.parse(occurredAt) / 1000), text);
    }
    case 'stream':
      return report.status === 'ready' ? payloads.videoReady(id, occurredAt) : payloads.videoError(id, occurredAt);
  }
}

/**
 * Checks a stored item against the reports it was sent: it ends at the greatest, and its
 * history is a chain of transitions from `pending`, each one a report that was sent, each
 * strictly greater than the last.
 */
export function assertItemConsistent(item: Item | undefined, reports: readonly Report[], label: string): void {
  assert.ok(item, `${label}: item exists`);
  const final = finalOf(reports);
  assert.ok(final, `${label}: has reports`);
  assert.equal(item.status, final.status, `${label}: final status`);
  assert.equal(item.statusAt, final.occurredAt, `${label}: final statusAt`);
  assert.equal(item.precedence, precedence(final.kind, final.status, final.occurredAt), `${label}: final precedence`);
  const history = item.history ?? [];
  assert.ok(history.length >= 1, `${label}: at least one transition`);
  let from = 'pending';
  let last = precedence(final.kind, 'pending', '');
  for (const entry of history) {
    assert.equal(entry.from, from, `${label}: history is a chain`);
    assert.ok(
      reports.some((r) => r.status === entry.to && r.occurredAt === entry.occurredAt),
      `${label}: transition to ${entry.to} at ${entry.occurredAt} was sent`,
    );
    const p = precedence(final.kind, entry.to, entry.occurredAt);
    assert.ok(p > last, `${label}: each transition is newer than the one before`);
    assert.notEqual(entry.from, entry.to, `${label}: a transition changes the status`);
    last = p;
    from = entry.to;
  }
  assert.equal(from, item.status, `${label}: history ends at the status`);
  assert.equal(item.unpublished, undefined, `${label}: no event left unpublished`);
}

export interface EventCheck {
  /** Transitions recorded in histories. */
  readonly transitions: number;
  /** Events received. */
  readonly events: number;
  /** Distinct event ids received. */
  readonly distinct: number;
  /** Transitions whose event never arrived (must be 0). */
  readonly lost: number;
  /** Events received more than once (same eventId): at-least-once delivery at work. */
  readonly redelivered: number;
}

/**
 * Every transition in `items` was published (at least once), with its stable id and the
 * content of its history entry; no event was published that is not a transition.
 */
export function checkEvents(items: readonly Item[], received: readonly WatchedEvent[]): EventCheck {
  const expected = new Map<string, { item: Item; to: string; from: string; occurredAt: string }>();
  for (const item of items) {
    for (const entry of item.history ?? []) expected.set(entry.eventId, { item, to: entry.to, from: entry.from, occurredAt: entry.occurredAt });
  }
  const counts = new Map<string, number>();
  for (const event of received) {
    const detail = event.detail as { eventId?: string; id?: string; status?: string; previousStatus?: string; occurredAt?: string };
    assert.match(detail.eventId ?? '', /^[0-9a-f]{32}$/, 'every event carries its stable id');
    const entry = expected.get(detail.eventId!);
    assert.ok(entry, `event ${detail.eventId} (${detail.id} → ${detail.status}) is a recorded transition`);
    assert.deepEqual(
      [detail.id, detail.previousStatus, detail.status, detail.occurredAt],
      [entry.item.id, entry.from, entry.to, entry.occurredAt],
      'the event says what its history entry says',
    );
    counts.set(detail.eventId!, (counts.get(detail.eventId!) ?? 0) + 1);
  }
  let lost = 0;
  for (const eventId of expected.keys()) if (!counts.has(eventId)) lost++;
  return {
    transitions: expected.size,
    events: received.length,
    distinct: counts.size,
    lost,
    redelivered: [...counts.values()].filter((n) => n > 1).length,
  };
}
