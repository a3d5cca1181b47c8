import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { publicReason } from '../webhook/verify.js';
import { DependencyError, PayloadError, PayloadTooLargeError, RouteNotFoundError, SignatureError, UnknownItemError } from './errors.js';

export function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * The one place errors become status codes. Bad input is always a 4xx (Cloudflare must not
 * retry it); only our own failures are a 500, so a retry can succeed. A 500 body says nothing
 * about internals.
 */
export function errorResponse(error: unknown): APIGatewayProxyStructuredResultV2 {
  if (error instanceof SignatureError) return json(401, { error: 'unauthorized', reason: publicReason(error.reason) });
  if (error instanceof PayloadError) return json(400, { error: 'invalid payload', reason: error.message, ...(error.field ? { field: error.field } : {}) });
  if (error instanceof UnknownItemError) return json(404, { error: 'not found', reason: `no ${error.kind} with id ${error.id}` });
  if (error instanceof PayloadTooLargeError) return json(413, { error: 'payload too large', limitBytes: error.limitBytes });
  if (error instanceof RouteNotFoundError) return json(404, { error: 'not found', reason: 'no webhook at this route' });
  return json(500, { error: 'internal error', retryable: error instanceof DependencyError });
}

export function statusOf(error: unknown): number {
  return errorResponse(error).statusCode ?? 500;
}
