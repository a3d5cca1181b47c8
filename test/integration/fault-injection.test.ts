/**
 * Every fault AWS can answer with, injected between the real bundle and the emulator by a
 * loopback proxy: throttling (ProvisionedThroughputExceededException, ThrottlingException),
 * 500/503, an unreachable endpoint (connection reset), slowness, an answer lost after the
 * request took effect, and PutEvents' partial failure (`FailedEntryCount: 1`, the entry not
 * delivered). Each fault is tried as a blip (the first attempt of one SDK call) and as an
 * outage (every attempt until it heals), followed by the sender's retry as Cloudflare would.
 *
 * The crash between the table write and PutEvents is in faults.test.ts; it is not repeated here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsClientConfig, REQUEST_TIMEOUT_ENV } from '../../lambda/adapters/aws.js';
import { payloads } from '../../local/payloads.js';
import { at, readItem, seedPending, send } from '../support/deliver.js';
import { startFaultProxy, tally, type AwsCall, type Fault, type FaultPolicy, type FaultProxy, type Service } from '../support/fault-proxy.js';
import { captureLogs, findLeaks, redact, type LogCapture } from '../support/log-capture.js';
import { connectEmulator, startReceiver, type Receiver } from '../support/receiver.js';
import { drainEvents, eventIdOf, waitUntil } from '../support/watch.js';
import type { Item } from '../../lambda/core/item.js';

// Short, so a redelivery takes over an unpublished event quickly; longer than any injected delay.
const LEASE_MS = 600;
/** What the functions' AWS clients allow one attempt (lambda/aws.ts), and an answer held longer. */
const REQUEST_TIMEOUT_MS = awsClientConfig.requestHandler.requestTimeout;
// Far past the timeout, so "gave up at the timeout, not when the answer came" holds on a busy machine.
const HOLD_MS = REQUEST_TIMEOUT_MS + 5000;
/** The webhook function's timeout (lib/): a hung call must end the delivery before it. */
const FUNCTION_TIMEOUT_MS = 10_000;

type Target = { readonly label: string; readonly matches: (call: AwsCall) => boolean };
const op = (service: Service, operation: string, label = `${service === 'dynamodb' ? 'DynamoDB' : service === 'events' ? 'EventBridge' : 'Secrets Manager'} ${operation}`): Target => ({
  label,
  matches: (call) => call.service === service && call.operation === operation,
});
const GET_ITEM = op('dynamodb', 'GetItem');
const updateExpression = (c: AwsCall) => String((JSON.parse(c.body.toString('utf8')) as { UpdateExpression?: string }).UpdateExpression);
/** The transition's conditional write (SET …, which may also REMOVE expiresAt), not the marker clean-up. */
const WRITE_ITEM: Target = { label: 'DynamoDB UpdateItem (transition)', matches: (c) => c.operation === 'UpdateItem' && updateExpression(c).startsWith('SET ') };
/** The clean-up after PutEvents succeeded (DELETE the ids from the outbox, SET version). */
const MARK_PUBLISHED: Target = { label: 'DynamoDB UpdateItem (mark published)', matches: (c) => c.operation === 'UpdateItem' && updateExpression(c).startsWith('DELETE ') };
const PUT_EVENTS = op('events', 'PutEvents');
const GET_SECRET = op('secretsmanager', 'GetSecretValue');
const ANY_AWS: Target = { label: 'DynamoDB and EventBridge', matches: (c) => c.service === 'dynamodb' || c.service === 'events' };

interface Case {
  readonly target: Target;
  readonly fault: Fault;
  /** Blip: the first attempt of the first matching SDK call. Outage: every matching attempt until healed. */
  readonly mode: 'blip' | 'outage';
  /** What the first delivery answers. */
  readonly status: 200 | 500;
  /** The item after that first answer. */
  readonly after: 'pending' | 'uploaded';
  /** Events on the bus once the sender's retry succeeded (all of them with the transition's one event id). */
  readonly events: number;
  /** A fresh function (cold secret cache) for faults on the secret read. */
  readonly cold?: boolean;
}

const throttle: Fault = { type: 'throttle' };
const e500: Fault = { type: 'server-error', status: 500 };
const e503: Fault = { type: 'server-error', status: 503 };
const reset: Fault = { type: 'reset' };
const lost: Fault = { type: 'lost-response' };

