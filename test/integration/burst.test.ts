/**
 * A burst against what `npm start` runs (the shipped bundle behind the local HTTP API, instances
 * of it started on demand up to LOCAL_CONCURRENCY, against moto): 200 signed deliveries at once,
 * Cloudflare delivering each of 50 uploads 4 times. Every one is answered 200 and each upload
 * makes one transition and one event.
 *
 * Nothing here is timed: a slow emulator makes the burst take longer, not fail. What keeps a
 * slow moto from turning into SDK timeouts is the instance cap (local/instances.ts): at most that
 * many deliveries run, so a call waits behind at most cap − 1 others, however large the burst.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_LOCAL_CONCURRENCY } from '../../local/instances.js';
import { payloads } from '../../local/payloads.js';
import { startEmulator, type Emulator } from '../../scripts/emulator.js';
import { at, readItem, seedPending, send } from '../support/deliver.js';
import { captureLogs, type LogCapture } from '../support/log-capture.js';
import { startReceiver, type LocalReceiver } from '../support/receiver.js';
import { drainEvents, eventIdOf } from '../support/watch.js';

const ITEMS = 50;
const COPIES = 4;

describe(`a burst of ${ITEMS * COPIES} deliveries to npm start's receiver`, () => {
  let emulator: Emulator;
  let r: LocalReceiver;
  let logs: LogCapture;
  const figures: string[] = [];

  before(async () => {
    // An emulator of its own: this suite is heavy, and other suites' calls would queue with ours.
    emulator = await startEmulator();
    logs = captureLogs();
    r = await startReceiver({ emulator });
  });

  after(async () => {
    logs.stop();
    await r.stop();
    await emulator.stop();
    process.stderr.write(`\nburst:\n${figures.map((line) => `  ${line}`).join('\n')}\n`);
  });

  it(`${ITEMS} uploads × ${COPIES} identical deliveries at once: all 200, ${ITEMS} transitions, ${ITEMS} distinct events`, async () => {
    const ids = await Promise.all(Array.from({ length: ITEMS }, () => seedPending(r.resources, 'image')));
    const deliver = (id: string) => send.notification(r, payloads.notification(payloads.imageUploaded(id, at(1)), 1704110401));
    // Copies of one upload spread through the burst, as retries of a sender would arrive.
    const burst = Array.from({ length: COPIES }, () => ids).flat();
    const started = performance.now();
    const answers = await Promise.all(burst.map(deliver));
    const seconds = (performance.now() - started) / 1000;

    const failed = answers.filter((a) => a.status !== 200);
    assert.deepEqual(failed, [], `${failed.length} answers were not 200`);
    const outcomes = answers.map((a) => a.body.outcome);
    assert.equal(outcomes.filter((o) => o === 'transitioned').length, ITEMS);
    assert.equal(outcomes.filter((o) => o === 'duplicate').length, ITEMS * (COPIES - 1));

    const items = await Promise.all(ids.map((id) => readItem(r.resources, id)));
    for (const item of items) {
      assert.equal(item?.status, 'uploaded');
      assert.equal(item.history?.length, 1, `${item.id}: one transition`);
      assert.equal(item.unpublished, undefined, `${item.id}: its event reached the bus`);
    }
    // A delivery may take over a slow writer's event and publish it again, with the same id.
    const events = await drainEvents(r);
    const eventIds = new Set(events.map(eventIdOf));
    assert.equal(eventIds.size, ITEMS);
    assert.deepEqual(eventIds, new Set(items.map((item) => item!.history![0]!.eventId)));

    const instances = r.instances();
    assert.ok(instances.started <= DEFAULT_LOCAL_CONCURRENCY, `started ${instances.started} instances, cap ${DEFAULT_LOCAL_CONCURRENCY}`);
    assert.ok(instances.peakBusy <= DEFAULT_LOCAL_CONCURRENCY);
    figures.push(
      `${burst.length} deliveries in ${seconds.toFixed(1)} s: all 200, ${ITEMS} transitioned, ${ITEMS * (COPIES - 1)} duplicate; ` +
        `${events.length} events, ${eventIds.size} distinct; ${instances.started} instances (cap ${DEFAULT_LOCAL_CONCURRENCY}), ` +
        `${instances.waited} deliveries waited for a free one`,
    );
  });

  it('after the burst, a delivery runs on a warm instance: none starts', async () => {
    const before = r.instances().started;
    const id = await seedPending(r.resources, 'image');
    const answer = await send.notification(r, payloads.notification(payloads.imageUploaded(id, at(1)), 1704110401));
    assert.equal(answer.status, 200);
    assert.equal(answer.body.outcome, 'transitioned');
    assert.equal(r.instances().started, before);
    await drainEvents(r);
  });
});
