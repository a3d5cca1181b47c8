import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoItemStore } from '../../lambda/adapters/store.js';
import { localClientConfig } from '../../local/aws.js';
import { signedHeaders } from '../../local/payloads.js';
import { receiveEvents, type LocalResources, type WatchedEvent } from '../../local/provision.js';
import type { Receiver } from './receiver.js';
import type { Item } from '../../lambda/core/item.js';

/** Small helpers shared by the integration suites: send, seed, read back. */

/** Second `s` after 2024-01-01T12:00:00Z, in ISO 8601: the fixed clock of the suites' reports. */
export const at = (s: number) => new Date(Date.UTC(2024, 0, 1, 12, 0, s)).toISOString();

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export async function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Signed the way each sender signs, with the receiver's first active secret. */
export const send = {
  notification: (r: Receiver, payload: unknown) => post(r.imagesUrl, JSON.stringify(payload), signedHeaders.notification(r.resources.secrets.images[0]!)),
  toolkit: (r: Receiver, payload: unknown) => {
    const body = JSON.stringify(payload);
    return post(r.imagesUrl, body, signedHeaders.toolkit(r.resources.secrets.toolkit[0]!, body));
  },
  stream: (r: Receiver, payload: unknown, timeSeconds?: number) => {
    const body = JSON.stringify(payload);
    return post(r.streamUrl, body, signedHeaders.stream(r.resources.secrets.stream[0]!, body, timeSeconds));
  },
} as const;

const documents = new Map<string, DynamoDBDocumentClient>();
/** One document client per emulator endpoint, shared by the helpers that read and seed the table. */
export function documentClient(endpoint: string): DynamoDBDocumentClient {
  let client = documents.get(endpoint);
  if (!client) {
    client = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(endpoint)));
    documents.set(endpoint, client);
  }
  return client;
}

export async function seedPending(resources: LocalResources, kind: 'image' | 'video', id: string = randomUUID()): Promise<string> {
  await documentClient(resources.endpoint).send(
    new PutCommand({ TableName: resources.tableName, Item: { id, kind, status: 'pending', createdAt: new Date().toISOString() } }),
  );
  return id;
}

const clients = new Map<string, DynamoDBClient>();
function dynamoClient(endpoint: string): DynamoDBClient {
  let client = clients.get(endpoint);
  if (!client) clients.set(endpoint, (client = new DynamoDBClient(localClientConfig(endpoint))));
  return client;
}

/** The item as the functions read it: through their own table adapter, consistently (the outbox as a list). */
export async function readItem(resources: LocalResources, id: string): Promise<Item | undefined> {
  return new DynamoItemStore(resources.tableName, dynamoClient(resources.endpoint)).get(id);
}

/**
 * Events the bus delivered to the watch queue (or another rule's queue) through a real rule:
 * waits for `expect` of them, then one more second for any extra, so a test can assert the
 * exact count.
 */
export function events(r: Receiver, expect: number, queueUrl = r.resources.watchQueueUrl): Promise<WatchedEvent[]> {
  return eventsIn(r.endpoint, queueUrl, expect);
}

/** The same, for any queue of the emulator at `endpoint`. */
export async function eventsIn(endpoint: string, queueUrl: string, expect: number): Promise<WatchedEvent[]> {
  const poll = (max: number, waitSeconds: number) => receiveEvents(endpoint, queueUrl, { max, waitSeconds });
  const expected = expect > 0 ? await poll(expect, 5) : [];
  return [...expected, ...(await poll(10, 1))];
}
