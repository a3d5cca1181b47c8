import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ConfirmMode, Defaults, SecretKey, TableDesign, WebhookEnv } from '../../lambda/core/contract.js';
import { DEFAULT_METRICS_NAMESPACE, METRICS_NAMESPACE_ENV } from '../../lambda/core/metrics.js';
import { createApp } from '../../lib/app.js';
import { webhookBundling } from '../../lib/bundling.js';
import type { CloudflareWebhookReceiverProps } from '../../lib/webhook-receiver.js';
import { CloudflareWebhookStack } from '../../lib/webhook-stack.js';
import { type FunctionBundle, locateFunctionBundle } from '../../scripts/build.js';
import { asArray, functionOf, functionsOf, NO_BUNDLING, onlyResource, refOf, resourcesOf, roleGrants, roleOf, synthReceiver } from '../support/template.js';

/** What the webhook function's role may touch: its table, bus, secrets and log group. */
function ownResourceIds(template: Template) {
  const [, fn] = functionOf(template, 'webhook');
  const secrets = resourcesOf(template, 'AWS::SecretsManager::Secret');
  return {
    table: onlyResource(template, 'AWS::DynamoDB::Table')[0],
    bus: onlyResource(template, 'AWS::Events::EventBus')[0],
    secret: secrets.find(([, s]) => s.Properties.GenerateSecretString)![0],
    readSecret: secrets.find(([id]) => id.startsWith('ReceiverCloudflareReadSecret'))?.[0],
    functionLogs: refOf(fn.Properties.LoggingConfig.LogGroup)!,
  };
}

/** Everything the webhook function's role allows: action → resources (see roleGrants). */
function webhookGrants(template: Template): Record<string, string[]> {
  return roleGrants(template, roleOf(functionOf(template, 'webhook')[1]));
}

function expectedPermissions(template: Template, { putItem }: { putItem: boolean }): Record<string, string[]> {
  const ids = ownResourceIds(template);
  assert.ok(ids.readSecret, 'the read token secret is there');
  return {
    'dynamodb:UpdateItem': [ids.table],
    'dynamodb:GetItem': [ids.table],
    ...(putItem ? { 'dynamodb:PutItem': [ids.table] } : {}),
    'events:PutEvents': [ids.bus],
    // Its own secret, and the read token it confirms deliveries with.
    'secretsmanager:GetSecretValue': [ids.secret, ids.readSecret].sort(),
    'logs:CreateLogStream': [ids.functionLogs],
    'logs:PutLogEvents': [ids.functionLogs],
  };
}

