/**
 * Races and order through the real bundle: bursts of identical deliveries, conflicting reports
 * racing each other, and every permutation of late and stale deliveries, each run many times.
 * The documented outcome (lambda/decide.ts; modelled independently in support/model.ts) must
 * come out every time: the item ends at its greatest report, each transition is published
 * exactly once (no faults here), and a duplicate publishes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REQUEST_TIMEOUT_ENV } from '../../lambda/adapters/aws.js';
import type { WatchedEvent } from '../../local/provision.js';
import { at, readItem, seedPending, send, type Answer } from '../support/deliver.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { captureLogs, findLeaks, redact, type LogCapture } from '../support/log-capture.js';
import { apply, assertItemConsistent, bodyOf, checkEvents, pendingItem, type Kind, type Report, type Scheme } from '../support/model.js';
import { startEmulator, type Emulator } from '../../scripts/emulator.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { inPool } from '../support/sender.js';
import { drainEvents, eventIdOf } from '../support/watch.js';

const ROUNDS = 15;
/** Each permutation raced this many times. */
const REPEATS = 1;
/** Races on different items run side by side; the deliveries of one race are simultaneous. */
const PARALLEL = 24;

function permutations<T>(values: readonly T[]): T[][] {
  if (values.length <= 1) return [[...values]];
  return values.flatMap((value, i) => permutations([...values.slice(0, i), ...values.slice(i + 1)]).map((rest) => [value, ...rest]));
}

