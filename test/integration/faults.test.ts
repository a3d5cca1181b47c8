import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { localClientConfig } from '../../local/aws.js';
import { payloads, signedHeaders } from '../../local/payloads.js';
import { at, events, post, readItem, seedPending, send } from '../support/deliver.js';
import { startBrokenBusPair, startReceiver, type BrokenBusPair, type Receiver } from '../support/receiver.js';
import { FUNCTION_DIED, receiveInProcess } from '../support/relay.js';
import { eventIdOf } from '../support/watch.js';

// Real faults where the emulator can produce them (a bus or table that is not there, a rotated
// secret); a stand-in publisher only for the one moment nothing real can hit: dying between the
// table write and PutEvents.

describe('the bus is unavailable after the table write', () => {
  let pair: BrokenBusPair;
  before(async () => {
    pair = await startBrokenBusPair();
  });
  after(() => pair.stop());

  it('answers 500 (retryable), keeps the transition, and the redelivery publishes it with the same event id', async () => {
    const { broken, healthy } = pair;
    const id = await seedPending(broken.resources, 'image');
    const failed = await send.toolkit(broken, payloads.imageUploaded(id, at(1)));
    assert.equal(failed.status, 500);
    assert.deepEqual(failed.body, { error: 'internal error', retryable: true });

    const written = await readItem(broken.resources, id);
    assert.equal(written?.status, 'uploaded');
    const eventId = written!.history![0]!.eventId;
    assert.deepEqual([...(written?.unpublished ?? [])], [eventId]);

    await sleep(250);
    const retried = await send.toolkit(healthy, payloads.imageUploaded(id, at(1)));
    assert.equal(retried.status, 200);
    assert.equal(retried.body.outcome, 'duplicate');
    assert.equal(retried.body.published, 1);

    const seen = await events(healthy, 1);
    assert.deepEqual(seen.map(eventIdOf), [eventId]);
    assert.equal((await readItem(broken.resources, id))?.unpublished, undefined);
  });
});

describe('the function dies between the table write and PutEvents', () => {
  let r: Receiver;
  before(async () => {
    r = await startReceiver({ overrides: { PUBLISH_LEASE_MS: 1000 } });
  });
  after(() => r.stop());

  it('the next delivery waits out the lease, then publishes the transition exactly once', async () => {
    const id = await seedPending(r.resources, 'image');
    const body = JSON.stringify(payloads.imageUploaded(id, at(1)));
    // The crashed invocation: real table and secret, a publisher that dies at the precise moment.
    await assert.rejects(
      receiveInProcess(r.resources, { route: 'images', headers: signedHeaders.toolkit(r.resources.secrets.toolkit[0]!, body), body, leaseMs: 1000 }),
      FUNCTION_DIED,
    );
    // What a crash leaves: the transition written, its event marked unpublished under a live lease.
    const left = await readItem(r.resources, id);
    assert.equal(left?.status, 'uploaded');
    assert.equal([...(left?.unpublished ?? [])].length, 1);

    assert.equal(typeof left?.leaseUntil, 'number', 'the dead writer took a lease');
    const leaseUntil = left!.leaseUntil!;
    const redelivered = await send.toolkit(r, payloads.imageUploaded(id, at(1)));
    assert.equal(redelivered.status, 200);
    assert.equal(redelivered.body.published, 1);
    assert.ok(Date.now() >= leaseUntil, 'the redelivery waited for the lease of the dead writer to run out');

    const seen = await events(r, 1);
    assert.equal(seen.length, 1);
    assert.equal((seen[0]!.detail as { previousStatus: string }).previousStatus, 'pending');
  });
});

describe('the table is unavailable', () => {
  let r: Receiver;
  before(async () => {
    r = await startReceiver({ overrides: { TABLE_NAME: 'no-such-table' } });
  });
  after(() => r.stop());

  it('answers 500 so the sender retries, and publishes nothing', async () => {
    const answer = await send.toolkit(r, payloads.imageUploaded('any', at(1)));
    assert.equal(answer.status, 500);
    assert.equal(answer.body.retryable, true);
    assert.equal((await events(r, 0)).length, 0);
  });

  it('still answers bad input with a 4xx, never a 500', async () => {
    assert.equal((await send.toolkit(r, { id: 'x' })).status, 400);
    assert.equal((await post(r.imagesUrl, '{}', { 'x-signature': 'sha256=00' })).status, 401);
  });
});

describe('a rotated secret', () => {
  let r: Receiver;
  before(async () => {
    r = await startReceiver();
  });
  after(() => r.stop());

  it('is picked up on the first signature it fails, without a cold start', async () => {
    const first = await seedPending(r.resources, 'image');
    assert.equal((await send.notification(r, payloads.notification({ id: first, status: 'complete' }, 1704110400))).status, 200);

    await new SecretsManagerClient(localClientConfig(r.endpoint)).send(
      new PutSecretValueCommand({ SecretId: r.resources.secretArn, SecretString: JSON.stringify({ images: ['rotated-secret'], stream: [], toolkit: [] }) }),
    );
    const second = await seedPending(r.resources, 'image');
    const body = JSON.stringify(payloads.notification({ id: second, status: 'complete' }, 1704110400));
    assert.equal((await post(r.imagesUrl, body, signedHeaders.notification('rotated-secret'))).status, 200);
    assert.equal((await post(r.imagesUrl, body, signedHeaders.notification(r.resources.secrets.images[0]!))).status, 401);
    await events(r, 2);
  });
});

describe('logs', () => {
  let r: Receiver;
  before(async () => {
    r = await startReceiver();
  });
  after(() => r.stop());

  it('write one line per delivery and never a secret or a signature', async () => {
    const lines: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    const originalErr = process.stderr.write.bind(process.stderr);
    const capture = (chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    const id = await seedPending(r.resources, 'video');
    const body = JSON.stringify(payloads.videoReady(id, at(1)));
    const streamHeaders = signedHeaders.stream(r.resources.secrets.stream[0]!, body);
    try {
      await post(r.streamUrl, body, streamHeaders);
      await post(r.streamUrl, body, signedHeaders.stream('a-wrong-secret', body));
      await post(r.imagesUrl, '{}', signedHeaders.notification('guessed-secret-value'));
      await send.notification(r, payloads.testPing());
      await send.toolkit(r, { id: 'x' });
    } finally {
      process.stdout.write = original;
      process.stderr.write = originalErr;
    }
    const text = lines.join('');
    // The test runner shares stdout with its own binary protocol; keep the log lines only.
    const deliveries = [...text.matchAll(/\{"level":[^\n]*"message":"delivery[^\n]*\}/g)].map((m) => JSON.parse(m[0]) as { statusCode: number });
    assert.deepEqual(deliveries.map((l) => l.statusCode), [200, 401, 401, 200, 400]);
    const signature = streamHeaders['webhook-signature'].split('sig1=')[1]!;
    for (const secret of [...r.resources.secrets.images, ...r.resources.secrets.stream, ...r.resources.secrets.toolkit, signature, 'guessed-secret-value', 'a-wrong-secret']) {
      assert.equal(text.includes(secret), false, `log output contains ${secret.slice(0, 6)}…`);
    }
    await events(r, 1);
  });
});
