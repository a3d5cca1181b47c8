import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { TAIL_PREFIX } from '../../cli/events.js';
import type { WebhookEvent } from '../../lib/events.js';
import { localClientConfig } from '../../local/aws.js';
import { LOCAL_STATE_ENV } from '../../local/state.js';
import { backgroundTail, cli, emulatorEnv, fakeCloudFormation, newId, spawnCli, stateFor } from '../support/cli.js';
import { events, readItem, seedPending } from '../support/deliver.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import type { HistoryEntry, Item } from '../../lambda/core/item.js';

// The CLI against a receiver running on the emulator: what a user does in a second terminal
// while `npm start` runs, and what they do against a deployed stack.

const dir = mkdtempSync(join(tmpdir(), 'cli-it-'));

describe('the CLI against the local receiver', () => {
  let r: Receiver;
  let env: Record<string, string>;
  const run = (...argv: string[]) => cli(argv, { env });

  before(async () => {
    r = await startReceiver();
    env = await stateFor(r, join(dir, 'local.json'));
  });
  after(async () => {
    await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('send moves the item, a rule sees the event, and images get and history show the same transition', async () => {
    const id = newId('img');
    assert.equal((await run('images', 'create-pending', id)).code, 0);

    const tail = backgroundTail(['--seconds', '30', '--max', '1', '--json'], env);
    const listening = await tail.listening;
    const sent = await run('send', 'image-uploaded', '--id', id);
    assert.equal(sent.code, 0);
    const [request, answer] = sent.out.split('\n');
    assert.equal(request, `POST ${r.imagesUrl}  (image-uploaded, Notifications envelope, cf-webhook-auth)`);
    assert.match(answer!, /^200 \{.*"outcome":"transitioned"/);

    const tailed = await tail.done;
    assert.equal(tailed.code, 0, tailed.err);
    const seen = tailed.out.split('\n').map((line) => JSON.parse(line) as WebhookEvent);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!['detail-type'], 'Image Uploaded');
    assert.deepEqual([seen[0]!.detail.id, seen[0]!.detail.previousStatus, seen[0]!.detail.status], [id, 'pending', 'uploaded']);

    const item = JSON.parse((await run('images', 'get', id)).out) as Item;
    assert.equal(item.status, 'uploaded');
    assert.equal(item.history?.[0]?.eventId, seen[0]!.detail.eventId);
    const history = await run('images', 'history', id);
    assert.match(history.out.split('\n')[1]!, new RegExp(`pending → uploaded  ${seen[0]!.detail.eventId}$`));
    const historyJson = JSON.parse((await run('images', 'history', id, '--json')).out) as HistoryEntry[];
    assert.deepEqual(historyJson, item.history);

    // The tail had a queue of its own: the watch queue still got the event, and nothing is left behind.
    assert.deepEqual((await events(r, 1)).map((e) => (e.detail as { id: string }).id), [id]);
    const name = /rule and queue (\S+)\)/.exec(listening)![1]!;
    assert.ok(name.startsWith(TAIL_PREFIX));
    assert.match(tailed.err, new RegExp(`1 event; removed rule and queue ${name}$`));
    const config = localClientConfig(r.endpoint);
    const rules = await new EventBridgeClient(config).send(new ListRulesCommand({ EventBusName: r.resources.eventBusName, NamePrefix: name }));
    const queues = await new SQSClient(config).send(new ListQueuesCommand({ QueueNamePrefix: name }));
    assert.deepEqual([rules.Rules ?? [], queues.QueueUrls ?? []], [[], []]);
  });

  it('events tail --detail-type prints only the events its rule matches', async () => {
    const [uploaded, failed] = [newId('ok'), newId('bad')];
    for (const id of [uploaded, failed]) await run('images', 'create-pending', id);
    const tail = backgroundTail(['--seconds', '20', '--max', '1', '--detail-type', 'Image Upload Failed'], env);
    await tail.listening;
    assert.equal((await run('send', 'image-uploaded', '--id', uploaded)).code, 0);
    assert.equal((await run('send', 'image-failed', '--id', failed)).code, 0);
    const lines = (await tail.done).out.split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`Image Upload Failed  image ${failed}  pending → failed  [0-9a-f]{32}  error: Image processing failed$`));
    await events(r, 2);
  });

  it('images list --status answers from the byStatus index: items without updatedAt are not in it', async () => {
    const listed = newId('listed');
    const unindexed = await seedPending(r.resources, 'image', randomUUID());
    await run('images', 'create-pending', listed);

    const pending = await run('images', 'list', '--status', 'pending', '--json');
    const ids = (JSON.parse(pending.out) as Item[]).map((item) => item.id);
    assert.ok(ids.includes(listed));
    // A scan would return it; the sparse index cannot.
    assert.ok(!ids.includes(unindexed));
    assert.equal((await readItem(r.resources, unindexed))?.status, 'pending');
  });

  it('images list --status failed --since 1h shows recent failures, newest first, and nothing from the future', async () => {
    const [first, second] = [newId('f1'), newId('f2')];
    for (const id of [first, second]) {
      await run('images', 'create-pending', id);
      await run('send', 'image-failed', '--id', id);
    }
    const table = (await run('images', 'list', '--status', 'failed', '--since', '1h')).out.split('\n');
    assert.match(table[0]!, /^UPDATED +KIND +STATUS +ID +LAST ERROR$/);
    const rows = table.slice(1).map((line) => line.split(/\s{2,}/));
    const order = rows.map((row) => row[3]);
    assert.ok(order.indexOf(second) !== -1 && order.indexOf(second) < order.indexOf(first), 'newest first');
    assert.deepEqual(rows.find((row) => row[3] === first)?.slice(1), ['image', 'failed', first, 'Image processing failed']);
    assert.equal((await run('images', 'list', '--status', 'failed', '--since', '2999-01-01')).out, 'no items');
    assert.equal((await run('images', 'list', '--kind', 'video', '--since', '1h')).out, 'no items');
    await events(r, 2);
  });

  it('send shows the gate at work: unsigned, tampered and stale are refused, a second copy is a duplicate', async () => {
    const video = newId('vid');
    await run('images', 'create-pending', video, '--kind', 'video');
    const answers = async (...argv: string[]) => (await run('send', 'video-ready', '--id', video, ...argv)).out.split('\n').filter((line) => /^\d{3} /.test(line));
    assert.deepEqual(await answers('--unsigned'), ['401 {"error":"unauthorized","reason":"missing signature"}']);
    assert.deepEqual(await answers('--tampered'), ['401 {"error":"unauthorized","reason":"invalid signature"}']);
    assert.deepEqual(await answers('--stale'), ['401 {"error":"unauthorized","reason":"timestamp outside the allowed window"}']);
    assert.equal((await readItem(r.resources, video))?.status, 'pending');

    const twice = await answers('--twice');
    assert.deepEqual(twice.map((line) => JSON.parse(line.slice(4)).outcome), ['transitioned', 'duplicate']);
    assert.equal((await readItem(r.resources, video))?.status, 'ready');
    assert.equal((await events(r, 1)).length, 1);
  });

  it('send ping gets the dashboard test acknowledged; an unknown id gets a hint', async () => {
    assert.match((await run('send', 'ping')).out, /\n200 \{"ok":true,"outcome":"test"/);
    const unknown = newId('nobody');
    const answer = await run('send', 'image-uploaded', '--id', unknown);
    assert.match(answer.out, new RegExp(`\\n404 .*\\nhint: create it first: npm run cli -- images create-pending ${unknown}$`));
  });

  it('create-pending refuses an id that exists, and get an id that does not', async () => {
    const id = newId('dup');
    assert.equal((await run('images', 'create-pending', id)).code, 0);
    const again = await run('images', 'create-pending', id);
    assert.deepEqual([again.code, again.err], [1, `error: ${id} already exists (image, pending)`]);
    const missing = await run('images', 'get', 'no-such-id');
    assert.deepEqual([missing.code, missing.err], [1, `error: no item no-such-id in table ${r.resources.tableName}`]);
  });
});

