import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { verifyRequest } from '../../lambda/webhook/verify.js';
import {
  Permission,
  sampleFiles,
  signStreamWebhook,
  sniffMedia,
  startCloudflareStandIn,
  type CloudflareStandIn,
  type CloudflareStandInOptions,
  type WebhookDelivery,
} from '../../local/cloudflare.js';

// The local stand-in of Cloudflare's API, over HTTP as a client and a creator reach it, with a
// small receiver on the other side to catch the webhooks it sends.

interface Caught {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A webhook endpoint that keeps what it receives and answers 200. */
async function startReceiver(): Promise<{ url: string; caught: Caught[]; close: () => Promise<void> }> {
  const caught: Caught[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      caught.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, caught, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

type Json = Record<string, any>;

/** The API as a client calls it: `/accounts/{account_id}/…` with a bearer token. */
function api(cf: CloudflareStandIn, token = cf.token) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let payload: string | FormData | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(`${cf.baseURL}/accounts/${cf.accountId}${path}`, { method, headers, ...(payload !== undefined && { body: payload }) });
    return { status: response.status, json: (await response.json()) as Json };
  };
}

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  return data;
}

/** What `curl -F file=@<name> <uploadURL>` sends: one multipart part named `file`, no other header. */
async function postFile(uploadURL: string, bytes: Buffer, name: string): Promise<{ status: number; text: string }> {
  const data = new FormData();
  data.append('file', new Blob([bytes], { type: 'application/octet-stream' }), name);
  const response = await fetch(uploadURL, { method: 'POST', body: data });
  return { status: response.status, text: await response.text() };
}

async function withStandIn(options: CloudflareStandInOptions, run: (cf: CloudflareStandIn, receiver: Awaited<ReturnType<typeof startReceiver>>) => Promise<void>) {
  const receiver = await startReceiver();
  const cf = await startCloudflareStandIn(options);
  try {
    await run(cf, receiver);
  } finally {
    await cf.close();
    await receiver.close();
  }
}

/** Cloudflare learns where to deliver: the Stream webhook, and an Images policy with a secret destination. */
async function subscribe(cf: CloudflareStandIn, receiverUrl: string): Promise<{ streamSecret: string; imagesSecret: string }> {
  const call = api(cf);
  const stream = await call('PUT', '/stream/webhook', { notificationUrl: `${receiverUrl}/stream` });
  const imagesSecret = 'images-destination-secret';
  const destination = await call('POST', '/alerting/v3/destinations/webhooks', { name: 'receiver', url: `${receiverUrl}/images`, secret: imagesSecret });
  await call('POST', '/alerting/v3/policies', { name: 'Images uploads', alert_type: 'image_notification', enabled: true, mechanisms: { webhooks: [{ id: destination.json.result.id }] } });
  return { streamSecret: stream.json.result.secret, imagesSecret };
}

const notFound = (json: Json) => json.success === false && json.result === null && json.errors.length === 1 && typeof json.errors[0].code === 'number';

describe('the Stream signer', () => {
  it('reproduces the known-answer vector of shared/cloudflare-contract.md', () => {
    const body = '{"uid":"6b9e68b07dfee8cc2d116e4c51d6a957","readyToStream":true,"status":{"state":"ready","pctComplete":"100","errorReasonCode":""}}';
    assert.equal(
      signStreamWebhook('85011ed3a913c6ad5f9cf6c5573cc0a7', body, 1230811200),
      'time=1230811200,sig1=e517b28af95a5c15bf630db474c902b8abf9308995aa6dbe8034a044de63ecd6',
    );
  });
});

