/**
 * No event waits for a redelivery: the stream relay against the real components. The relay is the
 * built bundle behind the local event source mapping (local/stream-poller.ts) with the stack's
 * settings, reading moto's stream of the table; events are read from a rule's queue (the watch
 * queue), as a consumer would see them.
 *
 * A writer that dies between its table write and PutEvents is the one moment nothing real can
 * produce, so that writer is the real data path (`receive`, `sweep`) run in this process against
 * the real table with a publisher that dies. Every other fault is real: the fault proxy between
 * the relay (or the webhook) and the emulator, a bus that does not exist.
 *
 * No assertion is about time: each test waits for what it expects with a generous deadline.
 * Figures (duplicates, the recovery latency) go to stderr, as the fault matrix's do.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { REQUEST_TIMEOUT_ENV } from '../../lambda/adapters/aws.js';
import { Defaults, DetailType, RelayEventSource } from '../../lambda/core/contract.js';
import type { Item } from '../../lambda/core/item.js';
import { startCloudflareStandIn, type CloudflareStandIn } from '../../local/cloudflare.js';
import { relayEnvironment } from '../../local/environments.js';
import { importBundle } from '../../local/instances.js';
import { relayMapping } from '../../local/stack.js';
import { payloads, signedHeaders } from '../../local/payloads.js';
import { receiveEvents, type LocalResources, type WatchedEvent } from '../../local/provision.js';
import { startStreamPoller, type StreamFailureRecord, type StreamPoller, type StreamPollerStats } from '../../local/stream-poller.js';
import { cli, stateFor } from '../support/cli.js';
import { at, readItem, seedPending, send } from '../support/deliver.js';
import { captureLogs } from '../support/log-capture.js';
import type { Scheme } from '../support/model.js';
import { startFaultProxy, type AwsCall, type Fault, type FaultPolicy, type FaultProxy } from '../support/fault-proxy.js';
import { builtBundles, connectEmulator, QUIET, startReceiver, type LocalReceiver } from '../support/receiver.js';
import {
  busPublisher,
  collectEvents,
  countByEventId,
  duplicatesIn,
  FUNCTION_DIED,
  peekMessages,
  percentile,
  queueDepth,
  receiveInProcess,
  startRelayPoller,
  streamRecordsOf,
  type ItemRecord,
  sweepInProcess,
} from '../support/relay.js';
import { createUpload, startUploadsStack, windowEnded, type UploadsStack } from '../support/uploads.js';
import { drainQueue, eventIdOf, waitUntil } from '../support/watch.js';

/** The dead writers' lease: short, so the relay's takeover comes soon after the write. */
const DEAD_WRITER_LEASE_MS = 1000;
const figures: string[] = [];
after(() => {
  if (figures.length > 0) process.stderr.write(`\nrelay figures:\n${figures.map((line) => `  ${line}`).join('\n')}\n`);
});

/** One webhook for `id`, signed as its sender signs it, for the in-process data path. */
function webhook(resources: LocalResources, scheme: Scheme, id: string) {
  const { secrets } = resources;
  if (scheme === 'stream') {
    const body = JSON.stringify(payloads.videoReady(id, at(1)));
    return { route: 'stream' as const, body, headers: signedHeaders.stream(secrets.stream[0]!, body) };
  }
  if (scheme === 'notification') {
    const body = JSON.stringify(payloads.notification({ id, status: 'complete', uploaded: at(1) }, 1704110401));
    return { route: 'images' as const, body, headers: signedHeaders.notification(secrets.images[0]!) };
  }
  const body = JSON.stringify(payloads.imageUploaded(id, at(1)));
  return { route: 'images' as const, body, headers: signedHeaders.toolkit(secrets.toolkit[0]!, body) };
}

/**
 * A webhook whose function dies right after its write; nobody ever sends it again. Returns the
 * event id the write left in the outbox, and when the write was done.
 */
async function dieAfterWrite(resources: LocalResources, scheme: Scheme, id: string, leaseMs = DEAD_WRITER_LEASE_MS): Promise<{ eventId: string; writtenAt: number }> {
  await assert.rejects(receiveInProcess(resources, { ...webhook(resources, scheme, id), leaseMs }), FUNCTION_DIED);
  const writtenAt = Date.now();
  const left = await readItem(resources, id);
  const eventId = left?.history?.at(-1)?.eventId;
  assert.ok(eventId, `${id}: the transition was written`);
  assert.deepEqual(left?.unpublished, [eventId], 'what a crash leaves: the event in the outbox');
  return { eventId, writtenAt };
}

/** The outbox of every item is empty: the relay (or a writer) published and cleared it. */
async function assertOutboxesEmpty(resources: LocalResources, ids: readonly string[]): Promise<void> {
  for (const id of ids) assert.equal((await readItem(resources, id))?.unpublished, undefined, `${id}: outbox empty`);
}

/** Exactly `eventIds`, each once, and nothing else. */
function assertOncePerId(seen: readonly WatchedEvent[], eventIds: readonly string[]): void {
  assert.deepEqual(seen.map(eventIdOf).sort(), [...eventIds].sort());
}

