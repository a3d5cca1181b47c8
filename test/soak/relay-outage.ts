/**
 * What one stuck item costs while the relay cannot publish: the relay bundle behind the local
 * event source mapping with the stack's own settings (RelayEventSource, the 3 s lease), its bus
 * missing (as a deleted bus or a wrong name would leave it), one writer dead after its write, and
 * a fixed window. Counted: invocations and records the filter dropped (the poller's stats), the
 * relay's reads, takeover writes and PutEvents attempts (through a pass-through fault proxy), the
 * item's records in the stream, and the dead-letter messages.
 *
 * A measurement, not a test of `npm test` (it takes the whole window): run it on its own. It checks
 * what cannot depend on the machine's speed: no more takeovers than the doubling leases let fit in
 * the window, one PutEvents each, and no dead-letter message before the records' age bound.
 *
 *   npx tsx scripts/test.ts test/soak/relay-outage.ts
 *   RELAY_OUTAGE_SECONDS=300 npx tsx scripts/test.ts test/soak/relay-outage.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Defaults, RelayEventSource } from '../../lambda/core/contract.js';
import { relayLeaseMs } from '../../lambda/core/decide.js';
import { payloads, signedHeaders } from '../../local/payloads.js';
import { at, readItem, seedPending } from '../support/deliver.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { connectEmulator, QUIET, startReceiver, type LocalReceiver } from '../support/receiver.js';
import { FUNCTION_DIED, queueDepth, receiveInProcess, streamRecordsOf } from '../support/relay.js';

const WINDOW_SECONDS = Number(process.env.RELAY_OUTAGE_SECONDS ?? 120);

/** The most relay takeovers a window can hold: the first at once, each later one after the lease before it. */
function takeoversWithin(windowMs: number): number {
  let count = 1;
  for (let elapsed = relayLeaseMs(Defaults.publishLeaseMs, 0); elapsed <= windowMs; elapsed += relayLeaseMs(Defaults.publishLeaseMs, count - 1)) count++;
  return count;
}

describe(`one stuck item, the relay's bus missing, ${WINDOW_SECONDS} s`, () => {
  let emulator: Awaited<ReturnType<typeof connectEmulator>>;
  let proxy: FaultProxy;
  let r: LocalReceiver;
  before(async () => {
    emulator = await connectEmulator();
    proxy = await startFaultProxy(emulator.endpoint);
    r = await startReceiver({ overrides: QUIET, relay: { onError: () => {}, env: { ...QUIET, AWS_ENDPOINT_URL: proxy.url, EVENT_BUS_NAME: 'no-such-bus' } } });
  });
  after(async () => {
    await r?.stop();
    await proxy?.close();
    await emulator?.stop();
  });

  it('counts what the relay does meanwhile', { timeout: (WINDOW_SECONDS + 120) * 1000 }, async () => {
    const id = await seedPending(r.resources, 'image');
    const body = JSON.stringify(payloads.imageUploaded(id, at(1)));
    await assert.rejects(receiveInProcess(r.resources, { route: 'images', body, headers: signedHeaders.toolkit(r.resources.secrets.toolkit[0]!, body) }), FUNCTION_DIED);
    const written = (await streamRecordsOf(r.resources, id)).length;
    const start = r.relay!.stats;
    await sleep(WINDOW_SECONDS * 1000);

    const stats = r.relay!.stats;
    // SDK calls (each attempt of one call carries the same invocation id), not HTTP attempts.
    const calls = (operation: string) => new Set(proxy.calls.filter((call) => call.operation === operation).map((call) => call.invocationId)).size;
    const records = (await streamRecordsOf(r.resources, id)).slice(written);
    const item = await readItem(r.resources, id);
    const figures = {
      windowSeconds: WINDOW_SECONDS,
      settings: { leaseMs: Defaults.publishLeaseMs, retryAttempts: RelayEventSource.retryAttempts, maxRecordAgeSeconds: RelayEventSource.maxRecordAgeSeconds },
      invocations: stats.invocations - start.invocations,
      filteredOut: stats.filteredOut - start.filteredOut,
      getItem: calls('GetItem'),
      takeoverWrites: records.length,
      putEventsCalls: calls('PutEvents'),
      putEventsAttempts: proxy.calls.filter((call) => call.operation === 'PutEvents').length,
      deadLetterMessages: await queueDepth(r.endpoint, r.resources.relayDlqUrl!),
      discarded: stats.discarded - start.discarded,
      relayAttempts: item?.relayAttempts,
      backoffLeftMs: item?.relayBackoffUntil === undefined ? undefined : item.relayBackoffUntil - Date.now(),
    };
    process.stderr.write(`\nrelay outage figures: ${JSON.stringify(figures)}\n`);
    // Whatever the relay did, nothing reached the missing bus and the event stays in the outbox.
    assert.equal(item?.unpublished?.length, 1, 'the event is still in the outbox');
    assert.ok(figures.invocations >= 1, 'the relay saw the dead writer’s record');
    // Each takeover waits for the back-off of the one before, doubled each time: no more fit in the window.
    assert.ok(figures.takeoverWrites >= 1 && figures.takeoverWrites <= takeoversWithin(WINDOW_SECONDS * 1000), JSON.stringify(figures));
    assert.equal(figures.putEventsCalls, figures.takeoverWrites, 'one PutEvents per takeover');
    if (WINDOW_SECONDS < RelayEventSource.maxRecordAgeSeconds) assert.equal(figures.deadLetterMessages, 0, 'nothing given up on before the age bound');
  });
});
