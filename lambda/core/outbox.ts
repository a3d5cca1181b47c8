import type { Item } from './item.js';
import type { WaitDecision, WriteDecision } from './decide.js';
import { DependencyError } from './errors.js';
import type { ItemStore, Publisher } from './ports.js';

/**
 * The outbox step every writer shares (a webhook, the upload route's later reports, the sweep, the
 * stream relay, `images sync`): read the item, decide, write the decision with its version guard
 * (the transition and its event ids in one write), publish, then take the ids out of the outbox.
 * A writer that dies anywhere in between leaves the ids behind; the stream relay finds them.
 */

/** Each conflict means another writer for the same item won a write; a handful of rounds settles any burst. */
const MAX_WRITE_ATTEMPTS = 8;

export interface OutboxPorts {
  readonly store: ItemStore;
  readonly publisher: Publisher;
}

/** What a writer's `decideOn` gives for an item that needs nothing (gone, or no longer due): `settle` hands it back. */
export const NOTHING = { type: 'nothing' } as const;

/** `false`: another writer changed the item first; re-read and decide again. */
async function writeThenPublish(ports: OutboxPorts, id: string, decision: WriteDecision): Promise<boolean> {
  if (!(await ports.store.write(id, decision.write))) return false;
  if (decision.publish.length > 0) {
    await ports.publisher.publish(decision.publish);
    await ports.store.markPublished(id, decision.publish.map((event) => event.detail.eventId));
  }
  return true;
}

/**
 * Reads and decides until the decision sticks: a write is retried on a conflict, a wait is handed
 * to `waitFor` (true: it waited, read again; false: give up, the wait is returned). Anything else
 * is the caller's to act on.
 */
export async function settle<D extends { readonly type: string }>(
  ports: OutboxPorts,
  id: string,
  decideOn: (item: Item | undefined) => D,
  waitFor: (untilMs: number) => Promise<boolean>,
): Promise<D> {
  for (let conflicts = 0; conflicts < MAX_WRITE_ATTEMPTS; ) {
    const decision = decideOn(await ports.store.get(id));
    if (decision.type === 'wait') {
      if (await waitFor((decision as unknown as WaitDecision).untilMs)) continue;
      return decision;
    }
    if (decision.type !== 'write') return decision;
    if (await writeThenPublish(ports, id, decision as unknown as WriteDecision)) return decision;
    conflicts += 1;
  }
  throw new DependencyError('dynamodb', `item ${id} kept changing under ${MAX_WRITE_ATTEMPTS} write attempts`);
}

/** Runs `work` on every item, at most `size` at a time: how the sweep and the relay settle many items. */
export async function pool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}
