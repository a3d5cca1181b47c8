import { ApiFailure, type CloudflareApiError } from '../core/cloudflare.js';
import { ReceiverError, type ErrorAnswer } from '../core/errors.js';

/**
 * What can go wrong creating an upload, as rows of the one error table (`lambda/core/errors.ts`):
 * each says what the caller is told.
 */

/** The request body is not what the route accepts; `field` names the offending field. */
export class UploadRequestError extends ReceiverError {
  override readonly name = 'UploadRequestError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
  answer(): ErrorAnswer {
    return { status: 400, body: { error: 'invalid request', reason: this.message, ...(this.field && { field: this.field }) } };
  }
}

/** The caller is authenticated but may not create this upload (e.g. a token without a subject). */
export class UploadForbiddenError extends ReceiverError {
  override readonly name = 'UploadForbiddenError';
  answer(): ErrorAnswer {
    return { status: 403, body: { error: 'forbidden', reason: this.message } };
  }
}

/** The table already holds an item with the requested custom id. */
export class UploadConflictError extends ReceiverError {
  override readonly name = 'UploadConflictError';
  constructor(readonly id: string) {
    super(`an item with id ${id} already exists`);
  }
  answer(): ErrorAnswer {
    return { status: 409, body: { error: 'conflict', reason: this.message } };
  }
}

/**
 * Cloudflare did not create the upload. The caller's own mistakes (a custom id Cloudflare refuses)
 * stay 4xx with Cloudflare's codes; a blank token secret is 503 (an operator must fill it in);
 * Cloudflare's trouble and a refused token are 502, a timeout 504, a rate limit 429 with its wait.
 */
export class CloudflareUploadError extends ReceiverError {
  override readonly name = 'CloudflareUploadError';
  constructor(readonly failure: CloudflareApiError) {
    super(failure.message, { cause: failure });
  }
  answer(): ErrorAnswer {
    const { failure, detail } = this.failure;
    if (failure === ApiFailure.NotConfigured) return { status: 503, body: { error: 'not configured', reason: this.message } };
    const status = STATUS[failure](detail.status);
    const retryAfter = detail.retryAfterSeconds;
    return {
      status,
      body: {
        error: 'cloudflare',
        reason: failure === ApiFailure.Auth ? `${this.message} (check the uploads API secret and the token's Images permission)` : this.message,
        retryable: this.failure.retryable,
        ...(detail.status !== undefined && { cloudflareStatus: detail.status }),
        ...(detail.errors && detail.errors.length > 0 && { cloudflareErrors: detail.errors }),
      },
      ...(retryAfter !== undefined && { headers: { 'retry-after': String(retryAfter) } }),
    };
  }
}

const STATUS: Readonly<Record<Exclude<ApiFailure, 'not-configured'>, (cloudflareStatus?: number) => number>> = {
  // What Cloudflare refused after our own checks passed is the caller's input (a taken custom id, metadata too large).
  [ApiFailure.Refused]: (status) => (status === 409 ? 409 : status === 404 ? 502 : 400),
  [ApiFailure.Auth]: () => 502,
  [ApiFailure.Throttled]: () => 429,
  [ApiFailure.Unavailable]: () => 502,
  [ApiFailure.BadAnswer]: () => 502,
  [ApiFailure.Timeout]: () => 504,
};