describe('the CLI against a deployed stack, found by name', () => {
  let r: Receiver;
  let cloudFormation: Awaited<ReturnType<typeof fakeCloudFormation>>;
  let env: Record<string, string | undefined>;

  before(async () => {
    r = await startReceiver();
    // The stack's outputs, pointing at this receiver; everything else is the default AWS client setup.
    cloudFormation = await fakeCloudFormation({
      CloudflareWebhook: {
        ImagesWebhookUrl: r.imagesUrl,
        StreamWebhookUrl: r.streamUrl,
        TableName: r.resources.tableName,
        EventBusName: r.resources.eventBusName,
        EventBusArn: r.resources.eventBusArn,
        SecretArn: r.resources.secretArn,
      },
    });
    env = emulatorEnv(r.endpoint, {
      AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
      [LOCAL_STATE_ENV]: join(tmpdir(), `absent-${randomUUID()}.json`),
    });
  });
  after(async () => {
    await cloudFormation.close();
    await r.stop();
  });

  it('creates, sends, and reads back through the stack’s outputs and the secret it names', async () => {
    const id = newId('aws');
    const stack = ['--stack', 'CloudflareWebhook'];
    assert.equal((await spawnCli(['images', 'create-pending', id, ...stack], env)).code, 0);
    const sent = await spawnCli(['send', 'image-uploaded', '--id', id, ...stack], env);
    assert.match(sent.out, /\n200 \{.*"outcome":"transitioned"/, sent.err);
    const history = await spawnCli(['images', 'history', id, ...stack, '--json'], env);
    assert.deepEqual((JSON.parse(history.out) as HistoryEntry[]).map((h) => `${h.from} → ${h.to}`), ['pending → uploaded']);
    assert.ok(cloudFormation.requests.every((request) => request === 'DescribeStacks CloudflareWebhook'));
    assert.equal(cloudFormation.requests.length, 3);
    await events(r, 1);
  });

  it('names a stack that does not exist', async () => {
    const missing = await spawnCli(['images', 'list', '--stack', 'Nope'], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.err, 'error: stack Nope does not exist in us-east-1 (pass --region?)');
  });
});