/** Every expected id at least once, nothing else; duplicates only ever repeat an id. */
function assertAtLeastOncePerId(seen: readonly WatchedEvent[], eventIds: readonly string[]): number {
  const counts = countByEventId(seen);
  assert.deepEqual([...counts.keys()].sort(), [...eventIds].sort(), 'every transition’s id, and no other');
  return duplicatesIn(seen);
}

const watched = (r: LocalReceiver, eventIds: readonly string[], extra: { timeoutMs?: number; onArrival?: (events: readonly WatchedEvent[]) => void } = {}) =>
  collectEvents({ endpoint: r.endpoint, queueUrl: r.resources.watchQueueUrl, eventIds, ...(r.relay && { relay: r.relay }), ...extra });

describe('the webhook function dies right after its write and the webhook is never delivered again', () => {
  let r: LocalReceiver;
  before(async () => {
    r = await startReceiver({ overrides: QUIET, relay: { env: QUIET } });
  });
  after(() => r?.stop());

  for (const [scheme, kind, detailType] of [
    ['toolkit', 'image', DetailType.ImageUploaded],
    ['notification', 'image', DetailType.ImageUploaded],
    ['stream', 'video', DetailType.VideoReady],
  ] as const) {
    it(`${scheme}: the relay publishes the transition once, with its eventId, and empties the outbox`, async () => {
      const id = await seedPending(r.resources, kind);
      const { eventId } = await dieAfterWrite(r.resources, scheme, id);
      const seen = await watched(r, [eventId]);
      assertOncePerId(seen, [eventId]);
      assert.equal(seen[0]!['detail-type'], detailType);
      assert.deepEqual([(seen[0]!.detail as { id: string }).id, (seen[0]!.detail as { previousStatus: string }).previousStatus], [id, 'pending']);
      await assertOutboxesEmpty(r.resources, [id]);
    });
  }

  it('recovery latency (write → event in the queue) with the stack’s lease, over several dead writers', async () => {
    const runs = 5;
    const latencies: number[] = [];
    const eventIds: string[] = [];
    for (let run = 0; run < runs; run++) {
      const id = await seedPending(r.resources, 'image');
      const { eventId, writtenAt } = await dieAfterWrite(r.resources, 'toolkit', id, Defaults.publishLeaseMs);
      eventIds.push(eventId);
      const deadline = Date.now() + 60_000;
      for (;;) {
        // One at a time: a read that asked for more would wait out its whole poll after the first.
        const batch = await receiveEvents(r.endpoint, r.resources.watchQueueUrl, { max: 1, waitSeconds: 1 });
        assert.deepEqual(batch.map(eventIdOf).filter((seen) => seen !== eventId), [], 'no other event');
        if (batch.length > 0) {
          latencies.push(Date.now() - writtenAt);
          break;
        }
        assert.ok(Date.now() < deadline, `event ${eventId} never arrived`);
      }
    }
    // Anything published twice would come after the first copy: read until the relay is idle and the queue quiet.
    await r.relay!.caughtUp(60_000);
    assert.deepEqual((await drainQueue(r.endpoint, r.resources.watchQueueUrl)).map(eventIdOf), []);
    assert.equal(latencies.length, runs);
    figures.push(
      `recovery latency of an event whose writer died (lease ${Defaults.publishLeaseMs} ms, batching window ${RelayEventSource.maxBatchingWindowSeconds} s), ${runs} runs: ` +
        `p50 ${percentile(latencies, 50)} ms, max ${percentile(latencies, 100)} ms (${latencies.join(', ')})`,
    );
  });
});

