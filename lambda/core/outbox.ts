import type { ItemWrite, TransitionEvent } from './decide.js';
import type { Publisher } from '../adapters/publish.js';
import type { ItemStore } from '../adapters/store.js';

/** Each conflict means another writer for the same item won a write; a handful of rounds settles any burst. */
export const MAX_WRITE_ATTEMPTS = 8;

/**
 * The outbox step both writers share (a webhook in `receive.ts`, the expiry sweep): the
 * version-guarded write that records the transition and its `unpublished` marker, then the
 * events, then the marker cleared. `false`: another writer changed the item first; re-read and
 * decide again. A crash between the write and the clear leaves the marker for the next writer.
 */
export async function writeThenPublish(
  ports: { readonly store: ItemStore; readonly publisher: Publisher },
  id: string,
  decision: { readonly write: ItemWrite; readonly publish: readonly TransitionEvent[] },
): Promise<boolean> {
  if (!(await ports.store.write(id, decision.write))) return false;
  if (decision.publish.length > 0) {
    await ports.publisher.publish(decision.publish);
    await ports.store.markPublished(id, decision.publish.map((event) => event.detail.eventId));
  }
  return true;
}
