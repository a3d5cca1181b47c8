import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { readConfig } from './config';
import { PayloadTooLargeError, RouteNotFoundError } from './errors';
import { errorResponse, json } from './http';
import { EventBridgePublisher } from './publish';
import { receive, type Ports, type Receipt, type WebhookRequest } from './receive';
import { SecretsManagerSecrets } from './secrets';
import { DynamoItemStore } from './store';
import type { Route } from './verify';

/** Entry: API Gateway HTTP API (payload v2) → the data path in `receive.ts`. */

const config = readConfig(process.env);
const logger = new Logger();
const ports: Ports = {
  secrets: new SecretsManagerSecrets(config.secretId),
  store: new DynamoItemStore(config.tableName),
  publisher: new EventBridgePublisher(config.eventBusName),
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export const handler = async (event: APIGatewayProxyEventV2, context?: Context): Promise<APIGatewayProxyStructuredResultV2> => {
  const started = performance.now();
  if (context) logger.addContext(context);
  let receipt: Receipt | undefined;
  let response: APIGatewayProxyStructuredResultV2;
  let failure: unknown;
  try {
    receipt = await receive(toRequest(event), ports, config);
    response = json(200, { ok: true, ...receipt });
  } catch (error) {
    failure = error;
    response = errorResponse(error);
  }
  // One line per delivery. Headers and body are never logged: they carry the secret or its signature.
  const line = {
    route: event.routeKey,
    statusCode: response.statusCode,
    durationMs: Math.round(performance.now() - started),
    ...(receipt ?? {}),
  };
  if ((response.statusCode ?? 500) >= 500) logger.error('delivery failed', { ...line, error: failure as Error });
  else if ((response.statusCode ?? 500) >= 400) logger.warn('delivery rejected', { ...line, reason: (failure as Error).message });
  else logger.info('delivery processed', line);
  return response;
};

function toRequest(event: APIGatewayProxyEventV2): WebhookRequest {
  const route = routeOf(event.routeKey);
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