describe('an upload’s life with no redelivery: the upload route, its webhook, the sweep', () => {
  let cloudflare: CloudflareStandIn;
  let stack: UploadsStack;
  before(async () => {
    cloudflare = await startCloudflareStandIn();
    stack = await startUploadsStack({ cloudflareBaseUrl: cloudflare.baseURL, apiSecret: { accountId: cloudflare.accountId, apiToken: cloudflare.token }, relay: { env: QUIET } });
  });
  after(async () => {
    await stack?.stop();
    await cloudflare?.close();
  });

  async function pendingUpload(): Promise<string> {
    const created = await createUpload(stack, { expiresInSeconds: 600 });
    assert.equal(created.status, 201);
    return created.body.id as string;
  }

  it('the route writes a pending item and no event: nothing for the relay, which its filter never invokes', async () => {
    // The upload route is a writer with nothing to relay: it creates the `pending` item with a
    // conditional PutItem and publishes nothing (no transition happened yet), so its write carries
    // no outbox, and a crash anywhere in it loses no event.
    await stack.relay!.caughtUp(60_000);
    const before = stack.relay!.stats;
    const id = await pendingUpload();
    await stack.relay!.caughtUp(60_000);
    const after = stack.relay!.stats;
    assert.equal((await readItem(stack.resources, id))?.status, 'pending');
    assert.equal(after.filteredOut - before.filteredOut, 1, 'the pending item’s write, dropped by the filter');
    assert.equal(after.invocations, before.invocations, 'the relay was not invoked');
  });

  it('the webhook of an upload dies after its write: Image Uploaded reaches the queue once', async () => {
    const id = await pendingUpload();
    const { eventId } = await dieAfterWrite(stack.resources, 'notification', id);
    const seen = await watched(stack, [eventId]);
    assertOncePerId(seen, [eventId]);
    assert.equal(seen[0]!['detail-type'], DetailType.ImageUploaded);
    await assertOutboxesEmpty(stack.resources, [id]);
  });

  it('the sweep dies after expiring an abandoned upload: the relay publishes Image Expired once', async () => {
    const ids = [await pendingUpload(), await pendingUpload()];
    // The windows ended a minute ago (a test backdates rather than waits).
    for (const id of ids) await windowEnded(stack, id, 60_000);
    const run = await sweepInProcess(stack.resources, { leaseMs: DEAD_WRITER_LEASE_MS });
    assert.equal(run.failed, 2, 'both writes done, both publishes died');
    assert.equal(run.firstError, FUNCTION_DIED);
    const eventIds = await Promise.all(
      ids.map(async (id) => {
        const item = (await readItem(stack.resources, id)) as Item;
        assert.equal(item.status, 'expired');
        assert.equal(item.unpublished?.length, 1);
        return item.unpublished![0]!;
      }),
    );
    const seen = await watched(stack, eventIds);
    assertOncePerId(seen, eventIds);
    assert.deepEqual(seen.map((event) => event['detail-type']), [DetailType.ImageExpired, DetailType.ImageExpired]);
    await assertOutboxesEmpty(stack.resources, ids);
    // Nothing left for the next run: the items left the expiry index with the expiry.
    const again = await sweepInProcess(stack.resources, { publisher: busPublisher(stack.resources) });
    assert.deepEqual([again.expired, again.failed], [0, 0]);
  });
});

describe('the webhook is slow to publish while the relay looks at its record', () => {
  /** Both sides: the webhook's lease on its event, and the one the relay takes when it takes over. */
  const LEASE_MS = 1000;
  /** How long the webhook's PutEvents is held, per item: some within the lease, some well past it. */
  const DELAYS_MS = [100, 400, 700, 1000, 1300, 1600, 1800, 1800];
  let proxy: FaultProxy;
  let r: LocalReceiver;
  let emulator: Awaited<ReturnType<typeof connectEmulator>>;
  before(async () => {
    emulator = await connectEmulator();
    proxy = await startFaultProxy(emulator.endpoint);
    // The SDK's attempt timeout (2 s) raised well above the longest hold: on a busy machine a held
    // PutEvents could otherwise time out, be retried and answer 500, which is not what this is about.
    r = await startReceiver({
      overrides: { ...QUIET, AWS_ENDPOINT_URL: proxy.url, PUBLISH_LEASE_MS: LEASE_MS, [REQUEST_TIMEOUT_ENV]: 10_000 },
      relay: { env: { ...QUIET, PUBLISH_LEASE_MS: LEASE_MS } },
    });
  });
  after(async () => {
    await r?.stop();
    await proxy?.close();
    await emulator?.stop();
  });

  it('no event is lost, and any duplicate carries the transition’s eventId', async () => {
    const ids = await Promise.all(DELAYS_MS.map(() => seedPending(r.resources, 'image')));
    const delayOf = new Map(ids.map((id, i) => [id, DELAYS_MS[i]!]));
    // Only the webhook's calls go through the proxy; the relay talks to the emulator directly.
    proxy.setPolicy((call) => {
      if (call.operation !== 'PutEvents') return undefined;
      const entries = (JSON.parse(call.body.toString('utf8')) as { Entries: { Detail: string }[] }).Entries;
      const ms = delayOf.get((JSON.parse(entries[0]!.Detail) as { id: string }).id);
      return ms === undefined ? undefined : { type: 'slow', ms };
    });
    const answers = await Promise.all(ids.map((id) => send.toolkit(r, payloads.imageUploaded(id, at(1)))));
    for (const answer of answers) assert.deepEqual([answer.status, answer.body.outcome, answer.body.published], [200, 'transitioned', 1], JSON.stringify(answer.body));
    const eventIds = await Promise.all(ids.map(async (id) => (await readItem(r.resources, id))!.history![0]!.eventId));

    const seen = await watched(r, eventIds);
    const duplicates = assertAtLeastOncePerId(seen, eventIds);
    await assertOutboxesEmpty(r.resources, ids);
    proxy.setPolicy(() => undefined);
    figures.push(
      `slow webhook PutEvents (held ${DELAYS_MS.join('/')} ms, lease ${LEASE_MS} ms on both sides): ${eventIds.length} transitions, ${seen.length} events, ${duplicates} duplicate${duplicates === 1 ? '' : 's'} (same eventId), 0 lost`,
    );
  });
});

