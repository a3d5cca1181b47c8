/**
 * Hostile input end to end: generated requests (support/hostile.ts) sent over HTTP to the real
 * bundle behind the local HTTP API, against the emulator, with every AWS call counted by a
 * pass-through proxy. Properties: no 5xx; nothing answered 2xx that is not authentic; no
 * rejected request changes the table or publishes anything. Then the limits: the body size is
 * enforced before any work, and a flood of forgeries costs no DynamoDB or EventBridge call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Defaults } from '../../lambda/core/contract.js';
import type { SecretSet } from '../../lambda/webhook/verify.js';
import { payloads, signedHeaders } from '../../local/payloads.js';
import { readItem, seedPending } from '../support/deliver.js';
import { startFaultProxy, tally, type FaultProxy } from '../support/fault-proxy.js';
import { authentic, bodies, build, plans, SIGNATURE_HEADERS } from '../support/hostile.js';
import { captureLogs, findLeaks, redact, type LogCapture } from '../support/log-capture.js';
import { checkEvents } from '../support/model.js';
import { connectEmulator, startReceiver, type LocalReceiver, type Receiver } from '../support/receiver.js';
import { drainEvents, scanItems } from '../support/watch.js';
import type { Item } from '../../lambda/core/item.js';

const RUNS = Number(process.env.HOSTILE_RUNS ?? 400);
const SEED = Number(process.env.PROPERTY_SEED ?? 424242);
const TOLERANCE = Defaults.toleranceSeconds;
const MAX_BODY = Defaults.maxBodyBytes;

interface Sent {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function postRaw(url: string, method: string, body: Buffer, headers: Record<string, string>): Promise<Sent> {
  const response = await fetch(url, { method, headers, ...(method === 'POST' ? { body } : {}) });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed };
}

describe('hostile HTTP requests through the real bundle', () => {
  let emulator: Awaited<ReturnType<typeof connectEmulator>>;
  let proxy: FaultProxy;
  let r: LocalReceiver;
  let logs: LogCapture;
  let seeded: string[] = [];
  const sensitive = new Set<string>();
  const figures: string[] = [];

  const secretsOf = (receiver: Receiver): SecretSet => receiver.resources.secrets;
  const remember = (headers: Record<string, string>) => {
    for (const name of SIGNATURE_HEADERS) for (const part of headers[name]?.split(/[=,\s]/) ?? []) if (part.length >= 12) sensitive.add(part);
  };

  before(async () => {
    emulator = await connectEmulator();
    proxy = await startFaultProxy(emulator.endpoint);
    logs = captureLogs();
    r = await startReceiver({ overrides: { AWS_ENDPOINT_URL: proxy.url } });
    for (const values of Object.values(r.resources.secrets)) values.forEach((v) => sensitive.add(v));
    seeded = await Promise.all([...Array(8).fill('image'), ...Array(8).fill('video')].map((kind) => seedPending(r.resources, kind)));
  });

  after(async () => {
    logs.stop();
    await r.stop();
    await proxy.close();
    await emulator.stop();
    process.stderr.write(`\nhostile input (seed ${SEED}):\n${figures.map((f) => `  ${f}`).join('\n')}\n`);
  });

  it(`${RUNS} generated requests: no 5xx, only authentic ones accepted, no rejected one changes anything`, async () => {
    // Mostly ids the table holds, so a forgery that got through would show as a change.
    const ids = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...seeded) }, { weight: 1, arbitrary: fc.uuid() });
    const contentType = fc.constantFrom(
      'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/octet-stream',
      'application/x-www-form-urlencoded', undefined,
    );
    const answers: Record<number, number> = {};
    let accepted = 0;
    let changed = 0;
    let baseline = await scanItems(r);
    await fc.assert(
      fc.asyncProperty(
        plans(TOLERANCE),
        bodies(ids, { unsafeNumbers: true, hugeBytes: [MAX_BODY + 1, 4 * MAX_BODY] }),
        contentType,
        fc.constantFrom('route', 'route', 'route', 'route', 'route', 'route', 'other-path', 'get'),
        async (plan, original, type, where) => {
          const builtAt = Math.floor(Date.now() / 1000);
          const request = build(plan, secretsOf(r), original, builtAt);
          const headers = { ...request.headers, ...(type ? { 'content-type': type } : {}) };
          if (!type) delete headers['content-type'];
          remember(headers);
          const url = where === 'other-path' ? `${r.url}/webhooks/other` : request.route === 'stream' ? r.streamUrl : r.imagesUrl;
          const answer = await postRaw(url, where === 'get' ? 'GET' : 'POST', request.body, headers);
          const answeredAt = Math.ceil(Date.now() / 1000);
          answers[answer.status] = (answers[answer.status] ?? 0) + 1;
          assert.ok(answer.status < 500, `answered ${answer.status}: ${JSON.stringify(answer.body)}`);

          const after = await scanItems(r);
          if (answer.status >= 200 && answer.status < 300) {
            accepted++;
            // The function read its clock between building and answering: authentic at one end of that
            // span or the other (a second of slack for the rounding), however long the span took.
            const scheme = answer.body.scheme as Parameters<typeof authentic>[1];
            const authenticAt = (seconds: number) => authentic(request, scheme, secretsOf(r), seconds, TOLERANCE + 1);
            assert.ok(authenticAt(builtAt) || authenticAt(answeredAt), `accepted an inauthentic ${scheme} request`);
            if (JSON.stringify(after) !== JSON.stringify(baseline)) changed++;
            baseline = after;
          } else {
            assert.deepEqual(after, baseline, `a rejected request (${answer.status} ${JSON.stringify(answer.body)}) changed the table`);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    // Events: exactly the transitions of the accepted deliveries, nothing from the rejected ones.
    const items: Item[] = await scanItems(r);
    const check = checkEvents(items, await drainEvents(r));
    assert.equal(check.events, check.transitions);
    assert.equal(items.length, seeded.length, 'no rejected request created an item');
    figures.push(
      `${RUNS} requests: answers ${JSON.stringify(answers)}; ${accepted} accepted (all authentic), ${changed} of them changed an item; ${RUNS - accepted} rejected, none changed the table; ${check.events} events = ${check.transitions} transitions`,
    );
  });

  it(`a body over ${MAX_BODY} bytes gets 413 before any work: no AWS call, even on a cold start`, async () => {
    const cold = await startReceiver({ overrides: { AWS_ENDPOINT_URL: proxy.url } });
    try {
      const id = await seedPending(cold.resources, 'image');
      const fill = (size: number) => {
        const base = JSON.stringify({ ...payloads.imageUploaded(id, '2024-01-01T12:00:01.000Z'), padding: '' });
        return base.replace('"padding":""', `"padding":"${'x'.repeat(size - base.length)}"`);
      };
      proxy.reset();
      const over = fill(MAX_BODY + 1);
      const toolkit = (body: string, type = 'application/json') => ({ ...signedHeaders.toolkit(cold.resources.secrets.toolkit[0]!, body), 'content-type': type });
      assert.equal((await postRaw(cold.imagesUrl, 'POST', Buffer.from(over), toolkit(over))).status, 413);
      // The binary path: HTTP API hands the function base64, 4/3 the size; the limit still holds.
      assert.equal((await postRaw(cold.imagesUrl, 'POST', Buffer.from(over), toolkit(over, 'application/octet-stream'))).status, 413);
      assert.equal((await postRaw(cold.imagesUrl, 'POST', Buffer.alloc(MAX_BODY * 4, '{'), { 'content-type': 'application/json' })).status, 413);
      assert.deepEqual(tally(proxy.calls).requests, {}, 'no AWS call for an oversized body');

      const exact = fill(MAX_BODY);
      assert.equal(Buffer.byteLength(exact), MAX_BODY);
      const answer = await postRaw(cold.imagesUrl, 'POST', Buffer.from(exact), toolkit(exact, 'application/octet-stream'));
      assert.equal(answer.status, 200, 'a body of exactly the limit is processed');
      assert.equal((await readItem(cold.resources, id))?.status, 'uploaded');
      await drainEvents(cold);
      figures.push(`limit ${MAX_BODY} bytes: ${MAX_BODY + 1} and ${MAX_BODY * 4} bytes (text and base64) → 413 with 0 AWS calls; exactly ${MAX_BODY} → 200`);
    } finally {
      await cold.stop();
    }
  });

  it('a flood of 300 forged requests costs no DynamoDB or EventBridge call and at most one secret read per instance', async () => {
    const id = seeded[0]!;
    const body = JSON.stringify(payloads.imageUploaded(id, '2030-01-01T00:00:00.000Z'));
    const videoBody = JSON.stringify(payloads.videoReady(seeded.at(-1)!, '2030-01-01T00:00:00.000Z'));
    proxy.reset();
    const forged = Array.from({ length: 300 }, (_, i) => {
      const key = `forged-secret-${String(i).padStart(6, '0')}`;
      sensitive.add(key);
      return i % 3 === 0
        ? postRaw(r.imagesUrl, 'POST', Buffer.from(body), signedHeaders.notification(key))
        : i % 3 === 1
          ? postRaw(r.imagesUrl, 'POST', Buffer.from(body), signedHeaders.toolkit(key, body))
          : postRaw(r.streamUrl, 'POST', Buffer.from(videoBody), signedHeaders.stream(key, videoBody));
    });
    const answers = await Promise.all(forged);
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [401]);
    const calls = tally(proxy.calls).requests;
    assert.equal((calls['dynamodb:GetItem'] ?? 0) + (calls['dynamodb:UpdateItem'] ?? 0) + (calls['dynamodb:PutItem'] ?? 0), 0);
    assert.equal(calls['events:PutEvents'] ?? 0, 0);
    // An unknown signature may re-read the secret (a rotation), at most once per instance in 30 s
    // (lambda/adapters/secrets.ts); an instance the flood starts reads it once as it starts. Whether
    // an instance's 30 s have run out depends on how long the runs before took, so the bound is per
    // instance, not a count a busy machine could change.
    const instances = r.instances().started;
    assert.ok((calls['secretsmanager:GetSecretValue'] ?? 0) <= instances, `GetSecretValue ${calls['secretsmanager:GetSecretValue']} for ${instances} instances`);
    figures.push(`flood of 300 forged requests: all 401; AWS calls ${JSON.stringify(calls)}; ${instances} instances in all`);
  });

  it(
    'a signed upload whose metadata holds an integer beyond 2^53 is recorded, not answered 500 on every retry',
    async () => {
      const id = await seedPending(r.resources, 'image');
      // A 64-bit id in user metadata, as JSON numbers go: Cloudflare passes metadata through verbatim.
      const body = JSON.stringify(payloads.imageUploaded(id, '2024-01-01T12:00:01.000Z', { metadata: { orderId: 12345678901234567890 } }));
      const answer = await postRaw(r.imagesUrl, 'POST', Buffer.from(body), signedHeaders.toolkit(r.resources.secrets.toolkit[0]!, body));
      await drainEvents(r);
      assert.notEqual(answer.status, 500, 'a 500 is retried by Cloudflare and fails the same way every time');
      assert.equal((await readItem(r.resources, id))?.status, 'uploaded', 'the status change is recorded');
    },
  );

  it('no secret or signature appears in the logs of any request above', () => {
    logs.stop();
    assert.ok(logs.lines() >= RUNS, `captured ${logs.lines()} log lines`);
    assert.deepEqual(findLeaks(logs.text(), sensitive).map(redact), []);
    figures.push(`logs: ${logs.lines()} lines searched for ${sensitive.size} secret and signature values: none found`);
  });
});
