import { Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import type { ExpirySweep } from './expiry-sweep.js';
import type { WebhookFrontDoor } from './front-door.js';
import type { StreamRelay } from './stream-relay.js';
import type { CloudflareUploads } from './uploads.js';
import type { CloudflareWebhookReceiver } from './webhook-receiver.js';

/**
 * cdk-nag findings (AwsSolutions and Serverless packs) that are intrinsic to a webhook
 * receiver, acknowledged on the one resource each applies to, with the reason. Anything not
 * listed here fails `test/infra/nag.test.ts`; a new finding is fixed first, and acknowledged
 * only when it is in the nature of the design.
 */
export function acknowledgeNagFindings(receiver: CloudflareWebhookReceiver, webhookPaths: readonly string[]): void {
  acknowledgeWebhookRoutes(receiver, webhookPaths);
  if (receiver.frontDoor) acknowledgeFrontDoor(receiver.frontDoor);
  acknowledgeWebhookSecret(receiver.secret);
  acknowledgeWebhookFunction(receiver.webhookFunction);
  if (receiver.uploads) acknowledgeUploads(receiver.uploads);
  if (receiver.expirySweep) acknowledgeSweep(receiver.expirySweep);
  // Only the secret created here: one passed in is its owner's to rotate.
  if (receiver.cloudflareReadSecret?.node.scope === receiver) acknowledgeReadSecret(receiver.cloudflareReadSecret);
  if (receiver.relay) acknowledgeRelay(receiver.relay);
}

/**
 * On the two webhook routes only, not on the API: any other route (an upload route, a future
 * one) is still required to carry an authorizer.
 */
function acknowledgeWebhookRoutes(receiver: CloudflareWebhookReceiver, webhookPaths: readonly string[]): void {
  const webhookRoutes = receiver.frontDoor
    ? receiver.frontDoor.methods.map((method) => method.node.defaultChild as IConstruct)
    : receiver.httpApi!.node
        .findAll()
        .filter((c): c is apigwv2.CfnRoute => c instanceof apigwv2.CfnRoute && webhookPaths.some((path) => c.routeKey === `POST ${path}`));
  if (webhookRoutes.length !== webhookPaths.length) throw new Error(`expected ${webhookPaths.length} webhook routes, found ${webhookRoutes.length}`);
  for (const route of webhookRoutes) {
    Validations.of(route).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Webhook route: Cloudflare sends plain HTTPS POSTs and cannot sign SigV4, obtain a Cognito/JWT token, or satisfy an authorizer; ' +
        'an HTTP API Lambda authorizer never sees the body, so it could not check an HMAC of it. The function authenticates every ' +
        'request before any other work (cf-webhook-auth compared in constant time, or HMAC-SHA256 of the raw body with a 300 s ' +
        'timestamp window), answers 401 and changes nothing otherwise; the stage is throttled and the body size capped.',
    });
  }
}

function acknowledgeWebhookSecret(secret: secretsmanager.ISecret): void {
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The values are shared with Cloudflare: the Images value is typed into the Cloudflare Notifications destination and the Stream ' +
      'value is issued by Cloudflare (PUT /stream/webhook). A rotation Lambda cannot change either on the Cloudflare side without a ' +
      'Cloudflare API token, which would be a bigger secret than this one. Rotation is manual and without downtime: every key holds a ' +
      'list, the function accepts each listed value and re-reads the secret on the first signature it fails.',
  });
}

function acknowledgeWebhookFunction(webhookFunction: lambda.IFunction): void {
  Validations.of(webhookFunction).acknowledge({
    id: 'Serverless-LambdaDLQ',
    reason:
      'The function is only invoked synchronously, by API Gateway; a DeadLetterConfig applies to asynchronous invocations only and ' +
      'would never receive anything. A failed delivery is answered 500; a transition written but not yet published stays in the ' +
      "item's outbox (`unpublished`), and the stream relay publishes it without waiting for a redelivery (tested with injected faults).",
  });
  Validations.of(webhookFunction).acknowledge({
    id: 'Serverless-LambdaTracing',
    reason:
      'Active X-Ray tracing would add xray:PutTraceSegments/PutTelemetryRecords on "*" to a role that is otherwise scoped to its own ' +
      'table, bus, secret and log group (X-Ray has no resource-level permissions). Each delivery already logs one structured line ' +
      'with route, status, outcome and duration, and the access log records integration latency per request.',
  });
}

function acknowledgeUploads({ apiSecret, uploadsFunction }: CloudflareUploads): void {
  Validations.of(apiSecret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The Cloudflare API token is issued by Cloudflare in its dashboard; a rotation Lambda could only create a new token with ' +
      'another, more powerful Cloudflare token. It is replaced by `npm run connect` with $CLOUDFLARE_UPLOADS_API_TOKEN (or --token-stdin uploads), which writes the new value.',
  });
  Validations.of(uploadsFunction).acknowledge({
    id: 'Serverless-LambdaDLQ',
    reason:
      'POST /uploads invokes the function synchronously through API Gateway; a DeadLetterConfig applies to asynchronous ' +
      'invocations only. A failed call is answered 4xx/5xx to the caller and leaves no item behind.',
  });
  acknowledgeUntraced(uploadsFunction, 'its table, its secret and its log group', 'each request logs one structured line with its outcome and duration');
}