/** The relay's AWS calls, told apart as the fault matrix tells the webhook's. */
type Target = { readonly label: string; readonly matches: (call: AwsCall) => boolean };
const updateExpression = (call: AwsCall) => String((JSON.parse(call.body.toString('utf8')) as { UpdateExpression?: string }).UpdateExpression);
const PUT_EVENTS: Target = { label: 'PutEvents', matches: (call) => call.operation === 'PutEvents' };
const GET_ITEM: Target = { label: 'GetItem', matches: (call) => call.operation === 'GetItem' };
const TAKE_OVER: Target = { label: 'UpdateItem (take over)', matches: (call) => call.operation === 'UpdateItem' && updateExpression(call).startsWith('SET ') };
const CLEAR_OUTBOX: Target = { label: 'UpdateItem (clear the outbox)', matches: (call) => call.operation === 'UpdateItem' && updateExpression(call).startsWith('DELETE ') };

interface RelayFaultCase {
  readonly target: Target;
  readonly fault: Fault;
  readonly what: string;
  /** Whether the fault can make the relay publish an event twice (the bus had it, the relay could not know). */
  readonly duplicates: boolean;
}

const RELAY_FAULTS: readonly RelayFaultCase[] = [
  { target: PUT_EVENTS, fault: { type: 'server-error', status: 500 }, what: 'PutEvents errors (500)', duplicates: false },
  { target: PUT_EVENTS, fault: { type: 'throttle' }, what: 'PutEvents throttled', duplicates: false },
  { target: PUT_EVENTS, fault: { type: 'failed-entry' }, what: 'PutEvents answers FailedEntryCount 1', duplicates: false },
  { target: PUT_EVENTS, fault: { type: 'reset' }, what: 'EventBridge unreachable', duplicates: false },
  { target: PUT_EVENTS, fault: { type: 'lost-response' }, what: 'PutEvents delivers, its answer is lost', duplicates: true },
  { target: GET_ITEM, fault: { type: 'throttle' }, what: 'its read throttled', duplicates: false },
  { target: TAKE_OVER, fault: { type: 'server-error', status: 503 }, what: 'its takeover write fails (503)', duplicates: false },
  // Published, then the connection drops on the clean-up: from the table's side, the relay died after PutEvents.
  { target: CLEAR_OUTBOX, fault: { type: 'reset' }, what: 'the relay dies between PutEvents and its clean-up', duplicates: true },
];

describe('faults on the relay’s own AWS calls: the poller retries, nothing is lost', () => {
  const RELAY_LEASE_MS = 500;
  let proxy: FaultProxy;
  let r: LocalReceiver;
  let emulator: Awaited<ReturnType<typeof connectEmulator>>;
  const rows: string[] = [];
  before(async () => {
    emulator = await connectEmulator();
    proxy = await startFaultProxy(emulator.endpoint);
    r = await startReceiver({ overrides: QUIET, relay: { env: { ...QUIET, AWS_ENDPOINT_URL: proxy.url, PUBLISH_LEASE_MS: RELAY_LEASE_MS } } });
  });
  after(async () => {
    await r?.stop();
    await proxy?.close();
    await emulator?.stop();
    if (rows.length > 0) figures.push(`relay faults (fault → relay hand-backs before healed / poller retries / events for 2 transitions):\n    ${rows.join('\n    ')}`);
  });

  for (const c of RELAY_FAULTS) {
    it(`${c.what} (${c.target.label}, an outage until the relay hands records back) → retried, 0 lost${c.duplicates ? ', duplicates with the same eventId' : ', each event once'}`, async () => {
      await r.relay!.caughtUp(60_000);
      const start = r.relay!.stats;
      proxy.reset();
      const outage: FaultPolicy = (call) => (c.target.matches(call) ? c.fault : undefined);
      proxy.setPolicy(outage);
      const ids = [await seedPending(r.resources, 'image'), await seedPending(r.resources, 'video')];
      const eventIds = [(await dieAfterWrite(r.resources, 'toolkit', ids[0]!, 200)).eventId, (await dieAfterWrite(r.resources, 'stream', ids[1]!, 200)).eventId];
      try {
        // Healed only once the fault reached the relay and it handed the records back to the poller.
        await waitUntil('the relay to hand records back', () => handedBack(r.relay!.stats, start) > 0, 60_000);
      } finally {
        proxy.setPolicy(() => undefined);
      }
      const failed = handedBack(r.relay!.stats, start);
      assert.ok(proxy.calls.some((call) => call.fault === c.fault.type), 'the fault was injected');

      const seen = await watched(r, eventIds);
      const stats = r.relay!.stats;
      // Where the bus took the event and the relay could not know it, the retry publishes it again.
      if (c.duplicates) assert.ok(assertAtLeastOncePerId(seen, eventIds) > 0, 'republished under the same eventId');
      else assertOncePerId(seen, eventIds);
      await assertOutboxesEmpty(r.resources, ids);
      assert.ok(stats.retries > start.retries, 'the poller retried');
      assert.equal(stats.discarded, start.discarded, 'nothing given up on');
      rows.push(`${c.what}: ${failed} / ${stats.retries - start.retries} / ${seen.length}`);
    });
  }
});

