import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Defaults, EVENT_SOURCE, TableDesign, WebhookEnv } from '../../lambda/core/contract.js';
import { localClientConfig } from '../../local/aws.js';
import { provisionLocal, receiveEvents, type LocalResources } from '../../local/provision.js';
import { webhookEnvironment } from '../../local/environments.js';
import type { Emulator } from '../../scripts/emulator.js';
import { connectEmulator } from '../support/receiver.js';

describe('provisionLocal', () => {
  let emulator: Emulator;
  let resources: LocalResources;

  before(async () => {
    emulator = await connectEmulator();
    resources = await provisionLocal({
      endpoint: emulator.endpoint,
      prefix: `emulator-test-${process.pid}`,
      secrets: { images: ['old', 'new'] },
    });
  });
  after(() => emulator.stop());

  test('creates an on-demand table keyed by the contract partition key', async () => {
    const { Table } = await new DynamoDBClient(localClientConfig(emulator.endpoint)).send(
      new DescribeTableCommand({ TableName: resources.tableName }),
    );
    assert.equal(Table?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(Table?.KeySchema, [{ AttributeName: TableDesign.partitionKey, KeyType: 'HASH' }]);
  });

  test('stores the given secrets and generates the missing ones', async () => {
    const { SecretString } = await new SecretsManagerClient(localClientConfig(emulator.endpoint)).send(
      new GetSecretValueCommand({ SecretId: resources.secretArn }),
    );
    const stored = JSON.parse(SecretString!);
    assert.deepEqual(stored, resources.secrets);
    assert.deepEqual(stored.images, ['old', 'new']);
    assert.match(stored.stream[0], /^[0-9a-f]{64}$/);
    assert.match(stored.toolkit[0], /^[0-9a-f]{64}$/);
  });

  test('delivers events from the receiver to the watch queue, and only those', async () => {
    const events = new EventBridgeClient(localClientConfig(emulator.endpoint));
    const entry = { EventBusName: resources.eventBusName, DetailType: 'Image Uploaded' };
    const { FailedEntryCount } = await events.send(
      new PutEventsCommand({
        Entries: [
          { ...entry, Source: 'someone-else', Detail: JSON.stringify({ id: 'ignored' }) },
          { ...entry, Source: EVENT_SOURCE, Detail: JSON.stringify({ id: 'img-1' }) },
        ],
      }),
    );
    assert.equal(FailedEntryCount, 0);

    const received = await receiveEvents(emulator.endpoint, resources.watchQueueUrl, { max: 1 });
    assert.equal(received[0]!.source, EVENT_SOURCE);
    assert.equal(received[0]!['detail-type'], 'Image Uploaded');
    assert.deepEqual(received[0]!.detail, { id: 'img-1' });
    // moto routes events synchronously within PutEvents, so anything else would be there by now.
    assert.deepEqual(await receiveEvents(emulator.endpoint, resources.watchQueueUrl, { waitSeconds: 1 }), []);
  });

  test('keeps resources of different prefixes apart', async () => {
    const other = await provisionLocal({ endpoint: emulator.endpoint, prefix: `emulator-other-${process.pid}` });
    assert.notEqual(other.tableName, resources.tableName);
    assert.notEqual(other.eventBusName, resources.eventBusName);
    assert.notEqual(other.watchQueueUrl, resources.watchQueueUrl);
    assert.notDeepEqual(other.secrets, resources.secrets);
  });

  test('describes the Lambda environment with contract names and defaults, overridable', () => {
    const env = webhookEnvironment(resources, { [WebhookEnv.UnknownIdPolicy]: 'record', [WebhookEnv.StreamPath]: undefined });
    assert.equal(env[WebhookEnv.TableName], resources.tableName);
    assert.equal(env[WebhookEnv.EventBusName], resources.eventBusName);
    assert.equal(env[WebhookEnv.SecretId], resources.secretArn);
    assert.equal(env[WebhookEnv.ImagesPath], Defaults.imagesPath);
    assert.equal(env[WebhookEnv.ToleranceSeconds], String(Defaults.toleranceSeconds));
    assert.equal(env[WebhookEnv.UnknownIdPolicy], 'record');
    assert.equal(WebhookEnv.StreamPath in env, false);
    assert.equal(env.AWS_ENDPOINT_URL, emulator.endpoint);
  });
});
