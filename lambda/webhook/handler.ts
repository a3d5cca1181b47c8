import { setTimeout as sleep } from 'node:timers/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { readConfig } from './config.js';
import { DependencyError, PayloadTooLargeError, RouteNotFoundError, UnknownItemError } from '../core/errors.js';
import { errorResponse, json } from '../core/http.js';
import { createLogger } from '../adapters/log.js';
import { METRICS_SERVICE } from '../core/metrics.js';
import { createMetrics, publishBatches } from '../adapters/metrics.js';
import { metricBatches, summarizeDelivery, type DeliverySummary } from './metrics.js';
import { EventBridgePublisher } from '../adapters/publish.js';
import { receive, type Ports, type Receipt, type WebhookRequest } from './receive.js';
import { FetchCloudflare } from '../adapters/cloudflare.js';
import { ApiTokenSecret, SecretsManagerSecrets } from '../adapters/secrets.js';
import { DynamoItemStore } from '../adapters/store.js';
import { awsClientConfig } from '../adapters/aws.js';
import type { Route } from './verify.js';
import { asHttpApiEvent } from './rest-event.js';

/** Entry: API Gateway HTTP API (payload v2) → the data path in `receive.ts`. */

const config = readConfig(process.env);
const logger = createLogger();
const metrics = createMetrics(METRICS_SERVICE);
// One client for both secrets: a second would only add its own connections and set-up at cold start.
const secretsManager = new SecretsManagerClient(awsClientConfig);
const ports: Ports = {
  secrets: new SecretsManagerSecrets(config.secretId, secretsManager),
  store: new DynamoItemStore(config.tableName),
  publisher: new EventBridgePublisher(config.eventBusName),
  ...(config.readSecretId && {
    cloudflare: new FetchCloudflare({
      baseUrl: config.cloudflareBaseUrl,
      credentials: new ApiTokenSecret(config.readSecretId, secretsManager),
      timeoutMs: config.cloudflareTimeoutMs,
    }),
  }),
  now: () => new Date(),
  sleep,
};

export const handler = async (incoming: APIGatewayProxyEventV2 | APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyStructuredResultV2> => {
  const started = performance.now();
  // The front door's REST API sends payload format 1.0 (lib/front-door.ts).
  const event = asHttpApiEvent(incoming);
  if (context) logger.addContext(context);
  let route: Route | undefined;
  let receipt: Receipt | undefined;
  let response: APIGatewayProxyStructuredResultV2;
  let failure: unknown;
  try {
    route = routeOf(event.routeKey);
    receipt = await withinDeadline(receive(toRequest(route, event), ports, config), deadlineMs(context));
    response = json(200, { ok: true, ...receipt });
  } catch (error) {
    failure = error;
    response = errorResponse(error);
  }
  const statusCode = response.statusCode ?? 500;
  const durationMs = Math.round(performance.now() - started);
  // Telemetry must never change the answer: a bug here is logged, and the sender still gets it.
  try {
    const summary = summarizeDelivery(route, receipt ? { receipt } : { error: failure });
    logDelivery(event, statusCode, durationMs, summary, receipt, failure);
    publishBatches(metrics, metricBatches(summary));
  } catch (error) {
    logger.error('telemetry failed', { error: error as Error });
  }
  return response;
};

/**
 * One line per delivery. Headers and body are never logged: they carry the secret or its
 * signature. `requestId` is API Gateway's (the access log's `requestId`, the `apigw-requestid`
 * response header); Powertools adds the Lambda request id and `cold_start`.
 */
function logDelivery(
  event: APIGatewayProxyEventV2,
  statusCode: number,
  durationMs: number,
  summary: DeliverySummary,
  receipt: Receipt | undefined,
  failure: unknown,
): void {
  const line = {
    requestId: event.requestContext?.requestId,
    route: event.routeKey,
    statusCode,
    durationMs,
    result: summary.result,
    kind: summary.kind,
    ...(failure instanceof UnknownItemError && { id: failure.id }),
    ...receipt,
    outcome: summary.outcome,
    ...(summary.transition && { transition: `${summary.transition.from}->${summary.transition.to}` }),
    ...(summary.rejection && { rejection: summary.rejection }),
  };
  if (statusCode >= 500) logger.error('delivery failed', { ...line, error: failure as Error });
  else if (statusCode >= 400) logger.warn('delivery rejected', { ...line, reason: (failure as Error).message });
  else logger.info('delivery processed', line);
}

/**
 * The SDK bounds each AWS call (lambda/adapters/aws.ts), not a delivery: calls that each stay just
 * under their limit could still add up to the function's timeout, and a timed-out invocation
 * answers nothing useful. A delivery gets a deadline of its own, a second before the function's
 * end: past it the answer is a retryable 500. Whatever was written stays correct (a transition and
 * its outbox are one write; the stream relay publishes what is left in it).
 */
function deadlineMs(context: Context | undefined): number {
  const remaining = context ? context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS : Number.POSITIVE_INFINITY;
  return Math.max(0, Math.min(config.deadlineMs, remaining));
}

const DEADLINE_MARGIN_MS = 1000;

async function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DependencyError('deadline', `the delivery took longer than its ${ms} ms deadline`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function toRequest(route: Route, event: APIGatewayProxyEventV2): WebhookRequest {
  const raw = event.body ?? '';
  // Reject by length before decoding: base64 is 4/3 of the bytes it carries.
  const encodedLimit = event.isBase64Encoded ? Math.ceil((config.maxBodyBytes * 4) / 3) + 4 : config.maxBodyBytes;
  if (raw.length > encodedLimit) throw new PayloadTooLargeError(config.maxBodyBytes);
  // Signatures cover the exact bytes Cloudflare sent, so decode base64 rather than re-encode text.
  const body = Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8');
  return { route, headers: event.headers ?? {}, body };
}

function routeOf(routeKey: string): Route {
  const path = routeKey.slice(routeKey.indexOf(' ') + 1);
  if (path === config.imagesPath) return 'images';
  if (path === config.streamPath) return 'stream';
  throw new RouteNotFoundError(routeKey);
}
