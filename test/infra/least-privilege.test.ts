/**
 * "Nobody else can write to their table", across the whole template rather than one function's
 * policy: every role is one function's own and is allowed exactly what that function does, who
 * may assume the roles and invoke the functions, that no statement is a wildcard (but the one
 * ListStreams the stream relay's event source mapping needs), who may write the table and read
 * each secret, and that no resource policy opens anything to another principal. Over the default
 * app and the variants that change a role or who invokes a function: recorded unknown ids and the
 * upload route, no confirmation, no read token, the front door, no byStatus index, and the webhook
 * function alone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { TableDesign } from '../../lambda/core/contract.js';
import {
  asArray,
  type FunctionKind,
  functionsOf,
  onlyResource,
  refOf,
  resourceName,
  resourcesOf,
  roleGrants,
  roleOf,
  synthContext,
} from '../support/template.js';

/** DynamoDB actions that change data. */
const TABLE_WRITES = /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems|PartiQLInsert|PartiQLUpdate|PartiQLDelete|ImportTable|RestoreTable.*|\*)$/;
/**
 * The one statement on "*" the template may hold: the stream relay's event source mapping needs
 * dynamodb:ListStreams (Lambda checks for it when it creates the mapping), and ListStreams has no
 * resource type, so "*" is the only resource IAM matches for it. Acknowledged as
 * AwsSolutions-IAM5[Resource::*] on the relay's policy alone (lib/nag.ts).
 */
const LIST_STREAMS = 'dynamodb:ListStreams';

interface Variant {
  readonly context: Record<string, string>;
  /** The functions the app has. */
  readonly functions: readonly FunctionKind[];
  /** The webhook function may create items (unknownIdPolicy: record). */
  readonly putItem?: boolean;
  /** A read-only Cloudflare token secret exists. */
  readonly readSecret: boolean;
  /** The webhook function may read it (it confirms deliveries). */
  readonly webhookReadsToken: boolean;
  /** The sweep may Query byStatus (pending videos: byStatus, a read token, a pending age). */
  readonly sweepFindsVideos: boolean;
}

const ALL: readonly FunctionKind[] = ['webhook', 'relay', 'sweep'];
const VARIANTS: Record<string, Variant> = {
  'the default app': { context: {}, functions: ALL, readSecret: true, webhookReadsToken: true, sweepFindsVideos: true },
  'the app recording unknown ids, with the upload route': {
    context: { unknownIdPolicy: 'record', uploads: 'true' },
    functions: [...ALL, 'uploads'],
    putItem: true,
    readSecret: true,
    webhookReadsToken: true,
    sweepFindsVideos: true,
  },
  'the app that never confirms with Cloudflare': {
    context: { confirmWithCloudflare: 'never' },
    functions: ALL,
    readSecret: true,
    webhookReadsToken: false,
    sweepFindsVideos: true,
  },
  'the app without a read token': { context: { cloudflareReadToken: 'false' }, functions: ALL, readSecret: false, webhookReadsToken: false, sweepFindsVideos: false },
  'the app with the front door': { context: { frontDoor: 'true' }, functions: ALL, readSecret: true, webhookReadsToken: true, sweepFindsVideos: true },
  'the app without the byStatus index': { context: { statusIndex: 'false' }, functions: ALL, readSecret: true, webhookReadsToken: true, sweepFindsVideos: false },
  'the app with the webhook function alone': {
    context: { relay: 'false', expirySweepMinutes: '0', cloudflareReadToken: 'false', archiveRetentionDays: '0' },
    functions: ['webhook'],
    readSecret: false,
    webhookReadsToken: false,
    sweepFindsVideos: false,
  },
};

/** Logical ids of what the roles may touch, found independently of the roles. */
function idsOf(template: Template) {
  const secretIds = resourcesOf(template, 'AWS::SecretsManager::Secret').map(([id]) => id);
  const secret = (prefix: string) => secretIds.find((id) => id.startsWith(prefix));
  const onFailure = (type: string) => resourcesOf(template, type).map(([, r]) => refOf(r.Properties.DestinationConfig.OnFailure.Destination)!);
  const [relayDlq] = onFailure('AWS::Lambda::EventSourceMapping');
  const [sweepDlq] = onFailure('AWS::Lambda::EventInvokeConfig');
  return {
    table: onlyResource(template, 'AWS::DynamoDB::Table')[0],
    bus: onlyResource(template, 'AWS::Events::EventBus')[0],
    webhookSecret: resourcesOf(template, 'AWS::SecretsManager::Secret').find(([, s]) => s.Properties.GenerateSecretString)![0],
    readSecret: secret('ReceiverCloudflareReadSecret'),
    apiSecret: secret('ReceiverUploadsApiSecret'),
    relayDlq,
    sweepDlq,
  };
}

