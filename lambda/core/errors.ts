import type { CloudflareMessage } from './cloudflare.js';
import { Rejection } from './metrics.js';

/**
 * The one error table. Every way a request can fail is a class that says what the sender is told
 * (status and body) and what the metrics count (the rejection reason): `http.ts` writes the answer
 * from it, `lambda/webhook/metrics.ts` the metric, and neither decides anything of its own. Bad
 * input is always a 4xx (Cloudflare must not retry it); only our own failures are a 500, so a retry
 * can succeed. No answer says anything about internals.
 */

export interface ErrorAnswer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** What a rejected (4xx) webhook delivery counts as; undefined for a 500 and for the upload route. */
  readonly rejection?: Rejection;
  /** A 500 because EventBridge failed or dropped an event (metric `PublishFailures`). */
  readonly publishFailed?: boolean;
  /** A 500 because Cloudflare's API could not be asked: the class of its failure (metric `CloudflareApiErrors`). */
  readonly apiFailure?: ApiFailure;
}

/** Why a call gave no answer to act on. Each class is a metric dimension and decides what the caller does. */
export const ApiFailure = {
  /** 401/403: the token is wrong or lacks a permission. Nothing retries its way out; an operator must act. */
  Auth: 'auth',
  /** 429: Cloudflare asks us to slow down (`retryAfterSeconds`). */
  Throttled: 'throttled',
  /** 5xx or no connection: try again later. */
  Unavailable: 'unavailable',
  /** No answer within the caller's limit: try again later. */
  Timeout: 'timeout',
  /** The token's secret is blank or half-filled: an operator has to store one (`npm run connect`). */
  NotConfigured: 'not-configured',
  /** An answer that is not Cloudflare's envelope, or a result without the fields it must have. */
  BadAnswer: 'bad-answer',
  /** Cloudflare refused the request itself (400, 409, 413, 422; or 404 for the account, not the object). */
  Refused: 'refused',
} as const;
export type ApiFailure = (typeof ApiFailure)[keyof typeof ApiFailure];

const TRANSIENT_API_FAILURES: ReadonlySet<ApiFailure> = new Set([ApiFailure.Throttled, ApiFailure.Unavailable, ApiFailure.Timeout, ApiFailure.BadAnswer]);

export class CloudflareApiError extends Error {
  override readonly name = 'CloudflareApiError';
  constructor(
    message: string,
    readonly failure: ApiFailure,
    readonly detail: { readonly status?: number; readonly errors?: readonly CloudflareMessage[]; readonly retryAfterSeconds?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Worth trying again later without anyone changing anything. */
  get retryable(): boolean {
    return TRANSIENT_API_FAILURES.has(this.failure);
  }
}

export abstract class ReceiverError extends Error {
  abstract answer(): ErrorAnswer;
}

/** Why a signature check refused a request. */
export const RejectReason = {
  Missing: 'missing signature',
  Malformed: 'malformed signature header',
  Invalid: 'invalid signature',
  Stale: 'timestamp outside the allowed window',
  /**
   * The request used a scheme whose secret list is empty. Operators see it in the log and the
   * metric; the sender is told "invalid signature", so a prober cannot learn which schemes are off.
   * Returned only for a well-formed header: a malformed one is answered as malformed.
   */
  NotConfigured: 'no secret configured for this webhook',
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

const SIGNATURE_REJECTIONS: Readonly<Record<RejectReason, Rejection>> = {
  [RejectReason.Missing]: Rejection.MissingSignature,
  [RejectReason.Malformed]: Rejection.MalformedSignature,
  [RejectReason.Invalid]: Rejection.InvalidSignature,
  [RejectReason.Stale]: Rejection.StaleSignature,
  [RejectReason.NotConfigured]: Rejection.SecretNotConfigured,
};

/** The body is bigger than the configured limit; rejected before any other work. */
export class PayloadTooLargeError extends ReceiverError {
  override readonly name = 'PayloadTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`body exceeds ${limitBytes} bytes`);
  }
  answer(): ErrorAnswer {
    return { status: 413, body: { error: 'payload too large', limitBytes: this.limitBytes }, rejection: Rejection.TooLarge };
  }
}

/** Missing, malformed, wrong or stale signature. */
export class SignatureError extends ReceiverError {
  override readonly name = 'SignatureError';
  constructor(readonly reason: RejectReason) {
    super(reason);
  }
  answer(): ErrorAnswer {
    const told = this.reason === RejectReason.NotConfigured ? RejectReason.Invalid : this.reason;
    return { status: 401, body: { error: 'unauthorized', reason: told }, rejection: SIGNATURE_REJECTIONS[this.reason] };
  }
}

/** Not JSON, or JSON that fails validation; `field` names the offending field when known. */
export class PayloadError extends ReceiverError {
  override readonly name = 'PayloadError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
  answer(): ErrorAnswer {
    return { status: 400, body: { error: 'invalid payload', reason: this.message, ...(this.field && { field: this.field }) }, rejection: Rejection.InvalidPayload };
  }
}

/** A valid delivery for an id the table does not hold (the seed's 404). */
export class UnknownItemError extends ReceiverError {
  override readonly name = 'UnknownItemError';
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`unknown ${kind} ${id}`);
  }
  answer(): ErrorAnswer {
    return { status: 404, body: { error: 'not found', reason: `no ${this.kind} with id ${this.id}` }, rejection: Rejection.UnknownId };
  }
}

/** The route has no handler (only reachable through a misconfigured integration). */
export class RouteNotFoundError extends ReceiverError {
  override readonly name = 'RouteNotFoundError';
  constructor(readonly routeKey: string) {
    super(`no webhook at ${routeKey}`);
  }
  answer(): ErrorAnswer {
    return { status: 404, body: { error: 'not found', reason: 'no webhook at this route' }, rejection: Rejection.UnknownRoute };
  }
}

/** DynamoDB, EventBridge, Secrets Manager or Cloudflare's API failed, or the delivery ran out of time: a 500, so the sender may retry. */
export class DependencyError extends ReceiverError {
  override readonly name = 'DependencyError';
  constructor(
    readonly dependency: 'dynamodb' | 'eventbridge' | 'secretsmanager' | 'cloudflare' | 'deadline',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  answer(): ErrorAnswer {
    return {
      status: 500,
      body: { error: 'internal error', retryable: true },
      ...(this.dependency === 'eventbridge' && { publishFailed: true }),
      ...(this.cause instanceof CloudflareApiError && { apiFailure: this.cause.failure }),
    };
  }
}

/** What anything else (a bug) is answered with: nothing about internals, nothing to retry. */
const UNEXPECTED: ErrorAnswer = { status: 500, body: { error: 'internal error', retryable: false } };

export function answerOf(error: unknown): ErrorAnswer {
  return error instanceof ReceiverError ? error.answer() : UNEXPECTED;
}