/** Records the relay gave back: invocations that threw and those that reported failed items. */
const handedBack = (now: StreamPollerStats, start: StreamPollerStats) => now.functionErrors - start.functionErrors + now.partialFailures - start.partialFailures;

describe('the relay dies mid-batch', () => {
  let r: LocalReceiver;
  let poller: StreamPoller;
  let died: { published: number; records: number } | undefined;
  before(async () => {
    // The receiver without its own relay: this one is the relay bundle under a handler that dies
    // after the bundle handled the first half of a batch, with the stack's mapping settings.
    r = await startReceiver({ overrides: QUIET });
    const resources = r.resources;
    const bundle = await importBundle<(event: DynamoDBStreamEvent, context: Context) => Promise<unknown>>((await builtBundles()).relay.entry, relayEnvironment(resources, QUIET));
    poller = await startStreamPoller({
      ...relayMapping(resources),
      onError: () => {},
      handler: async (event, context) => {
        if (died || event.Records.length < 2) return bundle(event, context);
        const half = Math.floor(event.Records.length / 2);
        await bundle({ Records: event.Records.slice(0, half) }, context);
        died = { published: half, records: event.Records.length };
        throw new Error('the relay died mid-batch');
      },
    });
  });
  after(async () => {
    await poller?.stop();
    await r?.stop();
  });

  it('the poller bisects and retries: every event once, every outbox empty', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => seedPending(r.resources, 'image')));
    // At once, so their records share a batch.
    const written = await Promise.all(ids.map((id) => dieAfterWrite(r.resources, 'toolkit', id, 200)));
    const eventIds = written.map((w) => w.eventId);
    const seen = await collectEvents({ endpoint: r.endpoint, queueUrl: r.resources.watchQueueUrl, eventIds, relay: poller });
    assert.ok(died, 'a batch of several records reached the relay, and it died');
    assertOncePerId(seen, eventIds);
    await assertOutboxesEmpty(r.resources, ids);
    const { stats } = poller;
    assert.ok(stats.functionErrors >= 1 && stats.bisections >= 1, JSON.stringify(stats));
    assert.equal(stats.discarded, 0);
    figures.push(`relay died mid-batch after ${died.published} of ${died.records} records: bisections ${stats.bisections}, invocations ${stats.invocations}, ${seen.length} events for ${eventIds.length} transitions`);
  });
});

describe('the relay cannot publish until its records are too old: the dead-letter queue, then `events redrive`', () => {
  /**
   * The test's age bound (AWS's minimum is 60 s; the stack's is 6 hours): short, so the batch is given
   * up on soon, yet long enough that each record reaches the relay at least once on a busy machine.
   */
  const MAX_RECORD_AGE_SECONDS = 8;
  let r: LocalReceiver;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relay-redrive-'));
    // A relay that cannot publish (its bus does not exist), retried without a count as the stack does, until the age bound.
    r = await startReceiver({
      overrides: QUIET,
      relay: { maxRecordAgeSeconds: MAX_RECORD_AGE_SECONDS, onError: () => {}, env: { ...QUIET, EVENT_BUS_NAME: 'no-such-bus', PUBLISH_LEASE_MS: 300 } },
    });
  });
  after(async () => {
    await r?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the batch lands in the dead-letter queue as too old, the relay is not invoked again, and redrive with the right bus publishes each event once', async () => {
    assert.equal(RelayEventSource.retryAttempts, -1, 'the stack’s mapping retries without a count');
    const dlq = r.resources.relayDlqUrl!;
    const ids = [await seedPending(r.resources, 'image'), await seedPending(r.resources, 'video')];
    const eventIds = [(await dieAfterWrite(r.resources, 'toolkit', ids[0]!, 200)).eventId, (await dieAfterWrite(r.resources, 'stream', ids[1]!, 200)).eventId];
    await waitUntil('an on-failure record in the dead-letter queue', async () => (await queueDepth(r.endpoint, dlq)) > 0, 90_000, 250);
    const failures = await peekMessages(r.endpoint, dlq);
    assert.ok(failures.length > 0);
    for (const body of failures) assert.equal((JSON.parse(body) as StreamFailureRecord).requestContext.condition, 'RecordAgeExceeded');

    // Given up means given up: the relay's own takeovers never invoke it, so once the records are gone it stays idle.
    await r.relay!.caughtUp(60_000);
    const given = r.relay!.stats;
    assert.ok(given.sentToOnFailure >= 1 && given.discarded >= 2, JSON.stringify(given));
    assert.deepEqual((await drainQueue(r.endpoint, r.resources.watchQueueUrl)).map(eventIdOf), [], 'nothing reached the bus');
    for (const id of ids) {
      const item = await readItem(r.resources, id);
      assert.equal(item?.unpublished?.length, 1, `${id}: still in the outbox`);
      assert.ok((item?.relayAttempts ?? 0) >= 1, `${id}: the relay took it over, counted`);
    }
    const messages = await queueDepth(r.endpoint, dlq);

    const env = await stateFor(r, join(dir, 'local.json'));
    const redriven = await cli(['events', 'redrive', '--queue', dlq], { env });
    assert.equal(redriven.code, 0, `${redriven.out}\n${redriven.err}`);
    // One message per batch the relay gave up on: the first to name an item publishes its event, later ones find it settled.
    const summary = /^redrove (\d+) of (\d+) messages?: \d+ items? settled, (\d+) events? published$/.exec(redriven.out.split('\n').at(-1) ?? '');
    assert.ok(summary, redriven.out);
    assert.deepEqual(summary.slice(1).map(Number), [messages, messages, 2]);
    const seen = await collectEvents({ endpoint: r.endpoint, queueUrl: r.resources.watchQueueUrl, eventIds, relay: r.relay! });
    assertOncePerId(seen, eventIds);
    await assertOutboxesEmpty(r.resources, ids);
    for (const id of ids) assert.equal((await readItem(r.resources, id))?.relayAttempts, undefined, `${id}: the count went with the outbox`);
    assert.equal(await queueDepth(r.endpoint, dlq), 0, 'every message deleted');
    const stats = r.relay!.stats;
    assert.equal(stats.invocations, given.invocations, 'redrive’s writes never invoked the relay');
    assert.equal(stats.sentToOnFailure, given.sentToOnFailure);
    figures.push(
      `relay records too old (bus missing, no retry count, age bound ${MAX_RECORD_AGE_SECONDS} s, 300 ms lease): ${given.invocations} invocations, ${given.discarded} records discarded in ${given.sentToOnFailure} on-failure record${given.sentToOnFailure === 1 ? '' : 's'} (RecordAgeExceeded), ` +
        `none after; redrive: ${messages} message${messages === 1 ? '' : 's'}, 2 events published once each`,
    );
  });
});