const CASES: Case[] = [
  // Blips: the SDK's own retries absorb them, the sender never sees a failure.
  { target: GET_ITEM, fault: throttle, mode: 'blip', status: 200, after: 'uploaded', events: 1 },
  { target: GET_ITEM, fault: reset, mode: 'blip', status: 200, after: 'uploaded', events: 1 },
  { target: WRITE_ITEM, fault: e500, mode: 'blip', status: 200, after: 'uploaded', events: 1 },
  { target: WRITE_ITEM, fault: e503, mode: 'blip', status: 200, after: 'uploaded', events: 1 },
  // The write happened but its answer was lost: the SDK's retry meets the version check, the
  // function re-reads, finds its own transition leased, and publishes it once the lease ends.
  { target: WRITE_ITEM, fault: lost, mode: 'blip', status: 200, after: 'uploaded', events: 1 },
  { target: PUT_EVENTS, fault: throttle, mode: 'blip', status: 200, after: 'uploaded', events: 1 },
  { target: PUT_EVENTS, fault: e500, mode: 'blip', status: 200, after: 'uploaded', events: 1 },
  { target: PUT_EVENTS, fault: reset, mode: 'blip', status: 200, after: 'uploaded', events: 1 },
  // The event reached the bus but the answer did not: the SDK sends it again. At least once, same id.
  { target: PUT_EVENTS, fault: lost, mode: 'blip', status: 200, after: 'uploaded', events: 2 },
  { target: MARK_PUBLISHED, fault: e503, mode: 'blip', status: 200, after: 'uploaded', events: 1 },
  { target: GET_SECRET, fault: throttle, mode: 'blip', status: 200, after: 'uploaded', events: 1, cold: true },
  // Failed entries are a 200 to the SDK, so nothing retries them but the sender.
  { target: PUT_EVENTS, fault: { type: 'failed-entry' }, mode: 'blip', status: 500, after: 'uploaded', events: 1 },
  // Outages: longer than the SDK's retries, so the function answers 500 and the sender retries.
  { target: GET_ITEM, fault: throttle, mode: 'outage', status: 500, after: 'pending', events: 1 },
  { target: GET_ITEM, fault: reset, mode: 'outage', status: 500, after: 'pending', events: 1 },
  { target: WRITE_ITEM, fault: e500, mode: 'outage', status: 500, after: 'pending', events: 1 },
  { target: WRITE_ITEM, fault: lost, mode: 'outage', status: 500, after: 'uploaded', events: 1 },
  { target: PUT_EVENTS, fault: throttle, mode: 'outage', status: 500, after: 'uploaded', events: 1 },
  { target: PUT_EVENTS, fault: e503, mode: 'outage', status: 500, after: 'uploaded', events: 1 },
  { target: PUT_EVENTS, fault: reset, mode: 'outage', status: 500, after: 'uploaded', events: 1 },
  // Every SDK attempt delivered the event and lost the answer (3), then the retry republishes it.
  { target: PUT_EVENTS, fault: lost, mode: 'outage', status: 500, after: 'uploaded', events: 4 },
  { target: PUT_EVENTS, fault: { type: 'failed-entry' }, mode: 'outage', status: 500, after: 'uploaded', events: 1 },
  // The event was delivered; its marker could not be cleared, so the retry publishes it again.
  { target: MARK_PUBLISHED, fault: e500, mode: 'outage', status: 500, after: 'uploaded', events: 2 },
  { target: GET_SECRET, fault: e503, mode: 'outage', status: 500, after: 'pending', events: 1, cold: true },
  { target: ANY_AWS, fault: reset, mode: 'outage', status: 500, after: 'pending', events: 1 },
];

function scheduled(target: Target, fault: Fault, mode: Case['mode']): FaultPolicy {
  let first: string | undefined;
  return (call) => {
    if (!target.matches(call)) return undefined;
    if (mode === 'outage') return fault;
    first ??= call.invocationId;
    return call.invocationId === first && call.attempt === 1 ? fault : undefined;
  };
}

const describeFault = (fault: Fault) => (fault.type === 'server-error' ? String(fault.status) : fault.type);

