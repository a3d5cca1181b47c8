/**
 * The floor: the AWS SDK clients and commands the receiver's job cannot do without, and
 * nothing else. Built with the same esbuild settings as the shipped function (bench/build.ts).
 *
 * Per delivery it makes the calls the handler makes for a status transition, in the same
 * order and with the same shapes, but none of the handler's own work (no signature check,
 * no parsing or validation, no decision, no logging):
 *   Secrets Manager GetSecretValue   once per process (the handler caches it for 5 minutes)
 *   DynamoDB GetItem                 strongly consistent, through the DocumentClient
 *   DynamoDB UpdateItem              conditional SET of the attributes a transition writes
 *   EventBridge PutEvents            one event
 *   DynamoDB UpdateItem              REMOVE the unpublished marker
 *
 * Clients are created at module load, as the handler does, so the cold-import floor includes
 * their construction.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
const events = new EventBridgeClient({});
const secrets = new SecretsManagerClient({});

let secret: Promise<string | undefined> | undefined;

/** One delivery's worth of SDK calls for item `id`; `at` stands in for the delivery's timestamp. */
export async function handler(id: string, at = '2024-01-01T00:00:00.000Z'): Promise<void> {
  const env = process.env;
  secret ??= secrets.send(new GetSecretValueCommand({ SecretId: env.SECRET_ID })).then((out) => out.SecretString);
  await secret;

  const TableName = env.TABLE_NAME;
  await documents.send(new GetCommand({ TableName, Key: { id }, ConsistentRead: true }));

  const eventId = `e${id}`;
  await documents.send(
    new UpdateCommand({
      TableName,
      Key: { id },
      UpdateExpression:
        'SET #a0 = :a0, #a1 = :a1, #a2 = :a2, #a3 = :a3, #a4 = :a4, #a5 = :a5, #a6 = :a6, #a7 = :a7, #a8 = :a8, #a9 = :a9, #a10 = :a10, #a11 = :a11',
      // The handler's version check on an item at version 0 (as the upload route creates it).
      ConditionExpression: 'attribute_exists(#key) AND #version = :expectedVersion',
      ExpressionAttributeNames: {
        '#key': 'id',
        '#version': 'version',
        '#a0': 'variants',
        '#a1': 'metadata',
        '#a2': 'requireSignedURLs',
        '#a3': 'kind',
        '#a4': 'status',
        '#a5': 'precedence',
        '#a6': 'statusAt',
        '#a7': 'updatedAt',
        '#a8': 'version',
        '#a9': 'createdAt',
        '#a10': 'history',
        '#a11': 'unpublished',
      },
      ExpressionAttributeValues: {
        ':a0': [`https://imagedelivery.net/h/${id}/public`, `https://imagedelivery.net/h/${id}/thumbnail`],
        ':a1': { key: 'value' },
        ':a2': true,
        ':a3': 'image',
        ':a4': 'uploaded',
        ':a5': `2#${at}#4`,
        ':a6': at,
        ':a7': at,
        ':a8': 1,
        ':a9': at,
        ':a10': [{ eventId, from: 'pending', to: 'uploaded', occurredAt: at, recordedAt: at }],
        ':a11': { [eventId]: 0 },
        ':expectedVersion': 0,
      },
    }),
  );

  const out = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: env.EVENT_BUS_NAME,
          Source: 'cloudflare-webhook',
          DetailType: 'Image Uploaded',
          Detail: `{"eventId":"${eventId}","id":"${id}","kind":"image","status":"uploaded","previousStatus":"pending","occurredAt":"${at}","recordedAt":"${at}"}`,
        },
      ],
    }),
  );
  if (out.FailedEntryCount) throw new Error('PutEvents failed');

  await documents.send(
    new UpdateCommand({
      TableName,
      Key: { id },
      UpdateExpression: 'REMOVE #unpublished.#e0 SET #version = if_not_exists(#version, :zero) + :one',
      ConditionExpression: 'attribute_exists(#key) AND attribute_exists(#unpublished)',
      ExpressionAttributeNames: { '#key': 'id', '#version': 'version', '#unpublished': 'unpublished', '#e0': eventId },
      ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
    }),
  );
}
