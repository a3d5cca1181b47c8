import { integer } from '../core/env.js';

/**
 * Options of every AWS client the functions create. Without timeouts a call to an endpoint
 * that stops answering hangs until the function's own timeout (10 s) and the invocation dies
 * without an answer. With them, an attempt gives up after ~2 s with a `TimeoutError`, which the
 * SDK's standard retry treats as transient: the next attempt usually goes through, and when
 * every attempt hangs the delivery still ends in a clean, retryable 500 after ~6 s (3 attempts).
 * DynamoDB's clients default to 4 attempts in this SDK; 3 for every client keeps one hung
 * dependency well inside the function's 10 s, with room for the calls before it.
 *
 * `throwOnRequestTimeout` is not optional: in this SDK's node-http-handler a breached
 * `requestTimeout` only logs a warning unless it is set.
 *
 * Three attempts while the client's retry quota lasts. The SDK's standard mode keeps one quota
 * per client: 500 tokens, 14 spent per retried timeout or 5xx (5 per throttle), 1 earned back
 * per call that succeeds at once (test/unit/sdk-retries.test.ts counts the attempts). A Lambda
 * instance serves one delivery at a time and makes its calls one after another, so a delivery
 * cannot spend it; an outage that fails about 17 calls in a row on one warm instance does, and
 * later calls then get one attempt until successes refill it: the SDK's circuit breaker, kept.
 * Calls made at once on one client share its quota and its 50 sockets, and both timeouts count
 * the wait for a socket: a few dozen failing together leave most of them one attempt. No
 * function does that (the sweep works on 4 items at a time, the relay on 8); one that fans out wider
 * needs a client per concurrent worker, or a retry strategy whose quota its own burst cannot spend.
 *
 * `SDK_REQUEST_TIMEOUT_MS` is for the local emulator only (the stack never sets it): moto
 * serializes requests, so a test that bursts a hundred concurrent deliveries at it queues calls
 * for longer than any AWS answer takes, and raises the limit rather than measure the queue.
 */
export const REQUEST_TIMEOUT_ENV = 'SDK_REQUEST_TIMEOUT_MS';

export const awsClientConfig = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1000, requestTimeout: integer(process.env, REQUEST_TIMEOUT_ENV, 2000), throwOnRequestTimeout: true },
  // Read at load with the rest of the function's settings, not at its first call: in AWS it is never
  // set; locally several functions share one process and each may point elsewhere (a fault proxy).
  ...(process.env.AWS_ENDPOINT_URL && { endpoint: process.env.AWS_ENDPOINT_URL }),
};
