import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { PutRuleCommand, PutTargetsCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { WebhookConsumerStack } from '../../examples/consumer-stack.js';
import { createApp } from '../../lib/app.js';
import { eventBridgePattern, type EventBridgePattern } from '../../lib/events.js';
import { localClientConfig } from '../../local/aws.js';
import { payloads } from '../../local/payloads.js';
import { at, events, seedPending, send } from '../support/deliver.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { NO_BUNDLING } from '../support/template.js';

// The patterns a consumer deploys, evaluated by a real rule engine: the emulator's bus, with
// the receiver publishing real transitions into it.

/** The EventPattern of each rule exactly as CDK synthesizes it for the example consumer. */
function examplePatterns(): { uploaded: unknown; failures: unknown } {
  const { app, stack } = createApp({ context: NO_BUNDLING });
  const consumer = new WebhookConsumerStack(app, 'Consumer', { eventBus: stack.receiver.eventBus });
  const rules = Object.values(Template.fromStack(consumer).findResources('AWS::Events::Rule')) as { Properties: { Description: string; EventPattern: unknown } }[];
  const pattern = (description: RegExp) => rules.find((rule) => description.test(rule.Properties.Description))!.Properties.EventPattern;
  return { uploaded: pattern(/finished uploading/), failures: pattern(/failed/) };
}

/** A rule on the receiver's bus delivering to a queue of its own. */
async function subscribe(r: Receiver, name: string, pattern: unknown | EventBridgePattern): Promise<string> {
  const config = localClientConfig(r.endpoint);
  const sqs = new SQSClient(config);
  const ruleName = `${r.resources.eventBusName}-${name}`.slice(-64);
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: ruleName.slice(-80) }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  const eventBridge = new EventBridgeClient(config);
  await eventBridge.send(new PutRuleCommand({ Name: ruleName, EventBusName: r.resources.eventBusName, EventPattern: JSON.stringify(pattern) }));
  await eventBridge.send(new PutTargetsCommand({ Rule: ruleName, EventBusName: r.resources.eventBusName, Targets: [{ Id: 'q', Arn: Attributes!.QueueArn! }] }));
  return QueueUrl!;
}

/** What reached a rule's queue, as `<detail-type> <id>`: waits for `expect`, then a little longer, so an extra one would be caught. */
async function arrived(r: Receiver, queueUrl: string, expect: number): Promise<string[]> {
  return (await events(r, expect, queueUrl)).map((event) => `${event['detail-type']} ${(event.detail as { id: string }).id}`).sort();
}

describe('rule patterns on the bus', () => {
  let r: Receiver;
  before(async () => {
    r = await startReceiver();
  });
  after(() => r.stop());

  it('the example consumer’s rules route only uploads to its queue and only failures to its function', async () => {
    const patterns = examplePatterns();
    const uploadedQueue = await subscribe(r, 'uploaded', patterns.uploaded);
    const failuresQueue = await subscribe(r, 'failures', patterns.failures);
    const readyVideosQueue = await subscribe(r, 'ready-videos', eventBridgePattern({ kinds: ['video'], statuses: ['ready'] }));

    const [image, failedImage, draftImage, video, failedVideo] = await Promise.all([
      seedPending(r.resources, 'image'),
      seedPending(r.resources, 'image'),
      seedPending(r.resources, 'image'),
      seedPending(r.resources, 'video'),
      seedPending(r.resources, 'video'),
    ]);
    const answers = await Promise.all([
      send.notification(r, payloads.notification(payloads.imageUploaded(image, at(1)), 0)),
      send.notification(r, payloads.notification(payloads.imageFailed(failedImage, at(1)), 0, 'Image upload failed')),
      send.toolkit(r, payloads.imageUploaded(draftImage, at(1), { draft: true })),
      send.stream(r, payloads.videoReady(video, at(1))),
      send.stream(r, payloads.videoError(failedVideo, at(1))),
    ]);
    assert.deepEqual(answers.map((answer) => answer.status), [200, 200, 200, 200, 200]);

    assert.deepEqual(await arrived(r, uploadedQueue, 1), [`Image Uploaded ${image}`]);
    assert.deepEqual(await arrived(r, failuresQueue, 2), [`Image Upload Failed ${failedImage}`, `Video Failed ${failedVideo}`]);
    assert.deepEqual(await arrived(r, readyVideosQueue, 1), [`Video Ready ${video}`]);
    // The catch-all watch rule saw all five, the draft among them.
    assert.equal((await events(r, 5)).length, 5);
  });
});
