import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ItemKind, WebhookEnv } from '../../lambda/core/contract.js';
import { recordedItem } from '../../lambda/core/decide.js';
import { Permission, startCloudflareStandIn, type CloudflareStandIn } from '../../local/cloudflare.js';
import { payloads } from '../../local/payloads.js';
import { documentClient, events, readItem, send } from '../support/deliver.js';
import { startReceiver, type LocalReceiver } from '../support/receiver.js';

// A webhook is a signal; Cloudflare's API is the truth. The built webhook bundle confirms what a
// delivery's fields do not settle with the local stand-in of Cloudflare's API (its answers follow
// images/upload-images/direct-creator-upload.mdx, "Check the image record status": `draft: true`
// until the file arrives), and Cloudflare's answer wins.

const READ_TOKEN = 'read-only';
const ADMIN = 'stand-in-admin';
const nowSeconds = () => Math.floor(Date.now() / 1000);
/** A notification whose `data` settles nothing: no error, no draft, no upload time, no variants. */
const bare = (id: string) => payloads.notification({ id, note: 'something happened' }, nowSeconds(), 'Your upload failed (says the policy text)');

describe('confirming deliveries with Cloudflare’s API', () => {
  let cloudflare: CloudflareStandIn;
  const receivers: Record<'unconfirmed' | 'always' | 'never', LocalReceiver> = {} as never;
  before(async () => {
    cloudflare = await startCloudflareStandIn({ tokens: { [ADMIN]: Object.values(Permission), [READ_TOKEN]: [Permission.ImagesRead, Permission.StreamRead] } });
    for (const mode of ['unconfirmed', 'always', 'never'] as const) {
      receivers[mode] = await startReceiver({
        cloudflare: { baseUrl: cloudflare.baseURL, timeoutMs: 3000, readToken: { accountId: cloudflare.accountId, apiToken: READ_TOKEN } },
        overrides: { [WebhookEnv.ConfirmWithCloudflare]: mode },
      });
    }
  });
  after(async () => {
    for (const r of Object.values(receivers)) await r?.stop();
    await cloudflare?.close();
  });

  /** An image at Cloudflare (a direct creator upload), optionally with its file, and its pending item here. */
  async function image(r: LocalReceiver, uploaded: boolean): Promise<string> {
    const response = await fetch(`${cloudflare.baseURL}/accounts/${cloudflare.accountId}/images/v2/direct_upload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` }, body: new FormData() });
    const { id, uploadURL } = ((await response.json()) as { result: { id: string; uploadURL: string } }).result;
    await documentClient(r.endpoint).send(new PutCommand({ TableName: r.resources.tableName, Item: recordedItem(ItemKind.Image, id, new Date(Date.now() - 60_000)) }));
    if (uploaded) await cloudflare.upload(uploadURL);
    return id;
  }
  const asked = (id: string) => cloudflare.calls(new RegExp(`/images/v1/${id}$`)).length;

  it('unconfirmed: Cloudflare says uploaded → uploaded, with Cloudflare’s variants; the policy text decides nothing', async () => {
    const r = receivers.unconfirmed;
    const id = await image(r, true);
    const answer = await send.notification(r, bare(id));
    assert.deepEqual([answer.status, answer.body.status, answer.body.confirmation], [200, 'uploaded', 'confirmed']);
    const item = await readItem(r.resources, id);
    assert.deepEqual(item?.variants, cloudflare.images.get(id)!.variants);
    assert.equal(item?.history?.[0]?.source, 'cloudflare-api');
    assert.equal(item?.history?.[0]?.notification?.policyId, 'policy-local', 'the envelope that brought it is kept');
    assert.equal(asked(id), 1);
    const seen = (await events(r, 1)).filter((e) => (e.detail as { id: string }).id === id);
    assert.deepEqual(seen.map((e) => e['detail-type']), ['Image Uploaded']);
  });

  it('unconfirmed: still a draft at Cloudflare → draft, or failed when the fields report a failure', async () => {
    const r = receivers.unconfirmed;
    const draftId = await image(r, false);
    assert.equal((await send.notification(r, bare(draftId))).body.status, 'draft');
    const failedId = await image(r, false);
    const failed = await send.notification(r, payloads.notification({ id: failedId, error: { code: 'E5400', message: 'too big' } }, nowSeconds()));
    assert.deepEqual([failed.body.status, asked(failedId)], ['failed', 0], 'settled by its fields: not asked in this mode');
    assert.deepEqual((await readItem(r.resources, failedId))?.lastError, { code: 'E5400', message: 'too big', at: (await readItem(r.resources, failedId))?.statusAt });
    await events(r, 2);
  });

  it('unconfirmed: Cloudflare has no such image (404) → failed, NOT_FOUND', async () => {
    const r = receivers.unconfirmed;
    const id = 'never-created-at-cloudflare';
    await documentClient(r.endpoint).send(new PutCommand({ TableName: r.resources.tableName, Item: recordedItem(ItemKind.Image, id, new Date()) }));
    const answer = await send.notification(r, bare(id));
    assert.deepEqual([answer.status, answer.body.status, answer.body.confirmation], [200, 'failed', 'not-found']);
    assert.equal(((await readItem(r.resources, id))?.lastError as { code: string }).code, 'NOT_FOUND');
    await events(r, 1);
  });

  it('unconfirmed: Cloudflare failing (5xx) or slow → 500, and nothing is written', async () => {
    const r = receivers.unconfirmed;
    for (const fault of [{ status: 503 }, { status: 200, delayMs: 6000 }]) {
      const id = await image(r, true);
      cloudflare.fail({ method: 'GET', path: new RegExp(`^/images/v1/${id}$`) }, { ...fault, times: 1 });
      const before = await readItem(r.resources, id);
      const answer = await send.notification(r, bare(id));
      assert.deepEqual([answer.status, answer.body], [500, { error: 'internal error', retryable: true }], JSON.stringify(fault));
      assert.equal((await readItem(r.resources, id))?.version, before?.version, 'not written');
      // Cloudflare back: the sender's retry (or the sweep) settles it.
      assert.equal((await send.notification(r, bare(id))).body.status, 'uploaded');
      await events(r, 1);
    }
  });

  it('always: a delivery whose fields say uploaded, for an image Cloudflare still holds as a draft, is a draft', async () => {
    const r = receivers.always;
    const id = await image(r, false);
    const answer = await send.notification(r, payloads.notification({ id, uploaded: new Date().toISOString(), variants: ['x'] }, nowSeconds()));
    assert.deepEqual([answer.body.status, answer.body.confirmation, asked(id)], ['draft', 'pending', 1]);
    await events(r, 1);
  });

  it('always: Cloudflare unavailable for a delivery its fields settle → the fields decide, and it is counted', async () => {
    const r = receivers.always;
    const id = await image(r, true);
    cloudflare.fail({ method: 'GET', path: new RegExp(`^/images/v1/${id}$`) }, { status: 500, times: 1 });
    const answer = await send.notification(r, payloads.notification({ id, uploaded: new Date().toISOString(), variants: ['x'] }, nowSeconds()));
    assert.deepEqual([answer.status, answer.body.status, answer.body.confirmation, answer.body.apiFailure], [200, 'uploaded', 'unavailable', 'unavailable']);
    await events(r, 1);
  });

  it('never: Cloudflare is never called, and a delivery its fields do not settle changes nothing', async () => {
    const r = receivers.never;
    const id = await image(r, true);
    const answer = await send.notification(r, bare(id));
    assert.deepEqual([answer.status, answer.body.outcome, asked(id)], [200, 'ignored', 0]);
    assert.equal((await readItem(r.resources, id))?.status, 'pending');
    assert.equal((await send.notification(r, payloads.notification({ id, uploaded: new Date().toISOString() }, nowSeconds()))).body.status, 'uploaded');
    assert.equal(asked(id), 0);
    await events(r, 1);
  });
});