describe('what an uploaded file is taken for', () => {
  it('knows images and videos by their first bytes, and nothing else', () => {
    assert.deepEqual(sniffMedia(sampleFiles.png.bytes), { kind: 'image', format: 'png' });
    assert.deepEqual(sniffMedia(sampleFiles.mp4.bytes), { kind: 'video', format: 'mp4' });
    assert.deepEqual(sniffMedia(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])), { kind: 'image', format: 'jpeg' });
    assert.deepEqual(sniffMedia(Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f])), { kind: 'video', format: 'webm' });
    assert.deepEqual(sniffMedia(Buffer.from('\0\0\0\x1cftypavif\0\0\0\0', 'latin1')), { kind: 'image', format: 'avif' });
    assert.deepEqual(sniffMedia(Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')), { kind: 'image', format: 'svg' });
    assert.equal(sniffMedia(Buffer.from('just some notes\n')), undefined);
    assert.equal(sniffMedia(Buffer.alloc(0)), undefined);
  });
});

describe('Images: a direct creator upload, read back through the API', () => {
  let cf: CloudflareStandIn;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let secrets: { imagesSecret: string };
  before(async () => {
    receiver = await startReceiver();
    cf = await startCloudflareStandIn();
    secrets = await subscribe(cf, receiver.url);
  });
  after(async () => {
    await cf?.close();
    await receiver?.close();
  });

  it('is a draft until the file arrives (with uploaded and variants, as Cloudflare shows it), then uploaded and notified', async () => {
    const call = api(cf);
    const created = await call('POST', '/images/v2/direct_upload', form({ metadata: '{"album":"summer"}', creator: 'user-1' }));
    assert.equal(created.status, 200);
    const { id, uploadURL } = created.json.result as { id: string; uploadURL: string };

    const draft = await call('GET', `/images/v1/${id}`);
    assert.equal(draft.status, 200);
    assert.deepEqual([draft.json.success, draft.json.errors, draft.json.messages], [true, [], []]);
    assert.equal(draft.json.result.draft, true);
    assert.equal(typeof draft.json.result.uploaded, 'string');
    assert.equal(draft.json.result.variants.length, 2);
    assert.deepEqual([draft.json.result.id, draft.json.result.meta, draft.json.result.creator, draft.json.result.requireSignedURLs], [id, { album: 'summer' }, 'user-1', false]);

    const upload = await postFile(uploadURL, sampleFiles.png.bytes, 'cat.png');
    assert.equal(upload.status, 200, upload.text);
    const [notification] = await cf.settled(id);

    const uploaded = await call('GET', `/images/v1/${id}`);
    assert.equal('draft' in uploaded.json.result, false, 'the draft field is removed once uploaded');
    assert.equal(uploaded.json.result.filename, 'cat.png');
    assert.ok(uploaded.json.result.uploaded >= draft.json.result.uploaded);

    // The Notifications webhook, with the destination's secret verbatim.
    assert.equal(notification?.status, 200);
    const received = receiver.caught.filter((c) => c.path === '/images');
    assert.equal(received.length, 1);
    assert.equal(received[0]!.headers['cf-webhook-auth'], secrets.imagesSecret);
    const envelope = JSON.parse(received[0]!.body);
    assert.deepEqual([envelope.alert_type, envelope.account_id, typeof envelope.ts], ['image_notification', cf.accountId, 'number']);
    assert.deepEqual([envelope.data.id, envelope.data.status, envelope.data.metadata], [id, 'uploaded', { album: 'summer' }]);
    assert.equal(notification!.headers['cf-webhook-auth'], '<redacted>', 'the record keeps no secret');

    assert.equal((await postFile(uploadURL, sampleFiles.png.bytes, 'again.png')).status, 409, 'one upload per URL');
  });

  it('keeps the image a draft and notifies a failure when the file is not an image', async () => {
    const call = api(cf);
    const { id, uploadURL } = (await call('POST', '/images/v2/direct_upload', form({}))).json.result as { id: string; uploadURL: string };
    const refused = await postFile(uploadURL, Buffer.from('not a picture'), 'notes.txt');
    assert.equal(refused.status, 415);
    assert.equal(JSON.parse(refused.text).success, false);
    const [notification] = await cf.settled(id);

    assert.equal((await call('GET', `/images/v1/${id}`)).json.result.draft, true);
    const data = JSON.parse(notification!.body).data;
    assert.deepEqual([data.id, data.status, typeof data.error.code, typeof data.error.message], [id, 'failed', 'number', 'string']);

    const empty = await postFile(uploadURL, Buffer.alloc(0), 'empty.png');
    assert.equal(empty.status, 400);
    assert.equal(JSON.parse((await cf.settled(id))[0]!.body).data.status, 'failed');
    // The URL is still good for a real image.
    assert.equal((await postFile(uploadURL, sampleFiles.png.bytes, 'cat.png')).status, 200);
    assert.equal(JSON.parse((await cf.settled(id))[0]!.body).data.status, 'uploaded');
  });

  it('answers 404 in Cloudflare’s error envelope for an image it does not have', async () => {
    const missing = await api(cf)('GET', '/images/v1/no-such-image');
    assert.equal(missing.status, 404);
    assert.ok(notFound(missing.json), JSON.stringify(missing.json));
  });
});

