import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { payloads, signedHeaders } from '../../local/payloads.js';
import { at, post, readItem, seedPending } from '../support/deliver.js';
import { startReceiver, type Receiver } from '../support/receiver.js';

// Issue 15, finding 6: a stack without a toolkit (or Stream) secret answered any X-Signature
// with "no secret configured", telling a prober which schemes are switched off. The bundle,
// behind the local HTTP API: a receiver with every scheme configured and one with none but
// Images must answer the same probes with the same status and body.

describe('a probe cannot tell a switched-off scheme from a wrong signature', () => {
  let configured: Receiver;
  let imagesOnly: Receiver;
  before(async () => {
    [configured, imagesOnly] = await Promise.all([startReceiver(), startReceiver({ secrets: { toolkit: [], stream: [] } })]);
  });
  after(() => Promise.all([configured?.stop(), imagesOnly?.stop()]));

  const probes: Record<string, (r: Receiver, body: string) => Promise<{ status: number; body: any }>> = {
    'X-Signature': (r, body) => post(r.imagesUrl, body, signedHeaders.toolkit('a guess', body)),
    'X-Cloudflare-Signature, sha256= prefix': (r, body) =>
      post(r.imagesUrl, body, { 'content-type': 'application/json', 'x-cloudflare-signature': signedHeaders.toolkit('a guess', body)['x-signature'] }),
    'malformed X-Signature': (r, body) => post(r.imagesUrl, body, { 'content-type': 'application/json', 'x-signature': 'not hex' }),
    'Webhook-Signature': (r, body) => post(r.streamUrl, body, signedHeaders.stream('a guess', body)),
  };

  for (const [name, probe] of Object.entries(probes)) {
    it(`${name}: the same 401 and body from both, and nothing written`, async () => {
      const id = await seedPending(imagesOnly.resources, 'image');
      const body = JSON.stringify(payloads.imageUploaded(id, at(1)));
      const [a, b] = [await probe(configured, body), await probe(imagesOnly, body)];
      assert.equal(b.status, 401);
      assert.deepEqual(b, a);
      assert.doesNotMatch(JSON.stringify(b.body), /configured/);
      assert.equal((await readItem(imagesOnly.resources, id))?.status, 'pending');
    });
  }
});
