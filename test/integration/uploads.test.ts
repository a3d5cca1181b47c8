import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../cli/index.js';
import { stateFor } from '../support/cli.js';
import { events, readItem, seedPending } from '../support/deliver.js';
import { startCloudflareStandIn, type CloudflareStandIn } from '../../local/cloudflare.js';
import { createUpload, localJwt, startUploadsStack, type UploadsStack } from '../support/uploads.js';

// POST /uploads as the stack ships it (the built bundle behind the local HTTP API, DynamoDB in
// the emulator) against the local stand-in of Cloudflare, then the rest of an upload's life: the browser
// posts the file to Cloudflare, Cloudflare notifies the Images webhook, the image is uploaded.

const directUploads = (cloudflare: CloudflareStandIn) => cloudflare.calls(/\/images\/v2\/direct_upload$/);

describe('POST /uploads (IAM), end to end', () => {
  let cloudflare: CloudflareStandIn;
  let stack: UploadsStack;
  let dir: string;
  before(async () => {
    cloudflare = await startCloudflareStandIn();
    stack = await startUploadsStack({ cloudflareBaseUrl: cloudflare.baseURL, apiSecret: { accountId: cloudflare.accountId, apiToken: cloudflare.token }, cloudflareTimeoutMs: 4000 });
    dir = mkdtempSync(join(tmpdir(), 'uploads-test-'));
  });
  after(async () => {
    // Both, even if starting the stack failed: an open server would keep the test process alive.
    await stack?.stop();
    await cloudflare?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('route → Cloudflare → pending item → upload → webhook → uploaded → Image Uploaded', async () => {
    // Cloudflare learns where to deliver the way an operator would set it up.
    const env = await stateFor(stack, join(dir, 'local.json'));
    const out: string[] = [];
    const code = await runCli(['connect', '--local', '--account-id', cloudflare.accountId, '--base-url', cloudflare.baseURL, '--only', 'images'], {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      env: { ...env, CLOUDFLARE_API_TOKEN: cloudflare.token },
    });
    assert.equal(code, 0, out.join('\n'));

    const created = await createUpload(stack, { metadata: { album: 'summer' }, expiresInSeconds: 600 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, uploadURL, expiresAt } = created.body as { id: string; uploadURL: string; expiresAt: string };
    assert.deepEqual(Object.keys(created.body).sort(), ['expiresAt', 'id', 'uploadURL']);
    assert.ok(uploadURL.startsWith(`${cloudflare.url}/upload/`));
    assert.ok(Math.abs(Date.parse(expiresAt) - Date.now() - 600_000) < 5000);

    // What Cloudflare received: the documented multipart fields, with the stored token.
    const [call] = directUploads(cloudflare).slice(-1);
    assert.equal(call?.status, 200);
    assert.match(call!.contentType!, /^multipart\/form-data; boundary=/);
    assert.equal(call!.authorization, 'Bearer <redacted>');
    assert.deepEqual(call!.body, { requireSignedURLs: 'false', expiry: expiresAt, metadata: '{"album":"summer"}' });
    assert.equal(cloudflare.images.get(id)?.draft, true);

    const pending = await readItem(stack.resources, id);
    assert.equal(pending?.status, 'pending');
    assert.equal(pending?.expiresAt, expiresAt);
    assert.deepEqual(pending?.metadata, { album: 'summer' });
    assert.equal(pending?.requestedBy, 'arn:aws:iam::123456789012:role/backend');

    // The browser uploads; Cloudflare notifies the Images route with the destination's secret.
    const upload = await cloudflare.upload(uploadURL);
    assert.equal(upload.status, 200);
    assert.deepEqual(upload.deliveries.map((n) => [n.url, n.status]), [[stack.imagesUrl, 200]]);
    assert.equal(JSON.parse(upload.deliveries[0]!.response!).outcome, 'transitioned');

    const uploaded = await readItem(stack.resources, id);
    assert.equal(uploaded?.status, 'uploaded');
    assert.deepEqual(uploaded?.history?.map((h) => [h.from, h.to]), [['pending', 'uploaded']]);
    const seen = await events(stack, 1);
    assert.deepEqual(seen.map((e) => e['detail-type']), ['Image Uploaded']);
    assert.equal((seen[0]!.detail as { id: string }).id, id);
    assert.deepEqual((seen[0]!.detail as { metadata: unknown }).metadata, { album: 'summer' });

    // A file Cloudflare refuses: the image stays a draft there, the failure notification fails the item here.
    const refused = (await createUpload(stack, {})).body as { id: string; uploadURL: string };
    const failedUpload = await cloudflare.upload(refused.uploadURL, { name: 'notes.txt', bytes: Buffer.from('not an image') });
    assert.equal(failedUpload.status, 415);
    assert.deepEqual(failedUpload.deliveries.map((n) => [n.url, n.status]), [[stack.imagesUrl, 200]]);
    assert.equal(cloudflare.images.get(refused.id)?.draft, true);
    assert.equal((await readItem(stack.resources, refused.id))?.status, 'failed');
  });

  it('passes a custom id and a creator to Cloudflare and onto the item', async () => {
    const id = `users/42/avatar-${Date.now()}`;
    const created = await createUpload(stack, { id, creator: 'user-42' });
    assert.equal(created.status, 201);
    assert.equal(created.body.id, id);
    assert.equal(directUploads(cloudflare).at(-1)!.body && (directUploads(cloudflare).at(-1)!.body as Record<string, string>).creator, 'user-42');
    assert.equal((await readItem(stack.resources, id))?.creator, 'user-42');
  });

  it('refuses a request API Gateway would not authorize, before the function runs', async () => {
    const before = directUploads(cloudflare).length;
    const response = await createUpload(stack, {}, '');
    assert.equal(response.status, 403);
    assert.equal(directUploads(cloudflare).length, before);
  });

  it('answers 400 for a request Cloudflare would refuse, without calling Cloudflare', async () => {
    const before = directUploads(cloudflare).length;
    for (const [body, field] of [
      [{ expiresInSeconds: 60 }, 'expiresInSeconds'],
      [{ id: 'x', requireSignedURLs: true }, 'id'],
      [{ id: '2cdc28f0-017a-49c4-9ed7-87056c839011' }, 'id'],
      [{ metadata: 'flat' }, 'metadata'],
      [{ colour: 'red' }, 'colour'],
    ] as const) {
      const response = await createUpload(stack, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.field, field);
    }
    assert.equal((await createUpload(stack, '{"id":')).status, 400);
    assert.equal(directUploads(cloudflare).length, before);
  });

  it('turns Cloudflare’s errors into clear answers and leaves no item behind', async () => {
    const cases = [
      { fault: { status: 400, errors: [{ code: 5400, message: 'Bad request: metadata too large' }] }, status: 400, retryable: false },
      { fault: { status: 401, errors: [{ code: 10000, message: 'Authentication error' }] }, status: 502, retryable: false },
      { fault: { status: 429, headers: { 'retry-after': '30' } }, status: 429, retryable: true },
      { fault: { status: 500 }, status: 502, retryable: true },
      { fault: { status: 503, drop: true }, status: 502, retryable: true },
      { fault: { status: 200, delayMs: 6500 }, status: 504, retryable: true },
    ];
    for (const { fault, status, retryable } of cases) {
      const id = `failed-${status}-${Math.random().toString(36).slice(2)}`;
      cloudflare.fail({ method: 'POST', path: /direct_upload$/ }, fault);
      const response = await createUpload(stack, { id });
      assert.equal(response.status, status, `Cloudflare ${JSON.stringify(fault)}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error, 'cloudflare');
      assert.equal(response.body.retryable, retryable);
      assert.equal(await readItem(stack.resources, id), undefined, 'no item without a Cloudflare upload');
      if (fault.status === 429 && !('drop' in fault)) assert.equal(response.headers.get('retry-after'), '30');
      if (fault.status === 400) assert.deepEqual(response.body.cloudflareErrors, [{ code: 5400, message: 'Bad request: metadata too large' }]);
    }
  });

  it('passes on Cloudflare refusing a custom id it already has (409), and keeps an existing item', async () => {
    const id = `taken-${Date.now()}`;
    assert.equal((await createUpload(stack, { id })).status, 201);
    const again = await createUpload(stack, { id });
    assert.equal(again.status, 409);
    assert.deepEqual(again.body.cloudflareErrors, [{ code: 5409, message: 'Resource already exists' }]);

    const seeded = await seedPending(stack.resources, 'image', `seeded-by-a-user-${Date.now()}`);
    const clash = await createUpload(stack, { id: seeded });
    assert.equal(clash.status, 409, 'the table already has it: the conditional write refuses to overwrite');
    assert.equal((await readItem(stack.resources, seeded))?.recordedFrom, undefined);
  });
});

describe('POST /uploads with a JWT authorizer', () => {
  let cloudflare: CloudflareStandIn;
  let stack: UploadsStack;
  before(async () => {
    cloudflare = await startCloudflareStandIn();
    stack = await startUploadsStack({ cloudflareBaseUrl: cloudflare.baseURL, apiSecret: { accountId: cloudflare.accountId, apiToken: cloudflare.token }, auth: { type: 'jwt' } });
  });
  after(async () => {
    // Both, even if starting the stack failed: an open server would keep the test process alive.
    await stack?.stop();
    await cloudflare?.close();
  });

  it('records the token’s subject as the creator, on the item and at Cloudflare', async () => {
    const created = await createUpload(stack, { metadata: { from: 'browser' } }, `Bearer ${localJwt({ sub: 'user-7' })}`);
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    assert.equal((await readItem(stack.resources, id))?.creator, 'user-7');
    assert.equal((directUploads(cloudflare).at(-1)!.body as Record<string, string>).creator, 'user-7');
    assert.equal(cloudflare.images.get(id)?.creator, 'user-7');
  });

  it('refuses a creator in the body, a token without a subject, and no token at all', async () => {
    const withCreator = await createUpload(stack, { creator: 'someone-else' }, `Bearer ${localJwt({ sub: 'user-7' })}`);
    assert.deepEqual([withCreator.status, withCreator.body.field], [400, 'creator']);
    assert.equal((await createUpload(stack, {}, `Bearer ${localJwt({})}`)).status, 403);
    assert.equal((await createUpload(stack, {}, '')).status, 401);
  });
});

describe('POST /uploads before the API secret is filled in', () => {
  it('answers 503 naming what is missing, and calls nobody', async () => {
    const cloudflare = await startCloudflareStandIn();
    const stack = await startUploadsStack({ cloudflareBaseUrl: cloudflare.baseURL, apiSecret: { accountId: '', apiToken: '' } });
    try {
      const response = await createUpload(stack, {});
      assert.equal(response.status, 503);
      assert.match(String(response.body.reason), /no accountId and no apiToken/);
      assert.equal(cloudflare.requests.length, 0);
    } finally {
      await stack.stop();
      await cloudflare.close();
    }
  });
});