describe('Stream: a direct creator upload through its whole life', () => {
  it('pendingupload → (file) → ready, then the signed webhook the receiver’s own verifier accepts', async () => {
    await withStandIn({}, async (cf, receiver) => {
      const { streamSecret } = await subscribe(cf, receiver.url);
      const call = api(cf);
      const created = await call('POST', '/stream/direct_upload', { maxDurationSeconds: 600, creator: 'user-9', meta: { title: 'holiday' } });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      const { uid, uploadURL } = created.json.result as { uid: string; uploadURL: string };

      const pending = (await call('GET', `/stream/${uid}`)).json.result;
      assert.deepEqual([pending.uid, pending.status.state, pending.readyToStream, pending.creator, pending.meta], [uid, 'pendingupload', false, 'user-9', { title: 'holiday' }]);
      assert.equal(pending.playback, undefined);

      const upload = await postFile(uploadURL, sampleFiles.mp4.bytes, 'clip.mp4');
      assert.deepEqual(upload, { status: 200, text: '' });
      const [delivery] = await cf.settled(uid);
      assert.equal(delivery?.status, 200);

      const [caught] = receiver.caught.filter((c) => c.path === '/stream');
      const verdict = verifyRequest({
        route: 'stream',
        headers: { 'webhook-signature': caught!.headers['webhook-signature'] as string },
        body: Buffer.from(caught!.body),
        secrets: { images: [], stream: [streamSecret], toolkit: [] },
        nowSeconds: Math.floor(Date.now() / 1000),
        toleranceSeconds: 300,
      });
      assert.deepEqual(verdict, { ok: true, scheme: 'webhook-signature' });

      // The body is the video object, the same the API then answers.
      const sent = JSON.parse(caught!.body);
      const ready = (await call('GET', `/stream/${uid}`)).json.result;
      assert.deepEqual(sent, ready);
      assert.deepEqual([ready.status.state, ready.status.pctComplete, ready.status.errorReasonCode, ready.readyToStream], ['ready', '100.000000', '', true]);
      assert.ok(ready.playback.hls.endsWith('.m3u8') && ready.playback.dash.endsWith('.mpd') && ready.thumbnail && ready.preview);
      assert.ok(ready.duration > 0 && ready.input.width > 0);
      assert.deepEqual([ready.size, ready.meta.name, ready.maxSizeBytes, ready.watermark], [sampleFiles.mp4.bytes.length, 'clip.mp4', null, null]);
    });
  });

  it('is queued, not ready, while processing lasts', async () => {
    await withStandIn({ processingDelayMs: 600_000 }, async (cf) => {
      const call = api(cf);
      const { uid, uploadURL } = (await call('POST', '/stream/direct_upload', { maxDurationSeconds: 60 })).json.result;
      assert.equal((await postFile(uploadURL, sampleFiles.mp4.bytes, 'clip.mp4')).status, 200);
      const video = (await call('GET', `/stream/${uid}`)).json.result;
      assert.deepEqual([video.status.state, video.readyToStream, typeof video.uploaded], ['queued', false, 'string']);
      assert.equal((await postFile(uploadURL, sampleFiles.mp4.bytes, 'clip.mp4')).status, 409, 'one upload per URL');
    });
  });

  it('ends in error ERR_NON_VIDEO for a file that is not a video, and says so in the webhook', async () => {
    await withStandIn({}, async (cf, receiver) => {
      await subscribe(cf, receiver.url);
      const call = api(cf);
      const { uid, uploadURL } = (await call('POST', '/stream/direct_upload', { maxDurationSeconds: 60 })).json.result;
      assert.equal((await postFile(uploadURL, sampleFiles.png.bytes, 'cat.png')).status, 200, 'Stream accepts the file, then fails it');
      const [delivery] = await cf.settled(uid);
      const sent = JSON.parse(delivery!.body);
      assert.deepEqual([sent.status.state, sent.status.errorReasonCode, sent.readyToStream], ['error', 'ERR_NON_VIDEO', false]);
      assert.ok(sent.status.errorReasonText.length > 0);
      assert.equal(sent.playback, undefined);
      assert.equal((await call('GET', `/stream/${uid}`)).json.result.status.state, 'error');
    });
  });

  it('refuses a direct upload without a valid maxDurationSeconds, and answers 404 for an unknown video', async () => {
    await withStandIn({}, async (cf) => {
      const call = api(cf);
      for (const body of [{}, { maxDurationSeconds: 0 }, { maxDurationSeconds: 21_601 }, { maxDurationSeconds: '60' }]) {
        assert.equal((await call('POST', '/stream/direct_upload', body)).status, 400, JSON.stringify(body));
      }
      assert.equal(cf.videos.size, 0);
      const missing = await call('GET', '/stream/0123456789abcdef0123456789abcdef');
      assert.equal(missing.status, 404);
      assert.ok(notFound(missing.json), JSON.stringify(missing.json));
    });
  });
});

