import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { CreateArchiveCommand, DescribeReplayCommand, DescribeRuleCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgePublisher } from '../../lambda/adapters/publish.js';
import { DynamoItemStore } from '../../lambda/adapters/store.js';
import { EVENT_SOURCE, type ItemKind, type ItemStatus } from '../../lambda/core/contract.js';
import { decide, recordedItem } from '../../lambda/core/decide.js';
import type { Item, StatusReport } from '../../lambda/core/item.js';
import { settle } from '../../lambda/core/outbox.js';
import { localClientConfig } from '../../local/aws.js';
import { provisionLocal, type LocalResources } from '../../local/provision.js';
import type { LocalState } from '../../local/state.js';
import { cli, newId, stateFor } from '../support/cli.js';
import { eventsIn, readItem } from '../support/deliver.js';
import { queueDepth as supportQueueDepth } from '../support/relay.js';
import { eventIdOf } from '../support/watch.js';
import { connectEmulator } from '../support/receiver.js';
import type { Emulator } from '../../scripts/emulator.js';

// `events replay` and `events redrive` against the emulator: the bus's archive sent to the bus again,
// and the relay's dead-letter queue sent through the relay's own code.
//
// moto 5 differs from EventBridge in one way these tests must live with: its StartReplay sends every
// archived event to every rule of the bus at once, whatever the window and whatever
// `Destination.FilterArns` say (moto/events/models.py, `Replay.replay_events`). So the tests check the
// replayed events' identity (same detail.eventId, a replay-name), and check the narrowing by the
// FilterArns the replay was started with (DescribeReplay), not by which queues received events.

const dir = mkdtempSync(join(tmpdir(), 'cli-replay-'));
const short = () => randomBytes(3).toString('hex');