describe('the default stack, as synthesized for deployment', () => {
  let outdir: string;
  let template: Template;
  let bundle: FunctionBundle;

  before(() => {
    outdir = mkdtempSync(join(tmpdir(), 'webhook-stack-test-'));
    const { app, stack } = createApp({ outdir });
    const assembly = app.synth();
    template = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
    bundle = locateFunctionBundle(assembly, stack, stack.receiver.webhookFunction);
  });

  after(() => rmSync(outdir, { recursive: true, force: true }));

  test('runs the webhook, relay and sweep functions on Node.js 24 on arm64 with the bundled ESM handler', () => {
    const functions = functionsOf(template);
    assert.deepEqual(Object.keys(functions).sort(), ['relay', 'sweep', 'webhook']);
    for (const [, fn] of Object.values(functions)) {
      assert.deepEqual([fn.Properties.Runtime, fn.Properties.Architectures, fn.Properties.Handler], ['nodejs24.x', ['arm64'], 'index.handler']);
    }
    const [, webhook] = functions.webhook!;
    assert.deepEqual([webhook.Properties.MemorySize, webhook.Properties.Timeout], [256, 10]);
    assert.equal(webhook.Properties.ReservedConcurrentExecutions, undefined);
    assert.equal(webhookBundling.target, 'node24', 'esbuild targets the runtime');
  });

  test('ships a minified ESM bundle with the SDK inside and the require shim on top', () => {
    assert.ok(bundle.entry.endsWith('/index.mjs'));
    assert.ok(existsSync(bundle.entry));
    assert.ok(existsSync(`${bundle.entry}.map`), 'source map shipped next to the bundle');
    const code = readFileSync(bundle.entry, 'utf8');
    assert.equal(bundle.bytes, Buffer.byteLength(code));
    assert.ok(code.startsWith(webhookBundling.banner!), 'createRequire banner comes first');
    assert.match(code, /export\s*\{[^}]*\bas handler\b|export\s*\{[^}]*\bhandler\b/, 'ESM export of handler');
    assert.doesNotMatch(code, /\bmodule\.exports\s*=|\bexports\.handler\s*=/, 'not CommonJS');
    assert.doesNotMatch(code, /from\s*["']@aws-sdk\//, 'SDK is bundled, not imported at runtime');
    // esbuild keeps newlines inside template literals, so count characters per line instead.
    assert.ok(code.length / code.split('\n').length > 500, 'minified');
  });

  test('passes the table, bus, secrets and settings to the function by the contract names', () => {
    const ids = ownResourceIds(template);
    const [, fn] = functionOf(template, 'webhook');
    assert.deepEqual(fn.Properties.Environment.Variables, {
      [WebhookEnv.TableName]: { Ref: ids.table },
      [WebhookEnv.EventBusName]: { Ref: ids.bus },
      [WebhookEnv.SecretId]: { Ref: ids.secret },
      [WebhookEnv.ImagesPath]: Defaults.imagesPath,
      [WebhookEnv.StreamPath]: Defaults.streamPath,
      [WebhookEnv.ToleranceSeconds]: String(Defaults.toleranceSeconds),
      [WebhookEnv.MaxBodyBytes]: String(Defaults.maxBodyBytes),
      [WebhookEnv.UnknownIdPolicy]: 'reject',
      [WebhookEnv.ConfirmWithCloudflare]: ConfirmMode.Unconfirmed,
      [WebhookEnv.ReadSecretId]: { Ref: ids.readSecret },
      POWERTOOLS_SERVICE_NAME: 'cloudflare-webhook',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      [METRICS_NAMESPACE_ENV]: DEFAULT_METRICS_NAMESPACE,
    });
  });

  test('lets the function touch only its own table, bus, secrets and log group', () => {
    assert.deepEqual(webhookGrants(template), expectedPermissions(template, { putItem: false }));
  });

  test('keeps the table on stack deletion, with deletion protection, PITR, on-demand billing, encryption and a stream of new and old images', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        // Retain covers the stack; this covers a DeleteTable by hand or by another tool (issue 15).
        DeletionProtectionEnabled: true,
        KeySchema: [{ AttributeName: TableDesign.partitionKey, KeyType: 'HASH' }],
        AttributeDefinitions: Match.arrayWith([{ AttributeName: TableDesign.partitionKey, AttributeType: 'S' }]),
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        // The stream relay's source (test/infra/truth.test.ts).
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      },
    });
  });

  test('indexes items by status and last change (the CLI, the sweep’s videos) and by window end (the sweep), projecting only what each reader needs', () => {
    const { byStatus, byExpiry } = TableDesign;
    const [, table] = onlyResource(template, 'AWS::DynamoDB::Table');
    const index = (design: typeof byStatus | typeof byExpiry, projected: string[]) => ({
      IndexName: design.indexName,
      KeySchema: [
        { AttributeName: design.partitionKey, KeyType: 'HASH' },
        { AttributeName: design.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: projected },
    });
    assert.deepEqual(table.Properties.GlobalSecondaryIndexes, [index(byStatus, ['kind', 'lastError']), index(byExpiry, ['unpublished'])]);
    assert.deepEqual(
      [...table.Properties.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
      [...new Set([TableDesign.partitionKey, byStatus.partitionKey, byStatus.sortKey, byExpiry.sortKey])].sort().map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
    );
    // The function's role (asserted exactly above) names the table ARN only, so it reaches no index.
    const actions = Object.keys(webhookGrants(template));
    assert.ok(!actions.includes('dynamodb:Query') && !actions.includes('dynamodb:Scan'), 'the function cannot Query or Scan');
  });

  test('generates the Images secret and leaves Stream and toolkit as empty lists', () => {
    const secret = template.toJSON().Resources[ownResourceIds(template).secret];
    const generate = secret.Properties.GenerateSecretString;
    assert.equal(generate.GenerateStringKey, SecretKey.Images);
    assert.deepEqual(JSON.parse(generate.SecretStringTemplate), { [SecretKey.Stream]: [], [SecretKey.Toolkit]: [] });
    assert.equal(generate.ExcludePunctuation, true);
    assert.equal(generate.PasswordLength, 48);
  });

  test('routes only POST on the two webhook paths to the function', () => {
    const [fnId] = functionOf(template, 'webhook');
    const routeKeys = resourcesOf(template, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    assert.deepEqual(routeKeys.sort(), [`POST ${Defaults.imagesPath}`, `POST ${Defaults.streamPath}`]);
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [fnId, 'Arn'] },
      PayloadFormatVersion: '2.0',
    });
    // API Gateway may invoke the function only through those routes.
    const fromApi = resourcesOf(template, 'AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com');
    const sourceArns = fromApi.map(([, p]) => {
      assert.equal(refOf(p.Properties.FunctionName), fnId);
      const parts = p.Properties.SourceArn['Fn::Join'][1] as unknown[];
      return parts.at(-1);
    });
    assert.deepEqual(sourceArns.sort(), [`/*/*${Defaults.imagesPath}`, `/*/*${Defaults.streamPath}`]);
  });

  test('throttles the $default stage at 50 rps, burst 100, and writes JSON access logs', () => {
    const [, stage] = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
    assert.equal(stage.Properties.StageName, '$default');
    assert.equal(stage.Properties.AutoDeploy, true);
    assert.deepEqual(stage.Properties.DefaultRouteSettings, { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });

    const destination = refOf(stage.Properties.AccessLogSettings.DestinationArn);
    assert.ok(destination && template.toJSON().Resources[destination].Type === 'AWS::Logs::LogGroup');
    assert.notEqual(destination, ownResourceIds(template).functionLogs, 'access logs have their own group');
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    for (const key of ['requestId', 'ip', 'routeKey', 'status', 'responseLength', 'integrationLatency', 'integrationError']) {
      assert.match(format[key], /^\$context\./, `access log has ${key}`);
    }
    assert.equal(format.requestId, '$context.requestId');
  });

  test('keeps every function’s logs and the access logs for a month, each function in a group of its own', () => {
    const groups = resourcesOf(template, 'AWS::Logs::LogGroup');
    assert.equal(groups.length, 4, 'webhook, relay, sweep and access logs');
    for (const [, group] of groups) assert.equal(group.Properties.RetentionInDays, 30);
    const functionGroups = Object.values(functionsOf(template)).map(([, fn]) => refOf(fn.Properties.LoggingConfig.LogGroup));
    assert.equal(new Set(functionGroups).size, 3);
  });

  test('exports the nine outputs tooling looks up by name', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    assert.deepEqual(Object.keys(outputs).sort(), [
      'CloudflareReadSecretArn',
      'EventArchiveArn',
      'EventBusArn',
      'EventBusName',
      'ImagesWebhookUrl',
      'RelayDeadLetterQueueUrl',
      'SecretArn',
      'StreamWebhookUrl',
      'TableName',
    ]);
    const ids = ownResourceIds(template);
    const [apiId] = onlyResource(template, 'AWS::ApiGatewayV2::Api');
    template.hasOutput('ImagesWebhookUrl', {
      Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, Defaults.imagesPath]] },
    });
    template.hasOutput('StreamWebhookUrl', {
      Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, Defaults.streamPath]] },
    });
    template.hasOutput('TableName', { Value: { Ref: ids.table } });
    template.hasOutput('EventBusName', { Value: { Ref: ids.bus } });
    template.hasOutput('EventBusArn', { Value: { 'Fn::GetAtt': [ids.bus, 'Arn'] } });
    template.hasOutput('SecretArn', { Value: { Ref: ids.secret } });
    template.hasOutput('CloudflareReadSecretArn', { Value: { Ref: ids.readSecret } });
    template.hasOutput('EventArchiveArn', { Value: { 'Fn::GetAtt': [onlyResource(template, 'AWS::Events::Archive')[0], 'Arn'] } });
    const [, mapping] = onlyResource(template, 'AWS::Lambda::EventSourceMapping');
    template.hasOutput('RelayDeadLetterQueueUrl', { Value: { Ref: refOf(mapping.Properties.DestinationConfig.OnFailure.Destination) } });
  });
});

