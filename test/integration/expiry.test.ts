import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoExpiryIndex } from '../../lambda/sweep/index-query';
import { expireItem } from '../../lambda/sweep/sweep';
import { DynamoItemStore } from '../../lambda/adapters/store';
import { localClientConfig } from '../../local/aws';
import { payloads } from '../../local/payloads';
import { events, readItem, send } from '../support/deliver';
import { startCloudflareStandIn, type CloudflareStandIn } from '../../local/cloudflare';
import { sigV4Header, startUploadsStack, type UploadsStack } from '../support/uploads';

// The expiry sweep as built, against the emulator: uploads created through the route, their
// window moved into the past (time passing), then the scheduled run, alone or racing the
// late webhook of an upload that did arrive in time.

const iso = (ms: number) => new Date(ms).toISOString();
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function upload(stack: UploadsStack): Promise<string> {
  const response = await fetch(stack.uploadsUrl, { method: 'POST', headers: { authorization: sigV4Header, 'content-type': 'application/json' }, body: '{"expiresInSeconds":600}' });
  assert.equal(response.status, 201);
  return ((await response.json()) as { id: string }).id;
}

/** Time passes: the upload window ended `agoMs` ago. */
async function windowEnded(stack: UploadsStack, id: string, agoMs: number): Promise<string> {
  const expiresAt = iso(Date.now() - agoMs);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(stack.endpoint)));
  await client.send(new UpdateCommand({ TableName: stack.resources.tableName, Key: { id }, UpdateExpression: 'SET expiresAt = :e', ExpressionAttributeValues: { ':e': expiresAt } }));
  return expiresAt;
}

/** The sweep's own adapter on the `byExpiry` index: ids in `status` whose window ends before `until`. */
function inByExpiry(stack: UploadsStack, status: string, until = iso(Date.now() + 86_400_000)): Promise<string[]> {
  return new DynamoExpiryIndex(stack.resources.tableName, new DynamoDBClient(localClientConfig(stack.endpoint))).due(status, until, 1000);
}

/** Cloudflare's notification for an upload that completed at `uploaded`. */
const uploadedNotification = (id: string, uploaded: string) =>
  payloads.notification({ id, status: 'uploaded', uploaded, variants: [`https://imagedelivery.net/h/${id}/public`] }, nowSeconds());

