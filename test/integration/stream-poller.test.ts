import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { localClientConfig } from '../../local/aws.js';
import { provisionLocal, receiveEvents, type LocalResources } from '../../local/provision.js';
import { startStreamPoller, type StreamFailureRecord, type StreamPoller, type StreamPollerOptions } from '../../local/stream-poller.js';
import type { Emulator } from '../../scripts/emulator.js';
import { connectEmulator } from '../support/receiver.js';

// The poller against moto's real DynamoDB stream: items written with the DynamoDB client to a
// table provisioned as `npm start` provisions it, records read back through the Streams API.

let emulator: Emulator;
let dynamodb: DynamoDBClient;
const pollers: StreamPoller[] = [];

before(async () => {
  emulator = await connectEmulator();
  dynamodb = new DynamoDBClient(localClientConfig(emulator.endpoint));
});
afterEach(() => Promise.all(pollers.splice(0).map((poller) => poller.stop())));
after(async () => {
  dynamodb.destroy();
  await emulator.stop();
});

async function streamTable(): Promise<LocalResources & { streamArn: string; relayDlqUrl: string }> {
  const prefix = `poller-${process.pid}-${randomBytes(3).toString('hex')}`;
  const resources = await provisionLocal({ endpoint: emulator.endpoint, prefix, stream: true });
  assert.ok(resources.streamArn && resources.relayDlqUrl);
  return resources as LocalResources & { streamArn: string; relayDlqUrl: string };
}

interface Invocation {
  ids: string[];
  event: DynamoDBStreamEvent;
  context: Context;
}

/** A poller whose handler records each invocation, then does what `behave` says (`call` counts from 1). */
async function poll(
  resources: LocalResources,
  options: Partial<StreamPollerOptions>,
  behave: (invocation: Invocation, call: number) => unknown = () => undefined,
) {
  const invocations: Invocation[] = [];
  const errors: unknown[] = [];
  const poller = await startStreamPoller({
    endpoint: emulator.endpoint,
    tableName: resources.tableName,
    startingPosition: 'TRIM_HORIZON',
    pollIntervalMs: 50,
    onError: (error) => errors.push(error),
    handler: async (event, context) => {
      const invocation = { ids: event.Records.map(idOf), event, context };
      invocations.push(invocation);
      return behave(invocation, invocations.length);
    },
    ...options,
  });
  pollers.push(poller);
  return { poller, invocations, errors };
}

const idOf = (record: DynamoDBRecord) => record.dynamodb!.Keys!.id!.S!;

const put = (table: string, item: Record<string, AttributeValue>) =>
  dynamodb.send(new PutItemCommand({ TableName: table, Item: item as never }));

async function putAll(table: string, ids: string[]): Promise<void> {
  for (const id of ids) await put(table, { id: { S: id }, status: { S: 'ready' } });
}