describe('settings from CDK context', () => {
  let outdir: string;
  let template: Template;

  before(() => {
    outdir = mkdtempSync(join(tmpdir(), 'webhook-context-test-'));
    const { app, stack } = createApp({
      outdir,
      context: {
        ...NO_BUNDLING,
        // Strings, as `cdk synth -c key=value` passes them.
        stackName: 'Custom',
        imagesPath: '/cf/images',
        streamPath: '/cf/stream',
        throttleRateLimit: '7',
        throttleBurstLimit: '14',
        maxBodyBytes: '1024',
        signatureToleranceSeconds: '60',
        unknownIdPolicy: 'record',
        memorySize: '512',
        logRetentionDays: '7',
        logLevel: 'debug',
        reservedConcurrentExecutions: '5',
        statusIndex: 'false',
        confirmWithCloudflare: 'always',
      },
    });
    assert.equal(stack.stackName, 'Custom');
    template = Template.fromJSON(app.synth().getStackArtifact(stack.artifactId).template);
  });

  after(() => rmSync(outdir, { recursive: true, force: true }));

  test('skips bundling when the stack is excluded from bundling', () => {
    // A bundled or copied asset would appear as an asset.* directory in the assembly.
    assert.deepEqual(readdirSync(outdir).filter((name) => name.startsWith('asset.')), []);
    functionOf(template, 'webhook');
  });

  test("grants PutItem only when unknown ids are recorded", () => {
    assert.deepEqual(webhookGrants(template), expectedPermissions(template, { putItem: true }));
  });

  test('reaches the function, routes, stage and log groups', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 512,
      ReservedConcurrentExecutions: 5,
      Environment: {
        Variables: Match.objectLike({
          [WebhookEnv.ImagesPath]: '/cf/images',
          [WebhookEnv.StreamPath]: '/cf/stream',
          [WebhookEnv.MaxBodyBytes]: '1024',
          [WebhookEnv.ToleranceSeconds]: '60',
          [WebhookEnv.UnknownIdPolicy]: 'record',
          [WebhookEnv.ConfirmWithCloudflare]: 'always',
          POWERTOOLS_LOG_LEVEL: 'DEBUG',
        }),
      },
    });
    const routeKeys = resourcesOf(template, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    assert.deepEqual(routeKeys.sort(), ['POST /cf/images', 'POST /cf/stream']);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 14 },
    });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    template.hasOutput('ImagesWebhookUrl', {
      Value: { 'Fn::Join': ['', [Match.anyValue(), '/cf/images']] },
    });
  });

  test('statusIndex=false leaves the byStatus index out, so the sweep neither finds videos nor may Query it', () => {
    const [, table] = onlyResource(template, 'AWS::DynamoDB::Table');
    assert.deepEqual(table.Properties.GlobalSecondaryIndexes.map((i: { IndexName: string }) => i.IndexName), [TableDesign.byExpiry.indexName]);
    const [, sweep] = functionOf(template, 'sweep');
    assert.deepEqual([sweep.Properties.Environment.Variables.STATUS_INDEX, sweep.Properties.Environment.Variables.VIDEO_PENDING_SECONDS], ['false', '0']);
    const query = roleGrants(template, roleOf(sweep))['dynamodb:Query'];
    assert.deepEqual(query, [`${ownResourceIds(template).table}/index/${TableDesign.byExpiry.indexName}`]);
  });

  test('rejects a context number that is not a number', () => {
    assert.throws(() => createApp({ context: { ...NO_BUNDLING, throttleRateLimit: 'fast' } }), /throttleRateLimit/);
  });
});

