import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { WebhookConsumerStack } from '../../examples/consumer-stack.js';
import { createApp } from '../../lib/app.js';
import { NO_BUNDLING } from '../support/template.js';

type Resource = { Type: string; Properties: any };

function only(template: Template, type: string, where: (r: Resource) => boolean = () => true): [string, Resource] {
  const found = Object.entries(template.findResources(type) as Record<string, Resource>).filter(([, r]) => where(r));
  assert.equal(found.length, 1, `expected one ${type}`);
  return found[0]!;
}

const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

describe('the example consumer, in the same app as the receiver', () => {
  let consumer: Template;
  let receiver: Template;
  let uploadedRule: Resource;
  let failureRule: Resource;
  let ruleIds: { uploaded: string; failure: string };

  before(() => {
    const { app, stack } = createApp({ context: NO_BUNDLING });
    const consumerStack = new WebhookConsumerStack(app, 'Consumer', { eventBus: stack.receiver.eventBus });
    consumer = Template.fromStack(consumerStack);
    receiver = Template.fromStack(stack);
    const rule = (description: RegExp) => only(consumer, 'AWS::Events::Rule', (r) => description.test(r.Properties.Description));
    const [uploadedId, uploaded] = rule(/finished uploading/);
    const [failureId, failure] = rule(/failed/);
    [uploadedRule, failureRule, ruleIds] = [uploaded, failure, { uploaded: uploadedId, failure: failureId }];
  });

  test('puts both rules on the receiver’s bus, not the default bus', () => {
    const [busId] = only(receiver, 'AWS::Events::EventBus');
    const exported = Object.values(receiver.toJSON().Outputs as Record<string, { Value: unknown; Export?: { Name: string } }>).find(
      (output) => JSON.stringify(output.Value) === JSON.stringify({ Ref: busId }) && output.Export,
    );
    assert.ok(exported, 'the receiver exports its bus name for the consumer');
    for (const rule of [uploadedRule, failureRule]) {
      assert.deepEqual(rule.Properties.EventBusName, { 'Fn::ImportValue': exported.Export!.Name });
    }
  });

  test('"image uploaded" matches exactly the Image Uploaded events and sends them to a queue', () => {
    assert.deepEqual(uploadedRule.Properties.EventPattern, { source: ['cloudflare-webhook'], 'detail-type': ['Image Uploaded'] });
    const [queueId] = only(consumer, 'AWS::SQS::Queue', (r) => r.Properties?.MessageRetentionPeriod === undefined);
    const [target] = uploadedRule.Properties.Targets;
    assert.deepEqual(target.Arn, arnOf(queueId));
    // Without this statement EventBridge's deliveries to the queue are refused.
    const [, policy] = only(consumer, 'AWS::SQS::QueuePolicy', (r) => JSON.stringify(r.Properties.Queues) === JSON.stringify([{ Ref: queueId }]));
    const allow = policy.Properties.PolicyDocument.Statement.find((s: any) => s.Effect === 'Allow');
    assert.deepEqual(allow.Principal, { Service: 'events.amazonaws.com' });
    assert.ok([allow.Action].flat().includes('sqs:SendMessage'));
    assert.deepEqual(allow.Condition, { ArnEquals: { 'aws:SourceArn': arnOf(ruleIds.uploaded) } });
  });

  test('"any failure" matches both failure detail-types and invokes a function, with retries and a dead-letter queue', () => {
    assert.deepEqual(failureRule.Properties.EventPattern, { source: ['cloudflare-webhook'], 'detail-type': ['Image Upload Failed', 'Video Failed'] });
    const [functionId] = only(consumer, 'AWS::Lambda::Function');
    const [target] = failureRule.Properties.Targets;
    assert.deepEqual(target.Arn, arnOf(functionId));
    assert.deepEqual(target.RetryPolicy, { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 });
    const [deadLettersId] = only(consumer, 'AWS::SQS::Queue', (r) => r.Properties?.MessageRetentionPeriod === 14 * 24 * 3600);
    assert.deepEqual(target.DeadLetterConfig, { Arn: arnOf(deadLettersId) });
    const [, permission] = only(consumer, 'AWS::Lambda::Permission');
    assert.equal(permission.Properties.Principal, 'events.amazonaws.com');
    assert.deepEqual(permission.Properties.SourceArn, arnOf(ruleIds.failure));
  });
});
