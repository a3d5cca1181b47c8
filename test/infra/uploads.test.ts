import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ApiSecretKey, SweepEnv, TableDesign, UploadsEnv } from '../../lambda/core/contract.js';
import { createApp } from '../../lib/app.js';
import type { CloudflareWebhookReceiverProps } from '../../lib/webhook-receiver.js';
import { CloudflareWebhookStack } from '../../lib/webhook-stack.js';
import type { BuiltAssets } from '../../scripts/build.js';
import { repoRoot } from '../../scripts/root.js';
import {
  asArray,
  functionOf,
  functionsOf,
  NO_BUNDLING,
  onlyResource,
  refOf,
  resourcesOf,
  roleGrants,
  roleOf,
  type TemplateResource as Resource,
  type TemplateResources as Resources,
} from '../support/template.js';

function synth(receiver?: CloudflareWebhookReceiverProps): { template: Template; stack: CloudflareWebhookStack } {
  const app = new App({ context: NO_BUNDLING });
  const stack = new CloudflareWebhookStack(app, 'Test', { receiver });
  return { template: Template.fromStack(stack), stack };
}

const uploadsFunction = (t: Template) => functionOf(t, 'uploads');
const sweepFunction = (t: Template) => functionOf(t, 'sweep');
const webhookFunction = (t: Template) => functionOf(t, 'webhook');
/** action → resources (logical ids, `Table/index/…`, or literal ARNs) the function's role allows. */
const grants = (template: Template, fn: Resource) => roleGrants(template, roleOf(fn));

const ids = (template: Template) => {
  const secrets = resourcesOf(template, 'AWS::SecretsManager::Secret');
  return {
    table: onlyResource(template, 'AWS::DynamoDB::Table')[0],
    bus: onlyResource(template, 'AWS::Events::EventBus')[0],
    webhookSecret: secrets.find(([, s]) => s.Properties.GenerateSecretString)![0],
    readSecret: secrets.find(([id]) => id.startsWith('ReceiverCloudflareReadSecret'))?.[0],
    apiSecret: secrets.find(([id]) => id.startsWith('ReceiverUploadsApiSecret'))?.[0],
  };
};
const logGroupOf = (fn: Resource) => refOf(fn.Properties.LoggingConfig.LogGroup)!;