describe('PutEvents keeps failing for the relay: it backs off on its own lease until the bus heals', () => {
  /** The relay's lease: its takeovers hold the outbox 1 s, 2 s, 4 s, 8 s, … */
  const LEASE_MS = 1000;
  /** The relay's wait per invocation, under the stack's 5 s so the hand-backs without a write come early (from the 4 s lease on). */
  const MAX_WAIT_MS = 1500;
  /** Takeovers to see before the bus heals. */
  const TAKEOVERS = 4;
  let emulator: Awaited<ReturnType<typeof connectEmulator>>;
  let proxy: FaultProxy;
  let r: LocalReceiver;
  let poller: StreamPoller;
  const delivered: DynamoDBRecord[] = [];
  before(async () => {
    emulator = await connectEmulator();
    proxy = await startFaultProxy(emulator.endpoint);
    // The receiver without its own relay: this one shows the test every record the mapping hands the relay.
    r = await startReceiver({ overrides: QUIET, emulator });
    poller = await startRelayPoller(r.resources, {
      env: { ...QUIET, AWS_ENDPOINT_URL: proxy.url, PUBLISH_LEASE_MS: LEASE_MS, RELAY_MAX_WAIT_MS: MAX_WAIT_MS },
      onRecords: (records) => delivered.push(...records),
    });
  });
  after(async () => {
    await poller?.stop();
    await r?.stop();
    await proxy?.close();
    await emulator?.stop();
  });

  /** The item's records after `write`, oldest first. */
  const takeoversAfter = async (write: ItemRecord) => (await streamRecordsOf(r.resources, write.newImage.id!.S!)).filter((record) => BigInt(record.sequenceNumber) > BigInt(write.sequenceNumber));

  it('its takeovers count 1, 2, 3… with doubling leases, none of them reaches it, nothing goes to the dead-letter queue; healed, the event arrives once without a redrive', async () => {
    proxy.setPolicy((call) => (call.operation === 'PutEvents' ? { type: 'server-error', status: 500 } : undefined));
    const id = await seedPending(r.resources, 'image');
    const { eventId } = await dieAfterWrite(r.resources, 'toolkit', id, 200);
    const deadWrite = (await streamRecordsOf(r.resources, id)).at(-1)!;
    assert.equal(deadWrite.newImage.relayAttempts, undefined, 'the writer’s own write carries no count');

    await waitUntil(`the relay's takeover ${TAKEOVERS}`, async () => ((await readItem(r.resources, id))?.relayAttempts ?? 0) >= TAKEOVERS, 90_000, 100);
    const takeovers = await takeoversAfter(deadWrite);
    const broken = poller.stats;
    proxy.setPolicy(() => undefined);

    // Every write after the dead writer's is a relay takeover, counted one by one.
    const counts = takeovers.map((record) => Number(record.newImage.relayAttempts?.N));
    assert.deepEqual(counts, counts.map((_, i) => i + 1), 'relayAttempts 1, 2, 3, …');
    assert.ok(counts.length >= TAKEOVERS);
    // Each back-off twice the one before. Takeover n sets relayBackoffUntil = now + LEASE_MS × 2^(n-1),
    // where `now` is when it found the back-off before it ended and the write has not landed yet: the
    // `now` that back-off implies must fall between those two instants, however slow the machine. Its
    // lease stays the plain one (LEASE_MS from the same `now`): only the relay waits out the back-off.
    let previousUntil = Number(deadWrite.newImage.leaseUntil!.N);
    takeovers.forEach((record, i) => {
      const backoffUntil = Number(record.newImage.relayBackoffUntil!.N);
      const decidedAt = backoffUntil - LEASE_MS * 2 ** i;
      assert.ok(previousUntil <= decidedAt && decidedAt <= record.createdMs, `takeover ${i + 1}: back-off until ${backoffUntil}, the one before until ${previousUntil}, written at ${record.createdMs}`);
      assert.equal(Number(record.newImage.leaseUntil!.N), decidedAt + LEASE_MS, `takeover ${i + 1}: the plain lease`);
      previousUntil = backoffUntil;
    });
    // Retries in between found the relay's own lease longer than their wait and handed the records back without writing.
    assert.ok(broken.invocations > takeovers.length, `invocations that wrote nothing: ${JSON.stringify(broken)}`);
    assert.deepEqual([broken.discarded, broken.sentToOnFailure, await queueDepth(r.endpoint, r.resources.relayDlqUrl!)], [0, 0, 0], 'nothing given up on');

    // The bus heals: the next retry after the current lease publishes; no redrive, nothing in the dead-letter queue.
    const seen = await collectEvents({ endpoint: r.endpoint, queueUrl: r.resources.watchQueueUrl, eventIds: [eventId], relay: poller, timeoutMs: 120_000 });
    assertOncePerId(seen, [eventId]);
    const item = await readItem(r.resources, id);
    assert.deepEqual([item?.unpublished, item?.relayAttempts, item?.relayBackoffUntil], [undefined, undefined, undefined], 'outbox empty, count and back-off gone');
    const healed = poller.stats;
    assert.deepEqual([healed.discarded, healed.sentToOnFailure, await queueDepth(r.endpoint, r.resources.relayDlqUrl!)], [0, 0, 0]);
    // Once the relay caught up it had read every takeover: the filter dropped them all; only the dead writer's record reached it, retried.
    const all = await takeoversAfter(deadWrite);
    const relayWrites = all.filter((record) => record.newImage.relayAttempts !== undefined);
    assert.equal(relayWrites.length, all.length - 1, 'the relay’s takeovers, then its clean-up');
    assert.deepEqual([...new Set(delivered.map((record) => record.dynamodb!.SequenceNumber))], [deadWrite.sequenceNumber]);
    assert.ok(delivered.every((record) => record.dynamodb!.NewImage!.relayAttempts === undefined));
    assert.ok(healed.filteredOut >= all.length, `the filter dropped the takeovers and the clean-up: ${JSON.stringify(healed)}`);
    // Publishes paced by the lease: one PutEvents (an SDK call, its retries included) per takeover, none in between.
    const putEvents = new Set(proxy.calls.filter((call) => call.operation === 'PutEvents').map((call) => call.invocationId)).size;
    assert.equal(putEvents, relayWrites.length, 'one PutEvents per takeover');
    const leases = takeovers.map((record) => Number(record.newImage.relayBackoffUntil!.N) - record.createdMs);
    figures.push(
      `PutEvents failing for the relay (lease ${LEASE_MS} ms, wait ${MAX_WAIT_MS} ms): ${takeovers.length} takeovers before the bus healed, back-offs ${leases.join('/')} ms (from each write), ` +
        `${broken.invocations} invocations, 0 dead letters; healed: 1 event; in all ${healed.invocations} invocations, ${putEvents} PutEvents for ${relayWrites.length} takeovers, ${healed.filteredOut} records filtered out`,
    );
  });

  it('a redelivery during the relay’s back-off is answered at once: it takes over, publishes the event once and ends the back-off', async () => {
    proxy.setPolicy((call) => (call.operation === 'PutEvents' ? { type: 'server-error', status: 500 } : undefined));
    try {
      const id = await seedPending(r.resources, 'image');
      const { eventId } = await dieAfterWrite(r.resources, 'toolkit', id, 200);
      // A back-off longer than a delivery's deadline (8 s), and the relay's plain lease over: before
      // writers honoured the plain lease only, this redelivery waited until its deadline and got a 500.
      await waitUntil(
        'a relay back-off past the delivery deadline',
        async () => {
          const item = await readItem(r.resources, id);
          const nowMs = Date.now();
          return (item?.relayBackoffUntil ?? 0) - nowMs > 10_000 && (item?.leaseUntil ?? 0) < nowMs;
        },
        120_000,
        100,
      );
      // The webhook's own PutEvents goes to the emulator directly: only the relay's calls fail.
      const answer = await send.toolkit(r, payloads.imageUploaded(id, at(1)));
      assert.deepEqual([answer.status, answer.body.outcome, answer.body.published], [200, 'duplicate', 1], JSON.stringify(answer.body));
      const seen = await collectEvents({ endpoint: r.endpoint, queueUrl: r.resources.watchQueueUrl, eventIds: [eventId], relay: poller, timeoutMs: 60_000 });
      assertOncePerId(seen, [eventId]);
      const item = await readItem(r.resources, id);
      assert.deepEqual([item?.unpublished, item?.relayAttempts, item?.relayBackoffUntil], [undefined, undefined, undefined], 'outbox, count and back-off gone');
    } finally {
      proxy.setPolicy(() => undefined);
    }
  });
});

