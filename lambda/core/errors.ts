/**
 * What can go wrong with a delivery. Each class carries what the caller needs to answer;
 * `http.ts` is the one place that turns them into status codes.
 */

/** The body is bigger than the configured limit; rejected before any other work. */
export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`body exceeds ${limitBytes} bytes`);
  }
}

/** Missing, malformed, wrong or stale signature. `reason` is safe to show the sender. */
export class SignatureError extends Error {
  override readonly name = 'SignatureError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Not JSON, or JSON that fails validation; `field` names the offending field when known. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A valid delivery for an id the table does not hold (the seed's 404). */
export class UnknownItemError extends Error {
  override readonly name = 'UnknownItemError';
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`unknown ${kind} ${id}`);
  }
}

/** The route has no handler (only reachable through a misconfigured integration). */
export class RouteNotFoundError extends Error {
  override readonly name = 'RouteNotFoundError';
  constructor(readonly routeKey: string) {
    super(`no webhook at ${routeKey}`);
  }
}

/** DynamoDB, EventBridge, Secrets Manager or Cloudflare's API failed: a 500, so the sender may retry. */
export class DependencyError extends Error {
  override readonly name = 'DependencyError';
  constructor(
    readonly dependency: 'dynamodb' | 'eventbridge' | 'secretsmanager' | 'cloudflare',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
