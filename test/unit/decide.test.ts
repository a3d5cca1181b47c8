import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, eventIdOf, MAX_LEASE_DOUBLINGS, precedenceOf, recover, relayLeaseMs, type Decision, type Recovery } from '../../lambda/core/decide.js';
import type { Item, StatusReport } from '../../lambda/core/item.js';

const now = new Date('2024-01-01T13:00:00.000Z');
const options = { now, leaseMs: 3000 };
const pending = (id = 'img'): Item => ({ id, kind: 'image', status: 'pending', createdAt: '2024-01-01T11:00:00.000Z' });
const image = (status: StatusReport['status'], occurredAt: string, id = 'img'): StatusReport => ({
  kind: 'image', id, status, occurredAt, source: 'toolkit', attributes: status === 'uploaded' ? { variants: ['v'] } : {},
  ...(status === 'failed' ? { error: { message: 'nope' } } : {}),
});

/** Apply a decision the way the store would, and pretend every publish succeeded. */
function run(item: Item, report: StatusReport) {
  const decision = decide(item, report, options);
  if (decision.type !== 'write') return { item, decision, events: [] as string[] };
  const next: Record<string, unknown> = { ...item, ...decision.write.set };
  for (const attribute of decision.write.remove ?? []) delete next[attribute];
  const published = new Set(decision.publish.map((e) => e.detail.eventId));
  const outbox = ((next.unpublished as string[] | undefined) ?? []).filter((id) => !published.has(id));
  if (outbox.length > 0) next.unpublished = outbox;
  else delete next.unpublished;
  return { item: next as Item, decision, events: decision.publish.map((e) => e.detailType) };
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}

describe('transition decisions', () => {
  it('moves pending to uploaded with one Image Uploaded event carrying id, kind, statuses and a stable id', () => {
    const { item, decision } = run(pending(), image('uploaded', '2024-01-01T12:00:00.000Z'));
    assert.equal(item.status, 'uploaded');
    assert.equal(decision.type, 'write');
    const { publish, outcome } = decision as Extract<Decision, { type: 'write' }>;
    assert.equal(outcome, 'transitioned');
    assert.equal(publish.length, 1);
    assert.equal(publish[0]!.detailType, 'Image Uploaded');
    assert.deepEqual(
      { ...publish[0]!.detail, eventId: undefined },
      { eventId: undefined, id: 'img', kind: 'image', status: 'uploaded', previousStatus: 'pending', occurredAt: '2024-01-01T12:00:00.000Z', recordedAt: now.toISOString(), source: 'toolkit', variants: ['v'] },
    );
    assert.equal(publish[0]!.detail.eventId, eventIdOf('image', 'img', precedenceOf('image', 'uploaded', '2024-01-01T12:00:00.000Z')));
  });

  it('marks an upload-failed image failed and records the error', () => {
    const { item, events } = run(pending(), image('failed', '2024-01-01T12:00:00.000Z'));
    assert.equal(item.status, 'failed');
    assert.deepEqual(item.lastError, { message: 'nope', at: '2024-01-01T12:00:00.000Z' });
    assert.deepEqual(events, ['Image Upload Failed']);
  });

  it('answers a duplicate with no write and no event', () => {
    const first = run(pending(), image('uploaded', '2024-01-01T12:00:00.000Z'));
    const again = decide(first.item, image('uploaded', '2024-01-01T12:00:00.000Z'), options);
    assert.deepEqual(again, { type: 'none', outcome: 'duplicate', previousStatus: 'uploaded' });
  });

  it('refuses a failure older than the draft it would overwrite (stale)', () => {
    const draft = run(pending(), image('draft', '2024-01-01T12:00:10.000Z'));
    assert.deepEqual(decide(draft.item, image('failed', '2024-01-01T12:00:05.000Z'), options), { type: 'none', outcome: 'stale', previousStatus: 'draft' });
  });

  it('never lets a failure, however late, take an uploaded image back', () => {
    const up = run(pending(), image('uploaded', '2024-01-01T12:00:00.000Z'));
    assert.equal(decide(up.item, image('failed', '2024-01-02T00:00:00.000Z'), options).type, 'none');
  });

  it('lets an upload complete an image the expiry sweep already expired', () => {
    const expired = run(pending(), image('expired', '2024-01-01T12:30:00.000Z'));
    const late = run(expired.item, image('uploaded', '2024-01-01T12:29:59.000Z'));
    assert.equal(late.item.status, 'uploaded');
    assert.deepEqual(late.events, ['Image Uploaded']);
  });

  it('refreshes a same-status report with a newer timestamp without publishing', () => {
    const failed = run(pending(), image('failed', '2024-01-01T12:00:00.000Z'));
    const later = run(failed.item, image('failed', '2024-01-01T12:05:00.000Z'));
    assert.equal((later.decision as Extract<Decision, { type: 'write' }>).outcome, 'refreshed');
    assert.deepEqual(later.events, []);
    assert.equal(later.item.statusAt, '2024-01-01T12:05:00.000Z');
  });

  it('reaches the same final state in every arrival order, publishing once per status change', () => {
    const reports = [
      image('draft', '2024-01-01T12:00:01.000Z'),
      image('failed', '2024-01-01T12:00:02.000Z'),
      image('uploaded', '2024-01-01T12:00:00.000Z'),
      image('failed', '2024-01-01T12:00:03.000Z'),
    ];
    const finals = new Set<string>();
    for (const order of permutations(reports)) {
      let item = pending();
      let changes = 0;
      let events = 0;
      for (const r of order) {
        const before = item.status;
        const step = run(item, r);
        item = step.item;
        if (item.status !== before) changes += 1;
        events += step.events.length;
      }
      assert.equal(events, changes);
      assert.equal(item.history?.length, changes);
      finals.add(`${item.status}@${item.statusAt}`);
    }
    assert.deepEqual([...finals], ['uploaded@2024-01-01T12:00:00.000Z']);
  });

  it('treats a missing item or another kind with the same id as unknown', () => {
    assert.deepEqual(decide(undefined, image('uploaded', '2024-01-01T12:00:00Z'), options), { type: 'unknown' });
    assert.deepEqual(decide({ id: 'img', kind: 'video', status: 'pending' }, image('uploaded', '2024-01-01T12:00:00Z'), options), { type: 'unknown' });
  });

  it('works on a minimal item a user created ({id, status}) and guards the write on its absent version', () => {
    const decision = decide({ id: 'img', status: 'pending' }, image('uploaded', '2024-01-01T12:00:00Z'), options);
    assert.equal(decision.type, 'write');
    assert.equal((decision as Extract<Decision, { type: 'write' }>).write.expectedVersion, undefined);
    assert.equal((decision as Extract<Decision, { type: 'write' }>).write.set.version, 1);
  });
});