describe('the relay writes nothing when its writer already published (the usual invocation)', () => {
  let r: LocalReceiver;
  let poller: StreamPoller;
  before(async () => {
    r = await startReceiver({ overrides: QUIET });
    // At the stack's log level: the relay's own lines and metrics are what this checks.
    poller = await startRelayPoller(r.resources, { env: { POWERTOOLS_LOG_LEVEL: 'INFO' } });
  });
  after(async () => {
    await poller?.stop();
    await r?.stop();
  });

  it('no log line and no metrics for an outbox its writer emptied; a line and RelayedEvents when it publishes', async () => {
    const relayLines = (text: string) => text.split('\n').filter((line) => line.includes('"message":"relay') || line.includes('"cloudflare-relay"'));
    await poller.caughtUp(60_000);
    const capture = captureLogs();
    try {
      const id = await seedPending(r.resources, 'image');
      const before = poller.stats.invocations;
      const answer = await send.toolkit(r, payloads.imageUploaded(id, at(1)));
      assert.deepEqual([answer.status, answer.body.outcome], [200, 'transitioned']);
      await waitUntil('the relay invoked for the transition’s write', async () => poller.stats.invocations > before, 60_000, 50);
      await poller.caughtUp(60_000);
      // On a busy machine the writer may still hold its lease when the relay reads: the relay then
      // waits for it and says so at INFO ("relay done", nothing republished); anything else is a defect.
      const waitedOnly = (line: string) => line.includes('"message":"relay done"') && line.includes('"republished":0');
      assert.deepEqual(relayLines(capture.text()).filter((line) => !waitedOnly(line)), [], 'the usual invocation writes nothing');

      const dead = await seedPending(r.resources, 'image');
      const { eventId } = await dieAfterWrite(r.resources, 'toolkit', dead, 200);
      await collectEvents({ endpoint: r.endpoint, queueUrl: r.resources.watchQueueUrl, eventIds: [eventId], relay: poller, timeoutMs: 60_000 });
      const lines = relayLines(capture.text());
      assert.ok(lines.some((line) => line.includes('relay published events a writer left behind')), lines.join('\n'));
      assert.ok(lines.some((line) => line.includes('"RelayedEvents":1')), lines.join('\n'));
    } finally {
      capture.stop();
    }
  });
});