describe('races and order', () => {
  let emulator: Emulator;
  let proxy: FaultProxy;
  let r: Receiver;
  let logs: LogCapture;
  const figures: string[] = [];

  const deliver = (report: Report): Promise<Answer> => send[report.scheme](r, bodyOf(report));
  const report = (kind: Kind, id: string, status: Report['status'], second: number, scheme: Scheme): Report => ({
    kind,
    id,
    status,
    occurredAt: at(second),
    scheme,
  });
  /** Events grouped by item id (every test drains what it caused). */
  const eventsById = (events: readonly WatchedEvent[]) => {
    const byId = new Map<string, WatchedEvent[]>();
    for (const event of events) {
      const id = (event.detail as { id: string }).id;
      byId.set(id, [...(byId.get(id) ?? []), event]);
    }
    return byId;
  };

  before(async () => {
    // An emulator of its own: this suite is heavy, and one moto serves one request at a time.
    emulator = await startEmulator();
    // Pass-through only: every receiver in this process must share one AWS_ENDPOINT_URL.
    proxy = await startFaultProxy(emulator.endpoint);
    logs = captureLogs();
    // Exactly once holds while a writer finishes publishing within its lease; on 2 shared cores a
    // burst can delay it past the default 3 s, and a waiting delivery would then (rightly) take
    // over and publish again. A long lease keeps this suite about ordering, not about slowness
    // (fault-injection.test.ts shows the takeover).
    // For the same reason the SDK's 2 s attempt timeout is raised: a burst of 120 deliveries queues
    // for seconds in the emulator, and the timeout would turn that queue into retries and 500s.
    r = await startReceiver({ emulator, overrides: { AWS_ENDPOINT_URL: proxy.url, PUBLISH_LEASE_MS: 20_000, [REQUEST_TIMEOUT_ENV]: 60_000 } });
  });

  after(async () => {
    logs.stop();
    await r.stop();
    await proxy.close();
    await emulator.stop();
    process.stderr.write(`\nraces:\n${figures.map((line) => `  ${line}`).join('\n')}\n`);
  });

  for (const scheme of ['toolkit', 'notification', 'stream'] as const) {
    it(`50 identical ${scheme} deliveries at once: exactly one transition and one event`, async () => {
      const kind: Kind = scheme === 'stream' ? 'video' : 'image';
      const id = await seedPending(r.resources, kind);
      const one = report(kind, id, kind === 'video' ? 'ready' : 'uploaded', 1, scheme);
      const answers = await Promise.all(Array.from({ length: 50 }, () => deliver(one)));
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
      const outcomes = answers.map((a) => a.body.outcome);
      assert.equal(outcomes.filter((o) => o === 'transitioned').length, 1);
      assert.equal(outcomes.filter((o) => o === 'duplicate').length, 49);
      assert.equal(answers.reduce((n, a) => n + Number(a.body.published), 0), 1, 'one delivery published, the others nothing');
      const item = await readItem(r.resources, id);
      assert.equal(item?.history?.length, 1);
      const events = await drainEvents(r);
      assert.equal(events.length, 1);
      assert.equal(eventIdOf(events[0]!), item!.history![0]!.eventId);
      figures.push(`50 × identical ${scheme}: 1 transitioned, 49 duplicate, 1 event`);
    });
  }

  it(`upload complete and upload failed racing, ${ROUNDS} rounds × 3 timings: always uploaded, one event per transition`, async () => {
    const histories: Record<string, number> = {};
    // Failed after, at the same second as, and before the upload: uploaded wins every time.
    const races = Array.from({ length: ROUNDS }, (_, round) => [9, 3, 1].map((failedAt) => ({ round, failedAt }))).flat();
    const items = await inPool(
      races.map(({ round, failedAt }) => async () => {
        const id = await seedPending(r.resources, 'image');
        const sent = [report('image', id, 'failed', failedAt, round % 2 ? 'notification' : 'toolkit'), report('image', id, 'uploaded', 3, round % 3 ? 'toolkit' : 'notification')];
        const answers = await Promise.all((round % 2 ? [...sent].reverse() : sent).map(deliver));
        assert.deepEqual(answers.map((a) => a.status), [200, 200]);
        const item = (await readItem(r.resources, id))!;
        assertItemConsistent(item, sent, `round ${round}, failed at ${failedAt}`);
        const path = item.history!.map((h) => h.to).join('→');
        histories[path] = (histories[path] ?? 0) + 1;
        return item;
      }),
      PARALLEL,
    );
    const check = checkEvents(items, await drainEvents(r));
    assert.equal(check.events, check.transitions, 'exactly one event per transition');
    assert.equal(check.redelivered, 0);
    figures.push(`complete vs failed, ${races.length} races: final uploaded ${items.length}/${races.length}; histories ${JSON.stringify(histories)}; ${check.events} events for ${check.transitions} transitions`);
  });

  it(`video ready and error racing, ${ROUNDS} rounds: always ready`, async () => {
    const items = await inPool(
      Array.from({ length: ROUNDS }, (_, round) => async () => {
        const id = await seedPending(r.resources, 'video');
        const sent = [report('video', id, 'error', round % 2 ? 9 : 1, 'stream'), report('video', id, 'ready', 3, 'stream')];
        await Promise.all(sent.map(deliver));
        const item = (await readItem(r.resources, id))!;
        assertItemConsistent(item, sent, `round ${round}`);
        return item;
      }),
      PARALLEL,
    );
    const check = checkEvents(items, await drainEvents(r));
    assert.equal(check.events, check.transitions);
    figures.push(`ready vs error, ${ROUNDS} races: final ready ${items.length}/${ROUNDS}; ${check.events} events for ${check.transitions} transitions`);
  });

  // Late and stale deliveries: draft, a failure, the upload, and a failure reported after the
  // upload (which must not take it back), plus a duplicate; videos alike.
  const imageReports = (id: string, n: number): Report[] => [
    report('image', id, 'draft', 10, n % 2 ? 'toolkit' : 'notification'),
    report('image', id, 'failed', 20, n % 3 ? 'notification' : 'toolkit'),
    report('image', id, 'uploaded', 15, n % 2 ? 'notification' : 'toolkit'),
    report('image', id, 'failed', 30, 'toolkit'),
  ];
  const videoReports = (id: string): Report[] => [
    report('video', id, 'error', 10, 'stream'),
    report('video', id, 'ready', 20, 'stream'),
    report('video', id, 'error', 30, 'stream'),
    report('video', id, 'ready', 5, 'stream'),
  ];

  for (const kind of ['image', 'video'] as const) {
    it(`every permutation of four ${kind} reports plus a duplicate, one at a time: each outcome as documented`, async () => {
      const orders = permutations([0, 1, 2, 3]);
      const tally: Record<string, number> = {};
      // One item per order; the orders run side by side, each one's deliveries strictly in turn.
      const items = await inPool(
        orders.map((order, n) => async () => {
          const id = await seedPending(r.resources, kind);
          const reports = kind === 'image' ? imageReports(id, n) : videoReports(id);
          const sequence = [...order.map((i) => reports[i]!), reports[order[0]!]!];
          const model = pendingItem(kind);
          for (const [step, sent] of sequence.entries()) {
            const expected = apply(model, sent);
            const answer = await deliver(sent);
            assert.equal(answer.status, 200);
            assert.equal(answer.body.outcome, expected, `order ${order.join('')}, step ${step}: ${sent.status} at ${sent.occurredAt}`);
            assert.equal(answer.body.published, expected === 'transitioned' ? 1 : 0);
            tally[expected] = (tally[expected] ?? 0) + 1;
          }
          const item = (await readItem(r.resources, id))!;
          assertItemConsistent(item, reports, `order ${order.join('')}`);
          assert.deepEqual(
            item.history!.map((h) => [h.from, h.to, h.occurredAt]),
            model.transitions.map((t) => [t.from, t.to, t.occurredAt]),
            `order ${order.join('')}: the transitions the model makes`,
          );
          return item;
        }),
        PARALLEL,
      );
      const events = await drainEvents(r);
      const check = checkEvents(items, events);
      assert.equal(check.events, check.transitions);
      assert.equal(check.redelivered, 0);
      // Events of one item arrive in the order of its transitions.
      for (const [id, own] of eventsById(events)) {
        const item = items.find((i) => i.id === id)!;
        assert.deepEqual(own.map(eventIdOf), item.history!.map((h) => h.eventId));
      }
      figures.push(`${kind}: ${orders.length} orders × 5 deliveries one at a time: outcomes ${JSON.stringify(tally)}; ${check.events} events for ${check.transitions} transitions`);
    });

    it(`the same ${kind} reports all at once, every permutation ${REPEATS === 1 ? 'once' : `${REPEATS} times`}: ends at the greatest, one event per transition`, async () => {
      const bursts = Array.from({ length: REPEATS }, (_, repeat) => permutations([0, 1, 2, 3]).map((order, n) => ({ order, n: n + repeat }))).flat();
      const items = await inPool(
        bursts.map(({ order, n }) => async () => {
          const id = await seedPending(r.resources, kind);
          const reports = kind === 'image' ? imageReports(id, n) : videoReports(id);
          const answers = await Promise.all([...order.map((i) => reports[i]!), reports[order[0]!]!].map(deliver));
          assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
          const item = (await readItem(r.resources, id))!;
          assertItemConsistent(item, reports, `order ${order.join('')}`);
          return item;
        }),
        PARALLEL,
      );
      const check = checkEvents(items, await drainEvents(r));
      assert.equal(check.events, check.transitions);
      assert.equal(check.redelivered, 0);
      figures.push(`${kind}: ${items.length} concurrent bursts (${items.length * 5} deliveries): final state right ${items.length}/${bursts.length}; ${check.events} events for ${check.transitions} transitions`);
    });
  }

  it('no secret or signature appears in the logs of any delivery above', () => {
    logs.stop();
    const secrets = Object.values(r.resources.secrets).flat();
    assert.ok(logs.lines() > 500, `captured ${logs.lines()} log lines`);
    assert.deepEqual(findLeaks(logs.text(), secrets).map(redact), []);
  });
});
