import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ItemKind } from '../../lambda/core/contract.js';
import { recordedItem } from '../../lambda/core/decide.js';
import { DynamoSweepIndex } from '../../lambda/sweep/index-query.js';
import { localClientConfig } from '../../local/aws.js';
import { Permission, sampleFiles, startCloudflareStandIn, type CloudflareStandIn } from '../../local/cloudflare.js';
import { payloads } from '../../local/payloads.js';
import { documentClient, events, readItem, send } from '../support/deliver.js';
import { createUpload, startUploadsStack, windowEnded, type UploadsStack } from '../support/uploads.js';

// The sweep as built, against the emulator and the local stand-in of Cloudflare's API: uploads
// created through the route, their window moved into the past (time passing), then the
// scheduled run, alone, racing late webhooks, or setting right what a lost webhook left wrong.

const iso = (ms: number) => new Date(ms).toISOString();
const nowSeconds = () => Math.floor(Date.now() / 1000);
const READ_TOKEN = 'read-only-token';

async function upload(stack: UploadsStack): Promise<{ id: string; uploadURL: string }> {
  const created = await createUpload(stack, { expiresInSeconds: 600 });
  assert.equal(created.status, 201);
  return created.body as { id: string; uploadURL: string };
}

/** The sweep's own adapter on the `byExpiry` index: ids in `status` whose window ends before `until`. */
function inByExpiry(stack: UploadsStack, status: string, until = iso(Date.now() + 86_400_000)): Promise<string[]> {
  return new DynamoSweepIndex(stack.resources.tableName, new DynamoDBClient(localClientConfig(stack.endpoint))).due(status, until, 1000);
}

/** Cloudflare's notification for an upload that completed at `uploaded`. */
const uploadedNotification = (id: string, uploaded: string) =>
  payloads.notification({ id, uploaded, variants: [`https://imagedelivery.net/h/${id}/public`] }, nowSeconds());

const mine = async (stack: UploadsStack, id: string, expect: number) => (await events(stack, expect)).filter((e) => (e.detail as { id: string }).id === id);

