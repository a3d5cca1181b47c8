import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { awsClientConfig } from './aws.js';
import { TableDesign } from '../core/contract.js';
import type { Item, ItemWrite } from '../core/item.js';
import type { ItemStore } from '../core/ports.js';
import { DependencyError } from '../core/errors.js';
import { isRecord } from '../core/values.js';

/**
 * Plain values → DynamoDB attribute values, as lib-dynamodb's DocumentClient did it with
 * `removeUndefinedValues` (the bare client and util-dynamodb weigh 7 kB less in the bundle).
 */
export function toAttributes(value: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  return marshall(value, { removeUndefinedValues: true, convertClassInstanceToMap: false });
}

export function fromAttributes(attributes: Record<string, AttributeValue>): Record<string, unknown> {
  return unmarshall(attributes);
}

const OUTBOX = TableDesign.outbox.attribute;

/** The item as `decide` reads it: the outbox as a list of ids. */
function itemFrom(attributes: Record<string, AttributeValue>): Item {
  return withOutboxAsList(fromAttributes(attributes));
}

/** An unmarshalled item with its outbox as the list of ids the functions see (a String Set in the table). */
export function withOutboxAsList(item: Record<string, unknown>): Item {
  const outbox = item[OUTBOX];
  // Items written before the outbox was a set held a map of id → lease: its keys are the ids.
  const ids = outbox instanceof Set ? [...outbox].map(String) : isRecord(outbox) ? Object.keys(outbox) : undefined;
  return (ids ? { ...item, [OUTBOX]: ids.sort() } : item) as Item;
}

/** A write's values as stored: the outbox as a String Set, the one attribute `decide` hands over as a list. */
function storedValue(attribute: string, value: unknown): unknown {
  return attribute === OUTBOX && Array.isArray(value) ? new Set(value) : value;
}

const KEY = TableDesign.partitionKey;

function withStoredOutbox(item: Item): Record<string, unknown> {
  const outbox = item[OUTBOX];
  // A String Set cannot be empty: an empty outbox is no attribute at all.
  return Array.isArray(outbox) ? { ...item, [OUTBOX]: outbox.length > 0 ? new Set(outbox) : undefined } : item;
}
// Every write bumps `version`; a writer that read version N only succeeds if nobody else wrote since.
const versionUnchanged = 'attribute_exists(#key) AND #version = :expectedVersion';
const neverVersioned = `attribute_exists(#key) AND attribute_not_exists(#version)`;
const itemAbsent = 'attribute_not_exists(#key)';

/** The images table on DynamoDB: consistent reads, version-guarded writes, the outbox as a String Set. */
export class DynamoItemStore implements ItemStore {
  private readonly client: DynamoDBClient;

  constructor(
    private readonly tableName: string,
    client?: DynamoDBClient,
  ) {
    this.client = client ?? new DynamoDBClient(awsClientConfig);
  }

  async get(id: string): Promise<Item | undefined> {
    const out = await this.call('read item', () =>
      // Strongly consistent: the decision must see the last write, or a duplicate looks new.
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { [KEY]: { S: id } }, ConsistentRead: true })),
    );
    return out.Item ? itemFrom(out.Item) : undefined;
  }

  async write(id: string, write: ItemWrite): Promise<boolean> {
    const names: Record<string, string> = { '#key': KEY, '#version': 'version' };
    const values: Record<string, unknown> = {};
    const assignments = Object.entries(write.set).map(([attribute, value], i) => {
      names[`#a${i}`] = attribute;
      values[`:a${i}`] = storedValue(attribute, value);
      return `#a${i} = :a${i}`;
    });
    const removals = (write.remove ?? []).map((attribute, i) => {
      names[`#r${i}`] = attribute;
      return `#r${i}`;
    });
    if (write.expectedVersion !== undefined) values[':expectedVersion'] = write.expectedVersion;
    return this.conditional('update item', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [KEY]: { S: id } },
          UpdateExpression: `SET ${assignments.join(', ')}${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`,
          ConditionExpression: write.expectedVersion === undefined ? neverVersioned : versionUnchanged,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: toAttributes(values),
        }),
      ),
    );
  }

  async create(item: Item): Promise<boolean> {
    return this.conditional('create item', () =>
      this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: toAttributes(withStoredOutbox(item)), ConditionExpression: itemAbsent, ExpressionAttributeNames: { '#key': KEY } }),
      ),
    );
  }

  async markPublished(id: string, eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    // DELETE takes the ids out of the set, and DynamoDB removes the set with its last element: the
    // stream record of this write then carries no outbox and the relay's filter skips it. Bumps the
    // version too: a writer that read the outbox before this must re-read, or it would write the
    // cleared ids back and the events would be published again. Ends the relay's count of takeovers
    // (TableDesign.outbox.relayAttempts, relayBackoff): whatever is left in the outbox reaches the relay afresh.
    await this.conditional('clear the outbox', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [KEY]: { S: id } },
          UpdateExpression: 'DELETE #outbox :published REMOVE #attempts, #backoff SET #version = if_not_exists(#version, :zero) + :one',
          ConditionExpression: 'attribute_exists(#key) AND attribute_exists(#outbox)',
          ExpressionAttributeNames: { '#key': KEY, '#version': 'version', '#outbox': OUTBOX, '#attempts': TableDesign.outbox.relayAttempts, '#backoff': TableDesign.outbox.relayBackoff },
          ExpressionAttributeValues: { ':published': { SS: [...eventIds] }, ':zero': { N: '0' }, ':one': { N: '1' } },
        }),
      ),
    );
  }

  /** True when written; false when the condition failed (someone else wrote first), the one refusal that is not a failure. */
  private async conditional(action: string, send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw dependencyError(action, error);
    }
  }

  private async call<T>(action: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw dependencyError(action, error);
    }
  }
}

function dependencyError(action: string, error: unknown): DependencyError {
  return new DependencyError('dynamodb', `DynamoDB ${action} failed: ${(error as Error).name}`, { cause: error });
}