describe('the receiver with the default "reject" policy', () => {
  test('does not grant PutItem', () => {
    const template = synthReceiver({ unknownIdPolicy: 'reject' });
    assert.deepEqual(webhookGrants(template), expectedPermissions(template, { putItem: false }));
  });
});

describe('invalid receiver props', () => {
  const cases: [string, CloudflareWebhookReceiverProps, RegExp][] = [
    ['an images path without a leading slash', { imagesPath: 'webhooks/images' }, /imagesPath/],
    ['a stream path with a path parameter', { streamPath: '/webhooks/{proxy+}' }, /streamPath/],
    ['identical paths', { imagesPath: '/hooks', streamPath: '/hooks' }, /must differ/],
    ['a zero signature tolerance', { signatureToleranceSeconds: 0 }, /signatureToleranceSeconds/],
    ['a negative signature tolerance', { signatureToleranceSeconds: -5 }, /signatureToleranceSeconds/],
    ['a zero body limit', { maxBodyBytes: 0 }, /maxBodyBytes/],
    ['a body limit above Lambda’s 6 MB payload', { maxBodyBytes: 6 * 1024 * 1024 + 1 }, /maxBodyBytes/],
    ['a negative rate limit', { throttle: { rateLimit: -1, burstLimit: 10 } }, /rateLimit/],
    ['a negative burst limit', { throttle: { rateLimit: 10, burstLimit: -1 } }, /burstLimit/],
    ['an unknown id policy', { unknownIdPolicy: 'ignore' as never }, /unknownIdPolicy/],
    ['an unknown log level', { logLevel: 'VERBOSE' as never }, /logLevel/],
    ['too little memory', { memorySize: 64 }, /memorySize/],
    ['a negative concurrency reservation', { reservedConcurrentExecutions: -1 }, /reservedConcurrentExecutions/],
    ['an unknown confirmation mode', { confirmWithCloudflare: 'sometimes' as never }, /confirmWithCloudflare must be one of unconfirmed, always, never, got 'sometimes'/],
    ['a negative archive retention', { archiveRetentionDays: -1 }, /archiveRetentionDays/],
    ['a fractional archive retention', { archiveRetentionDays: 1.5 }, /archiveRetentionDays/],
  ];
  for (const [name, props, message] of cases) {
    test(`rejects ${name}`, () => {
      assert.throws(() => synthReceiver(props), message);
    });
  }

  test('accepts the largest body Lambda can receive', () => {
    assert.doesNotThrow(() => synthReceiver({ maxBodyBytes: 6 * 1024 * 1024 }));
  });
});

