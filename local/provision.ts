/**
 * Creates in the emulator what the CDK stack creates in AWS, plus a "watch" queue that
 * receives every event the receiver publishes so tests and humans can see them.
 */
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateArchiveCommand, CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from 'aws-lambda';
import type { ApiCredentials } from '../lambda/core/cloudflare';
import { ApiSecretKey, EVENT_SOURCE, SecretKey, TableDesign } from '../lambda/core/contract';
import { localClientConfig, queuePolicy } from './aws';

type SecretName = (typeof SecretKey)[keyof typeof SecretKey];
export type LocalSecrets = Record<SecretName, string[]>;

export interface LocalResources {
  endpoint: string;
  tableName: string;
  eventBusName: string;
  eventBusArn: string;
  secretId: string;
  secretArn: string;
  secrets: LocalSecrets;
  watchQueueUrl: string;
  watchRuleName: string;
  /** With `stream`: the table's stream (NEW_AND_OLD_IMAGES) and the relay's dead-letter queue. */
  streamArn?: string;
  relayDlqUrl?: string;
  /** The read-only Cloudflare token's secret `{accountId, apiToken}` (blank unless `readToken`). */
  readSecretArn: string;
  /** The upload route's Cloudflare token secret `{accountId, apiToken}` (blank unless `uploadsToken`). */
  apiSecretArn: string;
  /** With `archive`: the bus's archive of every event. */
  eventArchiveArn?: string;
}

export interface ProvisionOptions {
  endpoint: string;
  /** Keeps several receivers apart in one emulator. */
  prefix?: string;
  secrets?: Partial<LocalSecrets>;
  /** Creates the table with a stream, for the relay, and the relay's dead-letter queue. @default true, as the stack does */
  stream?: boolean;
  /** An archive of every event on the bus, for `events replay`. @default true, as the stack does */
  archive?: boolean;
  /** What the read-only token's secret holds. @default blank, as the stack creates it */
  readToken?: ApiCredentials;
  /** What the upload route's token secret holds (a key left out stays out, to test a half-filled secret). @default blank */
  uploadsToken?: Partial<ApiCredentials>;
}

export async function provisionLocal({
  endpoint,
  prefix = 'local',
  secrets: given = {},
  stream = true,
  archive = true,
  readToken,
  uploadsToken,
}: ProvisionOptions): Promise<LocalResources> {
  const config = localClientConfig(endpoint);
  const name = `${prefix}-cloudflare-webhook`;
  const secrets: LocalSecrets = {
    images: given.images ?? [randomSecret()],
    stream: given.stream ?? [randomSecret()],
    toolkit: given.toolkit ?? [randomSecret()],
  };

  const events = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  const secretsManager = new SecretsManagerClient(config);
  const tokenSecret = (suffix: string, token: Partial<ApiCredentials> | undefined) =>
    secretsManager.send(new CreateSecretCommand({ Name: `${prefix}/${suffix}`, SecretString: JSON.stringify(token ?? { [ApiSecretKey.AccountId]: '', [ApiSecretKey.ApiToken]: '' }) }));
  const [table, bus, secret, queue, relayDlq, readSecret, apiSecret] = await Promise.all([
    new DynamoDBClient(config).send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TableDesign.partitionKey, AttributeType: 'S' },
          { AttributeName: TableDesign.byStatus.partitionKey, AttributeType: 'S' },
          { AttributeName: TableDesign.byStatus.sortKey, AttributeType: 'S' },
          { AttributeName: TableDesign.byExpiry.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: TableDesign.partitionKey, KeyType: 'HASH' }],
        // The same index as the stack's, so `images list` queries locally what it queries in AWS.
        GlobalSecondaryIndexes: [
          {
            IndexName: TableDesign.byStatus.indexName,
            KeySchema: [
              { AttributeName: TableDesign.byStatus.partitionKey, KeyType: 'HASH' },
              { AttributeName: TableDesign.byStatus.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...TableDesign.byStatus.projected] },
          },
          // The sweep's index, as the stack creates it.
          {
            IndexName: TableDesign.byExpiry.indexName,
            KeySchema: [
              { AttributeName: TableDesign.byExpiry.partitionKey, KeyType: 'HASH' },
              { AttributeName: TableDesign.byExpiry.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...TableDesign.byExpiry.projected] },
          },
        ],
        ...(stream && { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }),
      }),
    ),
    events.send(new CreateEventBusCommand({ Name: name })),
    secretsManager.send(
      new CreateSecretCommand({
        Name: `${prefix}/cloudflare-webhook`,
        SecretString: JSON.stringify({
          [SecretKey.Images]: secrets.images,
          [SecretKey.Stream]: secrets.stream,
          [SecretKey.Toolkit]: secrets.toolkit,
        }),
      }),
    ),
    sqs.send(new CreateQueueCommand({ QueueName: `${name}-watch` })),
    stream ? sqs.send(new CreateQueueCommand({ QueueName: `${name}-relay-dlq` })) : undefined,
    tokenSecret('cloudflare-read', readToken),
    tokenSecret('cloudflare-api', uploadsToken),
  ]);
  const archived = archive
    ? await events.send(new CreateArchiveCommand({ ArchiveName: `${name}-archive`, EventSourceArn: bus.EventBusArn!, EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }), RetentionDays: 30 }))
    : undefined;

  const watchQueueUrl = queue.QueueUrl!;
  const watchRuleName = `${name}-watch`;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: watchQueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = Attributes!.QueueArn!;
  const { RuleArn } = await events.send(
    new PutRuleCommand({
      Name: watchRuleName,
      EventBusName: name,
      EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }),
    }),
  );
  // moto delivers without it, but AWS drops events unless the queue lets this rule send.
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: watchQueueUrl,
      Attributes: {
        Policy: JSON.stringify(queuePolicy(queueArn, RuleArn!)),
      },
    }),
  );
  await events.send(
    new PutTargetsCommand({ Rule: watchRuleName, EventBusName: name, Targets: [{ Id: 'watch', Arn: queueArn }] }),
  );

  return {
    endpoint,
    tableName: name,
    eventBusName: name,
    eventBusArn: bus.EventBusArn!,
    secretId: secret.Name!,
    secretArn: secret.ARN!,
    secrets,
    watchQueueUrl,
    watchRuleName,
    ...(stream && { streamArn: table.TableDescription!.LatestStreamArn!, relayDlqUrl: relayDlq!.QueueUrl! }),
    readSecretArn: readSecret.ARN!,
    apiSecretArn: apiSecret.ARN!,
    ...(archived && { eventArchiveArn: archived.ArchiveArn! }),
  };
}

export type WatchedEvent = EventBridgeEvent<string, unknown>;

/**
 * Long-polls the watch queue until `max` events arrived or `waitSeconds` passed, deleting
 * what it read so the next call only sees newer events.
 */
export async function receiveEvents(
  endpoint: string,
  queueUrl: string,
  { waitSeconds = 5, max = 10 }: { waitSeconds?: number; max?: number } = {},
): Promise<WatchedEvent[]> {
  const sqs = new SQSClient(localClientConfig(endpoint));
  const deadline = Date.now() + waitSeconds * 1000;
  const received: WatchedEvent[] = [];
  while (received.length < max) {
    const remaining = Math.ceil((deadline - Date.now()) / 1000);
    if (remaining <= 0) break;
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - received.length),
        WaitTimeSeconds: Math.min(20, remaining),
      }),
    );
    if (Messages.length === 0) continue;
    received.push(...Messages.map((message) => JSON.parse(message.Body!) as WatchedEvent));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  return received;
}

const randomSecret = () => randomBytes(32).toString('hex');
