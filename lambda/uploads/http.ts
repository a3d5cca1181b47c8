import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DependencyError } from '../core/errors.js';
import { json } from '../core/http.js';
import { CloudflareApiError, UploadConflictError, UploadForbiddenError, UploadRequestError, UploadsNotConfiguredError } from './errors.js';

/** The one place the upload route's errors become status codes. A 500 says nothing about internals. */
export function uploadErrorResponse(error: unknown): APIGatewayProxyStructuredResultV2 {
  if (error instanceof UploadRequestError) return json(400, { error: 'invalid request', reason: error.message, ...(error.field && { field: error.field }) });
  if (error instanceof UploadForbiddenError) return json(403, { error: 'forbidden', reason: error.message });
  if (error instanceof UploadConflictError) return json(409, { error: 'conflict', reason: error.message });
  if (error instanceof CloudflareApiError) {
    const { cloudflareStatus, errors, retryable, retryAfter } = error.detail;
    const response = json(error.status, {
      error: 'cloudflare',
      reason: error.message,
      retryable,
      ...(cloudflareStatus !== undefined && { cloudflareStatus }),
      ...(errors && errors.length > 0 && { cloudflareErrors: errors }),
    });
    if (retryAfter !== undefined) response.headers = { ...response.headers, 'retry-after': String(retryAfter) };
    return response;
  }
  if (error instanceof UploadsNotConfiguredError) return json(503, { error: 'not configured', reason: error.message });
  return json(500, { error: 'internal error', retryable: error instanceof DependencyError });
}