describe('permissions', () => {
  const tokens = {
    all: Object.values(Permission),
    'images-read': [Permission.ImagesRead],
    'images-write': [Permission.ImagesWrite],
    'stream-read': [Permission.StreamRead],
    'stream-write': [Permission.StreamWrite],
  };

  it('a read token cannot write, a write token also reads, an unknown token is refused (401), a missing permission 403 with code 10000', async () => {
    await withStandIn({ tokens }, async (cf) => {
      const { id } = (await api(cf, 'all')('POST', '/images/v2/direct_upload', form({}))).json.result;
      const { uid } = (await api(cf, 'all')('POST', '/stream/direct_upload', { maxDurationSeconds: 60 })).json.result;
      const status = async (token: string, method: string, path: string, body?: unknown) => (await api(cf, token)(method, path, body)).status;

      assert.equal(await status('images-read', 'GET', `/images/v1/${id}`), 200);
      assert.equal(await status('images-read', 'POST', '/images/v2/direct_upload', form({})), 403);
      assert.equal(await status('images-write', 'GET', `/images/v1/${id}`), 200, 'write implies read');
      assert.equal(await status('images-write', 'GET', `/stream/${uid}`), 403);

      assert.equal(await status('stream-read', 'GET', `/stream/${uid}`), 200);
      assert.equal(await status('stream-read', 'POST', '/stream/direct_upload', { maxDurationSeconds: 60 }), 403);
      assert.equal(await status('stream-read', 'PUT', '/stream/webhook', { notificationUrl: 'https://example.com/hook' }), 403);
      assert.equal(await status('stream-write', 'GET', `/stream/${uid}`), 200, 'write implies read');
      assert.equal(await status('stream-write', 'GET', '/alerting/v3/policies'), 403);

      const denied = await api(cf, 'stream-read')('POST', '/stream/direct_upload', { maxDurationSeconds: 60 });
      assert.deepEqual(denied.json.errors, [{ code: 10000, message: 'Authentication error' }]);
      const unknown = await api(cf, 'nobody')('GET', `/images/v1/${id}`);
      assert.equal(unknown.status, 401);
      assert.equal(unknown.json.errors[0].code, 10000);
      assert.equal(cf.videos.size, 1, 'nothing was created by a refused request');
    });
  });

  it('gives the default token every permission', async () => {
    await withStandIn({}, async (cf) => {
      assert.deepEqual([...cf.describe().permissions].sort(), Object.values(Permission).sort());
      assert.equal((await api(cf)('GET', '/alerting/v3/policies')).status, 200);
    });
  });
});

