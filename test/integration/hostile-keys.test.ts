import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { payloads } from '../../local/payloads.js';
import { startCloudflareStandIn, type CloudflareStandIn } from '../../local/cloudflare.js';
import { at, events, readItem, seedPending, send } from '../support/deliver.js';
import { startReceiver, type LocalReceiver } from '../support/receiver.js';
import { createUpload, startUploadsStack, type UploadsStack } from '../support/uploads.js';

// Issue 15, finding 1, end to end: the built bundles against DynamoDB and EventBridge in the
// emulator. Keys a sender chooses that name parts of JavaScript's object model used to reach the
// DynamoDB marshaller as they came: `{"constructor":{"name":"String"}}` was stored as
// "[object Object]" while the event carried the object (table and bus disagreed), and
// `{"constructor":"x"}`, `{"__proto__":{…}}` or a Stream `playback.constructor` answered 500 on
// every retry, the item stuck in `pending`. Now each is kept under its escaped name (one `_`
// appended, README "Payload limits"), the same in the table and in the event.

describe('keys that name the object model, through the webhook', () => {
  let r: LocalReceiver;
  before(async () => {
    r = await startReceiver();
  });
  after(() => r?.stop());

  const cases = [
    { what: 'constructor with a name (the marshaller took it for a String)', metadata: '{"constructor":{"name":"String"},"orderId":"o-1"}', stored: { constructor_: { name: 'String' }, orderId: 'o-1' } },
    { what: 'constructor as a string (500 on every retry)', metadata: '{"constructor":"x"}', stored: { constructor_: 'x' } },
    { what: '__proto__ (dropped, or a prototype replaced)', metadata: '{"__proto__":{"admin":true},"k":"v"}', stored: { __proto___: { admin: true }, k: 'v' } },
    { what: 'an already escaped name next to the original', metadata: '{"constructor":1,"constructor_":2}', stored: { constructor_: 1, constructor__: 2 } },
  ];
  for (const c of cases) {
    it(`a Notifications delivery whose metadata has ${c.what}: 200, and the table holds what the event carries`, async () => {
      const id = await seedPending(r.resources, 'image');
      // Built as text: JSON.stringify of an object literal cannot carry an own `__proto__` key.
      const data = `{"id":"${id}","uploaded":"${at(1)}","variants":["https://imagedelivery.net/h/${id}/public"],"metadata":${c.metadata}}`;
      const envelope = JSON.stringify(payloads.notification({ id }, 1704110401)).replace(/"data":\{[^}]*\}/, `"data":${data}`);
      const answer = await fetch(r.imagesUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'cf-webhook-auth': r.resources.secrets.images[0]! }, body: envelope });
      assert.equal(answer.status, 200, await answer.clone().text());
      assert.equal(((await answer.json()) as { status: string }).status, 'uploaded');
      const item = await readItem(r.resources, id);
      assert.deepEqual(item?.metadata, c.stored);
      const [event] = (await events(r, 1)).filter((e) => (e.detail as { id: string }).id === id);
      assert.deepEqual((event!.detail as { metadata: unknown }).metadata, c.stored, 'the event carries what the table holds');
    });
  }

  it('a Stream delivery whose playback has a constructor key: 200, the video ready, playback stored escaped', async () => {
    const id = await seedPending(r.resources, 'video');
    const video = payloads.videoReady(id, at(1)) as Record<string, unknown>;
    const body = JSON.stringify(video).replace(/"playback":\{/, '"playback":{"constructor":"x",');
    assert.ok(body.includes('"constructor":"x"'), 'the payload carries the key');
    const answer = await send.stream(r, JSON.parse(body));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const item = await readItem(r.resources, id);
    assert.equal(item?.status, 'ready');
    assert.equal((item?.playback as Record<string, unknown>).constructor_, 'x');
  });
});

describe('keys that name the object model, through POST /uploads', () => {
  let cloudflare: CloudflareStandIn;
  let stack: UploadsStack;
  before(async () => {
    cloudflare = await startCloudflareStandIn();
    stack = await startUploadsStack({ cloudflareBaseUrl: cloudflare.baseURL, apiSecret: { accountId: cloudflare.accountId, apiToken: cloudflare.token }, cloudflareTimeoutMs: 4000 });
  });
  after(async () => {
    await stack?.stop();
    await cloudflare?.close();
  });

  it('metadata with constructor and __proto__ keys: 201 and the pending item holds them escaped (it answered 500 after Cloudflare had created the upload)', async () => {
    const response = await createUpload(stack, '{"metadata":{"constructor":{"name":"String"},"__proto__":{"x":1},"album":"a"},"expiresInSeconds":600}');
    const body = response.body as { id: string };
    assert.equal(response.status, 201, JSON.stringify(body));
    const item = await readItem(stack.resources, body.id);
    assert.deepEqual(item?.metadata, { constructor_: { name: 'String' }, __proto___: { x: 1 }, album: 'a' });
  });
});
