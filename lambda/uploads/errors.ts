/**
 * What can go wrong creating an upload. `http.ts` beside this file is the one place they
 * become status codes; each carries what the caller needs to act on.
 */

/** The request body is not what the route accepts; `field` names the offending field. */
export class UploadRequestError extends Error {
  override readonly name = 'UploadRequestError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The caller is authenticated but may not create this upload (e.g. a token without a subject). */
export class UploadForbiddenError extends Error {
  override readonly name = 'UploadForbiddenError';
}

/** The table already holds an item with the requested custom id. */
export class UploadConflictError extends Error {
  override readonly name = 'UploadConflictError';
  constructor(readonly id: string) {
    super(`an item with id ${id} already exists`);
  }
}

/** The Cloudflare API secret lacks the account id or the token: an operator must fill it in. */
export class UploadsNotConfiguredError extends Error {
  override readonly name = 'UploadsNotConfiguredError';
}

/** One entry of Cloudflare's `errors` array. */
export interface CloudflareMessage {
  readonly code?: number;
  readonly message: string;
}

/**
 * Cloudflare did not create the upload. `status` is what we answer, already chosen: the
 * caller's own mistakes (a custom id Cloudflare refuses) stay 4xx, Cloudflare's trouble and
 * ours (a refused API token) are 502/504.
 */
export class CloudflareApiError extends Error {
  override readonly name = 'CloudflareApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly detail: {
      /** Cloudflare's HTTP status; absent when no answer arrived. */
      readonly cloudflareStatus?: number;
      readonly errors?: readonly CloudflareMessage[];
      readonly retryable: boolean;
      /** Seconds, from Cloudflare's `retry-after`. */
      readonly retryAfter?: number;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
