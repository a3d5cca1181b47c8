/**
 * Helpers for the relay's suites: a writer that dies at the one moment nothing real can hit
 * (after its table write, before PutEvents), the data path and the sweep in this process, and the
 * events a rule's queue received, counted by `eventId`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgePublisher } from '../../lambda/adapters/publish.js';
import { SecretsManagerSecrets } from '../../lambda/adapters/secrets.js';
import { DynamoItemStore } from '../../lambda/adapters/store.js';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { Defaults } from '../../lambda/core/contract.js';
import type { Publisher } from '../../lambda/core/ports.js';
import { DynamoSweepIndex } from '../../lambda/sweep/index-query.js';
import { sweep, type SweepResult } from '../../lambda/sweep/sweep.js';
import { receive, type Receipt } from '../../lambda/webhook/receive.js';
import type { Route } from '../../lambda/webhook/verify.js';
import { localClientConfig } from '../../local/aws.js';
import { relayEnvironment } from '../../local/environments.js';
import { importBundle } from '../../local/instances.js';
import { relayMapping } from '../../local/stack.js';
import { receiveEvents, type LocalResources, type WatchedEvent } from '../../local/provision.js';
import { startStreamPoller, type StreamPoller, type StreamPollerOptions } from '../../local/stream-poller.js';
import { builtBundles } from './receiver.js';
import { drainQueue, eventIdOf } from './watch.js';

/** What the crashed invocation's publisher does: the function is gone before PutEvents answers. */
export const FUNCTION_DIED = new Error('the function died between its table write and PutEvents');
const dyingPublisher: Publisher = { publish: () => Promise.reject(FUNCTION_DIED) };

const clients = new Map<string, { dynamodb: DynamoDBClient; events: EventBridgeClient; secrets: SecretsManagerClient; sqs: SQSClient; streams: DynamoDBStreamsClient }>();
function clientsFor(endpoint: string) {
  let found = clients.get(endpoint);
  if (!found) {
    const config = localClientConfig(endpoint);
    found = { dynamodb: new DynamoDBClient(config), events: new EventBridgeClient(config), secrets: new SecretsManagerClient(config), sqs: new SQSClient(config), streams: new DynamoDBStreamsClient(config) };
    clients.set(endpoint, found);
  }
  return found;
}

/** The real bus of `resources`, straight to the emulator. */
export function busPublisher(resources: LocalResources): EventBridgePublisher {
  return new EventBridgePublisher(resources.eventBusName, clientsFor(resources.endpoint).events);
}

export interface InProcessWebhook {
  readonly route: Route;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The writer's lease on its outbox. @default the stack's */
  readonly leaseMs?: number;
  /** @default one that dies (`dyingPublisher`) */
  readonly publisher?: Publisher;
}

/**
 * The webhook's data path (`receive`, lambda/webhook/receive.ts) in this process against the real
 * table and secret: what the function does, with the publisher of the test's choosing.
 */
export function receiveInProcess(resources: LocalResources, delivery: InProcessWebhook): Promise<Receipt> {
  const { dynamodb, secrets } = clientsFor(resources.endpoint);
  return receive(
    { route: delivery.route, headers: delivery.headers, body: Buffer.from(delivery.body) },
    {
      secrets: new SecretsManagerSecrets(resources.secretArn, secrets),
      store: new DynamoItemStore(resources.tableName, dynamodb),
      publisher: delivery.publisher ?? dyingPublisher,
      now: () => new Date(),
      sleep,
    },
    {
      toleranceSeconds: Defaults.toleranceSeconds,
      maxBodyBytes: Defaults.maxBodyBytes,
      unknownIdPolicy: 'reject',
      confirmWithCloudflare: 'never',
      leaseMs: delivery.leaseMs ?? Defaults.publishLeaseMs,
    },
  );
}

/** The sweep (lambda/sweep/sweep.ts) in this process against the real table and its index, no Cloudflare. */
export function sweepInProcess(resources: LocalResources, { publisher = dyingPublisher, leaseMs = Defaults.publishLeaseMs as number }: { publisher?: Publisher; leaseMs?: number } = {}): Promise<SweepResult> {
  const { dynamodb } = clientsFor(resources.endpoint);
  return sweep(
    { index: new DynamoSweepIndex(resources.tableName, dynamodb), store: new DynamoItemStore(resources.tableName, dynamodb), publisher, now: () => new Date() },
    { graceSeconds: 0, maxItems: 100, leaseMs, videoPendingSeconds: 0 },
  );
}

/** Events received, by eventId. */
export function countByEventId(events: readonly WatchedEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(eventIdOf(event), (counts.get(eventIdOf(event)) ?? 0) + 1);
  return counts;
}

/** Events beyond the first of each eventId. */
export const duplicatesIn = (events: readonly WatchedEvent[]) => events.length - countByEventId(events).size;