describe('stream poller: what it delivers', () => {
  test('delivers inserts, modifications and removals in order, with old and new images, as Lambda shapes them', async () => {
    const resources = await streamTable();
    const { poller, invocations } = await poll(resources, { batchSize: 10 });
    const table = resources.tableName;
    await put(table, { id: { S: 'a' }, status: { S: 'pending' }, data: { B: Uint8Array.from([1, 2, 3]) } as never });
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { id: { S: 'a' } },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'ready' } },
      }),
    );
    await put(table, { id: { S: 'b' }, status: { S: 'pending' } });
    await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { id: { S: 'a' } } }));
    await poller.caughtUp();

    const records = invocations.flatMap(({ event }) => event.Records);
    assert.deepEqual(
      records.map((record) => [record.eventName, idOf(record)]),
      [['INSERT', 'a'], ['MODIFY', 'a'], ['INSERT', 'b'], ['REMOVE', 'a']],
    );
    const [inserted, modified, , removed] = records as [DynamoDBRecord, DynamoDBRecord, DynamoDBRecord, DynamoDBRecord];
    assert.equal(inserted.dynamodb!.OldImage, undefined);
    assert.deepEqual(inserted.dynamodb!.NewImage, { id: { S: 'a' }, status: { S: 'pending' }, data: { B: 'AQID' } });
    assert.deepEqual(modified.dynamodb!.OldImage!.status, { S: 'pending' });
    assert.deepEqual(modified.dynamodb!.NewImage!.status, { S: 'ready' });
    assert.equal(removed.dynamodb!.NewImage, undefined);
    assert.deepEqual(removed.dynamodb!.OldImage!.status, { S: 'ready' });

    const sequence = records.map((record) => BigInt(record.dynamodb!.SequenceNumber!));
    assert.ok(sequence.every((number, index) => index === 0 || number > sequence[index - 1]!), 'sequence numbers increase');
    for (const record of records) {
      assert.equal(record.eventSource, 'aws:dynamodb');
      assert.equal(record.eventVersion, '1.0');
      assert.equal(record.awsRegion, 'us-east-1');
      assert.equal(record.eventSourceARN, resources.streamArn);
      assert.match(record.eventID!, /^[0-9a-f]+$/);
      assert.equal(record.dynamodb!.StreamViewType, 'NEW_AND_OLD_IMAGES');
      assert.ok(Number.isInteger(record.dynamodb!.ApproximateCreationDateTime), 'epoch seconds, as a whole number');
      assert.ok(Math.abs(record.dynamodb!.ApproximateCreationDateTime! - Date.now() / 1000) < 600, 'about now');
      assert.ok(record.dynamodb!.SizeBytes! > 0);
    }
    const { context } = invocations[0]!;
    assert.equal(context.functionName, 'local-relay');
    assert.match(context.invokedFunctionArn, /^arn:aws:lambda:us-east-1:\d{12}:function:local-relay$/);
    assert.ok(context.getRemainingTimeInMillis() > 0);
    assert.equal(poller.stats.delivered, 4);
    assert.equal(poller.stats.functionErrors, 0);
  });

  test('starts at LATEST without the records written before it', async () => {
    const resources = await streamTable();
    await putAll(resources.tableName, ['before']);
    const { poller, invocations } = await poll(resources, { startingPosition: 'LATEST' });
    await putAll(resources.tableName, ['after']);
    await poller.caughtUp();
    assert.deepEqual(invocations.flatMap(({ ids }) => ids), ['after']);
  });

  test('gathers records for the batching window until the batch is full', async () => {
    const resources = await streamTable();
    // A window far longer than the writes take: the batch goes out because it is full.
    const { poller, invocations } = await poll(resources, { batchSize: 3, maxBatchingWindowMs: 60_000 });
    await putAll(resources.tableName, ['w1', 'w2', 'w3']);
    await poller.caughtUp();
    assert.deepEqual(invocations.map(({ ids }) => ids), [['w1', 'w2', 'w3']]);
  });

  test('drops records the filter does not match, without invoking or failing', async () => {
    const resources = await streamTable();
    const table = resources.tableName;
    const { poller, invocations } = await poll(resources, {
      filters: [{ dynamodb: { NewImage: { unpublished: { SS: [{ exists: true }] } } } }],
    });
    await put(table, { id: { S: 'with' }, unpublished: { SS: ['evt-1'] } });
    await put(table, { id: { S: 'without' }, status: { S: 'ready' } });
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { id: { S: 'without' } },
        UpdateExpression: 'ADD unpublished :e',
        ExpressionAttributeValues: { ':e': { SS: ['evt-2'] } },
      }),
    );
    await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { id: { S: 'with' } } }));
    await poller.caughtUp();

    const records = invocations.flatMap(({ event }) => event.Records);
    assert.deepEqual(
      records.map((record) => [record.eventName, idOf(record)]),
      [['INSERT', 'with'], ['MODIFY', 'without']],
    );
    assert.equal(poller.stats.filteredOut, 2);
    assert.equal(poller.stats.delivered, 2);
    assert.equal(poller.stats.functionErrors + poller.stats.discarded, 0);
  });
});