describe('the outbox (unpublished events)', () => {
  const written = () => {
    const d = decide(pending(), image('uploaded', '2024-01-01T12:00:00.000Z'), options) as Extract<Decision, { type: 'write' }>;
    return { item: { ...pending(), ...d.write.set } as Item, eventId: d.publish[0]!.detail.eventId };
  };

  it('puts the event id in the outbox under a lease in the same write as the transition', () => {
    const { item, eventId } = written();
    assert.deepEqual(item.unpublished, [eventId]);
    assert.equal(item.leaseUntil, now.getTime() + 3000);
  });

  it('makes a duplicate wait while the writer still holds the lease', () => {
    const { item } = written();
    assert.deepEqual(decide(item, image('uploaded', '2024-01-01T12:00:00.000Z'), options), { type: 'wait', untilMs: now.getTime() + 3000 });
  });

  it('lets a duplicate take over and republish the same event once the lease expired', () => {
    const { item, eventId } = written();
    const later = { ...options, now: new Date(now.getTime() + 3001) };
    const d = decide(item, image('uploaded', '2024-01-01T12:00:00.000Z'), later);
    assert.equal(d.type, 'write');
    const w = d as Extract<Decision, { type: 'write' }>;
    assert.equal(w.outcome, 'duplicate');
    assert.deepEqual(w.publish.map((e) => [e.detail.eventId, e.detail.previousStatus, e.detail.status]), [[eventId, 'pending', 'uploaded']]);
    assert.deepEqual(w.write.set.unpublished, [eventId]);
    assert.equal(w.write.set.leaseUntil, later.now.getTime() + 3000);
  });

  it('recover does for the relay what a redelivery does: nothing, wait, or take over', () => {
    const { item, eventId } = written();
    assert.deepEqual(recover(pending(), options), { type: 'none' });
    assert.deepEqual(recover(item, options), { type: 'wait', untilMs: now.getTime() + 3000 });
    const takeover = recover(item, { ...options, now: new Date(now.getTime() + 3001) });
    assert.equal(takeover.type, 'write');
    assert.deepEqual((takeover as Extract<typeof takeover, { type: 'write' }>).publish.map((e) => e.detail.eventId), [eventId]);
    assert.equal((takeover as Extract<typeof takeover, { type: 'write' }>).write.expectedVersion, item.version);
  });

  it('the relay’s takeover counts itself and doubles its lease, 3 s to 768 s; a writer’s keeps the plain lease and the count', () => {
    const { item: first, eventId } = written();
    const takeover = (item: Item, at: number, by: 'relay' | 'writer') => {
      const d = recover(item, { ...options, now: new Date(at), by }) as Extract<Recovery, { type: 'write' }>;
      assert.equal(d.type, 'write');
      assert.deepEqual(d.publish.map((e) => e.detail.eventId), [eventId], 'the same event each time');
      return { item: { ...item, ...d.write.set } as Item, set: d.write.set, remove: d.write.remove };
    };
    let item = first;
    let at = item.leaseUntil!;
    const backoffs: number[] = [];
    for (let n = 1; n <= 12; n++) {
      assert.deepEqual(recover(item, { ...options, now: new Date(at - 1), by: 'relay' }).type, 'wait', 'nothing before the back-off ends');
      const next = takeover(item, at, 'relay');
      assert.equal(next.set.relayAttempts, n);
      assert.equal(next.set.version, (item.version ?? 0) + 1);
      assert.equal(next.set.leaseUntil, at + 3000, 'the lease stays the plain one: the relay publishes right after its write');
      assert.equal(next.remove, undefined);
      backoffs.push((next.set.relayBackoffUntil as number) - at);
      item = next.item;
      at = item.relayBackoffUntil!;
    }
    assert.deepEqual(backoffs, [3, 6, 12, 24, 48, 96, 192, 384, 768, 768, 768, 768].map((s) => s * 1000));
    assert.equal(relayLeaseMs(3000, MAX_LEASE_DOUBLINGS), 768_000);
    // While its back-off runs, the relay is told to wait, and told it is its own.
    assert.deepEqual(recover(item, { ...options, now: new Date(at - 1), by: 'relay' }), { type: 'wait', untilMs: at, relayAttempts: 12 });
    // A writer (a redelivery, the sweep, images sync, events redrive) waits for the plain lease only…
    const takenAt = at - 768_000;
    assert.deepEqual(recover(item, { ...options, now: new Date(takenAt + 1000) }), { type: 'wait', untilMs: takenAt + 3000 });
    // …then takes over during the back-off with the plain lease, leaving the relay's count (its write stays
    // out of the relay's filter) until the clean-up after its publish removes it.
    const writer = takeover(item, takenAt + 3000, 'writer');
    assert.equal(writer.set.leaseUntil, takenAt + 6000);
    assert.deepEqual([writer.set.relayAttempts, writer.remove, writer.item.relayAttempts], [undefined, undefined, 12]);
    assert.equal(recover(item, { ...options, now: new Date(takenAt + 3000) }).type, 'write', 'a writer by default');
  });

  it('a count that is not the relay’s own number starts the doubling over', () => {
    const { item } = written();
    for (const relayAttempts of ['3', -2, 1.5, Number.NaN]) {
      const d = recover({ ...item, relayAttempts } as Item, { ...options, now: new Date(item.leaseUntil!), by: 'relay' }) as Extract<Recovery, { type: 'write' }>;
      assert.deepEqual([d.write.set.relayAttempts, (d.write.set.relayBackoffUntil as number) - item.leaseUntil!], [1, 3000], String(relayAttempts));
    }
  });

  it('a writer’s next report removes the relay’s count and back-off (so its record reaches the relay), and only when there are some', () => {
    const { item } = written();
    const failed = image('failed', '2024-01-01T12:10:00.000Z');
    const stale = { ...item, status: 'draft', precedence: precedenceOf('image', 'draft', '2024-01-01T12:00:00.000Z') } as Item;
    // The relay took over 1 s ago (its plain lease still held) and backs off for 96 s.
    const live = { ...stale, relayAttempts: 5, leaseUntil: now.getTime() + 2000, relayBackoffUntil: now.getTime() + 95_000 } as Item;
    const d = decide(live, failed, options) as Extract<Decision, { type: 'write' }>;
    assert.equal(d.outcome, 'transitioned');
    assert.deepEqual(d.write.remove, ['relayAttempts', 'relayBackoffUntil']);
    assert.deepEqual(d.publish.map((e) => e.detail.status), ['failed'], 'the relay may still be publishing: its events stay its own');
    assert.equal(d.write.set.leaseUntil, now.getTime() + 3000);
    // Its plain lease over, only the back-off left: the report carries the relay's events out with its own.
    const backingOff = { ...live, leaseUntil: now.getTime() - 1 } as Item;
    const carried = decide(backingOff, failed, options) as Extract<Decision, { type: 'write' }>;
    assert.deepEqual(carried.publish.map((e) => e.detail.status).sort(), ['failed', 'uploaded']);
    const refreshed = decide(live, { ...image('draft', '2024-01-01T12:05:00.000Z') }, options) as Extract<Decision, { type: 'write' }>;
    assert.equal(refreshed.outcome, 'refreshed');
    assert.deepEqual(refreshed.write.remove, ['relayAttempts', 'relayBackoffUntil']);
    const plain = decide(stale, failed, options) as Extract<Decision, { type: 'write' }>;
    assert.equal(plain.write.remove, undefined);
  });

  it('a newer report publishes a dead writer’s events with its own, and leaves a live writer’s to it', () => {
    const { item, eventId } = written();
    const failed = image('failed', '2024-01-01T12:10:00.000Z');
    const stale = { ...item, status: 'draft', precedence: precedenceOf('image', 'draft', '2024-01-01T12:00:00.000Z') } as Item;
    const live = decide(stale, failed, options) as Extract<Decision, { type: 'write' }>;
    assert.deepEqual(live.publish.map((e) => e.detail.status), ['failed'], 'the live writer keeps its own');
    assert.equal((live.write.set.unpublished as string[]).length, 2);
    const dead = decide(stale, failed, { ...options, now: new Date(now.getTime() + 3001) }) as Extract<Decision, { type: 'write' }>;
    assert.deepEqual(dead.publish.map((e) => e.detail.eventId).sort(), [eventId, dead.publish.find((e) => e.detail.status === 'failed')!.detail.eventId].sort());
    assert.equal(dead.republished, 1);
  });

  it('drops ids whose history entry no longer exists, and removes an outbox left empty', () => {
    const item: Item = { ...pending(), status: 'uploaded', precedence: precedenceOf('image', 'uploaded', '2024-01-01T12:00:00.000Z'), version: 3, history: [], unpublished: ['gone'] };
    assert.equal(decide(item, image('uploaded', '2024-01-01T12:00:00.000Z'), options).type, 'none');
    const refreshed = decide(item, image('uploaded', '2024-01-01T12:00:01.000Z'), options) as Extract<Decision, { type: 'write' }>;
    assert.equal(refreshed.write.set.unpublished, undefined);
    assert.ok(refreshed.write.remove?.includes('unpublished'));
  });

  it('records who reported a transition and the Notifications envelope that brought it', () => {
    const report = { ...image('uploaded', '2024-01-01T12:00:00.000Z'), source: 'notification' as const, notification: { alertType: 'image_notification', policyId: 'p1', alertCorrelationId: 'c1', ts: 1704110400 } };
    const { item } = run(pending(), report);
    assert.deepEqual(item.history?.[0]?.notification, report.notification);
    assert.equal(item.history?.[0]?.source, 'notification');
  });
});

