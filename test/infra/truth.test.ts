/**
 * The template of issues 13 and 14: the stream relay (event source mapping, its filter as Lambda
 * matches it, dead-letter queue, function), the bus's archive, the read-only Cloudflare token and who gets it, the sweep on
 * by default with its video reconciliation, and the context keys that switch them. Roles are
 * enumerated exactly in least-privilege.test.ts, alarms and dashboard in observability.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ConfirmMode, EVENT_SOURCE, RelayEnv, SweepEnv, TableDesign, WebhookEnv } from '../../lambda/core/contract.js';
import { DEFAULT_METRICS_NAMESPACE, METRICS_NAMESPACE_ENV } from '../../lambda/core/metrics.js';
import { RelayEventSource } from '../../lambda/core/contract.js';
import { matchesFilter } from '../../local/filter-pattern.js';
import type { CloudflareWebhookReceiverProps } from '../../lib/webhook-receiver.js';
import { CloudflareWebhookStack } from '../../lib/webhook-stack.js';
import { functionOf, functionsOf, NO_BUNDLING, onlyResource, refOf, resourceName, resourcesOf, roleGrants, roleOf, type TemplateResource, synthContext, synthReceiver } from '../support/template.js';

const envOf = (fn: TemplateResource): Record<string, unknown> => fn.Properties.Environment.Variables;
const tableOf = (template: Template) => onlyResource(template, 'AWS::DynamoDB::Table')[0];
const readSecretOf = (template: Template) => resourcesOf(template, 'AWS::SecretsManager::Secret').find(([id]) => id.startsWith('ReceiverCloudflareReadSecret'))?.[0];
const outputNames = (template: Template) => Object.keys(template.toJSON().Outputs ?? {});

describe('the stream relay', () => {
  const template = synthReceiver();
  const [relayId, relay] = functionOf(template, 'relay');
  const [, mapping] = onlyResource(template, 'AWS::Lambda::EventSourceMapping');
  const dlq = refOf(mapping.Properties.DestinationConfig.OnFailure.Destination)!;

  test("reads the table's stream from the trim horizon, 100 records at most a second apart, retried (split on error) until 6 hours old, answering per record", () => {
    assert.deepEqual(mapping.Properties, {
      FunctionName: { Ref: relayId },
      EventSourceArn: { 'Fn::GetAtt': [tableOf(template), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      // -1: no count; the record age alone ends the retries (the doubling lease paces them).
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: 21_600,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
      FilterCriteria: mapping.Properties.FilterCriteria,
    });
    // RelayEventSource (lambda/core/contract.ts) is what local mode's poller applies: it must be what is deployed.
    const p = mapping.Properties;
    assert.deepEqual(
      [p.BatchSize, p.MaximumBatchingWindowInSeconds, p.MaximumRetryAttempts, p.MaximumRecordAgeInSeconds],
      [RelayEventSource.batchSize, RelayEventSource.maxBatchingWindowSeconds, RelayEventSource.retryAttempts, RelayEventSource.maxRecordAgeSeconds],
    );
  });

  test('is invoked only for records whose new image still holds the unpublished String Set and no relayAttempts', () => {
    const { Filters } = mapping.Properties.FilterCriteria;
    assert.equal(Filters.length, 1);
    // Written out, not derived from RELAY_FILTER: renaming the outbox must show up here.
    assert.deepEqual(JSON.parse(Filters[0].Pattern), { dynamodb: { NewImage: { unpublished: { SS: [{ exists: true }] }, relayAttempts: { N: [{ exists: false }] } } } });
    assert.deepEqual([TableDesign.outbox.attribute, TableDesign.outbox.relayAttempts], ['unpublished', 'relayAttempts']);
    assert.deepEqual(JSON.parse(Filters[0].Pattern), RelayEventSource.filter, 'the exported filter is the deployed one');
  });

  test('the deployed pattern, matched as Lambda matches (local/filter-pattern.ts), passes exactly the records with something to publish', () => {
    const pattern = JSON.parse(mapping.Properties.FilterCriteria.Filters[0].Pattern);
    const record = (eventName: string, images: { NewImage?: object; OldImage?: object }) => ({ eventName, eventSource: 'aws:dynamodb', dynamodb: { Keys: { id: { S: 'img' } }, ...images } });
    const item = (extra: object = {}) => ({ id: { S: 'img' }, status: { S: 'uploaded' }, ...extra });
    const outbox = { unpublished: { SS: ['evt-1', 'evt-2'] } };
    const cases: [string, object, boolean][] = [
      ['a transition written with its events', record('MODIFY', { NewImage: item(outbox), OldImage: item() }), true],
      ['an item created with an event (the upload route, an unknown id)', record('INSERT', { NewImage: item(outbox) }), true],
      ['the writer’s own clean-up (the set removed)', record('MODIFY', { NewImage: item(), OldImage: item(outbox) }), false],
      ['a write that publishes nothing', record('MODIFY', { NewImage: item({ updatedAt: { S: '2025-01-01T00:00:00Z' } }), OldImage: item() }), false],
      ['a deletion', record('REMOVE', { OldImage: item(outbox) }), false],
      ['an outbox of another type', record('MODIFY', { NewImage: item({ unpublished: { L: [{ S: 'evt-1' }] } }) }), false],
      ['the relay’s own takeover (the outbox kept, its count of takeovers set)', record('MODIFY', { NewImage: item({ ...outbox, relayAttempts: { N: '1' } }), OldImage: item(outbox) }), false],
      ['a writer’s next transition after the relay’s takeovers (the count removed)', record('MODIFY', { NewImage: item({ unpublished: { SS: ['evt-1', 'evt-3'] } }), OldImage: item({ ...outbox, relayAttempts: { N: '4' } }) }), true],
    ];
    for (const [name, stream, delivered] of cases) assert.equal(matchesFilter(pattern, stream), delivered, name);
  });

  test('sends batches whose retries ran out to a dead-letter queue, encrypted, kept 14 days, refusing plain HTTP', () => {
    const queue = template.toJSON().Resources[dlq];
    assert.deepEqual(queue.Properties, { MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true });
    const [, policy] = resourcesOf(template, 'AWS::SQS::QueuePolicy').find(([, p]) => refOf(p.Properties.Queues[0]) === dlq)!;
    assert.deepEqual(
      policy.Properties.PolicyDocument.Statement.map((s: any) => [s.Effect, s.Action, s.Condition]),
      [['Deny', 'sqs:*', { Bool: { 'aws:SecureTransport': 'false' } }]],
    );
  });

  test('runs with the table, the bus and the lease a redelivery would use, and nothing of Cloudflare', () => {
    assert.deepEqual(envOf(relay), {
      [RelayEnv.TableName]: { Ref: tableOf(template) },
      [RelayEnv.EventBusName]: { Ref: onlyResource(template, 'AWS::Events::EventBus')[0] },
      [RelayEnv.PublishLeaseMs]: '3000',
      POWERTOOLS_SERVICE_NAME: 'cloudflare-relay',
      [METRICS_NAMESPACE_ENV]: DEFAULT_METRICS_NAMESPACE,
    });
    assert.deepEqual([relay.Properties.MemorySize, relay.Properties.Timeout], [256, 30]);
    assert.ok(!Object.keys(roleGrants(template, roleOf(relay))).some((action) => action.startsWith('secretsmanager:')), 'no secret');
  });

  test('relay: false leaves out the function, its mapping, queue, alarms and output; the table keeps its stream', () => {
    const without = synthReceiver({ relay: false });
    assert.equal(functionsOf(without).relay, undefined);
    assert.equal(resourcesOf(without, 'AWS::Lambda::EventSourceMapping').length, 0);
    assert.ok(!resourcesOf(without, 'AWS::SQS::Queue').some(([id]) => id.startsWith('ReceiverRelay')), 'no relay queue');
    assert.ok(!resourcesOf(without, 'AWS::CloudWatch::Alarm').some(([id]) => id.includes('Relay')), 'no relay alarm');
    assert.ok(!outputNames(without).includes('RelayDeadLetterQueueUrl'));
    assert.deepEqual(onlyResource(without, 'AWS::DynamoDB::Table')[1].Properties.StreamSpecification, { StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });
});

describe('the event archive', () => {
  test('keeps every event of this receiver on its bus for 30 days by default', () => {
    const template = synthReceiver();
    const [archiveId, archive] = onlyResource(template, 'AWS::Events::Archive');
    assert.deepEqual(archive.Properties.SourceArn, { 'Fn::GetAtt': [onlyResource(template, 'AWS::Events::EventBus')[0], 'Arn'] });
    assert.deepEqual(archive.Properties.EventPattern, { source: [EVENT_SOURCE] });
    assert.equal(EVENT_SOURCE, 'cloudflare-webhook');
    assert.equal(archive.Properties.RetentionDays, 30);
    template.hasOutput('EventArchiveArn', { Value: { 'Fn::GetAtt': [archiveId, 'Arn'] } });
  });

  test('keeps them archiveRetentionDays, and 0 means no archive and no output', () => {
    assert.equal(onlyResource(synthReceiver({ archiveRetentionDays: 7 }), 'AWS::Events::Archive')[1].Properties.RetentionDays, 7);
    const none = synthReceiver({ archiveRetentionDays: 0 });
    assert.equal(resourcesOf(none, 'AWS::Events::Archive').length, 0);
    assert.ok(!outputNames(none).includes('EventArchiveArn'));
  });
});

describe('the read-only Cloudflare token', () => {
  test('is a secret of two empty values until connect fills it in, named to the webhook and the sweep and nobody else', () => {
    const template = synthReceiver({ uploads: {} });
    const secret = readSecretOf(template)!;
    const resource = template.toJSON().Resources[secret];
    assert.deepEqual(JSON.parse(resource.Properties.SecretString), { accountId: '', apiToken: '' });
    assert.equal(resource.Properties.GenerateSecretString, undefined, 'nothing generated: the token is Cloudflare’s');
    const pointing = Object.entries(functionsOf(template))
      .filter(([, [, fn]]) => Object.values(envOf(fn)).some((value) => refOf(value) === secret))
      .map(([kind]) => kind);
    assert.deepEqual(pointing.sort(), ['sweep', 'webhook']);
    assert.deepEqual(envOf(functionOf(template, 'webhook')[1])[WebhookEnv.ReadSecretId], { Ref: secret });
    assert.deepEqual(envOf(functionOf(template, 'sweep')[1])[SweepEnv.ReadSecretId], { Ref: secret });
    template.hasOutput('CloudflareReadSecretArn', { Value: { Ref: secret } });
  });

  test('cloudflareReadSecret: false leaves no secret, no variable, no access, no alarm and no output, and the sweep checks no video', () => {
    const template = synthReceiver({ cloudflareReadSecret: false });
    assert.equal(readSecretOf(template), undefined);
    for (const [kind, [, fn]] of Object.entries(functionsOf(template))) {
      assert.ok(!(WebhookEnv.ReadSecretId in envOf(fn)), `${kind} has no read secret variable`);
    }
    const [, sweep] = functionOf(template, 'sweep');
    assert.equal(envOf(sweep)[SweepEnv.VideoPendingSeconds], '0');
    assert.equal(roleGrants(template, roleOf(sweep))['secretsmanager:GetSecretValue'], undefined);
    assert.ok(!resourcesOf(template, 'AWS::CloudWatch::Alarm').some(([id]) => id.includes('CloudflareTokenRefused')));
    assert.ok(!outputNames(template).includes('CloudflareReadSecretArn'));
  });

  test('a secret passed in is used as it is: none created, both functions pointed at it and granted it', () => {
    const app = new App({ context: NO_BUNDLING });
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cloudflare/read-AbCdEf';
    const existing = secretsmanager.Secret.fromSecretCompleteArn(new Stack(app, 'Shared'), 'Read', arn);
    const template = Template.fromStack(new CloudflareWebhookStack(app, 'Test', { receiver: { cloudflareReadSecret: existing } }));
    assert.equal(readSecretOf(template), undefined);
    for (const kind of ['webhook', 'sweep'] as const) {
      const [, fn] = functionOf(template, kind);
      assert.equal(envOf(fn)[WebhookEnv.ReadSecretId], arn, kind);
      assert.ok(roleGrants(template, roleOf(fn))['secretsmanager:GetSecretValue']!.includes(arn), kind);
    }
    template.hasOutput('CloudflareReadSecretArn', { Value: arn });
  });

  test('tells the webhook when to ask: unconfirmed by default, always, or never (and then it gets no token)', () => {
    const modeOf = (template: Template) => envOf(functionOf(template, 'webhook')[1])[WebhookEnv.ConfirmWithCloudflare];
    assert.equal(modeOf(synthReceiver()), ConfirmMode.Unconfirmed);
    assert.equal(modeOf(synthReceiver({ confirmWithCloudflare: 'always' })), ConfirmMode.Always);
    const never = synthReceiver({ confirmWithCloudflare: 'never' });
    assert.equal(modeOf(never), ConfirmMode.Never);
    assert.ok(!(WebhookEnv.ReadSecretId in envOf(functionOf(never, 'webhook')[1])), 'the webhook never asks, so it is not given the token');
    assert.deepEqual(envOf(functionOf(never, 'sweep')[1])[SweepEnv.ReadSecretId], { Ref: readSecretOf(never) }, 'the sweep still recovers');
  });
});

describe('the sweep, on by default for a table created here', () => {
  test('runs every 5 minutes against byExpiry, asking Cloudflare with the read token, reconciling videos pending a day', () => {
    const template = synthReceiver();
    const [sweepId, sweep] = functionOf(template, 'sweep');
    assert.equal(refOf(onlyResource(template, 'AWS::Events::Rule')[1].Properties.Targets[0].Arn), sweepId);
    assert.equal(onlyResource(template, 'AWS::Events::Rule')[1].Properties.ScheduleExpression, 'rate(5 minutes)');
    assert.deepEqual(envOf(sweep), {
      [SweepEnv.TableName]: { Ref: tableOf(template) },
      [SweepEnv.EventBusName]: { Ref: onlyResource(template, 'AWS::Events::EventBus')[0] },
      [SweepEnv.GraceSeconds]: '300',
      [SweepEnv.MaxItemsPerRun]: '1000',
      [SweepEnv.PublishLeaseMs]: '3000',
      [SweepEnv.VideoPendingSeconds]: '86400',
      [SweepEnv.StatusIndex]: 'true',
      [SweepEnv.ReadSecretId]: { Ref: readSecretOf(template) },
      POWERTOOLS_SERVICE_NAME: 'cloudflare-expiry-sweep',
      [METRICS_NAMESPACE_ENV]: DEFAULT_METRICS_NAMESPACE,
    });
    const indexes = onlyResource(template, 'AWS::DynamoDB::Table')[1].Properties.GlobalSecondaryIndexes.map((i: { IndexName: string }) => i.IndexName);
    assert.deepEqual(indexes, [TableDesign.byStatus.indexName, TableDesign.byExpiry.indexName]);
  });

  test('checks videos only with byStatus, a read token and a pending age: otherwise the age is 0 and byStatus is not queried', () => {
    const cases: [string, CloudflareWebhookReceiverProps, string, string[]][] = [
      ['the defaults', {}, '86400', ['byExpiry', 'byStatus']],
      ['a pending age of 2 hours', { expirySweep: { videoPendingAge: Duration.hours(2) } }, '7200', ['byExpiry', 'byStatus']],
      ['a pending age of 0', { expirySweep: { videoPendingAge: Duration.seconds(0) } }, '0', ['byExpiry']],
      ['no read token', { cloudflareReadSecret: false }, '0', ['byExpiry']],
      ['no byStatus index', { statusIndex: false }, '0', ['byExpiry']],
    ];
    for (const [name, props, seconds, queried] of cases) {
      const template = synthReceiver(props);
      const [, sweep] = functionOf(template, 'sweep');
      assert.equal(envOf(sweep)[SweepEnv.VideoPendingSeconds], seconds, name);
      const table = tableOf(template);
      assert.deepEqual(roleGrants(template, roleOf(sweep))['dynamodb:Query'], queried.map((index) => `${table}/index/${index}`), name);
    }
  });

  test('publishes its metrics in the receiver’s namespace', () => {
    assert.equal(envOf(functionOf(synthReceiver({ metricsNamespace: 'Shop/Webhooks' }), 'sweep')[1])[METRICS_NAMESPACE_ENV], 'Shop/Webhooks');
  });
});

describe('their settings from CDK context', () => {
  test('reach the construct as strings: confirmation mode, archive days, video hours, relay', () => {
    const template = synthContext({ confirmWithCloudflare: 'always', archiveRetentionDays: '7', videoPendingHours: '2', relay: 'false' });
    assert.equal(envOf(functionOf(template, 'webhook')[1])[WebhookEnv.ConfirmWithCloudflare], 'always');
    assert.equal(onlyResource(template, 'AWS::Events::Archive')[1].Properties.RetentionDays, 7);
    assert.equal(envOf(functionOf(template, 'sweep')[1])[SweepEnv.VideoPendingSeconds], '7200');
    assert.equal(functionsOf(template).relay, undefined);
  });

  test('cloudflareReadToken=false leaves the token out, with confirmation never or unset', () => {
    const contexts: Record<string, string>[] = [{ cloudflareReadToken: 'false' }, { cloudflareReadToken: 'false', confirmWithCloudflare: 'never' }];
    for (const context of contexts) {
      const template = synthContext(context);
      assert.equal(readSecretOf(template), undefined, JSON.stringify(context));
      assert.ok(!(WebhookEnv.ReadSecretId in envOf(functionOf(template, 'webhook')[1])));
    }
  });

  test('archiveRetentionDays=0 and expirySweepMinutes=0 turn the archive and the sweep off', () => {
    const template = synthContext({ archiveRetentionDays: '0', expirySweepMinutes: '0' });
    assert.equal(resourcesOf(template, 'AWS::Events::Archive').length, 0);
    assert.equal(functionsOf(template).sweep, undefined);
    assert.equal(resourcesOf(template, 'AWS::Events::Rule').length, 0);
  });

  test('switches read true and false in any case: uploads=TRUE adds the route, relay=FALSE removes the relay', () => {
    const template = synthContext({ uploads: 'TRUE', relay: 'FALSE' });
    assert.ok(functionsOf(template).uploads, 'the upload function');
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /uploads' });
    assert.equal(functionsOf(template).relay, undefined);
    assert.equal(functionsOf(synthContext({ uploads: 'False' })).uploads, undefined);
  });

  test('refuse what the construct could not honour, naming the key', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ confirmWithCloudflare: 'sometimes' }, /confirmWithCloudflare must be one of unconfirmed, always, never, got 'sometimes'/],
      [{ cloudflareReadToken: 'false', confirmWithCloudflare: 'always' }, /confirmWithCloudflare=always needs the read token; cloudflareReadToken=false leaves none/],
      [{ cloudflareReadToken: 'false', confirmWithCloudflare: 'unconfirmed' }, /confirmWithCloudflare=unconfirmed needs the read token/],
      [{ cloudflareReadToken: 'no' }, /cloudflareReadToken must be true or false/],
      [{ archiveRetentionDays: '-1' }, /archiveRetentionDays/],
      [{ archiveRetentionDays: 'a month' }, /Context archiveRetentionDays must be a number/],
      [{ relay: 'maybe' }, /Context relay must be true or false, got 'maybe'/],
      [{ videoPendingHours: '-1' }, /Context videoPendingHours must be 0 or more/],
      [{ expirySweepMinutes: '-5' }, /Context expirySweepMinutes must be 0 or more/],
    ];
    for (const [context, message] of cases) assert.throws(() => synthContext(context), message, JSON.stringify(context));
  });
});

describe('resource names in grants', () => {
  test('resourceName reads refs, attributes and joins the way the tests above compare them', () => {
    assert.equal(resourceName({ Ref: 'Secret' }), 'Secret');
    assert.equal(resourceName({ 'Fn::GetAtt': ['Table', 'Arn'] }), 'Table');
    assert.equal(resourceName({ 'Fn::GetAtt': ['Table', 'StreamArn'] }), 'Table.StreamArn');
    assert.equal(resourceName({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Table', 'Arn'] }, '/index/byExpiry']] }), 'Table/index/byExpiry');
    assert.equal(resourceName('*'), '*');
  });
});