describe('the upload route and the expiry sweep in the template', () => {
  it('has no upload route by default, and the sweep (with byExpiry) because the table is created here', () => {
    const { template } = synth();
    assert.deepEqual(Object.keys(functionsOf(template)).sort(), ['relay', 'sweep', 'webhook']);
    assert.equal(ids(template).apiSecret, undefined, 'no API token secret');
    assert.equal(refOf(onlyResource(template, 'AWS::Events::Rule')[1].Properties.Targets[0].Arn), sweepFunction(template)[0], 'the one rule is the sweep’s');
    const [, table] = onlyResource(template, 'AWS::DynamoDB::Table');
    assert.deepEqual(table.Properties.GlobalSecondaryIndexes.map((i: any) => i.IndexName), [TableDesign.byStatus.indexName, TableDesign.byExpiry.indexName]);
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /uploads' }, 0);
    for (const output of ['UploadsUrl', 'CloudflareApiSecretArn']) assert.equal(Object.keys(template.findOutputs(output)).length, 0, output);
  });

  describe('with uploads: {} (IAM, the defaults)', () => {
    const { template } = synth({ uploads: {} });
    const own = ids(template);

    it('adds POST /uploads behind IAM authorization on an HTTP API of its own, so browsers never share the webhooks\' limits (issue 15)', () => {
      const apis = resourcesOf(template, 'AWS::ApiGatewayV2::Api');
      assert.equal(apis.length, 2, 'the webhooks\' API and the upload route\'s');
      const routesOf = (apiId: string) =>
        resourcesOf(template, 'AWS::ApiGatewayV2::Route')
          .filter(([, r]) => r.Properties.ApiId.Ref === apiId)
          .map(([, r]) => `${r.Properties.RouteKey} ${r.Properties.AuthorizationType}`)
          .sort();
      const [uploadsApi] = apis.find(([, api]) => api.Properties.Name.endsWith('-cloudflare-uploads'))!;
      const [webhooksApi] = apis.find(([, api]) => api.Properties.Name.endsWith('-cloudflare-webhooks'))!;
      assert.deepEqual(routesOf(uploadsApi), ['POST /uploads AWS_IAM']);
      assert.deepEqual(routesOf(webhooksApi), ['POST /webhooks/images NONE', 'POST /webhooks/stream NONE']);
      // Its own stage: its own throttle (Cloudflare's API rate: 1,200 per 5 minutes), its own access log.
      const stageOf = (apiId: string) => resourcesOf(template, 'AWS::ApiGatewayV2::Stage').find(([, st]) => st.Properties.ApiId.Ref === apiId)![1];
      assert.deepEqual(stageOf(uploadsApi).Properties.DefaultRouteSettings, { ThrottlingRateLimit: 4, ThrottlingBurstLimit: 20 });
      assert.deepEqual(stageOf(webhooksApi).Properties.DefaultRouteSettings, { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
      const logOf = (apiId: string) => stageOf(apiId).Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
      assert.notEqual(logOf(uploadsApi), logOf(webhooksApi));
      template.hasOutput('UploadsUrl', { Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [uploadsApi, 'ApiEndpoint'] }, '/uploads']] } });
    });

    it('runs its own function, configured by the contract names, never pointed at another Cloudflare', () => {
      const [, fn] = uploadsFunction(template);
      assert.deepEqual(fn.Properties.Environment.Variables, {
        [UploadsEnv.TableName]: { Ref: own.table },
        [UploadsEnv.ApiSecretId]: { Ref: own.apiSecret },
        [UploadsEnv.DefaultExpirySeconds]: '1800',
        POWERTOOLS_SERVICE_NAME: 'cloudflare-uploads',
      });
      assert.deepEqual([fn.Properties.Runtime, fn.Properties.Architectures, fn.Properties.Timeout], ['nodejs24.x', ['arm64'], 15]);
    });

    it('keeps the Cloudflare API token in a second secret, empty until filled in', () => {
      const [, secret] = (template.toJSON().Resources as Resources)[own.apiSecret!] ? [own.apiSecret, (template.toJSON().Resources as Resources)[own.apiSecret!]!] : [undefined, undefined];
      assert.ok(secret);
      assert.deepEqual(JSON.parse(secret.Properties.SecretString), { [ApiSecretKey.AccountId]: '', [ApiSecretKey.ApiToken]: '' });
    });

    it('lets only the upload function read the API token, and it can do nothing else but create items and log', () => {
      const [, uploads] = uploadsFunction(template);
      assert.deepEqual(grants(template, uploads), {
        'dynamodb:PutItem': [own.table],
        'secretsmanager:GetSecretValue': [own.apiSecret!],
        'logs:CreateLogStream': [logGroupOf(uploads)],
        'logs:PutLogEvents': [logGroupOf(uploads)],
      });
      for (const kind of ['webhook', 'sweep', 'relay'] as const) {
        const reach = Object.values(grants(template, functionOf(template, kind)[1])).flat();
        assert.ok(!reach.includes(own.apiSecret!), `the ${kind} function can read the API token secret`);
      }
      // The webhook reads its own secret and the read-only token, never the write token.
      assert.deepEqual(grants(template, webhookFunction(template)[1])['secretsmanager:GetSecretValue'], [own.readSecret!, own.webhookSecret].sort());
    });

    it('adds the sparse byExpiry index (status, expiresAt) projecting only the unpublished markers', () => {
      const [, table] = onlyResource(template, 'AWS::DynamoDB::Table');
      const index = table.Properties.GlobalSecondaryIndexes.find((i: any) => i.IndexName === TableDesign.byExpiry.indexName);
      assert.deepEqual(index, {
        IndexName: 'byExpiry',
        KeySchema: [
          { AttributeName: 'status', KeyType: 'HASH' },
          { AttributeName: 'expiresAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['unpublished'] },
      });
      assert.ok(table.Properties.AttributeDefinitions.some((d: any) => d.AttributeName === 'expiresAt' && d.AttributeType === 'S'));
    });

    it('runs the sweep every 5 minutes with Query on its indexes only: no Scan anywhere', () => {
      const [sweepId, sweep] = sweepFunction(template);
      const rule = onlyResource(template, 'AWS::Events::Rule')[1];
      assert.equal(rule.Properties.ScheduleExpression, 'rate(5 minutes)');
      assert.equal(rule.Properties.Targets.length, 1);
      assert.equal(refOf(rule.Properties.Targets[0].Arn), sweepId);
      assert.equal(rule.Properties.Targets[0].RetryPolicy.MaximumRetryAttempts, 0);
      const [dlqId] = resourcesOf(template, 'AWS::SQS::Queue').find(([id]) => id.startsWith('ReceiverExpirySweepDeadLetters'))!;
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: sweepId },
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 60,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } },
      });
      assert.deepEqual(rule.Properties.Targets[0].DeadLetterConfig, { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } });
      assert.deepEqual(sweep.Properties.Environment.Variables, {
        [SweepEnv.TableName]: { Ref: own.table },
        [SweepEnv.EventBusName]: { Ref: own.bus },
        [SweepEnv.GraceSeconds]: '300',
        [SweepEnv.MaxItemsPerRun]: '1000',
        [SweepEnv.PublishLeaseMs]: '3000',
        [SweepEnv.VideoPendingSeconds]: '86400',
        [SweepEnv.StatusIndex]: 'true',
        [SweepEnv.ReadSecretId]: { Ref: own.readSecret },
        POWERTOOLS_SERVICE_NAME: 'cloudflare-expiry-sweep',
        POWERTOOLS_METRICS_NAMESPACE: 'CloudflareWebhook',
      });
      const allowed = grants(template, sweep);
      // The sqs actions are what CDK grants a Lambda on-failure destination, on the dead-letter queue only.
      assert.deepEqual(Object.keys(allowed).sort(), [
        'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'events:PutEvents', 'logs:CreateLogStream', 'logs:PutLogEvents',
        'secretsmanager:GetSecretValue', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage',
      ]);
      assert.deepEqual(allowed['sqs:SendMessage'], [dlqId]);
      assert.deepEqual(allowed['dynamodb:Query'], [`${own.table}/index/byExpiry`, `${own.table}/index/byStatus`]);
      assert.deepEqual(allowed['secretsmanager:GetSecretValue'], [own.readSecret], 'the read-only token, not the upload route’s');
      assert.deepEqual([allowed['dynamodb:GetItem'], allowed['dynamodb:UpdateItem'], allowed['events:PutEvents']], [[own.table], [own.table], [own.bus]]);
      const everything = resourcesOf(template, 'AWS::IAM::Policy').flatMap(([, p]) => asArray<any>(p.Properties.PolicyDocument.Statement).flatMap((s) => asArray<string>(s.Action)));
      assert.ok(!everything.some((action) => action === 'dynamodb:Scan' || action === 'dynamodb:*'), 'nobody can Scan');
    });

    it('outputs the route’s URL and the API secret for connect and the README', () => {
      template.hasOutput('UploadsUrl', { Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
      template.hasOutput('CloudflareApiSecretArn', { Value: { Ref: own.apiSecret } });
    });
  });

  it('uses a JWT authorizer with the given issuer and audience, and CORS for the browser origins', () => {
    const { template } = synth({ uploads: { jwt: { issuer: 'https://issuer.example.com/pool', audience: ['app-client'] }, allowOrigins: ['https://app.example.com'] } });
    const [authorizerId, authorizer] = onlyResource(template, 'AWS::ApiGatewayV2::Authorizer');
    assert.deepEqual(
      { type: authorizer.Properties.AuthorizerType, jwt: authorizer.Properties.JwtConfiguration, source: authorizer.Properties.IdentitySource },
      { type: 'JWT', jwt: { Issuer: 'https://issuer.example.com/pool', Audience: ['app-client'] }, source: ['$request.header.Authorization'] },
    );
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /uploads', AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
    // CORS on the upload route's API only: HTTP API would answer preflights on the webhook routes too (issue 15).
    const apis = resourcesOf(template, 'AWS::ApiGatewayV2::Api');
    assert.deepEqual(
      apis.map(([, api]) => [api.Properties.Name.split('-').pop(), api.Properties.CorsConfiguration]).sort(),
      [
        ['uploads', { AllowOrigins: ['https://app.example.com'], AllowMethods: ['POST'], AllowHeaders: ['authorization', 'content-type'], MaxAge: 3600 }],
        ['webhooks', undefined],
      ],
    );
  });

  it('takes its throttle from props and from CDK context', () => {
    const stageOf = (template: Template) =>
      resourcesOf(template, 'AWS::ApiGatewayV2::Stage').map(([, st]) => st.Properties.DefaultRouteSettings);
    assert.deepEqual(stageOf(synth({ uploads: { throttle: { rateLimit: 1, burstLimit: 2 } } }).template), [
      { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 },
    ]);
    const { stack } = createApp({ context: { ...NO_BUNDLING, uploads: 'true', uploadsThrottleRateLimit: '2' } });
    assert.deepEqual(stageOf(Template.fromStack(stack))[1], { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 20 });
  });

  it('uses an existing API secret when given one, creating none', () => {
    const app = new App({ context: NO_BUNDLING });
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cloudflare/api-AbCdEf';
    const existing = secretsmanager.Secret.fromSecretCompleteArn(new CloudflareWebhookStack(app, 'Other'), 'Existing', arn);
    const template = Template.fromStack(new CloudflareWebhookStack(app, 'WithExisting', { receiver: { uploads: { apiSecret: existing } } }));
    assert.equal(ids(template).apiSecret, undefined, 'no API token secret created');
    assert.equal(resourcesOf(template, 'AWS::SecretsManager::Secret').length, 2, 'only the webhook secret and the read token');
    assert.deepEqual(grants(template, uploadsFunction(template)[1])['secretsmanager:GetSecretValue'], [arn]);
    assert.equal(uploadsFunction(template)[1].Properties.Environment.Variables[UploadsEnv.ApiSecretId], arn);
  });

  it('sweeps without an upload route (items given an expiresAt by your own code) on its own schedule, and not at all with false', () => {
    const sweepOnly = synth({ expirySweep: { schedule: Duration.minutes(15), gracePeriod: Duration.minutes(1), maxItemsPerRun: 50 } }).template;
    assert.equal(functionsOf(sweepOnly).uploads, undefined);
    assert.equal(onlyResource(sweepOnly, 'AWS::Events::Rule')[1].Properties.ScheduleExpression, 'rate(15 minutes)');
    const env = sweepFunction(sweepOnly)[1].Properties.Environment.Variables;
    assert.deepEqual([env[SweepEnv.GraceSeconds], env[SweepEnv.MaxItemsPerRun]], ['60', '50']);
    const off = synth({ uploads: {}, expirySweep: false }).template;
    assert.equal(functionsOf(off).sweep, undefined);
    assert.equal(resourcesOf(off, 'AWS::Events::Rule').length, 0);
    const indexes = onlyResource(off, 'AWS::DynamoDB::Table')[1].Properties.GlobalSecondaryIndexes.map((i: any) => i.IndexName);
    assert.deepEqual(indexes, [TableDesign.byStatus.indexName], 'no byExpiry without a sweep');
  });

  it('refuses props that would synthesize a broken or useless route or sweep', () => {
    const cases: [CloudflareWebhookReceiverProps, RegExp][] = [
      [{ uploads: { throttle: { rateLimit: -1, burstLimit: 1 } } }, /uploads.throttle.rateLimit/],
      [{ uploads: { throttle: { rateLimit: 1, burstLimit: 1.5 } } }, /uploads.throttle.burstLimit/],
      [{ uploads: { path: '/uploads/{proxy+}' } }, /uploads.path must be a literal path/],
      [{ uploads: { defaultExpiry: Duration.minutes(1) } }, /between 2 minutes and 6 hours/],
      [{ uploads: { defaultExpiry: Duration.hours(7) } }, /between 2 minutes and 6 hours/],
      [{ uploads: { jwt: { issuer: 'http://issuer', audience: ['a'] } } }, /https:\/\/ issuer and at least one audience/],
      [{ uploads: { jwt: { issuer: 'https://issuer', audience: [] } } }, /at least one audience/],
      [{ uploads: { allowOrigins: [] } }, /allowOrigins: empty/],
      [{ uploads: {}, expirySweep: { schedule: Duration.seconds(30) } }, /whole minutes, at least 1/],
      [{ uploads: {}, expirySweep: { maxItemsPerRun: 0 } }, /maxItemsPerRun/],
    ];
    for (const [receiver, message] of cases) assert.throws(() => synth(receiver), message, JSON.stringify(receiver));
  });

  it('reads the switches from CDK context', () => {
    const { stack } = createApp({ context: { ...NO_BUNDLING, uploads: 'true', uploadsJwtIssuer: 'https://issuer.example.com', uploadsJwtAudience: 'a, b', expirySweepMinutes: '10' } });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Issuer: 'https://issuer.example.com', Audience: ['a', 'b'] } });
    assert.equal(onlyResource(template, 'AWS::Events::Rule')[1].Properties.ScheduleExpression, 'rate(10 minutes)');
  });
});