describe('an existing table and bus passed in', () => {
  /** The consumer's table and bus live in a stack of their own; the receiver's stack is given them. */
  function synthWith(receiver: (shared: { table: dynamodb.Table; eventBus: events.EventBus }) => CloudflareWebhookReceiverProps) {
    const app = new App({ context: NO_BUNDLING });
    const holder = new Stack(app, 'Shared');
    const table = new dynamodb.Table(holder, 'Images', { partitionKey: { name: TableDesign.partitionKey, type: dynamodb.AttributeType.STRING } });
    const eventBus = new events.EventBus(holder, 'Bus');
    const stack = new CloudflareWebhookStack(app, 'Test', { receiver: receiver({ table, eventBus }) });
    return { template: Template.fromStack(stack), stack, table, eventBus };
  }
  const statementsOf = (template: Template) =>
    resourcesOf(template, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);

  test('creates neither, and grants the function exactly the item calls on the given table and PutEvents on the given bus', () => {
    const { template, stack, table, eventBus } = synthWith((shared) => shared);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::Events::EventBus', 0);
    assert.equal(stack.receiver.table, table);
    assert.equal(stack.receiver.eventBus, eventBus);
    // Neither a relay (the table has no stream) nor a sweep (only the caller knows its indexes).
    assert.deepEqual(Object.keys(functionsOf(template)), ['webhook']);
    // Cross-stack references: the given resources reach the function as imports of the other stack's outputs.
    const fn = functionOf(template, 'webhook')[1];
    assert.ok('Fn::ImportValue' in fn.Properties.Environment.Variables[WebhookEnv.TableName]);
    assert.ok('Fn::ImportValue' in fn.Properties.Environment.Variables[WebhookEnv.EventBusName]);
    const actionsOn = (pattern: RegExp) =>
      statementsOf(template).filter((s) => JSON.stringify(s.Resource).match(pattern)).flatMap((s) => asArray<string>(s.Action)).sort();
    assert.deepEqual(actionsOn(/Images/), ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(actionsOn(/Bus/), ['events:PutEvents']);
    // The archive keeps the given bus's events of this receiver.
    const [, archive] = onlyResource(template, 'AWS::Events::Archive');
    assert.ok('Fn::ImportValue' in archive.Properties.SourceArn);
    assert.deepEqual(archive.Properties.EventPattern, { source: ['cloudflare-webhook'] });
  });

  test('relays from a given table with a stream, and refuses the relay on one without', () => {
    const app = new App({ context: NO_BUNDLING });
    const holder = new Stack(app, 'Shared');
    const streamed = new dynamodb.Table(holder, 'Streamed', {
      partitionKey: { name: TableDesign.partitionKey, type: dynamodb.AttributeType.STRING },
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    });
    const withRelay = new CloudflareWebhookStack(app, 'WithRelay', { receiver: { table: streamed } });
    assert.ok(withRelay.receiver.relay, 'on by default for a table with a stream');
    const [, mapping] = onlyResource(Template.fromStack(withRelay), 'AWS::Lambda::EventSourceMapping');
    assert.ok('Fn::ImportValue' in mapping.Properties.EventSourceArn, 'the given table’s stream, from its stack');
    assert.equal(new CloudflareWebhookStack(app, 'NoRelay', { receiver: { table: streamed, relay: false } }).receiver.relay, undefined);
    assert.throws(() => synthWith(({ table }) => ({ table, relay: true })), /relay needs the table’s stream \(NEW_AND_OLD_IMAGES\)/);
  });

  test('leaves the expiry sweep off with an existing table unless asked for, since only the caller knows it has byExpiry', () => {
    const implicit = synthWith(({ table }) => ({ table, uploads: {} }));
    assert.equal(implicit.stack.receiver.expirySweep, undefined);
    assert.notEqual(implicit.stack.receiver.uploads, undefined);
    const explicit = synthWith(({ table }) => ({ table, uploads: {}, expirySweep: {} }));
    assert.notEqual(explicit.stack.receiver.expirySweep, undefined);
    const query = statementsOf(explicit.template).find((s) => s.Action === 'dynamodb:Query');
    assert.match(JSON.stringify(query.Resource), new RegExp(`/index/${TableDesign.byExpiry.indexName}`));
  });

  test('statusIndex: false leaves byStatus out of a table created here, and is refused with an existing table', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new CloudflareWebhookStack(app, 'Test', { receiver: { statusIndex: false, uploads: {} } });
    const [, table] = onlyResource(Template.fromStack(stack), 'AWS::DynamoDB::Table');
    const indexNames = (table.Properties.GlobalSecondaryIndexes as { IndexName: string }[]).map((i) => i.IndexName);
    assert.deepEqual(indexNames, [TableDesign.byExpiry.indexName]);
    assert.throws(() => synthWith(({ table: existing }) => ({ table: existing, statusIndex: false })), /statusIndex applies to a table the construct creates/);
  });

  test('grantRead gives a consumer read access to the table and its indexes', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new CloudflareWebhookStack(app, 'Test');
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    stack.receiver.grantRead(reader);
    const template = Template.fromStack(stack);
    const tableId = onlyResource(template, 'AWS::DynamoDB::Table')[0];
    const [, policy] = resourcesOf(template, 'AWS::IAM::Policy').find(([, p]) =>
      asArray<any>(p.Properties.Roles).some((r) => r.Ref === stack.getLogicalId(reader.node.defaultChild as iam.CfnRole)),
    )!;
    const [statement] = policy.Properties.PolicyDocument.Statement as any[];
    assert.ok(asArray<string>(statement.Action).includes('dynamodb:Query'));
    assert.ok(asArray<string>(statement.Action).includes('dynamodb:GetItem'));
    assert.ok(!asArray<string>(statement.Action).some((a) => /Put|Update|Delete/.test(a)), 'read only');
    assert.match(JSON.stringify(statement.Resource), new RegExp(`${tableId}.*/index/\\*`));
  });
});
