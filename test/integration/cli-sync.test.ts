import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoItemStore } from '../../lambda/adapters/store.js';
import { precedenceOf, recordedItem } from '../../lambda/core/decide.js';
import type { Item } from '../../lambda/core/item.js';
import { localClientConfig } from '../../local/aws.js';
import { Permission, startCloudflareStandIn, type CloudflareStandIn } from '../../local/cloudflare.js';
import { provisionLocal, type LocalResources } from '../../local/provision.js';
import { cli, newId, stateFor } from '../support/cli.js';
import { eventsIn, readItem } from '../support/deliver.js';
import { connectEmulator } from '../support/receiver.js';
import { eventIdOf } from '../support/watch.js';
import type { Emulator } from '../../scripts/emulator.js';

// `images sync` against the emulator and the stand-in of Cloudflare's API: the table is set right
// from what Cloudflare says, through the path every writer shares, one event per transition.
// The CLI finds everything through a state file, as it finds what `npm start` runs.

const READ_TOKEN = 'read-only-token';
const WRITE_TOKEN = 'write-token';
const MINUTE = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'cli-sync-'));

describe('images sync', () => {
  let emulator: Emulator;
  let resources: LocalResources;
  let standIn: CloudflareStandIn;
  let store: DynamoItemStore;
  let env: Record<string, string>;
  let readSecretId: string;
  const run = (...argv: string[]) => cli(argv, { env });

  before(async () => {
    emulator = await connectEmulator();
    const prefix = `sync${process.pid}-${randomBytes(3).toString('hex')}`;
    // The read secret holds a token that may only read, as `connect` stores it; the test uploads with another.
    standIn = await startCloudflareStandIn({ tokens: { [READ_TOKEN]: [Permission.ImagesRead, Permission.StreamRead], [WRITE_TOKEN]: [Permission.ImagesWrite, Permission.StreamWrite] } });
    resources = await provisionLocal({ endpoint: emulator.endpoint, prefix, readToken: { accountId: standIn.accountId, apiToken: READ_TOKEN } });
    const config = localClientConfig(emulator.endpoint);
    readSecretId = resources.readSecretArn;
    store = new DynamoItemStore(resources.tableName, new DynamoDBClient(config));
    env = await stateFor(
      { endpoint: emulator.endpoint, imagesUrl: 'http://127.0.0.1:9/webhooks/images', streamUrl: 'http://127.0.0.1:9/webhooks/stream', resources },
      join(dir, 'local.json'),
      { readSecretId, cloudflareBaseUrl: standIn.baseURL },
    );
  });
  after(async () => {
    await standIn.close();
    await emulator.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Cloudflare's API as the upload route calls it, with the write token. */
  async function cloudflare<T>(method: string, path: string, body: FormData | object): Promise<T> {
    const json = !(body instanceof FormData);
    const response = await fetch(`${standIn.baseURL}/accounts/${standIn.accountId}${path}`, {
      method,
      headers: { authorization: `Bearer ${WRITE_TOKEN}`, ...(json && { 'content-type': 'application/json' }) },
      body: json ? JSON.stringify(body) : body,
    });
    assert.equal(response.status, 200, `${method} ${path}`);
    return ((await response.json()) as { result: T }).result;
  }

  /** A direct creator upload: Cloudflare's draft, under our id. */
  async function imageDraft(id: string): Promise<string> {
    const form = new FormData();
    form.append('id', id);
    return (await cloudflare<{ uploadURL: string }>('POST', '/images/v2/direct_upload', form)).uploadURL;
  }

  /** The pending item the upload route writes, its window ending at `expiresAt`. */
  async function pendingImage(id: string, { expiresAt, createdAt = new Date() }: { expiresAt: Date; createdAt?: Date }): Promise<void> {
    assert.ok(await store.create({ ...recordedItem('image', id, createdAt), expiresAt: expiresAt.toISOString(), recordedFrom: 'upload' }));
  }

  async function pendingVideo(): Promise<{ uid: string; uploadURL: string }> {
    const created = await cloudflare<{ uid: string; uploadURL: string }>('POST', '/stream/direct_upload', { maxDurationSeconds: 60 });
    assert.ok(await store.create(recordedItem('video', created.uid, new Date())));
    return created;
  }

  /** Events the bus delivered to the watch queue: `expect` of them, then a second more for any extra. */
  const events = (expect: number) => eventsIn(emulator.endpoint, resources.watchQueueUrl, expect);

  const item = async (id: string) => (await readItem(resources, id)) as Item;

  it('a pending image Cloudflare has becomes uploaded, with Cloudflare’s variants and one Image Uploaded event', async () => {
    const id = newId('lost');
    const uploadURL = await imageDraft(id);
    await pendingImage(id, { expiresAt: new Date(Date.now() + 30 * MINUTE) });
    // The creator uploads; the webhook never comes (no notification policy points at us).
    assert.equal((await standIn.upload(uploadURL)).status, 200);

    const synced = await run('images', 'sync', id);
    assert.equal(synced.code, 0, synced.err);
    const [header, , row] = synced.out.split('\n');
    assert.equal(header, `asking Cloudflare (account ${standIn.accountId}, token from secret ${readSecretId}, ${standIn.baseURL}) about 1 item`);
    assert.match(row!, new RegExp(`^${id}  image  pending → uploaded  +transitioned  +uploaded \\S+  +Image Uploaded [0-9a-f]{32}$`));
    assert.ok(!synced.out.includes(READ_TOKEN), 'the token is never printed');

    const after = await item(id);
    assert.equal(after.status, 'uploaded');
    assert.deepEqual(after.variants, standIn.images.get(id)!.variants);
    assert.equal(after.history?.at(-1)?.source, 'cloudflare-api');
    assert.equal(after.unpublished, undefined, 'the outbox is empty once published');
    const seen = await events(1);
    assert.deepEqual(seen.map((event) => [event['detail-type'], eventIdOf(event)]), [['Image Uploaded', after.history!.at(-1)!.eventId]]);

    // Asked again, Cloudflare says the same: nothing changes, nothing is published.
    const again = await run('images', 'sync', id, '--json');
    assert.equal(again.code, 0, again.err);
    const [result] = JSON.parse(again.out) as { outcome: string; before: string; after: string; published: unknown[] }[];
    assert.deepEqual([result!.outcome, result!.before, result!.after, result!.published], ['unchanged', 'uploaded', 'uploaded', []]);
    assert.equal((await item(id)).version, after.version);
    assert.equal((await events(0)).length, 0);
  });

  it('a draft whose window ended becomes expired; one whose window is open does not change', async () => {
    const [ended, open] = [newId('ended'), newId('open')];
    await imageDraft(ended);
    await imageDraft(open);
    const windowEnd = new Date(Date.now() - MINUTE);
    await pendingImage(ended, { expiresAt: windowEnd });
    await pendingImage(open, { expiresAt: new Date(Date.now() + 30 * MINUTE) });

    const synced = await run('images', 'sync', ended);
    assert.equal(synced.code, 0, synced.err);
    assert.match(synced.out, new RegExp(`${ended}  image  pending → expired  +transitioned  +still a draft \\(no file yet\\)  +Image Expired `));
    assert.equal((await item(ended)).status, 'expired');
    assert.equal((await item(ended)).statusAt, windowEnd.toISOString(), 'expired at the end of its window, as the sweep does');
    assert.deepEqual((await events(1)).map((event) => event['detail-type']), ['Image Expired']);

    const before = await item(open);
    const waiting = await run('images', 'sync', open);
    assert.equal(waiting.code, 0, waiting.err);
    assert.match(waiting.out, new RegExp(`${open}  image  pending \\(unchanged\\)  +waiting  +still a draft`));
    assert.deepEqual(await item(open), before);
    assert.equal((await events(0)).length, 0);
  });

  it('a video Cloudflare finished becomes ready; one still processing does not change', async () => {
    const ready = await pendingVideo();
    await standIn.upload(ready.uploadURL);
    assert.equal(standIn.videos.get(ready.uid)!.state, 'ready');
    const processing = await pendingVideo();

    const synced = await run('images', 'sync', ready.uid);
    assert.equal(synced.code, 0, synced.err);
    assert.match(synced.out, new RegExp(`${ready.uid}  video  pending → ready  +transitioned  +ready  +Video Ready `));
    const video = await item(ready.uid);
    assert.equal(video.status, 'ready');
    assert.equal(video.readyToStream, true);
    assert.deepEqual((await events(1)).map((event) => event['detail-type']), ['Video Ready']);

    const before = await item(processing.uid);
    const waiting = await run('images', 'sync', processing.uid);
    assert.equal(waiting.code, 0, waiting.err);
    assert.match(waiting.out, /pending \(unchanged\)  +waiting  +still processing \(pendingupload\)/);
    assert.deepEqual(await item(processing.uid), before);
  });

  it('--status pending --older-than selects through the byStatus index: only items whose last change is older, up to --limit', async () => {
    const hoursAgo = (h: number) => new Date(Date.now() - h * 60 * MINUTE);
    const old = [newId('old'), newId('old'), newId('old')];
    const recent = newId('recent');
    for (const [index, id] of old.entries()) {
      await standIn.upload(await imageDraft(id));
      await pendingImage(id, { expiresAt: new Date(Date.now() + 30 * MINUTE), createdAt: hoursAgo(3 + index) });
    }
    await standIn.upload(await imageDraft(recent));
    await pendingImage(recent, { expiresAt: new Date(Date.now() + 30 * MINUTE) });

    const first = await run('images', 'sync', '--status', 'pending', '--older-than', '1h', '--kind', 'image', '--limit', '2');
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /about 2 items\n/);
    assert.match(first.out, /\(stopped at --limit; more items may match\)$/);
    // Newest change first, as `images list` orders them.
    const synced = first.out.split('\n').filter((line) => / pending → uploaded /.test(line)).map((line) => line.split(' ')[0]);
    assert.deepEqual(synced, [old[0], old[1]]);
    const rest = await run('images', 'sync', '--status', 'pending', '--older-than', '1h', '--json');
    assert.deepEqual((JSON.parse(rest.out) as { id: string }[]).map((r) => r.id), [old[2]]);

    for (const id of old) assert.equal((await item(id)).status, 'uploaded');
    assert.equal((await item(recent)).status, 'pending', 'changed within the hour: not selected');
    assert.equal((await events(3)).length, 3);
  });

  it('Cloudflare down: nothing is written, the exit code is 1 and the message says why', async () => {
    const id = newId('down');
    await standIn.upload(await imageDraft(id));
    await pendingImage(id, { expiresAt: new Date(Date.now() + 30 * MINUTE) });
    const before = await item(id);
    standIn.fail({ method: 'GET', path: /^\/images\/v1\// }, { status: 503 });

    const failed = await run('images', 'sync', id);
    assert.equal(failed.code, 1);
    assert.match(failed.err, /^error: Cloudflare could not be asked about 1 item \(nothing was written for them\): Cloudflare failed: /);
    assert.match(failed.out, new RegExp(`${id}  image  pending \\(unchanged\\)  +unreachable  +Cloudflare failed`));
    assert.deepEqual(await item(id), before);
    assert.equal((await events(0)).length, 0);

    // Once Cloudflare answers again, the same command settles it.
    assert.equal((await run('images', 'sync', id)).code, 0);
    assert.equal((await item(id)).status, 'uploaded');
    await events(1);
  });

  it('a refused token stops the asking: the rest are reported, untouched', async () => {
    const ids = [newId('refused'), newId('refused')];
    for (const id of ids) {
      await standIn.upload(await imageDraft(id));
      await pendingImage(id, { expiresAt: new Date(Date.now() + 30 * MINUTE), createdAt: new Date(Date.now() - 48 * 60 * MINUTE) });
    }
    const wrong = await new SecretsManagerClient(localClientConfig(emulator.endpoint)).send(
      new CreateSecretCommand({ Name: `${resources.tableName}/wrong-read`, SecretString: JSON.stringify({ accountId: standIn.accountId, apiToken: 'revoked' }) }),
    );
    const refused = await run('images', 'sync', '--status', 'pending', '--older-than', '47h', '--read-secret', wrong.ARN!, '--json');
    assert.equal(refused.code, 1);
    const results = JSON.parse(refused.out) as { id: string; outcome: string; cloudflare: string; failure: string }[];
    assert.deepEqual(results.map((r) => [r.outcome, r.failure]), [['unreachable', 'auth'], ['unreachable', 'auth']]);
    assert.match(results[1]!.cloudflare, /^not asked: Cloudflare refused the API token/);
    assert.equal(standIn.calls(/\/images\/v1\//).filter((call) => call.status === 401).length, 1, 'asked once, not once per item');
    for (const id of ids) assert.equal((await item(id)).status, 'pending');
    assert.match(refused.err, /Cloudflare could not be asked about 2 items/);
  });

  it('the read token from the environment works the same, and a blank secret is named, not echoed', async () => {
    const id = newId('env');
    await standIn.upload(await imageDraft(id));
    await pendingImage(id, { expiresAt: new Date(Date.now() + 30 * MINUTE) });
    const fromEnv = await cli(['images', 'sync', id, '--account-id', standIn.accountId], { env: { ...env, CLOUDFLARE_READ_API_TOKEN: READ_TOKEN } });
    assert.equal(fromEnv.code, 0, fromEnv.err);
    assert.match(fromEnv.out, /token from \$CLOUDFLARE_READ_API_TOKEN/);
    assert.equal((await item(id)).status, 'uploaded');
    await events(1);

    const blank = await new SecretsManagerClient(localClientConfig(emulator.endpoint)).send(
      new CreateSecretCommand({ Name: `${resources.tableName}/blank-read`, SecretString: '{"accountId":"","apiToken":""}' }),
    );
    const refused = await run('images', 'sync', id, '--read-secret', blank.ARN!);
    assert.equal(refused.code, 1);
    assert.equal(refused.err.split('\n')[0], `error: the Cloudflare API secret has no accountId and no apiToken (${blank.ARN}); store a read token with npm run connect`);
  });

  it('names an id the table does not have', async () => {
    const missing = await run('images', 'sync', 'no-such-item');
    assert.deepEqual([missing.code, missing.err], [1, `error: no item no-such-item in table ${resources.tableName}`]);
  });

  it('create-pending writes the item the upload route writes (recordedItem), so reports apply to it alike', async () => {
    const id = newId('cli');
    const now = new Date('2024-06-01T12:00:00.000Z');
    const created = await cli(['images', 'create-pending', id, '--kind', 'video'], { env, now: () => now });
    assert.equal(created.code, 0, created.err);
    assert.deepEqual(await readItem(resources, id), { ...recordedItem('video', id, now), recordedFrom: 'cli' });
    const stored = await item(id);
    assert.deepEqual([stored.precedence, stored.version], [precedenceOf('video', 'pending', ''), 0]);
  });
});
