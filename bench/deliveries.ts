/**
 * Signed deliveries as Cloudflare sends them, one fresh image or video id each so every one is
 * a real transition (pending → uploaded/ready). They rotate through the three schemes the
 * receiver accepts, so verification, parsing and item size are a fair mix:
 *   Images, toolkit payload, X-Signature (HMAC of the body)
 *   Images, Cloudflare Notifications envelope, cf-webhook-auth (shared secret)
 *   Stream, video ready, Webhook-Signature (HMAC of time.body)
 */
import type { APIGatewayProxyEventV2, DynamoDBStreamEvent } from 'aws-lambda';
import { Defaults, SecretKey, TableDesign, WebhookEnv } from '../lambda/core/contract.js';
import { payloads, signedHeaders } from '../local/payloads.js';
import { toApiGatewayV2Event } from '../local/server.js';

export const benchSecrets = {
  [SecretKey.Images]: ['bench-images-secret-0123456789abcdef'],
  [SecretKey.Stream]: ['bench-stream-secret-0123456789abcdef'],
  [SecretKey.Toolkit]: ['bench-toolkit-secret-0123456789abcdef'],
} as const;

/**
 * The item each delivery finds, in DynamoDB JSON: a pending image or video as the upload route
 * creates it (lambda/uploads/create.ts `pendingItem`: timestamps, an expiry, version 0), so the
 * decision, the conditional write and the cost model's index writes are those of a real item.
 */
export function pendingItem(id: string, kind: 'image' | 'video'): Record<string, Record<string, unknown>> {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    id: { S: id },
    kind: { S: kind },
    status: { S: 'pending' },
    precedence: { S: '0##0' },
    createdAt: { S: at },
    updatedAt: { S: at },
    expiresAt: { S: '2026-01-01T01:00:00.000Z' },
    version: { N: '0' },
    requireSignedURLs: { BOOL: false },
    recordedFrom: { S: 'upload' },
  };
}

export interface Delivery {
  readonly id: string;
  readonly kind: 'image' | 'video';
  /** As the HTTP API's client sends it. */
  readonly request: { readonly path: string; readonly headers: Record<string, string>; readonly body: string };
  /** As the HTTP API hands it to the function (payload format 2.0). */
  readonly event: APIGatewayProxyEventV2;
}

export function makeDeliveries(count: number, prefix: string): Delivery[] {
  const at = new Date().toISOString();
  return Array.from({ length: count }, (_, i) => {
    const scheme = i % 3;
    const id = `${scheme === 2 ? 'vid' : 'img'}-${prefix}-${i}`;
    let path: string;
    let body: string;
    let headers: Record<string, string>;
    if (scheme === 0) {
      path = Defaults.imagesPath;
      body = JSON.stringify(payloads.imageUploaded(id, at));
      headers = signedHeaders.toolkit(benchSecrets.toolkit[0], body);
    } else if (scheme === 1) {
      path = Defaults.imagesPath;
      const data = { id, uploaded: at, variants: [`https://imagedelivery.net/hash/${id}/public`], metadata: { key: 'value' } };
      body = JSON.stringify(payloads.notification(data, Math.floor(Date.now() / 1000)));
      headers = signedHeaders.notification(benchSecrets.images[0]);
    } else {
      path = Defaults.streamPath;
      body = JSON.stringify(payloads.videoReady(id, at));
      headers = signedHeaders.stream(benchSecrets.stream[0], body);
    }
    const allHeaders = { host: 'abc123.execute-api.us-east-1.amazonaws.com', 'user-agent': 'Cloudflare-Webhooks', ...headers };
    const event = toApiGatewayV2Event({ method: 'POST', path, headers: allHeaders, body: Buffer.from(body) }, `POST ${path}`);
    return { id, kind: scheme === 2 ? 'video' : 'image', request: { path, headers, body }, event };
  });
}

/**
 * A batch as the relay's event source mapping delivers it: one record per id, each the write of a
 * transition (its new image holds the event id in the outbox, which is what the filter lets through).
 */
export function streamEvent(ids: readonly string[]): DynamoDBStreamEvent {
  return {
    Records: ids.map((id, i) => ({
      eventID: `bench-${i}`,
      eventName: 'MODIFY',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/bench-table/stream/2026-01-01T00:00:00.000',
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: { [TableDesign.partitionKey]: { S: id } },
        NewImage: { [TableDesign.partitionKey]: { S: id }, [TableDesign.outbox.attribute]: { SS: [`e-${id}`] }, status: { S: 'uploaded' } },
        SequenceNumber: String(100_000_000 + i),
        SizeBytes: 200,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    })),
  };
}

/**
 * The function's environment as Lambda sets it: the runtime's variables, the stack's own
 * (`stackEnvironment`, the literal values from the synthesized template) and bench names for
 * what CloudFormation would fill in; AWS pointed at `endpoint`. Built from scratch rather than
 * inherited, so nothing from this shell leaks in.
 */
export function lambdaEnvironment(endpoint: string, memoryMB: number, stackEnvironment: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    AWS_ENDPOINT_URL: endpoint,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: 'bench-webhook',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMB),
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/bench-webhook',
    AWS_LAMBDA_LOG_STREAM_NAME: 'bench',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    // The SDK's Node 20 deprecation notice: Lambda runs Node 24, where it never prints.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    [WebhookEnv.TableName]: 'bench-table',
    [WebhookEnv.EventBusName]: 'bench-bus',
    [WebhookEnv.SecretId]: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench',
    ...stackEnvironment,
  };
}