let emulator: Emulator;
before(async () => {
  emulator = await connectEmulator();
});
after(async () => {
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

const config = () => localClientConfig(emulator.endpoint);

/** A state file naming these resources, as `npm start` writes one (no receiver: nothing here posts webhooks). */
const stateOf = (resources: LocalResources, extra: Partial<LocalState>) =>
  stateFor({ endpoint: emulator.endpoint, imagesUrl: 'http://127.0.0.1:9/webhooks/images', streamUrl: 'http://127.0.0.1:9/webhooks/stream', resources }, join(dir, `${short()}.json`), extra);

/** Everything a queue received: `expect` messages, then a second more for any extra. */
const drain = (queueUrl: string, expect: number) => eventsIn(emulator.endpoint, queueUrl, expect);
const eventId = eventIdOf;

/** A report the way a webhook makes one. */
const report = (kind: ItemKind, id: string, status: ItemStatus, occurredAt: Date): StatusReport => ({
  kind,
  id,
  status,
  occurredAt: occurredAt.toISOString(),
  source: kind === 'image' ? 'notification' : 'stream',
  attributes: {},
});

describe('events replay', () => {
  let resources: LocalResources;
  let env: Record<string, string>;
  const rules: Record<'uploaded' | 'failed' | 'watch', { name: string; arn: string; queueUrl: string }> = {} as never;
  const published: string[] = [];

  before(async () => {
    resources = await provisionLocal({ endpoint: emulator.endpoint, prefix: `replay${process.pid}-${short()}` });
    const events = new EventBridgeClient(config());
    const sqs = new SQSClient(config());
    // The archive the stack creates (lib/webhook-receiver.ts); provisioning does not create one yet.
    const archive = await events.send(
      new CreateArchiveCommand({ ArchiveName: `a-${short()}`, EventSourceArn: resources.eventBusArn, EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }) }),
    );
    env = await stateOf(resources, { eventArchiveArn: archive.ArchiveArn! });

    // Two consumers, each with a rule on one detail-type and a queue of its own.
    for (const [key, detailType] of [['uploaded', 'Image Uploaded'], ['failed', 'Image Upload Failed']] as const) {
      const name = `${key}-${short()}`;
      const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
      const { RuleArn } = await events.send(new PutRuleCommand({ Name: name, EventBusName: resources.eventBusName, EventPattern: JSON.stringify({ source: [EVENT_SOURCE], 'detail-type': [detailType] }) }));
      await events.send(new PutTargetsCommand({ Rule: name, EventBusName: resources.eventBusName, Targets: [{ Id: 'q', Arn: Attributes!.QueueArn! }] }));
      rules[key] = { name, arn: RuleArn!, queueUrl: queueUrl! };
    }
    const watch = await events.send(new DescribeRuleCommand({ Name: resources.watchRuleName, EventBusName: resources.eventBusName }));
    rules.watch = { name: resources.watchRuleName, arn: watch.Arn!, queueUrl: resources.watchQueueUrl };

    // Two transitions, published by the core's own write path, as the webhook publishes them.
    const store = new DynamoItemStore(resources.tableName, new DynamoDBClient(config()));
    const ports = { store, publisher: new EventBridgePublisher(resources.eventBusName, events) };
    for (const [id, status] of [[newId('ok'), 'uploaded'], [newId('bad'), 'failed']] as const) {
      assert.ok(await store.create(recordedItem('image', id, new Date())));
      const decision = await settle(ports, id, (item) => (item ? decide(item, report('image', id, status, new Date()), { now: new Date(), leaseMs: 3000 }) : { type: 'none' as const }), async () => false);
      assert.equal(decision.type, 'write');
    }
    const live = await drain(resources.watchQueueUrl, 2);
    assert.equal(live.length, 2);
    assert.ok(live.every((event) => !('replay-name' in event)));
    published.push(...live.map(eventId).sort());
    await drain(rules.uploaded.queueUrl, 1);
    await drain(rules.failed.queueUrl, 1);
  });

  it('replays the window to the bus: the same events arrive again, with the same detail.eventId and a replay-name', async () => {
    const replayed = await cli(['events', 'replay', '--since', '10m'], { env });
    assert.equal(replayed.code, 0, replayed.err);
    const lines = replayed.out.split('\n');
    const name = /^replay (cf-webhook-replay-\d{8}T\d{6}Z-[0-9a-f]{6}): events of \S+ … \S+ from arn:aws:events:\S+:archive\/\S+ to every rule of arn:aws:events:\S+:event-bus\/\S+$/.exec(lines[0]!)?.[1];
    assert.ok(name, lines[0]);
    assert.match(lines[1]!, /^COMPLETED/);
    assert.equal(lines.at(-1), `consumers receive these events again with "replay-name": "${name}" and their original detail.eventId: deduplicate on it`);
    assert.match(replayed.err, /events of the last 10 minutes may be missing/);

    const again = await drain(resources.watchQueueUrl, 2);
    assert.deepEqual(again.map(eventId).sort(), published);
    for (const event of again) {
      assert.equal((event as unknown as Record<string, unknown>)['replay-name'], name);
      assert.equal(event.source, EVENT_SOURCE);
    }
    // Each consumer's rule got its own type again (in AWS only its own type; moto sends every event to every rule).
    assert.ok((await drain(rules.uploaded.queueUrl, 1)).some((event) => event['detail-type'] === 'Image Uploaded'));
    assert.ok((await drain(rules.failed.queueUrl, 1)).some((event) => event['detail-type'] === 'Image Upload Failed'));
  });

  it('--detail-type narrows the replay to the rules whose pattern can match it; --rule names rules', async () => {
    const narrowed = await cli(['events', 'replay', '--since', '10m', '--detail-type', 'Image Uploaded', '--json'], { env });
    assert.equal(narrowed.code, 0, narrowed.err);
    const result = JSON.parse(narrowed.out) as { replayName: string; rules: string[]; state: string };
    assert.equal(result.state, 'COMPLETED');
    // The catch-all watch rule can match it too; the failed-only rule and the archive's own rule cannot.
    assert.deepEqual(result.rules.sort(), [rules.uploaded.name, rules.watch.name].sort());
    const started = await new EventBridgeClient(config()).send(new DescribeReplayCommand({ ReplayName: result.replayName }));
    assert.deepEqual(started.Destination?.FilterArns?.sort(), [rules.uploaded.arn, rules.watch.arn].sort());
    assert.equal(started.Destination?.Arn, resources.eventBusArn);

    const named = await cli(['events', 'replay', '--since', '10m', '--rule', rules.failed.name, '--json'], { env });
    assert.equal(named.code, 0, named.err);
    const byName = await new EventBridgeClient(config()).send(new DescribeReplayCommand({ ReplayName: (JSON.parse(named.out) as { replayName: string }).replayName }));
    assert.deepEqual(byName.Destination?.FilterArns, [rules.failed.arn]);

    const unknown = await cli(['events', 'replay', '--since', '10m', '--rule', 'nobody'], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /^error: no rule 'nobody' on arn:aws:events:\S+; its rules: .*\buploaded-/m);

    for (const queueUrl of [resources.watchQueueUrl, rules.uploaded.queueUrl, rules.failed.queueUrl]) await drain(queueUrl, 0);
  });
});

