/**
 * A webhook sender that behaves like Cloudflare's: it retries a delivery that failed on our
 * side (5xx, 429, no answer) with exponential backoff, and never retries a 4xx. Signatures are
 * made afresh for each attempt, as a sender re-signing on retry would.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from './fault-proxy.js';

export interface Delivery {
  readonly url: string;
  readonly body: string | Buffer;
  /** Called once per attempt, so a timestamped signature is fresh on each. */
  readonly headers: () => Record<string, string>;
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseMs: number;
  readonly capMs: number;
  /** Seeds the jitter. */
  readonly seed: number;
  /** Per-attempt timeout. */
  readonly timeoutMs: number;
}

export interface Sent {
  /** Status of the last attempt; 0 when it never got an answer. */
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly attempts: number;
  /** Attempts answered 5xx/429 or not at all. */
  readonly failedAttempts: number;
  /** True when every attempt failed: the delivery is lost from the sender's side. */
  readonly gaveUp: boolean;
}

const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseMs: 100, capMs: 2000, seed: 1, timeoutMs: 30_000 };

const retryable = (status: number) => status === 0 || status === 429 || status >= 500;

export function createSender(policy: RetryPolicy = DEFAULT_RETRY) {
  const random = seededRandom(policy.seed);
  return async function deliver(delivery: Delivery): Promise<Sent> {
    let status = 0;
    let body: Record<string, unknown> = {};
    let failedAttempts = 0;
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      try {
        const response = await fetch(delivery.url, {
          method: 'POST',
          headers: delivery.headers(),
          body: delivery.body,
          signal: AbortSignal.timeout(policy.timeoutMs),
        });
        status = response.status;
        const text = await response.text();
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        status = 0;
        body = {};
      }
      if (!retryable(status)) return { status, body, attempts: attempt, failedAttempts, gaveUp: false };
      failedAttempts++;
      if (attempt < policy.maxAttempts) {
        // Full jitter: spreads the retries of a burst instead of lining them up again.
        const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1));
        await sleep(random() * ceiling);
      }
    }
    return { status, body, attempts: policy.maxAttempts, failedAttempts, gaveUp: true };
  };
}

/** Runs `tasks` with at most `concurrency` in flight, keeping results in order. */
export async function inPool<T>(tasks: readonly (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return results;
}