describe('faults between the function and AWS', () => {
  let emulator: Awaited<ReturnType<typeof connectEmulator>>;
  let proxy: FaultProxy;
  let warm: Receiver;
  let logs: LogCapture;
  const sensitive = new Set<string>();
  const rows: string[] = [];

  /** One delivery to `r` while `policy` decides the faults, healed once it is answered; and how long the answer took. */
  const deliverUnder = async (policy: FaultPolicy, r: Receiver, payload: unknown) => {
    proxy.setPolicy(policy);
    try {
      const started = performance.now();
      const answer = await send.toolkit(r, payload);
      return { answer, elapsed: performance.now() - started };
    } finally {
      proxy.setPolicy(() => undefined);
    }
  };

  const receiver = async (overrides: Record<string, string | number> = {}) => {
    const r = await startReceiver({ overrides: { AWS_ENDPOINT_URL: proxy.url, PUBLISH_LEASE_MS: LEASE_MS, ...overrides } });
    for (const values of Object.values(r.resources.secrets)) values.forEach((v) => sensitive.add(v));
    return r;
  };

  before(async () => {
    emulator = await connectEmulator();
    proxy = await startFaultProxy(emulator.endpoint);
    logs = captureLogs();
    warm = await receiver();
    // Warm the secret cache, so faults on the data path are not mixed with the first secret read.
    const id = await seedPending(warm.resources, 'image');
    assert.equal((await send.toolkit(warm, payloads.imageUploaded(id, at(1)))).status, 200);
    await drainEvents(warm);
  });

  after(async () => {
    logs.stop();
    await warm.stop();
    await proxy.close();
    await emulator.stop();
    process.stderr.write(`\nfault matrix (fault → first answer; SDK calls faulted / absorbed by SDK retries / reached the function; events):\n${rows.join('\n')}\n`);
  });

  for (const c of CASES) {
    const name = `${c.target.label}: ${describeFault(c.fault)} as ${c.mode === 'blip' ? 'a blip' : 'an outage'} → ${c.status}, item ${c.after}, then ${c.events} event${c.events > 1 ? 's' : ''} with one id`;
    it(name, async () => {
      const r = c.cold ? await receiver() : warm;
      try {
        const id = await seedPending(r.resources, 'image');
        const payload = payloads.imageUploaded(id, at(1));
        proxy.reset();
        const { answer: first } = await deliverUnder(scheduled(c.target, c.fault, c.mode), r, payload);
        const faults = tally(proxy.calls);

        assert.equal(first.status, c.status, JSON.stringify(first.body));
        if (c.status === 500) assert.deepEqual(first.body, { error: 'internal error', retryable: true });
        const left = await readItem(r.resources, id);
        assert.equal(left?.status, c.after);
        if (c.status === 500 && c.after === 'uploaded') {
          // Written but not confirmed published: the marker is what makes the retry publish it.
          assert.deepEqual([...(left?.unpublished ?? [])], [left!.history![0]!.eventId]);
        }

        // The sender retries what failed on our side.
        if (c.status === 500) {
          const retried = await send.toolkit(r, payload);
          assert.equal(retried.status, 200, JSON.stringify(retried.body));
        }
        const item = (await readItem(r.resources, id)) as Item;
        assert.equal(item.status, 'uploaded');
        assert.equal(item.history?.length, 1, 'one transition, however many attempts');
        assert.equal(item.unpublished, undefined);
        const seen = await drainEvents(r);
        const ids = seen.map(eventIdOf);
        assert.deepEqual([...new Set(ids)], [item.history![0]!.eventId], 'every event carries the transition’s stable id');
        assert.equal(seen.length, c.events, 'events on the bus');

        const injected = Object.values(faults.injected).reduce((a, b) => a + b, 0);
        rows.push(
          `| ${c.target.label} | ${describeFault(c.fault)} | ${c.mode} | ${injected} | ${faults.absorbedBySdk} | ${faults.surfacedToFunction} | ${first.status} | ${seen.length} |`,
        );
      } finally {
        if (c.cold) await r.stop();
      }
    });
  }

  it('a slow DynamoDB or EventBridge delays the answer and changes nothing else', async () => {
    for (const target of [GET_ITEM, PUT_EVENTS]) {
      const id = await seedPending(warm.resources, 'image');
      const { answer, elapsed } = await deliverUnder(scheduled(target, { type: 'slow', ms: 400 }, 'outage'), warm, payloads.imageUploaded(id, at(1)));
      assert.equal(answer.status, 200);
      assert.ok(elapsed >= 400, `${target.label}: took ${Math.round(elapsed)} ms`);
      assert.equal((await drainEvents(warm)).length, 1);
      rows.push(`| ${target.label} | slow 400 ms | outage | — | — | — | 200 in ${Math.round(elapsed)} ms | 1 |`);
    }
  });

  it('a PutEvents slower than the lease: a redelivery takes the event over, so it is published twice with one id (at least once)', async () => {
    // No SDK attempt timeout in the way: the first delivery's PutEvents is held until the redelivery
    // has answered, however long a busy machine takes, and is then let through, not abandoned.
    const patient = await receiver({ [REQUEST_TIMEOUT_ENV]: 60_000 });
    try {
      const id = await seedPending(patient.resources, 'image');
      const payload = payloads.imageUploaded(id, at(1));
      let heldAt: number | undefined;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      proxy.setPolicy((call) => {
        if (!PUT_EVENTS.matches(call) || heldAt !== undefined) return undefined;
        heldAt = Date.now();
        return { type: 'held', until: released };
      });
      try {
        const first = send.toolkit(patient, payload);
        await waitUntil('the first delivery’s PutEvents is held', async () => heldAt !== undefined, 30_000, 10);
        // Its lease was taken before PutEvents: past it, the redelivery takes the event over.
        await sleep(heldAt! + LEASE_MS + 50 - Date.now());
        const redelivered = await send.toolkit(patient, payload);
        const heldMs = Date.now() - heldAt!;
        release();
        // The writer's PutEvents is held; the redelivery takes its expired lease over and publishes.
        assert.deepEqual([redelivered, await first].map((a) => [a.status, a.body.outcome, a.body.published]), [
          [200, 'duplicate', 1],
          [200, 'transitioned', 1],
        ]);
        const item = await readItem(patient.resources, id);
        assert.equal(item?.unpublished, undefined);
        const seen = await drainEvents(patient);
        assert.deepEqual(seen.map(eventIdOf), [item!.history![0]!.eventId, item!.history![0]!.eventId]);
        rows.push(`| EventBridge PutEvents | held ${heldMs} ms (> lease ${LEASE_MS} ms), until a redelivery answered | blip | — | — | — | 200, 200 | 2 |`);
      } finally {
        release();
        proxy.setPolicy(() => undefined);
      }
    } finally {
      await patient.stop();
    }
  });

  /** Until the proxy has let go of every answer it held: they must not land in the next test's tally. */
  const heldReleased = (count: number) =>
    waitUntil('the proxy to release the answers it held', () => proxy.calls.filter((c) => c.fault === 'slow').length >= count, HOLD_MS * 4, 50);

  for (const target of [GET_ITEM, WRITE_ITEM]) {
    it(`${target.label} held past the SDK's ${REQUEST_TIMEOUT_MS} ms request timeout: the attempt is abandoned and retried, 200 long before the held answer`, async () => {
      const id = await seedPending(warm.resources, 'image');
      proxy.reset();
      const { answer, elapsed } = await deliverUnder(scheduled(target, { type: 'slow', ms: HOLD_MS }, 'blip'), warm, payloads.imageUploaded(id, at(1)));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.outcome, 'transitioned');
      // Gave up on the held attempt at the timeout, not before it and not when the answer came.
      assert.ok(elapsed >= REQUEST_TIMEOUT_MS && elapsed < HOLD_MS, `answered in ${Math.round(elapsed)} ms`);
      await heldReleased(1);
      const held = proxy.calls.find((c) => c.fault === 'slow')!;
      // The SDK's retry of the same call (same invocation id), not a new call by the function.
      assert.deepEqual(
        proxy.calls.filter((c) => c.invocationId === held.invocationId).map((c) => c.attempt).sort(),
        [1, 2],
      );
      // A held write reaches the table after its retry did: the version check turns it away.
      const item = (await readItem(warm.resources, id)) as Item;
      assert.equal(item.status, 'uploaded');
      assert.equal(item.history?.length, 1);
      assert.equal(item.unpublished, undefined);
      assert.equal((await drainEvents(warm)).length, 1);
      rows.push(`| ${target.label} | held ${HOLD_MS} ms (> request timeout ${REQUEST_TIMEOUT_MS} ms) | blip | — | — | — | 200 in ${Math.round(elapsed)} ms | 1 |`);
    });
  }

  it('every DynamoDB GetItem held past the request timeout: the SDK gives up after its attempts and the delivery answers a clean 500 before the 10 s function timeout', async () => {
    // Every client makes 3 attempts (lambda/aws.ts; DynamoDB's default would be 4): ~6 s in all.
    const attempts = await new DynamoDBClient(awsClientConfig).config.maxAttempts();
    assert.equal(attempts, 3, "one hung dependency must leave room inside the 10 s function timeout");
    const id = await seedPending(warm.resources, 'image');
    const payload = payloads.imageUploaded(id, at(1));
    proxy.reset();
    const { answer, elapsed } = await deliverUnder(scheduled(GET_ITEM, { type: 'slow', ms: HOLD_MS }, 'outage'), warm, payload);
    assert.equal(answer.status, 500, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { error: 'internal error', retryable: true });
    // Each attempt abandoned at the timeout, plus backoff; without the timeout it would hang until the function dies.
    assert.ok(elapsed >= attempts * REQUEST_TIMEOUT_MS && elapsed < FUNCTION_TIMEOUT_MS - 500, `answered in ${Math.round(elapsed)} ms`);
    await heldReleased(attempts);
    const reads = proxy.calls.filter((c) => c.operation === 'GetItem');
    assert.deepEqual(reads.map((c) => c.attempt).sort(), Array.from({ length: attempts }, (_, i) => i + 1));
    assert.ok(reads.every((c) => c.fault === 'slow'));
    assert.equal(new Set(reads.map((c) => c.invocationId)).size, 1, 'one SDK call, retried by the SDK');
    assert.equal((await readItem(warm.resources, id))?.status, 'pending');

    const retried = await send.toolkit(warm, payload);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal((await readItem(warm.resources, id))?.status, 'uploaded');
    assert.equal((await drainEvents(warm)).length, 1);
    rows.push(`| DynamoDB GetItem | held ${HOLD_MS} ms on every attempt | outage | ${attempts} | 0 | 1 | 500 in ${Math.round(elapsed)} ms | 1 |`);
  });

  it('calls each under its own limit but together past the delivery’s deadline: a clean, retryable 500, and nothing corrupt', async () => {
    // Each call slowed below the SDK's request timeout, so no attempt is abandoned: only the
    // delivery's own deadline stops it. Without one it would answer 200, long after.
    const r = await receiver({ DELIVERY_DEADLINE_MS: 1500 });
    try {
      const id = await seedPending(r.resources, 'image');
      assert.equal((await send.toolkit(r, payloads.testPing())).status, 200, 'the secret cache is warm');
      const payload = payloads.imageUploaded(id, at(1));
      const { answer } = await deliverUnder(scheduled(ANY_AWS, { type: 'slow', ms: 900 }, 'outage'), r, payload);
      assert.deepEqual([answer.status, answer.body], [500, { error: 'internal error', retryable: true }]);
      // The calls still running finish; whatever they wrote is whole (a transition with its outbox, or nothing).
      await heldReleased(1);
      const retried = await send.toolkit(r, payload);
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      const item = (await readItem(r.resources, id)) as Item;
      assert.deepEqual([item.status, item.history?.length, item.unpublished], ['uploaded', 1, undefined]);
      assert.deepEqual([...new Set((await drainEvents(r)).map(eventIdOf))], [item.history![0]!.eventId]);
    } finally {
      await r.stop();
    }
  });

  it('bad input still gets its 4xx while DynamoDB and EventBridge are down, and never a 500', async () => {
    proxy.setPolicy(scheduled(ANY_AWS, reset, 'outage'));
    try {
      assert.equal((await send.toolkit(warm, { id: 'x', uploaded: 'yesterday' })).status, 400);
      assert.equal((await send.notification({ ...warm, resources: { ...warm.resources, secrets: { ...warm.resources.secrets, images: ['wrong-secret-value-0001'] } } }, payloads.testPing())).status, 401);
    } finally {
      proxy.setPolicy(() => undefined);
    }
  });

  it('no secret or signature appears in the logs of any delivery above', () => {
    logs.stop();
    assert.ok(logs.lines() >= CASES.length, `captured ${logs.lines()} log lines`);
    assert.deepEqual(findLeaks(logs.text(), [...sensitive, 'wrong-secret-value-0001']).map(redact), []);
  });
});