describe('the byExpiry index (expiresAt)', () => {
  const upload = (status: Item['status'] = 'pending'): Item => ({ ...pending(), status, expiresAt: '2024-01-01T12:30:00.000Z', version: 1 });
  const removes = (item: Item, report: StatusReport) => {
    const decision = decide(item, report, options);
    assert.equal(decision.type, 'write');
    return (decision as Extract<Decision, { type: 'write' }>).write.remove;
  };
  const video = (status: StatusReport['status']): StatusReport => ({ kind: 'video', id: 'img', status, occurredAt: '2024-01-01T12:00:00.000Z', source: 'stream', attributes: {} });

  it('the first transition out of an open upload removes expiresAt in the same write', () => {
    assert.deepEqual(removes(upload(), image('uploaded', '2024-01-01T12:00:00.000Z')), ['expiresAt']);
    assert.deepEqual(removes(upload(), image('failed', '2024-01-01T12:00:00.000Z')), ['expiresAt']);
    assert.deepEqual(removes(upload('draft'), image('uploaded', '2024-01-01T12:00:00.000Z')), ['expiresAt']);
    assert.deepEqual(removes({ ...upload(), kind: 'video' }, video('ready')), ['expiresAt']);
    assert.deepEqual(removes({ ...upload(), kind: 'video' }, video('error')), ['expiresAt']);
  });

  it('pending → draft keeps it, and so does nothing else: expired leaves the index too', () => {
    assert.equal(removes(upload(), image('draft', '2024-01-01T12:00:00.000Z')), undefined);
    assert.deepEqual(removes(upload('draft'), image('expired', '2024-01-01T12:30:00.000Z')), ['expiresAt']);
    assert.equal(removes(pending(), image('uploaded', '2024-01-01T12:00:00.000Z')), undefined);
  });
});
