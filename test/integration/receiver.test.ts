import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { REQUEST_TIMEOUT_ENV } from '../../lambda/adapters/aws.js';
import { EVENT_SOURCE } from '../../lambda/core/contract.js';
import { sign } from '../../lambda/webhook/verify.js';
import { payloads, signedHeaders } from '../../local/payloads.js';
import { at, events, post, readItem, seedPending, send } from '../support/deliver.js';
import { startReceiver, type Receiver } from '../support/receiver.js';

// The bundle `cdk synth` builds, invoked through the local HTTP API with payload v2 events,
// against DynamoDB, EventBridge (rule → SQS) and Secrets Manager in the emulator.

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('the response matrix', () => {
  let r: Receiver;
  before(async () => {
    r = await startReceiver({ overrides: { MAX_BODY_BYTES: 4096 } });
  });
  after(() => r.stop());

  it('200: upload complete moves a pending image to uploaded and publishes Image Uploaded once', async () => {
    const id = await seedPending(r.resources, 'image');
    const answer = await send.toolkit(r, payloads.imageUploaded(id, at(1)));
    assert.equal(answer.status, 200);
    assert.deepEqual({ ...answer.body, scheme: undefined }, { ok: true, outcome: 'transitioned', kind: 'image', id, status: 'uploaded', reported: 'uploaded', previousStatus: 'pending', published: 1, scheme: undefined });

    const item = await readItem(r.resources, id);
    assert.equal(item?.status, 'uploaded');
    assert.equal((item?.variants as string[]).length, 2);
    assert.deepEqual(item?.history?.map((h) => [h.from, h.to]), [['pending', 'uploaded']]);
    assert.equal(item?.unpublished, undefined);

    const seen = await events(r, 1);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.source, EVENT_SOURCE);
    assert.equal(seen[0]!['detail-type'], 'Image Uploaded');
    const detail = seen[0]!.detail as Record<string, unknown>;
    assert.equal(detail.id, id);
    assert.equal(detail.previousStatus, 'pending');
    assert.equal(detail.eventId, item?.history?.[0]?.eventId);
  });

  it('200 and nothing published: the same delivery again is a duplicate', async () => {
    const id = await seedPending(r.resources, 'image');
    assert.equal((await send.toolkit(r, payloads.imageUploaded(id, at(1)))).status, 200);
    await events(r, 1);
    const again = await send.toolkit(r, payloads.imageUploaded(id, at(1)));
    assert.equal(again.status, 200);
    assert.equal(again.body.outcome, 'duplicate');
    assert.equal((await events(r, 0)).length, 0);
    assert.equal((await readItem(r.resources, id))?.version, 2);
  });

  it('200: upload failed really marks the image failed (unlike the seed)', async () => {
    const id = await seedPending(r.resources, 'image');
    const answer = await send.toolkit(r, payloads.imageFailed(id, at(2)));
    assert.equal(answer.status, 200);
    const item = await readItem(r.resources, id);
    assert.equal(item?.status, 'failed');
    assert.deepEqual(item?.lastError, { message: 'Image processing failed', at: at(2) });
    const seen = await events(r, 1);
    assert.deepEqual(seen.map((e) => e['detail-type']), ['Image Upload Failed']);
  });

  it('200 and nothing changes for a stale delivery older than the current status', async () => {
    const id = await seedPending(r.resources, 'image');
    await send.toolkit(r, payloads.imageUploaded(id, at(5), { draft: true }));
    await events(r, 1);
    const stale = await send.toolkit(r, payloads.imageFailed(id, at(4)));
    assert.equal(stale.status, 200);
    assert.equal(stale.body.outcome, 'stale');
    // The answer says what the item is, and what the delivery reported, apart.
    assert.deepEqual([stale.body.status, stale.body.reported], ['draft', 'failed']);
    assert.equal((await readItem(r.resources, id))?.status, 'draft');
    assert.equal((await events(r, 0)).length, 0);
  });

  it('200: a Notifications delivery authenticated by cf-webhook-auth is applied', async () => {
    const id = await seedPending(r.resources, 'image');
    const answer = await send.notification(r, payloads.notification({ id, status: 'complete', variants: [`https://imagedelivery.net/x/${id}/public`] }, nowSeconds()));
    assert.equal(answer.status, 200);
    assert.equal(answer.body.scheme, 'cf-webhook-auth');
    assert.equal((await readItem(r.resources, id))?.status, 'uploaded');
    assert.equal((await events(r, 1)).length, 1);
  });

  it('200 and nothing changes for the dashboard "Save and Test" message', async () => {
    const answer = await send.notification(r, payloads.testPing());
    assert.equal(answer.status, 200);
    assert.equal(answer.body.outcome, 'test');
    assert.equal((await events(r, 0)).length, 0);
  });

  it('200: Stream ready and error move pending videos, with playback and the error reason kept', async () => {
    const ready = await seedPending(r.resources, 'video');
    const failed = await seedPending(r.resources, 'video');
    assert.equal((await send.stream(r, payloads.videoReady(ready, '2024-01-01T12:00:00.123456Z'))).status, 200);
    assert.equal((await send.stream(r, payloads.videoError(failed, '2024-01-01T12:00:00Z'))).status, 200);
    const [readyItem, failedItem] = await Promise.all([readItem(r.resources, ready), readItem(r.resources, failed)]);
    assert.equal(readyItem?.status, 'ready');
    assert.ok((readyItem?.playback as { hls: string }).hls.endsWith('.m3u8'));
    assert.equal(failedItem?.status, 'error');
    assert.deepEqual(failedItem?.lastError, { code: 'ERR_NON_VIDEO', message: 'The file was not recognized as a valid video file.', at: '2024-01-01T12:00:00.000Z' });
    const seen = (await events(r, 2)).map((e) => e['detail-type']).sort();
    assert.deepEqual(seen, ['Video Failed', 'Video Ready']);
  });

  it('200: a base64-encoded body is verified on its decoded bytes', async () => {
    const id = await seedPending(r.resources, 'image');
    const body = JSON.stringify(payloads.imageUploaded(id, at(1)));
    const headers = { ...signedHeaders.toolkit(r.resources.secrets.toolkit[0]!, body), 'content-type': 'application/octet-stream' };
    const answer = await post(r.imagesUrl, Buffer.from(body), headers);
    assert.equal(answer.status, 200);
    assert.equal((await readItem(r.resources, id))?.status, 'uploaded');
    await events(r, 1);
  });

  it('400: a signed body that is not JSON', async () => {
    const answer = await post(r.imagesUrl, 'not json', signedHeaders.toolkit(r.resources.secrets.toolkit[0]!, 'not json'));
    assert.equal(answer.status, 400);
    assert.equal(answer.body.reason, 'body is not valid JSON');
  });

  it('400: a signed payload that fails validation names the field', async () => {
    const answer = await send.toolkit(r, { id: 'x', uploaded: 'yesterday' });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.field, 'uploaded');
  });

  it('401: missing, wrong and stale signatures, each with a short reason and no change', async () => {
    const id = await seedPending(r.resources, 'image');
    const body = JSON.stringify(payloads.imageUploaded(id, at(1)));
    const missing = await post(r.imagesUrl, body, { 'content-type': 'application/json' });
    const wrong = await post(r.imagesUrl, body, signedHeaders.notification('not-the-secret'));
    const forged = await post(r.imagesUrl, body, signedHeaders.toolkit('not-the-secret', body));
    const videoBody = JSON.stringify(payloads.videoReady('v-stale', at(1)));
    const stale = await post(r.streamUrl, videoBody, signedHeaders.stream(r.resources.secrets.stream[0]!, videoBody, nowSeconds() - 301));
    assert.deepEqual([missing, wrong, forged, stale].map((a) => [a.status, a.body.reason]), [
      [401, 'missing signature'],
      [401, 'invalid signature'],
      [401, 'invalid signature'],
      [401, 'timestamp outside the allowed window'],
    ]);
    assert.equal((await readItem(r.resources, id))?.status, 'pending');
  });

  it('401 before parsing: an unsigned body that is not even JSON is refused for its signature', async () => {
    const answer = await post(r.imagesUrl, '{{{', { 'content-type': 'application/json' });
    assert.equal(answer.status, 401);
  });

  it('404: a valid delivery for an id the table does not know (the seed\'s contract)', async () => {
    const answer = await send.toolkit(r, payloads.imageUploaded(randomUUID(), at(1)));
    assert.equal(answer.status, 404);
    assert.equal((await events(r, 0)).length, 0);
  });

  it('413: a body over the configured limit, before the signature is looked at', async () => {
    const body = JSON.stringify({ ...payloads.imageUploaded('big', at(1)), padding: 'x'.repeat(5000) });
    const answer = await post(r.imagesUrl, body, { 'content-type': 'application/json' });
    assert.equal(answer.status, 413);
    assert.equal(answer.body.limitBytes, 4096);
  });

  it('accepts every active secret of a kind, so a secret can be rotated', async () => {
    const rotating = await startReceiver({ secrets: { stream: ['old-secret', 'new-secret'] } });
    try {
      for (const secret of ['old-secret', 'new-secret']) {
        const id = await seedPending(rotating.resources, 'video');
        const body = JSON.stringify(payloads.videoReady(id, at(1)));
        assert.equal((await post(rotating.streamUrl, body, { 'webhook-signature': sign.stream(secret, body, nowSeconds()) })).status, 200, secret);
      }
    } finally {
      await rotating.stop();
    }
  });
});

