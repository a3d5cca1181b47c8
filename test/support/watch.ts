import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { localClientConfig } from '../../local/aws.js';
import type { WatchedEvent } from '../../local/provision.js';
import { documentClient } from './deliver.js';
import type { Receiver } from './receiver.js';
import type { Item } from '../../lambda/core/item.js';
import { withOutboxAsList } from '../../lambda/adapters/store.js';

const sqsClients = new Map<string, SQSClient>();

function sqsFor(endpoint: string): SQSClient {
  let client = sqsClients.get(endpoint);
  if (!client) sqsClients.set(endpoint, (client = new SQSClient(localClientConfig(endpoint))));
  return client;
}

/**
 * Every event the bus has delivered to the watch queue, read until `quietPolls` polls in a row
 * come back empty. The emulator puts an event on the queue before PutEvents answers, so once
 * the deliveries have been answered short polls suffice.
 */
export const drainEvents = (r: Receiver, quietPolls = 3): Promise<WatchedEvent[]> => drainQueue(r.endpoint, r.resources.watchQueueUrl, quietPolls);

/** Every event in a queue now, read with short polls until `quietPolls` in a row come back empty, and deleted. */
export async function drainQueue(endpoint: string, queueUrl: string, quietPolls = 2): Promise<WatchedEvent[]> {
  const sqs = sqsFor(endpoint);
  const all: WatchedEvent[] = [];
  for (let quiet = 0; quiet < quietPolls; ) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) {
      quiet++;
      await sleep(50);
      continue;
    }
    quiet = 0;
    all.push(...Messages.map((message) => JSON.parse(message.Body!) as WatchedEvent));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })) }));
  }
  return all;
}

/** The `eventId` of an event the bus delivered. */
export const eventIdOf = (event: WatchedEvent) => (event.detail as { eventId: string }).eventId;

/** Every item of the receiver's table, read straight from the emulator (not through any proxy). */
export async function scanItems(r: Receiver): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of paginateScan({ client: documentClient(r.endpoint) }, { TableName: r.resources.tableName, ConsistentRead: true })) {
    // The outbox as the functions see it: a list of ids (a String Set in the table).
    items.push(...(page.Items ?? []).map(withOutboxAsList));
  }
  return items.sort((a, b) => a.id.localeCompare(b.id));
}

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await sleep(everyMs);
  }
}