/** Exactly what each function does: its items, its bus, its secrets, its queue, its log group. */
function expectedGrants(template: Template, variant: Variant): Partial<Record<FunctionKind, Record<string, string[]>>> {
  const ids = idsOf(template);
  const logsOf = (kind: FunctionKind) => {
    const group = refOf(functionsOf(template)[kind]![1].Properties.LoggingConfig.LogGroup)!;
    return { 'logs:CreateLogStream': [group], 'logs:PutLogEvents': [group] };
  };
  // What CDK grants for a Lambda on-failure destination: on that one queue.
  const sendTo = (queue: string) => ({ 'sqs:GetQueueAttributes': [queue], 'sqs:GetQueueUrl': [queue], 'sqs:SendMessage': [queue] });
  const items = { 'dynamodb:GetItem': [ids.table], 'dynamodb:UpdateItem': [ids.table], 'events:PutEvents': [ids.bus] };
  const index = (name: string) => `${ids.table}/index/${name}`;
  const grants: Record<FunctionKind, () => Record<string, string[]>> = {
    webhook: () => ({
      ...items,
      ...(variant.putItem && { 'dynamodb:PutItem': [ids.table] }),
      'secretsmanager:GetSecretValue': [ids.webhookSecret, ...(variant.webhookReadsToken ? [ids.readSecret!] : [])].sort(),
      ...logsOf('webhook'),
    }),
    relay: () => ({
      ...items,
      'dynamodb:DescribeStream': [`${ids.table}.StreamArn`],
      'dynamodb:GetRecords': [`${ids.table}.StreamArn`],
      'dynamodb:GetShardIterator': [`${ids.table}.StreamArn`],
      [LIST_STREAMS]: ['*'],
      ...sendTo(ids.relayDlq!),
      ...logsOf('relay'),
    }),
    sweep: () => ({
      ...items,
      'dynamodb:Query': [index(TableDesign.byExpiry.indexName), ...(variant.sweepFindsVideos ? [index(TableDesign.byStatus.indexName)] : [])].sort(),
      ...(variant.readSecret && { 'secretsmanager:GetSecretValue': [ids.readSecret!] }),
      ...sendTo(ids.sweepDlq!),
      ...logsOf('sweep'),
    }),
    uploads: () => ({ 'dynamodb:PutItem': [ids.table], 'secretsmanager:GetSecretValue': [ids.apiSecret!], ...logsOf('uploads') }),
  };
  return Object.fromEntries(variant.functions.map((kind) => [kind, grants[kind]()]));
}

/** Every statement of every identity policy, with the role(s) it reaches. */
function statements(template: Template): { roles: string[]; statement: any }[] {
  return [...resourcesOf(template, 'AWS::IAM::Policy'), ...resourcesOf(template, 'AWS::IAM::ManagedPolicy')].flatMap(([, p]) =>
    asArray<any>(p.Properties.PolicyDocument.Statement).map((statement) => ({ roles: asArray(p.Properties.Roles).map((r) => refOf(r)!), statement })),
  );
}

