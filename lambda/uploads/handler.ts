import type { APIGatewayProxyEventV2WithRequestContext, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { errorResponse, json } from '../core/http.js';
import { FetchCloudflare } from '../adapters/cloudflare.js';
import { ApiTokenSecret } from '../adapters/secrets.js';
import { createLogger } from '../adapters/log.js';
import { DynamoItemStore } from '../adapters/store.js';
import { readUploadsConfig } from './config.js';
import { createUpload, type UploadPorts } from './create.js';
import { parseUploadRequest, type Caller } from './request.js';

/** Entry: `POST /uploads` (HTTP API payload v2, IAM or JWT authorizer) → Cloudflare → the table. */

const config = readUploadsConfig(process.env);
const logger = createLogger();
const ports: UploadPorts = {
  cloudflare: new FetchCloudflare({ baseUrl: config.baseUrl, credentials: new ApiTokenSecret(config.apiSecretId), timeoutMs: config.cloudflareTimeoutMs }),
  store: new DynamoItemStore(config.tableName),
  now: () => new Date(),
};

/** What the HTTP API's authorizers put in the request context. */
interface AuthorizerContext {
  readonly authorizer?: {
    readonly iam?: { readonly userArn?: string };
    readonly jwt?: { readonly claims?: Readonly<Record<string, unknown>> };
  };
}

export type UploadEvent = APIGatewayProxyEventV2WithRequestContext<APIGatewayProxyEventV2WithRequestContext<unknown>['requestContext'] & AuthorizerContext>;

export const handler = async (event: UploadEvent, context?: Context): Promise<APIGatewayProxyStructuredResultV2> => {
  const started = performance.now();
  if (context) logger.addContext(context);
  const caller = callerOf(event);
  let response: APIGatewayProxyStructuredResultV2;
  let failure: unknown;
  let created: { id: string; expiresAt: string } | undefined;
  try {
    const body = event.body === undefined ? undefined : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8').toString('utf8');
    const request = parseUploadRequest(body, caller, ports.now(), config);
    const upload = await createUpload(request, ports);
    created = { id: upload.id, expiresAt: upload.expiresAt };
    response = json(201, upload);
  } catch (error) {
    failure = error;
    response = errorResponse(error);
  }
  // The upload URL is a bearer credential for one upload: it is answered, never logged.
  const line = { route: event.routeKey, statusCode: response.statusCode, caller: caller.type, durationMs: Math.round(performance.now() - started), ...created };
  const status = response.statusCode ?? 500;
  if (status >= 500) logger.error('upload not created', { ...line, error: failure as Error });
  else if (status >= 400) logger.warn('upload refused', { ...line, reason: (failure as Error).message });
  else logger.info('upload created', line);
  return response;
};

function callerOf(event: UploadEvent): Caller {
  const authorizer = event.requestContext.authorizer;
  if (authorizer?.jwt) {
    const sub = authorizer.jwt.claims?.sub;
    return { type: 'jwt', ...(typeof sub === 'string' && sub && { subject: sub }) };
  }
  const arn = authorizer?.iam?.userArn;
  return { type: 'iam', ...(arn && { arn }) };
}