describe('stream poller: failures', () => {
  test('bisects a failing batch until the bad record is alone, and delivers the others', async () => {
    const resources = await streamTable();
    const ids = ['g1', 'g2', 'g3', 'poison', 'g4', 'g5', 'g6', 'g7'];
    // Written before the poller starts, so they come in one batch.
    await putAll(resources.tableName, ids);
    const succeeded: string[] = [];
    const { poller, invocations, errors } = await poll(
      resources,
      { batchSize: 8, bisectBatchOnFunctionError: true, retryAttempts: 1, onFailure: { queueUrl: resources.relayDlqUrl } },
      ({ ids: batch }) => {
        if (batch.includes('poison')) throw new Error('poisoned');
        succeeded.push(...batch);
      },
    );
    await poller.caughtUp();

    assert.deepEqual(succeeded, ids.filter((id) => id !== 'poison'));
    // 8 → 4 + 4; 4 → 2 + 2; 2 → 1 + 1; the lone record is retried once, then given up.
    assert.deepEqual(
      invocations.map((invocation) => invocation.ids.join(',')),
      ['g1,g2,g3,poison,g4,g5,g6,g7', 'g1,g2,g3,poison', 'g1,g2', 'g3,poison', 'g3', 'poison', 'poison', 'g4,g5,g6,g7'],
    );
    assert.deepEqual(
      { ...poller.stats },
      { invocations: 8, delivered: 7, filteredOut: 0, functionErrors: 5, partialFailures: 0, retries: 1, bisections: 3, discarded: 1, sentToOnFailure: 1 },
    );
    assert.equal(errors.length, 5);
    const [failure] = (await receiveEvents(emulator.endpoint, resources.relayDlqUrl, { max: 1 })) as unknown as StreamFailureRecord[];
    const poisoned = invocations[5]!.event.Records[0]!.dynamodb!.SequenceNumber;
    assert.equal(failure!.DDBStreamBatchInfo.batchSize, 1);
    assert.equal(failure!.DDBStreamBatchInfo.startSequenceNumber, poisoned);
    assert.equal(failure!.requestContext.approximateInvokeCount, 2);
  });

  test('retries from the lowest sequence number the function reports failed', async () => {
    const resources = await streamTable();
    await putAll(resources.tableName, ['r1', 'r2', 'r3', 'r4', 'r5']);
    const { poller, invocations } = await poll(resources, { batchSize: 5, reportBatchItemFailures: true }, ({ event }, call) => {
      if (call > 1) return { batchItemFailures: [] };
      const sequenceOf = (index: number) => event.Records[index]!.dynamodb!.SequenceNumber!;
      return { batchItemFailures: [{ itemIdentifier: sequenceOf(3) }, { itemIdentifier: sequenceOf(1) }] };
    });
    await poller.caughtUp();

    assert.deepEqual(invocations.map(({ ids }) => ids), [['r1', 'r2', 'r3', 'r4', 'r5'], ['r2', 'r3', 'r4', 'r5']]);
    assert.equal(poller.stats.delivered, 5);
    assert.equal(poller.stats.partialFailures, 1);
    assert.equal(poller.stats.retries, 1);
  });

  test('retries the whole batch when an item identifier is empty, and ignores the response unless reporting is on', async () => {
    const resources = await streamTable();
    await putAll(resources.tableName, ['e1', 'e2']);
    const emptyIdentifierOnce = (_: Invocation, call: number) => (call === 1 ? { batchItemFailures: [{ itemIdentifier: '' }] } : undefined);

    const reporting = await poll(resources, { reportBatchItemFailures: true }, emptyIdentifierOnce);
    await reporting.poller.caughtUp();
    assert.deepEqual(reporting.invocations.map(({ ids }) => ids), [['e1', 'e2'], ['e1', 'e2']]);
    assert.equal(reporting.poller.stats.retries, 1);

    // A second mapping on the same stream, without ReportBatchItemFailures.
    const ignoring = await poll(resources, { reportBatchItemFailures: false }, emptyIdentifierOnce);
    await ignoring.poller.caughtUp();
    assert.deepEqual(ignoring.invocations.map(({ ids }) => ids), [['e1', 'e2']]);
    assert.equal(ignoring.poller.stats.delivered, 2);
  });

  test('gives up after the retry attempts, sends the documented record to the on-failure queue, and moves on', async () => {
    const resources = await streamTable();
    await putAll(resources.tableName, ['bad', 'good']);
    const { poller, invocations } = await poll(
      resources,
      { batchSize: 1, retryAttempts: 2, onFailure: { queueUrl: resources.relayDlqUrl } },
      // A rejected promise, where the bisection test throws.
      ({ ids }) => (ids.includes('bad') ? Promise.reject(new Error('always fails')) : undefined),
    );
    await poller.caughtUp();
    await putAll(resources.tableName, ['later']);
    await poller.caughtUp();

    assert.deepEqual(invocations.map(({ ids }) => ids.join()), ['bad', 'bad', 'bad', 'good', 'later']);
    const bad = invocations[0]!.event.Records[0]!;
    const [failure] = (await receiveEvents(emulator.endpoint, resources.relayDlqUrl, { max: 1 })) as unknown as StreamFailureRecord[];
    assert.ok(failure);
    assert.equal(failure.version, '1.0');
    assert.ok(!Number.isNaN(Date.parse(failure.timestamp)));
    assert.deepEqual(failure.requestContext, {
      requestId: invocations[2]!.context.awsRequestId,
      functionArn: invocations[2]!.context.invokedFunctionArn,
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 3,
    });
    assert.deepEqual(failure.responseContext, { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' });
    const arrival = new Date(bad.dynamodb!.ApproximateCreationDateTime! * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    assert.deepEqual(failure.DDBStreamBatchInfo, {
      shardId: poller.shardId,
      startSequenceNumber: bad.dynamodb!.SequenceNumber,
      endSequenceNumber: bad.dynamodb!.SequenceNumber,
      approximateArrivalOfFirstRecord: arrival,
      approximateArrivalOfLastRecord: arrival,
      batchSize: 1,
      streamArn: resources.streamArn,
    });
    assert.equal(poller.stats.discarded, 1);
    assert.equal(poller.stats.sentToOnFailure, 1);
  });

  test('discards records past the maximum age with a RecordAgeExceeded record', async () => {
    const resources = await streamTable();
    await putAll(resources.tableName, ['stale']);
    const { poller, invocations } = await poll(
      resources,
      { maxRecordAgeSeconds: 1, onFailure: { queueUrl: resources.relayDlqUrl } },
      () => {
        throw new Error('keeps failing');
      },
    );
    // Retries are unlimited: only the record's age ends them.
    await poller.caughtUp();
    const [failure] = (await receiveEvents(emulator.endpoint, resources.relayDlqUrl, { max: 1 })) as unknown as StreamFailureRecord[];
    assert.equal(failure!.requestContext.condition, 'RecordAgeExceeded');
    assert.equal(failure!.requestContext.approximateInvokeCount, invocations.length);
    assert.equal(failure!.DDBStreamBatchInfo.batchSize, 1);
    assert.equal(poller.stats.discarded, 1);
  });
});

describe('stream poller: stopping', () => {
  test('stop() waits for the invocation in flight, fails callers still waiting, and leaves no timers', async () => {
    const timersBefore = activeTimers();
    const resources = await streamTable();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inFlight = new Promise<void>((resolve) => (entered = resolve));
    let finished = false;
    const { poller } = await poll(resources, {}, async () => {
      entered();
      await released;
      finished = true;
    });
    await putAll(resources.tableName, ['slow']);
    await inFlight;
    const waiting = assert.rejects(poller.caughtUp(), /stopped/);

    let stopped = false;
    const stopping = poller.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false, 'stop() waits for the handler');
    release();
    await stopping;
    await waiting;
    assert.equal(finished, true);
    await assert.rejects(poller.caughtUp(), /stopped/);
    assert.ok(activeTimers() <= timersBefore, `timers left: ${activeTimers()} > ${timersBefore}`);
  });

  test('stop() cuts the wait for the next poll short and leaves no timers', async () => {
    const timersBefore = activeTimers();
    const resources = await streamTable();
    // An interval no test would wait out: caughtUp() and stop() both have to cut it short.
    const { poller, invocations } = await poll(resources, { pollIntervalMs: 600_000 });
    await putAll(resources.tableName, ['quick']);
    await poller.caughtUp(20_000);
    assert.deepEqual(invocations.map(({ ids }) => ids), [['quick']]);
    await poller.stop();
    assert.ok(activeTimers() <= timersBefore, `timers left: ${activeTimers()} > ${timersBefore}`);
  });
});

describe('stream poller: caught up', () => {
  test('caughtUp() asked while a read is in flight does not wait out the poll interval after it', async () => {
    const resources = await streamTable();
    // startStreamPoller returns with its first read under way: the waiter arrives while it runs, so
    // that read cannot settle it, and the poller must read again at once instead of sleeping 10 minutes.
    const { poller, invocations } = await poll(resources, { pollIntervalMs: 600_000 });
    await poller.caughtUp(20_000);
    assert.equal(poller.stats.invocations, 0);
    await putAll(resources.tableName, ['late']);
    await poller.caughtUp(20_000);
    assert.deepEqual(invocations.map(({ ids }) => ids), [['late']]);
  });
});

const activeTimers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