describe('lost webhooks', () => {
  it('drops every delivery when told to, records it, and still completes the video and the image in the API', async () => {
    await withStandIn({ dropWebhooks: true }, async (cf, receiver) => {
      await subscribe(cf, receiver.url);
      const call = api(cf);
      const { uid, uploadURL } = (await call('POST', '/stream/direct_upload', { maxDurationSeconds: 60 })).json.result;
      await postFile(uploadURL, sampleFiles.mp4.bytes, 'clip.mp4');
      const image = (await call('POST', '/images/v2/direct_upload', form({}))).json.result;
      await postFile(image.uploadURL, sampleFiles.png.bytes, 'cat.png');

      const dropped: WebhookDelivery[] = [...(await cf.settled(uid)), ...(await cf.settled(image.id))];
      assert.deepEqual(dropped.map((d) => [d.kind, d.subject, d.dropped, d.status]), [['stream', uid, true, undefined], ['notification', image.id, true, undefined]]);
      assert.equal(cf.deliveries.length, 2);
      assert.ok(dropped.every((d) => cf.deliveries.includes(d)), 'recorded where a test can find them');
      assert.equal(receiver.caught.length, 0, 'nothing reached the receiver');
      assert.equal((await call('GET', `/stream/${uid}`)).json.result.status.state, 'ready');
      assert.equal('draft' in (await call('GET', `/images/v1/${image.id}`)).json.result, false);
    });
  });

  it('drops only what a rule picks, and the rule can change at run time', async () => {
    await withStandIn({ dropWebhooks: (d) => d.kind === 'stream' }, async (cf, receiver) => {
      await subscribe(cf, receiver.url);
      const call = api(cf);
      const upload = async () => {
        const { uid, uploadURL } = (await call('POST', '/stream/direct_upload', { maxDurationSeconds: 60 })).json.result;
        await postFile(uploadURL, sampleFiles.mp4.bytes, 'clip.mp4');
        return (await cf.settled(uid))[0]!;
      };
      const image = (await call('POST', '/images/v2/direct_upload', form({}))).json.result;
      const [notified] = (await cf.upload(image.uploadURL)).deliveries;
      assert.deepEqual([notified?.dropped, notified?.status], [false, 200]);
      assert.deepEqual([(await upload()).dropped, receiver.caught.filter((c) => c.path === '/stream').length], [true, 0]);

      cf.dropWebhooks = false;
      const sent = await upload();
      assert.deepEqual([sent.dropped, sent.status], [false, 200]);
      assert.equal(receiver.caught.filter((c) => c.path === '/stream').length, 1);
    });
  });
});

describe('for a person', () => {
  it('listens on the port it is given and describes itself for a banner', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    await withStandIn({ port }, async (cf) => {
      const banner = cf.describe();
      assert.equal(banner.url, `http://127.0.0.1:${port}`);
      assert.equal(banner.baseURL, `http://127.0.0.1:${port}/client/v4`);
      assert.match(banner.accountId, /^[0-9a-f]{32}$/);
      assert.equal((await api(cf, banner.token)('GET', '/stream/webhook')).status, 404, 'the token works; no webhook yet');
    });
  });

  it('answers 404 for an account it does not serve, after checking the token', async () => {
    await withStandIn({}, async (cf) => {
      const other = (token: string) => fetch(`${cf.baseURL}/accounts/ffffffffffffffffffffffffffffffff/images/v1/x`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await other(cf.token)).status, 404);
      assert.equal((await other('nobody')).status, 401);
    });
  });
});