describe('the bundles', () => {
  const assets = async (): Promise<BuiltAssets> => {
    try {
      const built = JSON.parse(readFileSync(join(repoRoot, '.build', 'assets.json'), 'utf8')) as BuiltAssets;
      if (built.uploads && built.sweep && built.relay) return built;
    } catch {
      // Not built yet: build.
    }
    return (await import('../../scripts/build.js')).buildAssets();
  };

  it('keep the cloudflare SDK out of every function; only the upload function looks up the write token, the relay no token at all', async () => {
    const built = await assets();
    const code = (entry: string) => readFileSync(entry, 'utf8');
    const bundles = { webhook: built.webhook, uploads: built.uploads!, sweep: built.sweep!, relay: built.relay! };
    for (const [name, bundle] of Object.entries(bundles)) {
      const text = code(bundle.entry);
      assert.doesNotMatch(text, /x-stainless|CloudflareError|cloudflare-typescript/, `${name}: the cloudflare SDK is not bundled`);
      assert.doesNotMatch(text, /from\s*["']@aws-sdk\//, `${name}: the AWS SDK is bundled, not imported at runtime`);
      assert.match(text, /export\s*\{[^}]*\bhandler\b/, `${name}: ESM export of handler`);
    }
    // One Cloudflare client serves every function (its direct_upload call too); what may create uploads is the
    // token: the webhook and the sweep only ever look up the read-only one (their roles: least-privilege.test.ts).
    for (const name of ['webhook', 'sweep'] as const) {
      const text = code(bundles[name].entry);
      assert.match(text, /api\.cloudflare\.com/, `${name}: reads Cloudflare's API`);
      assert.match(text, /CLOUDFLARE_READ_SECRET_ID/, `${name}: with the read token`);
      assert.doesNotMatch(text, /CLOUDFLARE_API_SECRET_ID/, `${name}: never looks for the upload route's write token`);
    }
    assert.match(code(bundles.uploads.entry), /direct_upload/);
    assert.doesNotMatch(code(bundles.uploads.entry), /CLOUDFLARE_READ_SECRET_ID/, 'the upload function keeps to its own token');
    assert.doesNotMatch(code(bundles.relay.entry), /api\.cloudflare\.com|CLOUDFLARE_[A-Z_]*SECRET_ID|GetSecretValue/, 'the relay holds no token and calls no Cloudflare');
  });
});
