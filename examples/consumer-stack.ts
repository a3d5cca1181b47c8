/**
 * How a consumer subscribes to the receiver's events: two rules on its bus, one with an SQS
 * target and one with a Lambda target. Synthesized by test/infra/consumer.test.ts, and its
 * patterns are run against the emulator's bus by test/integration/event-rules.test.ts.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DetailType, DetailTypes, eventPattern } from '../lib/events.js';

export interface WebhookConsumerStackProps extends StackProps {
  /**
   * The receiver's bus: `receiverStack.receiver.eventBus` in the same app, or
   * `events.EventBus.fromEventBusArn(scope, 'Bus', arn)` with the stack's `EventBusArn` output.
   */
  readonly eventBus: events.IEventBus;
}

export class WebhookConsumerStack extends Stack {
  /** Receives every "Image Uploaded" event; a worker polls it. */
  public readonly uploadedQueue: sqs.Queue;
  public readonly uploadedRule: events.Rule;
  /** Runs for every failed image upload and every failed video. */
  public readonly failureFunction: lambda.Function;
  public readonly failureRule: events.Rule;
  /** Events EventBridge could not deliver to either target after its retries. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: WebhookConsumerStackProps) {
    super(scope, id, props);

    // Without a dead-letter queue, an event EventBridge cannot deliver is dropped silently.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });

    // 1. "Image uploaded" → SQS. The CDK target adds the queue policy that lets this rule send.
    this.uploadedQueue = new sqs.Queue(this, 'ImageUploadedQueue', { enforceSSL: true });
    this.uploadedRule = new events.Rule(this, 'ImageUploaded', {
      eventBus: props.eventBus,
      description: 'Cloudflare images that finished uploading',
      eventPattern: eventPattern({ detailTypes: [DetailType.ImageUploaded] }),
      targets: [new targets.SqsQueue(this.uploadedQueue, { deadLetterQueue: this.deadLetterQueue })],
    });

    // 2. Any failure → Lambda. Delivery is at least once: key side effects on detail.eventId.
    this.failureFunction = new lambda.Function(this, 'OnFailure', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(FAILURE_HANDLER),
      timeout: Duration.seconds(10),
    });
    this.failureRule = new events.Rule(this, 'AnyFailure', {
      eventBus: props.eventBus,
      description: 'Cloudflare image uploads and videos that failed',
      eventPattern: eventPattern({ detailTypes: DetailTypes.failures }),
      targets: [
        new targets.LambdaFunction(this.failureFunction, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 4,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
  }
}

// Stands in for the consumer's real reaction (alert, retry the upload, tell the user).
const FAILURE_HANDLER = `
exports.handler = async (event) => {
  const { eventId, kind, id, status, error } = event.detail;
  console.log(JSON.stringify({ message: 'upload failed', detailType: event['detail-type'], eventId, kind, id, status, error }));
};
`;
