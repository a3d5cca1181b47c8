/**
 * Creates in the emulator what the CDK stack creates in AWS, plus a "watch" queue that
 * receives every event the receiver publishes so tests and humans can see them.
 */
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput, type GlobalSecondaryIndex } from '@aws-sdk/client-dynamodb';
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
import type { ApiCredentials } from '../lambda/core/cloudflare.js';
import { ApiSecretKey, SecretKey, TableDesign } from '../lambda/core/contract.js';
import { eventBridgePattern } from '../lambda/core/events.js';
import { localClientConfig, queuePolicy } from './aws.js';

/** The pattern of every event the receiver publishes: the archive's and the watch rule's. */
const EVERY_EVENT = JSON.stringify(eventBridgePattern());

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

export async function provisionLocal(options: ProvisionOptions): Promise<LocalResources> {
  const { endpoint, prefix = 'local', stream = true, archive = true } = options;
  const aws = localClients(endpoint);
  const name = `${prefix}-cloudflare-webhook`;
  const secrets = webhookSecrets(options.secrets);
  const [table, bus, secret, watchQueueUrl, relayDlqUrl, readSecret, apiSecret] = await Promise.all([
    aws.dynamodb.send(new CreateTableCommand(tableDefinition(name, stream))),
    aws.events.send(new CreateEventBusCommand({ Name: name })),
    createWebhookSecret(aws.secretsManager, `${prefix}/cloudflare-webhook`, secrets),
    createQueue(aws.sqs, `${name}-watch`),
    stream ? createQueue(aws.sqs, `${name}-relay-dlq`) : undefined,
    createTokenSecret(aws.secretsManager, `${prefix}/cloudflare-read`, options.readToken),
    createTokenSecret(aws.secretsManager, `${prefix}/cloudflare-api`, options.uploadsToken),
  ]);
  const eventArchiveArn = archive ? await createArchive(aws.events, `${name}-archive`, bus.EventBusArn!) : undefined;
  const watchRuleName = await watchBus(aws, name, watchQueueUrl);

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
    ...(stream && { streamArn: table.TableDescription!.LatestStreamArn!, relayDlqUrl: relayDlqUrl! }),
    readSecretArn: readSecret.ARN!,
    apiSecretArn: apiSecret.ARN!,
    ...(eventArchiveArn && { eventArchiveArn }),
  };
}

interface LocalClients {
  readonly dynamodb: DynamoDBClient;
  readonly events: EventBridgeClient;
  readonly sqs: SQSClient;
  readonly secretsManager: SecretsManagerClient;
}

function localClients(endpoint: string): LocalClients {
  const config = localClientConfig(endpoint);
  return {
    dynamodb: new DynamoDBClient(config),
    events: new EventBridgeClient(config),
    sqs: new SQSClient(config),
    secretsManager: new SecretsManagerClient(config),
  };
}

/** The values given, and a random one for each key left out. */
function webhookSecrets(given: Partial<LocalSecrets> = {}): LocalSecrets {
  return {
    images: given.images ?? [randomSecret()],
    stream: given.stream ?? [randomSecret()],
    toolkit: given.toolkit ?? [randomSecret()],
  };
}

function tableDefinition(name: string, stream: boolean): CreateTableCommandInput {
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TableDesign.partitionKey, AttributeType: 'S' },
      { AttributeName: TableDesign.byStatus.partitionKey, AttributeType: 'S' },
      { AttributeName: TableDesign.byStatus.sortKey, AttributeType: 'S' },
      { AttributeName: TableDesign.byExpiry.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: TableDesign.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      // The same index as the stack's, so `images list` queries locally what it queries in AWS.
      globalIndex(TableDesign.byStatus),
      // The sweep's index, as the stack creates it.
      globalIndex(TableDesign.byExpiry),
    ],
    ...(stream && { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }),
  };
}

function globalIndex(index: (typeof TableDesign)['byStatus' | 'byExpiry']): GlobalSecondaryIndex {
  return {
    IndexName: index.indexName,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' },
      { AttributeName: index.sortKey, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projected] },
  };
}

function createWebhookSecret(secretsManager: SecretsManagerClient, secretName: string, secrets: LocalSecrets) {
  const value = { [SecretKey.Images]: secrets.images, [SecretKey.Stream]: secrets.stream, [SecretKey.Toolkit]: secrets.toolkit };
  return secretsManager.send(new CreateSecretCommand({ Name: secretName, SecretString: JSON.stringify(value) }));
}

/** A Cloudflare token secret `{accountId, apiToken}`, blank when no token is given (as the stack creates it). */
function createTokenSecret(secretsManager: SecretsManagerClient, secretName: string, token: Partial<ApiCredentials> | undefined) {
  const value = token ?? { [ApiSecretKey.AccountId]: '', [ApiSecretKey.ApiToken]: '' };
  return secretsManager.send(new CreateSecretCommand({ Name: secretName, SecretString: JSON.stringify(value) }));
}

async function createQueue(sqs: SQSClient, queueName: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  return QueueUrl!;
}

/** An archive of every event the receiver publishes, for `events replay`. */
async function createArchive(events: EventBridgeClient, archiveName: string, eventBusArn: string): Promise<string> {
  const { ArchiveArn } = await events.send(
    new CreateArchiveCommand({ ArchiveName: archiveName, EventSourceArn: eventBusArn, EventPattern: EVERY_EVENT, RetentionDays: 30 }),
  );
  return ArchiveArn!;
}

/** A rule on the bus that sends every event the receiver publishes to the watch queue; returns the rule's name. */
async function watchBus({ events, sqs }: LocalClients, busName: string, queueUrl: string): Promise<string> {
  const ruleName = `${busName}-watch`;
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = Attributes!.QueueArn!;
  const { RuleArn } = await events.send(
    new PutRuleCommand({ Name: ruleName, EventBusName: busName, EventPattern: EVERY_EVENT }),
  );
  // moto delivers without it, but AWS drops events unless the queue lets this rule send.
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: JSON.stringify(queuePolicy(queueArn, RuleArn!)) } }));
  await events.send(new PutTargetsCommand({ Rule: ruleName, EventBusName: busName, Targets: [{ Id: 'watch', Arn: queueArn }] }));
  return ruleName;
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