describe('the sweep without a read token: expiry, as before', () => {
  let cloudflare: CloudflareStandIn;
  let stack: UploadsStack;
  before(async () => {
    cloudflare = await startCloudflareStandIn();
    stack = await startUploadsStack({ cloudflareBaseUrl: cloudflare.baseURL, apiSecret: { accountId: cloudflare.accountId, apiToken: cloudflare.token } });
  });
  after(async () => {
    // Both, even if starting the stack failed: an open server would keep the test process alive.
    await stack?.stop();
    await cloudflare?.close();
  });

  it('expires a pending upload whose window passed, once, with Image Expired at the window’s end, and it leaves byExpiry', async () => {
    const { id } = await upload(stack);
    const expiresAt = await windowEnded(stack, id, 60_000);
    const run = await stack.sweep();
    assert.ok(run.expired >= 1 && run.failed === 0, JSON.stringify(run));

    const item = await readItem(stack.resources, id);
    assert.deepEqual([item?.status, item?.statusAt, item?.unpublished, item?.expiresAt], ['expired', expiresAt, undefined, undefined]);
    assert.equal((await inByExpiry(stack, 'expired')).includes(id), false);
    const seen = await mine(stack, id, 1);
    assert.deepEqual(seen.map((e) => e['detail-type']), ['Image Expired']);
    assert.deepEqual(
      (({ status, previousStatus, occurredAt, eventId, source }) => ({ status, previousStatus, occurredAt, eventId, source }))(seen[0]!.detail as Record<string, unknown>),
      { status: 'expired', previousStatus: 'pending', occurredAt: expiresAt, eventId: item?.history?.[0]?.eventId, source: 'expiry' },
    );

    // Idempotent: the next run finds nothing, writes nothing, publishes nothing.
    const again = await stack.sweep();
    assert.deepEqual([again.expired, again.published, again.failed], [0, 0, 0]);
    assert.equal((await readItem(stack.resources, id))?.version, item?.version);
    assert.equal((await events(stack, 0)).length, 0);
  });

  it('leaves an upload whose window is still open alone', async () => {
    const { id } = await upload(stack);
    await stack.sweep();
    assert.equal((await readItem(stack.resources, id))?.status, 'pending');
  });

  it('expires a draft too', async () => {
    const { id } = await upload(stack);
    const draft = await send.notification(stack, payloads.notification({ id, draft: true, uploaded: iso(Date.now() - 120_000) }, nowSeconds()));
    assert.equal(draft.body.status, 'draft');
    await windowEnded(stack, id, 60_000);
    await stack.sweep();
    const item = await readItem(stack.resources, id);
    assert.deepEqual(item?.history?.map((h) => [h.from, h.to]), [['pending', 'draft'], ['draft', 'expired']]);
    await events(stack, 2);
  });

  it('never touches an upload that completed before its window ended', async () => {
    const { id } = await upload(stack);
    assert.equal((await send.notification(stack, uploadedNotification(id, iso(Date.now() - 5000)))).status, 200);
    await windowEnded(stack, id, 60_000);
    await stack.sweep();
    const item = await readItem(stack.resources, id);
    assert.deepEqual(item?.history?.map((h) => h.to), ['uploaded']);
    await events(stack, 1);
  });

  it('a late upload webhook after the sweep still completes the image: Image Expired, then Image Uploaded', async () => {
    const { id } = await upload(stack);
    const expiresAt = await windowEnded(stack, id, 30_000);
    await stack.sweep();
    assert.equal((await readItem(stack.resources, id))?.status, 'expired');
    const late = await send.notification(stack, uploadedNotification(id, iso(Date.parse(expiresAt) - 10_000)));
    assert.deepEqual([late.status, late.body.outcome, late.body.previousStatus], [200, 'transitioned', 'expired']);
    const item = await readItem(stack.resources, id);
    assert.deepEqual(item?.history?.map((h) => `${h.from}>${h.to}`), ['pending>expired', 'expired>uploaded']);
    assert.deepEqual((await mine(stack, id, 2)).map((e) => e['detail-type']).sort(), ['Image Expired', 'Image Uploaded']);
    // The sweep does not take it back.
    await stack.sweep();
    assert.equal((await readItem(stack.resources, id))?.status, 'uploaded');
  });

  it('racing a late upload webhook: the upload wins whatever the order, and no event is lost or doubled', async () => {
    const uploads = await Promise.all(Array.from({ length: 5 }, () => upload(stack)));
    const ids = uploads.map((u) => u.id);
    const ends = await Promise.all(ids.map((id) => windowEnded(stack, id, 30_000)));
    // Each upload reached Cloudflare 10 s before its window closed; its webhook arrives now, with the sweep.
    const late = ids.map((id, i) => () => send.notification(stack, uploadedNotification(id, iso(Date.parse(ends[i]!) - 10_000))));

    const [sweepRun, ...answers] = await Promise.all([stack.sweep(), ...late.map((deliver) => deliver())]);
    assert.equal(sweepRun.failed, 0);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
    assert.equal((await stack.sweep()).published, 0, 'and the sweep again after: nothing left to do');

    const seen = await events(stack, 5);
    for (const id of ids) {
      const item = await readItem(stack.resources, id);
      assert.equal(item?.status, 'uploaded', `${id} ends uploaded`);
      assert.equal(item?.unpublished, undefined, 'every written transition was published');
      const types = seen.filter((e) => (e.detail as { id: string }).id === id).map((e) => e['detail-type']);
      const expected = item!.history!.map((h) => (h.to === 'expired' ? 'Image Expired' : 'Image Uploaded'));
      assert.deepEqual([...types].sort(), [...expected].sort(), `${id}: one event per recorded transition`);
      assert.ok(['pending>uploaded', 'pending>expired,expired>uploaded'].includes(item!.history!.map((h) => `${h.from}>${h.to}`).join(',')));
    }
  });

  it('an upload leaves byExpiry on its first transition out of pending/draft: expiresAt is removed in that write', async () => {
    const { id } = await upload(stack);
    assert.ok((await inByExpiry(stack, 'pending')).includes(id), 'a new upload is in byExpiry');
    assert.equal((await send.notification(stack, payloads.notification({ id, draft: true, uploaded: iso(Date.now() - 120_000) }, nowSeconds()))).body.status, 'draft');
    assert.ok((await inByExpiry(stack, 'draft')).includes(id), 'pending → draft keeps the window: the sweep still expires drafts');

    assert.equal((await send.notification(stack, uploadedNotification(id, iso(Date.now() - 5000)))).status, 200);
    const item = await readItem(stack.resources, id);
    assert.deepEqual([item?.status, 'expiresAt' in item!, item?.unpublished], ['uploaded', false, undefined]);
    for (const status of ['pending', 'draft', 'uploaded']) assert.equal((await inByExpiry(stack, status)).includes(id), false, `not in byExpiry under ${status}`);
    await events(stack, 2);
  });
});