describe('unknown ids with the record policy', () => {
  let r: Receiver;
  before(async () => {
    r = await startReceiver({ overrides: { UNKNOWN_ID_POLICY: 'record' } });
  });
  after(() => r.stop());

  it('records the image and applies the delivery to it', async () => {
    const id = randomUUID();
    const answer = await send.toolkit(r, payloads.imageUploaded(id, at(1)));
    assert.equal(answer.status, 200);
    const item = await readItem(r.resources, id);
    assert.equal(item?.status, 'uploaded');
    assert.equal(item?.recordedFrom, 'webhook');
    assert.deepEqual((await events(r, 1)).map((e) => (e.detail as { previousStatus: string }).previousStatus), ['pending']);
  });
});

describe('concurrent and out-of-order deliveries', () => {
  let r: Receiver;
  before(async () => {
    // Exactly once holds while the writer publishes within its lease: a long lease and attempt timeout
    // keep a burst on a busy machine from turning slowness into a (rightful) takeover, as in races.test.ts.
    r = await startReceiver({ overrides: { PUBLISH_LEASE_MS: 20_000, [REQUEST_TIMEOUT_ENV]: 60_000 } });
  });
  after(() => r.stop());

  it('20 identical deliveries at once make exactly one transition and one event', async () => {
    const id = await seedPending(r.resources, 'image');
    const answers = await Promise.all(Array.from({ length: 20 }, () => send.toolkit(r, payloads.imageUploaded(id, at(1)))));
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
    assert.equal(answers.filter((a) => a.body.outcome === 'transitioned').length, 1);
    assert.equal((await readItem(r.resources, id))?.history?.length, 1);
    assert.equal((await events(r, 1)).length, 1);
  });

  it('upload complete and upload failed racing always end uploaded', async () => {
    for (let round = 0; round < 5; round++) {
      const id = await seedPending(r.resources, 'image');
      await Promise.all([send.toolkit(r, payloads.imageFailed(id, at(9))), send.toolkit(r, payloads.imageUploaded(id, at(3)))]);
      const item = await readItem(r.resources, id);
      assert.equal(item?.status, 'uploaded', `round ${round}`);
      assert.equal(item?.history?.at(-1)?.to, 'uploaded');
    }
    await events(r, 5);
  });
});
