import type { DynamoDBRecord } from 'aws-lambda';
import { TableDesign } from '../core/contract.js';
import { recover, type Recoverer, type WaitDecision } from '../core/decide.js';
import { NOTHING, pool, settle, type OutboxPorts } from '../core/outbox.js';

/**
 * The stream relay: what a redelivery of the webhook would do, for a write whose writer may never
 * be heard from again. The stream's filter only lets through records whose new image still has
 * something in the outbox and that the relay did not write itself; for each such item the relay
 * re-reads it consistently and asks the same decision code a redelivery would (`recover`): outbox
 * already empty → nothing; the lease run out → take over (counting the takeover and doubling its
 * own lease), publish the same event ids, empty the outbox; lease still held → wait for it, within
 * this invocation and a bound, then read again, or wait out the bound and hand the records back.
 *
 * While PutEvents keeps failing, each retry of a record finds the lease of the relay's last
 * takeover, twice as long as the one before: the retries write and publish ever more rarely, and
 * each spends its wait before handing the records back, until the bus takes the events or the
 * records are old enough for the dead-letter queue.
 */

export interface RelayPorts extends OutboxPorts {
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** Milliseconds this invocation may still run. */
  readonly remainingMs?: () => number;
}

export interface RelayOptions {
  readonly leaseMs: number;
  /** The longest one item waits, per invocation, for a lease to end; beyond it, its records are handed back for a retry. */
  readonly maxWaitMs: number;
  /** Items handled at once; each is one read and, rarely, a publish. */
  readonly concurrency?: number;
  /**
   * `writer` when a person runs this code (`events redrive`): it takes over from the relay's back-off
   * at once instead of waiting it out. @default 'relay'
   */
  readonly by?: Recoverer;
}

export interface RelayResult {
  /** Distinct items the records named. */
  readonly items: number;
  /** Events the relay published: ones a writer left in the outbox. */
  readonly republished: number;
  /** Items it found with a live writer's lease, and waited for. */
  readonly waited: number;
  /** Sequence numbers of the records to hand back (ReportBatchItemFailures): their item could not be settled. */
  readonly failures: readonly string[];
  /** The first failure, for the log line. */
  readonly firstError?: unknown;
}

/** Leave this much of the invocation unused: an item that needs more is handed back instead. */
const SAFETY_MS = 2000;

export async function relay(records: readonly DynamoDBRecord[], ports: RelayPorts, options: RelayOptions): Promise<RelayResult> {
  const byItem = new Map<string, string[]>();
  for (const record of records) {
    const id = record.dynamodb?.Keys?.[TableDesign.partitionKey]?.S;
    const sequence = record.dynamodb?.SequenceNumber;
    if (id === undefined || sequence === undefined) continue;
    byItem.set(id, [...(byItem.get(id) ?? []), sequence]);
  }

  let republished = 0;
  let waited = 0;
  const failures: string[] = [];
  let firstError: unknown;
  await pool([...byItem.keys()], options.concurrency ?? 8, async (id) => {
    let waitedMs = 0;
    // One budget per item and invocation: a lease that ends within it is waited for; a longer one is
    // waited on for the whole budget before the records go back, so retries come no faster than that.
    const waitFor = async (untilMs: number) => {
      const waitMs = untilMs - ports.now().getTime() + 50;
      const budget = Math.min(options.maxWaitMs - waitedMs, (ports.remainingMs?.() ?? Number.POSITIVE_INFINITY) - SAFETY_MS);
      const sleepMs = Math.max(0, Math.min(waitMs, budget));
      if (sleepMs > 0) await ports.sleep(sleepMs);
      waitedMs += sleepMs;
      return waitMs <= budget;
    };
    try {
      const decision = await settle(ports, id, (item) => (item ? recover(item, { now: ports.now(), leaseMs: options.leaseMs, by: options.by ?? 'relay' }) : NOTHING), waitFor);
      if (decision.type === 'wait') throw new Error(leaseHeld(id, decision));
      if (decision.type === 'write') republished += decision.publish.length;
      if (waitedMs > 0) waited += 1;
    } catch (error) {
      failures.push(...byItem.get(id)!);
      firstError ??= error;
    }
  });
  return { items: byItem.size, republished, waited, failures, ...(firstError !== undefined && { firstError }) };
}

/** Why the records go back: a writer still publishing, or the relay's own lease, backing off. */
function leaseHeld(id: string, wait: WaitDecision): string {
  const until = new Date(wait.untilMs).toISOString();
  if (wait.relayAttempts === undefined) return `item ${id}: its writer still holds the lease beyond the relay's wait (until ${until})`;
  return `item ${id}: the relay's lease from its takeover ${wait.relayAttempts} holds until ${until} (backing off while publishing fails; retried after it)`;
}