describe('the sweep with a read token: what a lost webhook left wrong, set right from Cloudflare', () => {
  let cloudflare: CloudflareStandIn;
  let stack: UploadsStack;
  before(async () => {
    cloudflare = await startCloudflareStandIn({
      tokens: { 'stand-in-admin': Object.values(Permission), [READ_TOKEN]: [Permission.ImagesRead, Permission.StreamRead] },
      processingDelayMs: 50,
      // Cloudflare documents no retries: every webhook of this suite is lost.
      dropWebhooks: true,
    });
    stack = await startUploadsStack({
      cloudflareBaseUrl: cloudflare.baseURL,
      apiSecret: { accountId: cloudflare.accountId, apiToken: 'stand-in-admin' },
      readToken: { accountId: cloudflare.accountId, apiToken: READ_TOKEN },
      videoPendingSeconds: 3600,
    });
  });
  after(async () => {
    await stack?.stop();
    await cloudflare?.close();
  });

  it('an image uploaded at Cloudflare whose webhook was lost becomes uploaded: one Image Uploaded, no Image Expired', async () => {
    const { id, uploadURL } = await upload(stack);
    const outcome = await cloudflare.upload(uploadURL);
    assert.equal(outcome.status, 200);
    assert.deepEqual((await cloudflare.settled(id)).map((d) => d.dropped), [], 'no destination: nothing was even sent');
    await windowEnded(stack, id, 60_000);

    const run = await stack.sweep();
    assert.deepEqual([run.recovered, run.expired, run.failed], [1, 0, 0]);
    const item = await readItem(stack.resources, id);
    assert.deepEqual([item?.status, item?.history?.[0]?.source], ['uploaded', 'cloudflare-api']);
    assert.deepEqual(item?.variants, cloudflare.images.get(id)?.variants, 'with Cloudflare’s variants');
    const seen = await mine(stack, id, 1);
    assert.deepEqual(seen.map((e) => [e['detail-type'], (e.detail as { source: string }).source]), [['Image Uploaded', 'cloudflare-api']]);
    assert.equal((await stack.sweep()).recovered, 0, 'once');
  });

  it('a real abandoned upload (still a draft at Cloudflare) expires as before', async () => {
    const { id } = await upload(stack);
    await windowEnded(stack, id, 60_000);
    assert.equal((await stack.sweep()).expired, 1);
    assert.equal((await readItem(stack.resources, id))?.status, 'expired');
    assert.deepEqual((await mine(stack, id, 1)).map((e) => e['detail-type']), ['Image Expired']);
  });

  it('a video pending past the age becomes ready, or error, from Cloudflare; one still processing waits', async () => {
    const direct = async () => {
      const response = await fetch(`${cloudflare.baseURL}/accounts/${cloudflare.accountId}/stream/direct_upload`, {
        method: 'POST',
        headers: { authorization: 'Bearer stand-in-admin', 'content-type': 'application/json' },
        body: JSON.stringify({ maxDurationSeconds: 60 }),
      });
      return ((await response.json()) as { result: { uid: string; uploadURL: string } }).result;
    };
    const [ready, failed, waiting] = await Promise.all([direct(), direct(), direct()]);
    const longAgo = iso(Date.now() - 2 * 3_600_000);
    // Pending video items as the consumer's own code creates them (the upload route only makes images).
    for (const { uid } of [ready, failed, waiting]) {
      await documentClient(stack.endpoint).send(new PutCommand({ TableName: stack.resources.tableName, Item: recordedItem(ItemKind.Video, uid, new Date(longAgo)) }));
    }
    await cloudflare.upload(ready.uploadURL, sampleFiles.mp4);
    await cloudflare.upload(failed.uploadURL, sampleFiles.png);
    await Promise.all([cloudflare.settled(ready.uid), cloudflare.settled(failed.uid)]);

    const run = await stack.sweep();
    assert.ok(run.recovered >= 2 && run.failed === 0, JSON.stringify(run));
    assert.deepEqual(await Promise.all([ready, failed, waiting].map(async ({ uid }) => (await readItem(stack.resources, uid))?.status)), ['ready', 'error', 'pending']);
    assert.equal(((await readItem(stack.resources, failed.uid))?.lastError as { code?: string } | undefined)?.code, 'ERR_NON_VIDEO');
    const types = (await events(stack, 2)).filter((e) => [ready.uid, failed.uid].includes((e.detail as { id: string }).id)).map((e) => e['detail-type']);
    assert.deepEqual(types.sort(), ['Video Failed', 'Video Ready']);
  });

  it('a Cloudflare outage during a run changes nothing; the next run settles it', async () => {
    const { id, uploadURL } = await upload(stack);
    await cloudflare.upload(uploadURL);
    await windowEnded(stack, id, 60_000);
    cloudflare.fail({ method: 'GET', path: new RegExp(`^/images/v1/${id}$`) }, { status: 503, times: 1 });
    const down = await stack.sweep();
    assert.ok(down.deferred >= 1 && down.apiFailures.unavailable! >= 1, JSON.stringify(down));
    assert.equal((await readItem(stack.resources, id))?.status, 'pending');
    assert.equal((await events(stack, 0)).length, 0);

    assert.equal((await stack.sweep()).recovered, 1);
    assert.equal((await readItem(stack.resources, id))?.status, 'uploaded');
  });
});

describe('the sweep with a token Cloudflare refuses', () => {
  let cloudflare: CloudflareStandIn;
  let stack: UploadsStack;
  before(async () => {
    cloudflare = await startCloudflareStandIn({ dropWebhooks: true });
    stack = await startUploadsStack({ cloudflareBaseUrl: cloudflare.baseURL, apiSecret: { accountId: cloudflare.accountId, apiToken: cloudflare.token }, readToken: { accountId: cloudflare.accountId, apiToken: 'revoked' } });
  });
  after(async () => {
    await stack?.stop();
    await cloudflare?.close();
  });

  it('counts the refusal (the metric the CloudflareTokenRefused alarm reads) and changes nothing', async () => {
    const { id, uploadURL } = await upload(stack);
    await cloudflare.upload(uploadURL);
    await windowEnded(stack, id, 60_000);
    const run = await stack.sweep();
    assert.deepEqual([run.apiFailures.auth, run.deferred, run.expired, run.recovered], [1, 1, 0, 0]);
    assert.equal((await readItem(stack.resources, id))?.status, 'pending', 'not expired on the word of a refused token');
  });
});