describe('the expiry sweep', () => {
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

  it('expires a pending upload whose window passed, once, with Image Expired at the window’s end', async () => {
    const id = await upload(stack);
    const expiresAt = await windowEnded(stack, id, 60_000);
    const run = await stack.sweep();
    assert.ok(run.expired >= 1 && run.failed === 0, JSON.stringify(run));

    const item = await readItem(stack.resources, id);
    assert.equal(item?.status, 'expired');
    assert.equal(item?.statusAt, expiresAt);
    assert.deepEqual(item?.unpublished, {});
    const seen = (await events(stack, 1)).filter((e) => (e.detail as { id: string }).id === id);
    assert.deepEqual(seen.map((e) => e['detail-type']), ['Image Expired']);
    assert.deepEqual(
      (({ status, previousStatus, occurredAt, eventId }) => ({ status, previousStatus, occurredAt, eventId }))(seen[0]!.detail as Record<string, unknown>),
      { status: 'expired', previousStatus: 'pending', occurredAt: expiresAt, eventId: item?.history?.[0]?.eventId },
    );

    // Idempotent: the next run finds nothing, writes nothing, publishes nothing.
    const again = await stack.sweep();
    assert.deepEqual([again.expired, again.published, again.failed], [0, 0, 0]);
    assert.equal((await readItem(stack.resources, id))?.version, item?.version);
    assert.equal((await events(stack, 0)).length, 0);
  });

  it('leaves an upload whose window is still open alone', async () => {
    const id = await upload(stack);
    await stack.sweep();
    assert.equal((await readItem(stack.resources, id))?.status, 'pending');
  });

  it('expires a draft too', async () => {
    const id = await upload(stack);
    const draft = await send.notification(stack, payloads.notification({ id, draft: true, uploaded: iso(Date.now() - 120_000) }, nowSeconds()));
    assert.equal(draft.body.status, 'draft');
    await windowEnded(stack, id, 60_000);
    await stack.sweep();
    const item = await readItem(stack.resources, id);
    assert.deepEqual(item?.history?.map((h) => [h.from, h.to]), [['pending', 'draft'], ['draft', 'expired']]);
    await events(stack, 2);
  });

  it('never touches an upload that completed before its window ended', async () => {
    const id = await upload(stack);
    assert.equal((await send.notification(stack, uploadedNotification(id, iso(Date.now() - 5000)))).status, 200);
    await windowEnded(stack, id, 60_000);
    await stack.sweep();
    const item = await readItem(stack.resources, id);
    assert.equal(item?.status, 'uploaded');
    assert.deepEqual(item?.history?.map((h) => h.to), ['uploaded']);
    await events(stack, 1);
  });

  it('a late upload webhook after the sweep still completes the image: Image Expired, then Image Uploaded', async () => {
    const id = await upload(stack);
    const expiresAt = await windowEnded(stack, id, 30_000);
    await stack.sweep();
    assert.equal((await readItem(stack.resources, id))?.status, 'expired');
    const late = await send.notification(stack, uploadedNotification(id, iso(Date.parse(expiresAt) - 10_000)));
    assert.deepEqual([late.status, late.body.outcome, late.body.previousStatus], [200, 'transitioned', 'expired']);
    const item = await readItem(stack.resources, id);
    assert.deepEqual(item?.history?.map((h) => `${h.from}>${h.to}`), ['pending>expired', 'expired>uploaded']);
    const seen = (await events(stack, 2)).filter((e) => (e.detail as { id: string }).id === id);
    assert.deepEqual(seen.map((e) => e['detail-type']).sort(), ['Image Expired', 'Image Uploaded']);
    // The sweep does not take it back.
    await stack.sweep();
    assert.equal((await readItem(stack.resources, id))?.status, 'uploaded');
  });

  it('racing a late upload webhook: the upload wins whatever the order, and no event is lost or doubled', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, () => upload(stack)));
    const ends = await Promise.all(ids.map((id) => windowEnded(stack, id, 30_000)));
    // Each upload reached Cloudflare 10 s before its window closed; its webhook arrives now, with the sweep.
    const late = ids.map((id, i) => () => send.notification(stack, uploadedNotification(id, iso(Date.parse(ends[i]!) - 10_000))));

    const [sweepRun, ...answers] = await Promise.all([stack.sweep(), ...late.map((deliver) => deliver())]);
    assert.equal(sweepRun.failed, 0);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
    // And the sweep again after: nothing left to do.
    assert.equal((await stack.sweep()).published, 0);

    const seen = await events(stack, 5);
    for (const id of ids) {
      const item = await readItem(stack.resources, id);
      assert.equal(item?.status, 'uploaded', `${id} ends uploaded`);
      assert.deepEqual(item?.unpublished, {}, 'every written transition was published');
      const mine = seen.filter((e) => (e.detail as { id: string }).id === id).map((e) => e['detail-type']);
      const expected = item!.history!.map((h) => (h.to === 'expired' ? 'Image Expired' : 'Image Uploaded'));
      assert.deepEqual([...mine].sort(), [...expected].sort(), `${id}: one event per recorded transition`);
      assert.ok(['pending>uploaded', 'pending>expired,expired>uploaded'].includes(item!.history!.map((h) => `${h.from}>${h.to}`).join(',')));
    }
  });

  it('an upload leaves byExpiry on its first transition out of pending/draft: expiresAt is removed in that write', async () => {
    const id = await upload(stack);
    assert.ok((await inByExpiry(stack, 'pending')).includes(id), 'a new upload is in byExpiry');

    // pending → draft keeps the window: the sweep still expires drafts.
    const draft = await send.notification(stack, payloads.notification({ id, draft: true, uploaded: iso(Date.now() - 120_000) }, nowSeconds()));
    assert.equal(draft.body.status, 'draft');
    const drafted = await readItem(stack.resources, id);
    assert.equal(typeof drafted?.expiresAt, 'string');
    assert.ok((await inByExpiry(stack, 'draft')).includes(id));

    // draft → uploaded: gone from the item and from the index, under every status.
    assert.equal((await send.notification(stack, uploadedNotification(id, iso(Date.now() - 5000)))).status, 200);
    const item = await readItem(stack.resources, id);
    assert.equal(item?.status, 'uploaded');
    assert.equal('expiresAt' in item!, false, 'expiresAt removed by the transition');
    assert.deepEqual(item?.unpublished, {}, 'the marker clean-up ran after it');
    for (const status of ['pending', 'draft', 'uploaded']) assert.equal((await inByExpiry(stack, status)).includes(id), false, `not in byExpiry under ${status}`);
    await events(stack, 2);
  });

  it('a sweep that crashed between its expiry write and PutEvents is finished by the next run, found through byExpiry', async () => {
    const id = await upload(stack);
    const expiresAt = await windowEnded(stack, id, 60_000);
    const client = new DynamoDBClient(localClientConfig(stack.endpoint));
    const died = new Error('function died');
    // The crashed run: the real table, a publisher that dies at the precise moment, a lease that is already over.
    await assert.rejects(
      expireItem(id, { index: new DynamoExpiryIndex(stack.resources.tableName, client), store: new DynamoItemStore(stack.resources.tableName, client), publisher: { publish: () => Promise.reject(died) }, now: () => new Date() }, { leaseMs: 1 }),
      died,
    );
    const left = await readItem(stack.resources, id);
    assert.equal(left?.status, 'expired');
    assert.equal(Object.keys(left?.unpublished ?? {}).length, 1, 'the expiry is written, its event unpublished');
    assert.equal(left?.expiresAt, expiresAt, 'an expiry keeps expiresAt: the sweep must find it again');
    assert.ok((await inByExpiry(stack, 'expired')).includes(id));
    assert.equal((await events(stack, 0)).filter((e) => (e.detail as { id: string }).id === id).length, 0);

    await new Promise((resolve) => setTimeout(resolve, 20));
    const run = await stack.sweep();
    assert.ok(run.republished >= 1 && run.failed === 0, JSON.stringify(run));
    const item = await readItem(stack.resources, id);
    assert.deepEqual(item?.unpublished, {});
    const seen = (await events(stack, 1)).filter((e) => (e.detail as { id: string }).id === id);
    assert.deepEqual(seen.map((e) => [e['detail-type'], (e.detail as { eventId: string }).eventId]), [['Image Expired', item!.history![0]!.eventId]]);
    // Published: the next run has nothing to recover.
    assert.equal((await stack.sweep()).republished, 0);
  });
});