describe('the filter: a write that publishes nothing never invokes the relay', () => {
  let r: LocalReceiver;
  before(async () => {
    // A writer's lease far longer than any pause of a busy machine: the relay never takes its event over here.
    r = await startReceiver({ relay: { env: QUIET }, overrides: { ...QUIET, PUBLISH_LEASE_MS: 20_000 } });
  });
  after(() => r?.stop());

  it('a transition invokes it for its write only; its clean-up, a duplicate, a refresh and a stale report never do', async () => {
    const relay = r.relay!;
    const id = await seedPending(r.resources, 'image');
    await relay.caughtUp(60_000);
    const s0 = relay.stats;

    // The transition: its write carries the outbox (one record for the relay), its clean-up does not.
    const first = await send.toolkit(r, payloads.imageUploaded(id, at(10)));
    assert.deepEqual([first.status, first.body.outcome], [200, 'transitioned']);
    await relay.caughtUp(60_000);
    const s1 = relay.stats;
    assert.equal(s1.delivered - s0.delivered, 1, 'the transition’s write reached the relay');
    assert.equal(s1.filteredOut - s0.filteredOut, 1, 'its clean-up was filtered out');

    // A duplicate and a stale report write nothing; a refresh (same status, newer report) writes without an outbox.
    const duplicate = await send.toolkit(r, payloads.imageUploaded(id, at(10)));
    const stale = await send.toolkit(r, payloads.imageFailed(id, at(5)));
    const refreshed = await send.toolkit(r, payloads.imageUploaded(id, at(20)));
    assert.deepEqual([duplicate, stale, refreshed].map((a) => a.body.outcome), ['duplicate', 'stale', 'refreshed']);
    await relay.caughtUp(60_000);
    const s2 = relay.stats;
    assert.equal(s2.invocations, s1.invocations, 'not invoked');
    assert.equal(s2.delivered, s1.delivered);
    assert.equal(s2.filteredOut - s1.filteredOut, 1, 'the refresh’s write, filtered out');
    const seen = await watched(r, [(await readItem(r.resources, id))!.history![0]!.eventId]);
    assert.equal(seen.length, 1);
    figures.push(`filter: 1 transition + duplicate + stale + refresh → ${s2.delivered - s0.delivered} record to the relay, ${s2.filteredOut - s0.filteredOut} filtered out, ${s2.invocations - s0.invocations} invocation${s2.invocations - s0.invocations === 1 ? '' : 's'}`);
  });
});