function acknowledgeSweep({ sweepFunction, deadLetterQueue }: ExpirySweep): void {
  Validations.of(sweepFunction).acknowledge({
    id: 'Serverless-LambdaDLQ',
    reason:
      'Failed asynchronous invocations go to the sweep\'s dead-letter queue through an OnFailure destination (EventInvokeConfig), ' +
      'which carries more context than a DeadLetterConfig; the schedule target uses the same queue.',
  });
  acknowledgeUntraced(sweepFunction, 'its indexes, table, bus, read token and log group', 'each run logs one line with what it expired, recovered and deferred');
  acknowledgeTerminalQueue(
    deadLetterQueue,
    'This queue is itself the dead-letter queue of the expiry sweep (schedule target DeadLetterConfig and the function\'s ' +
      'OnFailure destination); a dead-letter queue of a dead-letter queue would only move the same messages again.',
  );
}

function acknowledgeReadSecret(readSecret: secretsmanager.ISecret): void {
  Validations.of(readSecret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The read-only Cloudflare API token (Images Read, Stream Read) is issued by Cloudflare in its dashboard; a rotation Lambda could ' +
      'only mint a new one with a more powerful Cloudflare token, which would then live here instead. It is replaced by ' +
      '`npm run connect` with $CLOUDFLARE_READ_API_TOKEN (or --token-stdin read), which writes the new value.',
  });
}

/** The stream relay: invoked by its event source mapping, which also owns its dead-letter queue. */
function acknowledgeRelay({ relayFunction, deadLetterQueue }: StreamRelay): void {
  // Granular: only the `Resource::*` finding, and only on the relay's own policy. Which statement
  // holds that `*` (ListStreams, alone) is pinned down by test/infra/least-privilege.test.ts.
  const policy = (relayFunction.role as iam.Role).node.findChild('DefaultPolicy') as iam.Policy;
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'dynamodb:ListStreams on "*", from the DynamoDB event source grant: Lambda checks that the role may call ListStreams when it ' +
      'creates the mapping, and ListStreams has no resource type in the Service Authorization Reference (it lists the streams of the ' +
      'account), so "*" is the only resource IAM can match. It reveals stream ARNs, no data; reading records is granted on this ' +
      "table's stream ARN only.",
  });
  Validations.of(relayFunction).acknowledge({
    id: 'Serverless-LambdaDLQ',
    reason:
      'The relay is invoked synchronously by its event source mapping (the stream poller); a DeadLetterConfig applies to ' +
      'asynchronous invocations only. Batches whose retries run out go to the mapping\'s own OnFailure destination, the relay\'s ' +
      'dead-letter queue (alarmed, and sent back through the relay by `npm run cli -- events redrive`).',
  });
  acknowledgeUntraced(relayFunction, 'its table, stream, bus, dead-letter queue and log group', 'each invocation logs one line with what it published and handed back');
  acknowledgeTerminalQueue(
    deadLetterQueue,
    'This queue is itself the dead-letter queue of the stream relay (the OnFailure destination of its event source mapping); a ' +
      'dead-letter queue of a dead-letter queue would only move the same batch descriptions again.',
  );
}

/** What the REST API of the front door is flagged for, beyond the webhook routes' missing authorizer. */
function acknowledgeFrontDoor(frontDoor: WebhookFrontDoor): void {
  for (const method of frontDoor.methods) {
    Validations.of(method.node.defaultChild as IConstruct).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Webhook route: Cloudflare cannot obtain a Cognito user pool token any more than it can sign SigV4 (see AwsSolutions-APIG4 on ' +
        'the same method). The web ACL refuses requests without a signature header before API Gateway, and the function verifies ' +
        'the signature of the exact bytes before any other work.',
    });
  }
  Validations.of(frontDoor.restApi).acknowledge({
    id: 'AwsSolutions-APIG2',
    reason:
      'A request validator would check the body before the signature is verified, telling an unauthenticated prober what the schema ' +
      'is, and Cloudflare documents no schema for the Notifications data an Images delivery carries. The function verifies the ' +
      'signature of the raw bytes first, then validates the payload and answers 400 naming the field.',
  });
  const stage = frontDoor.restApi.deploymentStage.node.defaultChild as IConstruct;
  Validations.of(stage).acknowledge({
    id: 'AwsSolutions-APIG6',
    reason:
      'Execution logging needs the region-wide API Gateway account setting (AWS::ApiGateway::Account with a CloudWatch role), ' +
      'which every API of the account shares and a construct must not take over. The stage writes a JSON access log of every ' +
      'request with its status, WAF verdict and latencies, and the function logs one line per delivery.',
  });
  Validations.of(stage).acknowledge({
    id: 'Serverless-APIGWXrayEnabled',
    reason:
      'The function is not traced (Serverless-LambdaTracing above), so a trace would end at API Gateway; X-Ray would bill every ' +
      'sampled request, flood included. The access log records response, integration and WAF latency per request.',
  });
}

/** The functions after the webhook's are untraced for its reason; `scope` is what their role reaches, `logs` what they log instead. */
function acknowledgeUntraced(fn: lambda.IFunction, scope: string, logs: string): void {
  Validations.of(fn).acknowledge({
    id: 'Serverless-LambdaTracing',
    reason: `Same reason as the webhook function: X-Ray would add xray:Put* on "*" to a role scoped to ${scope}; ${logs}.`,
  });
}

/** A dead-letter queue has none of its own (AwsSolutions-SQS3, Serverless-SQSRedrivePolicy), for the `reason` given. */
function acknowledgeTerminalQueue(queue: IConstruct, reason: string): void {
  for (const id of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) Validations.of(queue).acknowledge({ id, reason });
}