for (const [name, variant] of Object.entries(VARIANTS)) {
  describe(`least privilege in ${name}`, () => {
    const template = synthContext(variant.context);
    const functions = functionsOf(template);
    const roleIds = Object.fromEntries(Object.entries(functions).map(([kind, [, fn]]) => [kind, roleOf(fn)])) as Partial<Record<FunctionKind, string>>;

    test('has the functions it should, each with a role of its own that only Lambda may assume, and no other principal', () => {
      assert.deepEqual(Object.keys(functions).sort(), [...variant.functions].sort());
      const roles = resourcesOf(template, 'AWS::IAM::Role');
      assert.deepEqual(roles.map(([id]) => id).sort(), Object.values(roleIds).sort(), 'every role is a function role, one per function');
      for (const [, role] of roles) {
        assert.deepEqual(role.Properties.AssumeRolePolicyDocument.Statement, [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ]);
      }
      assert.equal(resourcesOf(template, 'AWS::IAM::User').length + resourcesOf(template, 'AWS::IAM::Group').length, 0);
    });

    test('allows each function exactly what it does, on its own resources', () => {
      const expected = expectedGrants(template, variant);
      for (const kind of variant.functions) assert.deepEqual(roleGrants(template, roleIds[kind]!), expected[kind], `the ${kind} role`);
    });

    test('grants no wildcard action or resource anywhere, but ListStreams on "*" to the relay alone, in a statement of its own', () => {
      const all = statements(template);
      assert.ok(all.length > 0);
      const onStar: string[] = [];
      for (const { roles, statement } of all) {
        assert.equal(statement.Effect, 'Allow');
        assert.equal(statement.NotAction, undefined);
        assert.equal(statement.NotResource, undefined);
        for (const action of asArray<string>(statement.Action)) assert.ok(!action.includes('*'), `wildcard action ${action}`);
        const resources = asArray<unknown>(statement.Resource).map((r) => JSON.stringify(r));
        if (!resources.some((r) => r.includes('*'))) continue;
        assert.deepEqual(resources, ['"*"'], 'a "*" stands alone');
        onStar.push(...roles.map((role) => `${role}: ${asArray<string>(statement.Action).join(', ')}`));
      }
      assert.deepEqual(onStar, variant.functions.includes('relay') ? [`${roleIds.relay}: ${LIST_STREAMS}`] : []);
    });

    test('lets only the functions that write items write the table, and only the writes each makes', () => {
      const { table } = idsOf(template);
      const writers: string[] = [];
      for (const { roles, statement } of statements(template)) {
        const writes = asArray<string>(statement.Action).filter((a) => TABLE_WRITES.test(a));
        if (writes.length === 0) continue;
        assert.deepEqual(asArray(statement.Resource).map(resourceName), [table], 'table writes apply to the table itself, not an index or "*"');
        for (const role of roles) writers.push(`${role}: ${writes.sort().join(', ')}`);
      }
      const expected: Record<FunctionKind, string> = {
        webhook: variant.putItem ? 'dynamodb:PutItem, dynamodb:UpdateItem' : 'dynamodb:UpdateItem',
        relay: 'dynamodb:UpdateItem',
        sweep: 'dynamodb:UpdateItem',
        uploads: 'dynamodb:PutItem',
      };
      assert.deepEqual(writers.sort(), variant.functions.map((kind) => `${roleIds[kind]}: ${expected[kind]}`).sort());
    });

    test('lets each secret be read by the functions that use it and nobody else', () => {
      const ids = idsOf(template);
      const readers: Record<string, string[]> = {};
      for (const { roles, statement } of statements(template)) {
        if (!asArray<string>(statement.Action).some((a) => a.startsWith('secretsmanager:'))) continue;
        assert.deepEqual(asArray<string>(statement.Action), ['secretsmanager:GetSecretValue'], 'read only');
        for (const secret of asArray(statement.Resource).map(resourceName)) (readers[secret] ??= []).push(...roles);
      }
      const kindOf = (role: string) => Object.entries(roleIds).find(([, id]) => id === role)![0];
      const byKind = Object.fromEntries(Object.entries(readers).map(([secret, roles]) => [secret, roles.map(kindOf).sort()]));
      assert.deepEqual(byKind, {
        [ids.webhookSecret]: ['webhook'],
        ...(variant.readSecret && { [ids.readSecret!]: ['sweep', ...(variant.webhookReadsToken ? ['webhook'] : [])].sort() }),
        ...(variant.functions.includes('uploads') && { [ids.apiSecret!]: ['uploads'] }),
      });
      assert.equal(ids.readSecret !== undefined, variant.readSecret, 'the read token secret exists when it should');
    });

    test('opens the table, bus, secrets and queues to no other principal: queue policies deny plain HTTP, and admit only the sweep’s schedule', () => {
      for (const type of ['AWS::Events::EventBusPolicy', 'AWS::SecretsManager::ResourcePolicy', 'AWS::DynamoDB::ResourcePolicy', 'AWS::Lambda::LayerVersionPermission']) {
        assert.equal(resourcesOf(template, type).length, 0, type);
      }
      for (const [id, r] of [...resourcesOf(template, 'AWS::DynamoDB::Table'), ...resourcesOf(template, 'AWS::Events::EventBus')]) {
        assert.equal(r.Properties?.ResourcePolicy ?? r.Properties?.Policy, undefined, `${id} has a resource policy`);
      }
      const allowed: string[] = [];
      for (const [id, policy] of resourcesOf(template, 'AWS::SQS::QueuePolicy')) {
        for (const statement of asArray<any>(policy.Properties.PolicyDocument.Statement)) {
          if (statement.Effect === 'Deny') {
            assert.deepEqual([statement.Action, statement.Condition], ['sqs:*', { Bool: { 'aws:SecureTransport': 'false' } }], `${id} refuses plain HTTP`);
            continue;
          }
          const source = resourceName(statement.Condition?.ArnEquals?.['aws:SourceArn']);
          allowed.push(`${statement.Principal.Service} ${statement.Action} on ${asArray(statement.Resource).map(resourceName)} from ${source}`);
        }
      }
      // The schedule's target dead-letter queue: EventBridge itself delivers there, from that rule only.
      const rule = resourcesOf(template, 'AWS::Events::Rule')[0]?.[0];
      assert.deepEqual(allowed, functions.sweep ? [`events.amazonaws.com sqs:SendMessage on ${idsOf(template).sweepDlq} from ${rule}`] : []);
    });

    test('lets API Gateway invoke the webhook function on its routes, the schedule the sweep, and nobody the relay', () => {
      // The webhooks' API (an HTTP API, or the front door's REST API) and the upload route's own.
      const apis = [...resourcesOf(template, 'AWS::ApiGatewayV2::Api'), ...resourcesOf(template, 'AWS::ApiGateway::RestApi')].map(([id]) => id);
      const uploadsApi = apis.find((id) => id.startsWith('ReceiverUploads'));
      const [webhookApi, ...others] = apis.filter((id) => id !== uploadsApi);
      assert.deepEqual(others, [], 'one API for the webhooks');
      const permissions = resourcesOf(template, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
      const invoked = permissions.map((p) => `${p.Principal} → ${refOf(p.FunctionName)}`).sort();
      assert.deepEqual(invoked, [
        `apigateway.amazonaws.com → ${functions.webhook![0]}`,
        `apigateway.amazonaws.com → ${functions.webhook![0]}`,
        ...(functions.uploads ? [`apigateway.amazonaws.com → ${functions.uploads[0]}`] : []),
        ...(functions.sweep ? [`events.amazonaws.com → ${functions.sweep[0]}`] : []),
      ].sort());
      for (const p of permissions) {
        assert.equal(p.Action, 'lambda:InvokeFunction');
        const arn = JSON.stringify(p.SourceArn);
        if (p.Principal === 'events.amazonaws.com') {
          assert.deepEqual(p.SourceArn, { 'Fn::GetAtt': [onlyResource(template, 'AWS::Events::Rule')[0], 'Arn'] }, 'only the sweep’s schedule');
        } else if (refOf(p.FunctionName) === functions.webhook![0]) {
          assert.ok(arn.includes(`{"Ref":"${webhookApi}"}`) && arn.includes('AWS::AccountId'), 'scoped to the webhooks’ API in this account');
          assert.match(arn, /"(\/\*\/\*|\/POST)\/webhooks\/(images|stream)"/, 'and to a webhook route');
        } else {
          assert.ok(arn.includes(`{"Ref":"${uploadsApi}"}`) && arn.includes('AWS::AccountId'), 'scoped to the upload route’s API in this account');
          assert.match(arn, /"\/\*\/\*\/uploads"/);
        }
      }
      // The relay runs through its event source mapping, which polls with the relay's own role.
      const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
      assert.deepEqual(
        mappings.map((m) => [refOf(m.FunctionName), resourceName(m.EventSourceArn)]),
        functions.relay ? [[functions.relay[0], `${idsOf(template).table}.StreamArn`]] : [],
      );
    });
  });
}
