/**
 * "Nobody else can write to their table", across the whole template rather than the function's
 * own policy (stack.test.ts checks that one action by action): who may assume the role, who may
 * invoke the function, that no statement anywhere is a wildcard, that only the webhook role may
 * write the table, and that no resource policy opens the table, bus or secret to anyone else.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createApp } from '../../lib/app.js';
import { asArray, NO_BUNDLING } from '../support/template.js';

type Resource = { Type: string; Properties?: Record<string, any> };
/** DynamoDB actions that change data. */
const TABLE_WRITES = /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems|PartiQLInsert|PartiQLUpdate|PartiQLDelete|ImportTable|RestoreTable.*|\*)$/;

const outdirs: string[] = [];
after(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function synth(context: Record<string, unknown>): Record<string, Resource> {
  const outdir = mkdtempSync(join(tmpdir(), 'webhook-iam-'));
  outdirs.push(outdir);
  const { app, stack } = createApp({ outdir, context: { ...NO_BUNDLING, ...context } });
  return app.synth().getStackArtifact(stack.artifactId).template.Resources as Record<string, Resource>;
}

const ofType = (resources: Record<string, Resource>, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

for (const [name, context] of Object.entries({ 'the default app': {}, 'the app recording unknown ids': { unknownIdPolicy: 'record' } })) {
  describe(`least privilege in ${name}`, () => {
    const resources = synth(context);
    const [[tableId]] = ofType(resources, 'AWS::DynamoDB::Table') as [[string, Resource]];
    const [[functionId, fn]] = ofType(resources, 'AWS::Lambda::Function') as [[string, Resource]];
    const roleId = fn.Properties!.Role['Fn::GetAtt'][0] as string;

    test('only Lambda may assume the function role, and it is the only role', () => {
      assert.deepEqual(ofType(resources, 'AWS::IAM::Role').map(([id]) => id), [roleId]);
      assert.deepEqual(resources[roleId]!.Properties!.AssumeRolePolicyDocument.Statement, [
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
      assert.equal(ofType(resources, 'AWS::IAM::User').length + ofType(resources, 'AWS::IAM::Group').length, 0);
    });

    test('no statement anywhere grants a wildcard action or resource, or uses NotAction/NotResource', () => {
      const statements = [...ofType(resources, 'AWS::IAM::Policy'), ...ofType(resources, 'AWS::IAM::ManagedPolicy')].flatMap(([, p]) =>
        asArray(p.Properties!.PolicyDocument.Statement),
      );
      assert.ok(statements.length > 0);
      for (const statement of statements) {
        assert.equal(statement.Effect, 'Allow');
        assert.equal(statement.NotAction, undefined);
        assert.equal(statement.NotResource, undefined);
        for (const action of asArray<string>(statement.Action)) assert.ok(!action.includes('*'), `wildcard action ${action}`);
        for (const resource of asArray<unknown>(statement.Resource)) assert.ok(JSON.stringify(resource).indexOf('*') === -1, `wildcard resource ${JSON.stringify(resource)}`);
      }
    });

    test('only the webhook function may write the table, and only the writes it makes', () => {
      const writers: string[] = [];
      for (const [id, policy] of ofType(resources, 'AWS::IAM::Policy')) {
        for (const statement of asArray<any>(policy.Properties!.PolicyDocument.Statement)) {
          const writes = asArray<string>(statement.Action).filter((a) => TABLE_WRITES.test(a));
          if (writes.length === 0) continue;
          assert.ok(JSON.stringify(statement.Resource).includes(tableId), `${id} writes something other than the table`);
          for (const role of asArray<any>(policy.Properties!.Roles)) writers.push(`${role.Ref}: ${writes.sort().join(', ')}`);
        }
      }
      const expected = context.unknownIdPolicy === 'record' ? 'dynamodb:PutItem, dynamodb:UpdateItem' : 'dynamodb:UpdateItem';
      assert.deepEqual(writers, [`${roleId}: ${expected}`]);
    });

    test('no resource policy opens the table, the bus or the secret to another principal', () => {
      for (const type of ['AWS::Events::EventBusPolicy', 'AWS::SecretsManager::ResourcePolicy', 'AWS::DynamoDB::ResourcePolicy']) {
        assert.equal(ofType(resources, type).length, 0, type);
      }
      for (const [id, r] of [...ofType(resources, 'AWS::DynamoDB::Table'), ...ofType(resources, 'AWS::Events::EventBus')]) {
        assert.equal(r.Properties?.ResourcePolicy ?? r.Properties?.Policy, undefined, `${id} has a resource policy`);
      }
    });

    test('only API Gateway may invoke the function, and only from this API on the webhook routes', () => {
      const permissions = ofType(resources, 'AWS::Lambda::Permission');
      assert.equal(permissions.length, 2);
      const apiId = ofType(resources, 'AWS::ApiGatewayV2::Api')[0]![0];
      for (const [, permission] of permissions) {
        assert.equal(permission.Properties!.Principal, 'apigateway.amazonaws.com');
        assert.equal(permission.Properties!.Action, 'lambda:InvokeFunction');
        assert.deepEqual(permission.Properties!.FunctionName, { 'Fn::GetAtt': [functionId, 'Arn'] });
        const arn = JSON.stringify(permission.Properties!.SourceArn);
        assert.ok(arn.includes(`{"Ref":"${apiId}"}`) && arn.includes('AWS::AccountId'), 'scoped to this API in this account');
        assert.match(arn, /"\/\*\/\*\/(webhooks|cf)\/(images|stream)"/);
      }
    });
  });
}
