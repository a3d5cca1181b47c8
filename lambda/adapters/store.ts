import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { awsClientConfig } from './aws.js';
import { TableDesign } from '../core/contract.js';
import type { Item, ItemWrite } from '../core/decide.js';
import { DependencyError } from '../core/errors.js';

/** Step 4: the DynamoDB adapter. It executes decisions; it makes none. */
export interface ItemStore {
  get(id: string): Promise<Item | undefined>;
  /** False when the item changed since it was read (the version check failed). */
  write(id: string, write: ItemWrite): Promise<boolean>;
  /** False when an item with that id already exists. */
  create(item: Item): Promise<boolean>;
  /** Forget the unpublished markers of events that reached the bus. */
  markPublished(id: string, eventIds: readonly string[]): Promise<void>;
}

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

const KEY = TableDesign.partitionKey;
// Every write bumps `version`; a writer that read version N only succeeds if nobody else wrote since.
const versionUnchanged = 'attribute_exists(#key) AND #version = :expectedVersion';
const neverVersioned = `attribute_exists(#key) AND attribute_not_exists(#version)`;
const itemAbsent = 'attribute_not_exists(#key)';

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
    return out.Item ? (fromAttributes(out.Item) as Item) : undefined;
  }

  async write(id: string, write: ItemWrite): Promise<boolean> {
    const names: Record<string, string> = { '#key': KEY, '#version': 'version' };
    const values: Record<string, unknown> = {};
    const assignments = Object.entries(write.set).map(([attribute, value], i) => {
      names[`#a${i}`] = attribute;
      values[`:a${i}`] = value;
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
        new PutItemCommand({ TableName: this.tableName, Item: toAttributes(item), ConditionExpression: itemAbsent, ExpressionAttributeNames: { '#key': KEY } }),
      ),
    );
  }

  async markPublished(id: string, eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    const names: Record<string, string> = { '#key': KEY, '#version': 'version', '#unpublished': 'unpublished' };
    const paths = eventIds.map((eventId, i) => {
      names[`#e${i}`] = eventId;
      return `#unpublished.#e${i}`;
    });
    // Bumps the version too: a writer that read the markers before this must re-read, or it
    // would write the cleared markers back and the events would be published again.
    await this.conditional('clear unpublished markers', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [KEY]: { S: id } },
          UpdateExpression: `REMOVE ${paths.join(', ')} SET #version = if_not_exists(#version, :zero) + :one`,
          ConditionExpression: 'attribute_exists(#key) AND attribute_exists(#unpublished)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':zero': { N: '0' }, ':one': { N: '1' } },
        }),
      ),
    );
  }

  private async conditional(action: string, send: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.call(action, send);
      return true;
    } catch (error) {
      if (error instanceof DependencyError && (error.cause as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private async call<T>(action: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new DependencyError('dynamodb', `DynamoDB ${action} failed: ${(error as Error).name}`, { cause: error });
    }
  }
}
