/**
 * The relay function's floor: the SDK clients and commands the relay's job cannot do without
 * (DynamoDB GetItem and UpdateItem, EventBridge PutEvents), made at module load as the relay makes
 * them, built with the same esbuild settings (bench/build.ts).
 *
 * `handler` is what the relay does for nearly every record: one strongly consistent read, which
 * finds the writer's outbox already empty. `takeOver` is the rare rest, a writer that died: claim
 * the outbox, publish, empty it. No batching, decision, logging or metrics.
 */
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';

const env = process.env;
const config = env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {};
const dynamodb = new DynamoDBClient(config);
const events = new EventBridgeClient(config);
const TableName = env.TABLE_NAME;
const EventBusName = env.EVENT_BUS_NAME;

export async function handler(id: string): Promise<void> {
  await dynamodb.send(new GetItemCommand({ TableName, Key: { id: { S: id } }, ConsistentRead: true }));
}

export async function takeOver(id: string, eventId: string, version: number): Promise<void> {
  const Key = { id: { S: id } };
  await dynamodb.send(
    new UpdateItemCommand({
      TableName,
      Key,
      UpdateExpression: 'SET #outbox = :outbox, #lease = :lease, #version = :next',
      ConditionExpression: 'attribute_exists(#key) AND #version = :expected',
      ExpressionAttributeNames: { '#key': 'id', '#version': 'version', '#outbox': 'unpublished', '#lease': 'leaseUntil' },
      ExpressionAttributeValues: { ':outbox': { SS: [eventId] }, ':lease': { N: String(Date.now() + 3000) }, ':next': { N: String(version + 1) }, ':expected': { N: String(version) } },
    }),
  );
  const detail = JSON.stringify({ eventId, id });
  const out = await events.send(new PutEventsCommand({ Entries: [{ EventBusName, Source: 'cloudflare-webhook', DetailType: 'Image Uploaded', Detail: detail }] }));
  if (out.FailedEntryCount) throw new Error('PutEvents failed');
  await dynamodb.send(
    new UpdateItemCommand({
      TableName,
      Key,
      UpdateExpression: 'DELETE #outbox :published SET #version = #version + :one',
      ConditionExpression: 'attribute_exists(#key) AND attribute_exists(#outbox)',
      ExpressionAttributeNames: { '#key': 'id', '#version': 'version', '#outbox': 'unpublished' },
      ExpressionAttributeValues: { ':published': { SS: [eventId] }, ':one': { N: '1' } },
    }),
  );
}
