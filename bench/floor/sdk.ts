/**
 * The webhook function's floor: the AWS SDK clients and commands its job cannot do without, and
 * nothing else, built with the same esbuild settings as the shipped function (bench/build.ts).
 *
 * Per delivery it makes the calls the handler makes for a status transition, in the same order
 * and with the same shapes (bench/results/latest.json `calls` counts both), but none of the
 * handler's own work (no signature check, parsing, decision, logging or metrics):
 *   Secrets Manager GetSecretValue   once per process (the handler caches it)
 *   DynamoDB GetItem                 strongly consistent
 *   DynamoDB UpdateItem              the transition: its attributes, the outbox and its lease, version-guarded
 *   EventBridge PutEvents            one event
 *   DynamoDB UpdateItem              the event id out of the outbox
 *
 * The bare DynamoDB client with attribute values written out, as lambda/adapters/store.ts uses it
 * (not lib-dynamodb's DocumentClient, which the function no longer ships). Clients and settings are
 * made at module load, as the handler makes them, so the cold-import floor includes them.
 */
import { DynamoDBClient, GetItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const env = process.env;
const config = env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {};
const dynamodb = new DynamoDBClient(config);
const events = new EventBridgeClient(config);
const secrets = new SecretsManagerClient(config);
const TableName = env.TABLE_NAME;
const EventBusName = env.EVENT_BUS_NAME;
const SecretId = env.SECRET_ID;

let secret: Promise<string | undefined> | undefined;

/** One delivery's worth of SDK calls for item `id`; `at` stands in for the delivery's timestamp. */
export async function handler(id: string, at = '2026-01-01T00:00:00.000Z'): Promise<void> {
  secret ??= secrets.send(new GetSecretValueCommand({ SecretId })).then((out) => out.SecretString);
  await secret;
  const Key = { id: { S: id } };
  await dynamodb.send(new GetItemCommand({ TableName, Key, ConsistentRead: true }));

  const eventId = `e${id}`;
  const set: Record<string, AttributeValue> = {
    variants: { L: [{ S: `https://imagedelivery.net/h/${id}/public` }, { S: `https://imagedelivery.net/h/${id}/thumbnail` }] },
    metadata: { M: { key: { S: 'value' } } },
    requireSignedURLs: { BOOL: true },
    kind: { S: 'image' },
    status: { S: 'uploaded' },
    precedence: { S: `2#${at}#4` },
    statusAt: { S: at },
    updatedAt: { S: at },
    version: { N: '1' },
    history: { L: [{ M: { eventId: { S: eventId }, from: { S: 'pending' }, to: { S: 'uploaded' }, occurredAt: { S: at }, recordedAt: { S: at } } }] },
    unpublished: { SS: [eventId] },
    leaseUntil: { N: String(Date.now() + 3000) },
  };
  const names = Object.keys(set);
  await dynamodb.send(
    new UpdateItemCommand({
      TableName,
      Key,
      // The handler's version check on an item at version 0 (as the upload route creates it).
      UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :a${i}`).join(', ')} REMOVE #r0`,
      ConditionExpression: 'attribute_exists(#key) AND #version = :expectedVersion',
      ExpressionAttributeNames: { '#key': 'id', '#version': 'version', '#r0': 'expiresAt', ...Object.fromEntries(names.map((name, i) => [`#a${i}`, name])) },
      ExpressionAttributeValues: { ':expectedVersion': { N: '0' }, ...Object.fromEntries(names.map((name, i) => [`:a${i}`, set[name]!])) },
    }),
  );

  const detail = { eventId, id, kind: 'image', status: 'uploaded', previousStatus: 'pending', occurredAt: at, recordedAt: at };
  const out = await events.send(new PutEventsCommand({ Entries: [{ EventBusName, Source: 'cloudflare-webhook', DetailType: 'Image Uploaded', Detail: JSON.stringify(detail) }] }));
  if (out.FailedEntryCount) throw new Error('PutEvents failed');

  await dynamodb.send(
    new UpdateItemCommand({
      TableName,
      Key,
      UpdateExpression: 'DELETE #outbox :published SET #version = if_not_exists(#version, :zero) + :one',
      ConditionExpression: 'attribute_exists(#key) AND attribute_exists(#outbox)',
      ExpressionAttributeNames: { '#key': 'id', '#version': 'version', '#outbox': 'unpublished' },
      ExpressionAttributeValues: { ':published': { SS: [eventId] }, ':zero': { N: '0' }, ':one': { N: '1' } },
    }),
  );
}