describe('events redrive', () => {
  /** An item written by a writer that died before PutEvents: its transition and event id in the outbox, its lease long over. */
  async function abandoned(store: DynamoItemStore, kind: ItemKind, status: ItemStatus): Promise<string> {
    const id = newId(kind);
    const then = new Date(Date.now() - 60_000);
    assert.ok(await store.create(recordedItem(kind, id, then)));
    const decision = decide((await store.get(id))!, report(kind, id, status, then), { now: then, leaseMs: 3000 });
    assert.equal(decision.type, 'write');
    assert.ok(decision.type === 'write' && (await store.write(id, decision.write)));
    return id;
  }

  /** The on-failure invocation record Lambda sends for a batch, as documented (services-dynamodb-errors.html). */
  async function failureRecord(resources: LocalResources): Promise<{ body: string; records: _Record[] }> {
    const streams = new DynamoDBStreamsClient(config());
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: resources.streamArn }));
    const shardId = StreamDescription!.Shards![0]!.ShardId!;
    const { ShardIterator } = await streams.send(new GetShardIteratorCommand({ StreamArn: resources.streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
    const { Records: records = [] } = await streams.send(new GetRecordsCommand({ ShardIterator }));
    const body = JSON.stringify({
      requestContext: { requestId: 'redrive-test', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:relay', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 11 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: records[0]!.dynamodb!.SequenceNumber,
        endSequenceNumber: records.at(-1)!.dynamodb!.SequenceNumber,
        approximateArrivalOfFirstRecord: new Date().toISOString(),
        approximateArrivalOfLastRecord: new Date().toISOString(),
        batchSize: records.length,
        streamArn: resources.streamArn,
      },
    });
    return { body, records };
  }

  const queueDepth = (queueUrl: string) => supportQueueDepth(emulator.endpoint, queueUrl);

  it('reads the batch back from the stream, relays it, publishes each event once, empties the outbox and deletes the message', async () => {
    const resources = await provisionLocal({ endpoint: emulator.endpoint, prefix: `redrive${process.pid}-${short()}`, stream: true });
    const store = new DynamoItemStore(resources.tableName, new DynamoDBClient(config()));
    const image = await abandoned(store, 'image', 'uploaded');
    const video = await abandoned(store, 'video', 'ready');
    const untouched = newId('clean');
    assert.ok(await store.create(recordedItem('image', untouched, new Date())));
    const { body, records } = await failureRecord(resources);
    assert.equal(records.length, 5, 'two inserts and two outbox writes, and one insert without an outbox');
    await new SQSClient(config()).send(new SendMessageCommand({ QueueUrl: resources.relayDlqUrl, MessageBody: body }));
    const env = await stateOf(resources, { relayDeadLetterQueueUrl: resources.relayDlqUrl! });

    const redriven = await cli(['events', 'redrive'], { env });
    assert.equal(redriven.code, 0, redriven.err);
    assert.deepEqual(redriven.out.split('\n'), [
      `${JSON.parse(body).DDBStreamBatchInfo.shardId} ${records[0]!.dynamodb!.SequenceNumber}…${records.at(-1)!.dynamodb!.SequenceNumber}: 5 records, 2 with an outbox, 2 items, 2 events published; message deleted`,
      'redrove 1 of 1 message: 2 items settled, 2 events published',
    ]);

    const expected = await Promise.all([image, video].map(async (id) => (await readItem(resources, id))!.history!.at(-1)!.eventId));
    const seen = await drain(resources.watchQueueUrl, 2);
    assert.deepEqual(seen.map(eventId).sort(), expected.sort(), 'each event once, under the id its writer gave it');
    assert.deepEqual(seen.map((event) => event['detail-type']).sort(), ['Image Uploaded', 'Video Ready']);
    for (const id of [image, video]) assert.equal((await readItem(resources, id) as Item).unpublished, undefined);
    assert.equal((await readItem(resources, untouched))?.status, 'pending');
    assert.equal(await queueDepth(resources.relayDlqUrl!), 0);

    const empty = await cli(['events', 'redrive'], { env });
    assert.deepEqual([empty.code, empty.out], [0, `nothing to redrive: ${resources.relayDlqUrl} is empty`]);
  });

  it('reports records no longer in the stream, and anything that is not an on-failure record, and keeps both messages', async () => {
    const resources = await provisionLocal({ endpoint: emulator.endpoint, prefix: `gone${process.pid}-${short()}`, stream: true });
    const store = new DynamoItemStore(resources.tableName, new DynamoDBClient(config()));
    await abandoned(store, 'image', 'uploaded');
    const { body } = await failureRecord(resources);
    // The table goes, and its stream with it: what the message describes can no longer be read.
    await new DynamoDBClient(config()).send(new DeleteTableCommand({ TableName: resources.tableName }));
    const sqs = new SQSClient(config());
    await sqs.send(new SendMessageCommand({ QueueUrl: resources.relayDlqUrl, MessageBody: body }));
    await sqs.send(new SendMessageCommand({ QueueUrl: resources.relayDlqUrl, MessageBody: 'hello' }));
    const env = await stateOf(resources, { relayDeadLetterQueueUrl: resources.relayDlqUrl! });

    const redriven = await cli(['events', 'redrive'], { env });
    assert.equal(redriven.code, 1);
    const lines = redriven.out.split('\n');
    assert.ok(lines.some((line) => /^shardId-\S+ \d+…\d+: its records are no longer in the stream: the stream or its shard no longer exists: kept in the queue$/.test(line)), redriven.out);
    assert.ok(lines.some((line) => /^message \S+: not JSON: kept in the queue$/.test(line)), redriven.out);
    assert.equal(lines.at(-1), 'redrove 0 of 2 messages: 0 items settled, 0 events published; 2 kept in the queue');
    assert.equal(redriven.err.split('\n')[0], `error: 2 messages kept in ${resources.relayDlqUrl}: see above`);
    assert.equal(await queueDepth(resources.relayDlqUrl!), 2);
    assert.equal((await drain(resources.watchQueueUrl, 0)).length, 0);
  });
});