export interface CollectOptions {
  readonly queueUrl: string;
  readonly endpoint: string;
  /** Waits until each of these ids has arrived at least once. */
  readonly eventIds: readonly string[];
  /** Also waits for the relay to have handled every record so far, then reads whatever else came. */
  readonly relay?: StreamPoller;
  /** @default 60 s: a loaded machine is slow, never wrong */
  readonly timeoutMs?: number;
  /** Called with each batch as it arrives, e.g. to time the first arrival of an id. */
  readonly onArrival?: (events: readonly WatchedEvent[]) => void;
}

/**
 * Every event a rule's queue received until each expected id was there, plus any duplicates that
 * follow: once the relay has caught up, whatever else is in the queue.
 */
export async function collectEvents(options: CollectOptions): Promise<WatchedEvent[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const missing = new Set(options.eventIds);
  const received: WatchedEvent[] = [];
  const take = (batch: readonly WatchedEvent[]) => {
    options.onArrival?.(batch);
    received.push(...batch);
    for (const event of batch) missing.delete(eventIdOf(event));
  };
  while (missing.size > 0) {
    if (Date.now() > deadline) throw new Error(`events never arrived: ${[...missing].join(', ')} (received ${received.map(eventIdOf).join(', ') || 'none'})`);
    take(await receiveEvents(options.endpoint, options.queueUrl, { max: 10, waitSeconds: 2 }));
  }
  await options.relay?.caughtUp(Math.max(30_000, deadline - Date.now()));
  // The emulator queues an event before PutEvents answers: once every publisher is done, short polls see all.
  take(await drainQueue(options.endpoint, options.queueUrl));
  return received;
}

/** Messages in a queue, visible or in flight. */
export async function queueDepth(endpoint: string, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await clientsFor(endpoint).sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

/** The bodies of the messages in a queue, left in it (received with no visibility timeout). */
export async function peekMessages(endpoint: string, queueUrl: string): Promise<string[]> {
  const { Messages = [] } = await clientsFor(endpoint).sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 0 }));
  return Messages.map((message) => message.Body!);
}

/** Nearest-rank percentile of `values` (ms), rounded. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN);
}

/** A stream record of one item, as the stream holds it: what the write left, and when DynamoDB took it (ms). */
export interface ItemRecord {
  readonly sequenceNumber: string;
  readonly createdMs: number;
  readonly newImage: Record<string, { S?: string; N?: string; SS?: string[] }>;
}

/**
 * Every record of item `id` in the table's stream so far, oldest first, read straight from the
 * emulator (moto keeps the whole stream, one shard): the relay's own writes included, whether or
 * not its filter let them through.
 */
export async function streamRecordsOf(resources: LocalResources, id: string): Promise<ItemRecord[]> {
  const { streams } = clientsFor(resources.endpoint);
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: resources.streamArn! }));
  let { ShardIterator: iterator } = await streams.send(
    new GetShardIteratorCommand({ StreamArn: resources.streamArn!, ShardId: StreamDescription!.Shards![0]!.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  const found: ItemRecord[] = [];
  while (iterator) {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    for (const record of page.Records ?? []) {
      if (record.dynamodb?.Keys?.id?.S !== id) continue;
      found.push({
        sequenceNumber: record.dynamodb.SequenceNumber!,
        createdMs: record.dynamodb.ApproximateCreationDateTime!.getTime(),
        newImage: (record.dynamodb.NewImage ?? {}) as ItemRecord['newImage'],
      });
    }
    // An open shard answers an empty page at its tip: everything written so far has been read.
    if ((page.Records ?? []).length === 0) break;
    iterator = page.NextShardIterator;
  }
  return found;
}

export interface RelayPollerOptions {
  /** The relay's environment over the stack's (relayEnvironment). */
  readonly env?: Readonly<Record<string, string | number | undefined>>;
  /** Mapping settings over the stack's (RelayEventSource). */
  readonly mapping?: Partial<Pick<StreamPollerOptions, 'retryAttempts' | 'maxRecordAgeSeconds' | 'pollIntervalMs'>>;
  /** Sees every record the mapping hands the relay, before the relay does. */
  readonly onRecords?: (records: readonly DynamoDBRecord[]) => void;
}

/**
 * The relay bundle behind the local event source mapping with the stack's settings (as
 * local/stack.ts runs it), for a test that must see which records reach the relay.
 */
export async function startRelayPoller(resources: LocalResources, options: RelayPollerOptions = {}): Promise<StreamPoller> {
  const bundle = await importBundle<(event: DynamoDBStreamEvent, context: Context) => Promise<unknown>>((await builtBundles()).relay.entry, relayEnvironment(resources, options.env));
  return startStreamPoller({
    ...relayMapping(resources),
    onError: () => {},
    ...options.mapping,
    handler: (event, context) => {
      options.onRecords?.(event.Records);
      return bundle(event, context);
    },
  });
}
