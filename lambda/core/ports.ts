import type { Item, ItemWrite, TransitionEvent } from './item.js';

/**
 * What the data path needs from the outside, as the functions see it; the AWS adapters in
 * `lambda/adapters/` implement them, tests substitute faults.
 */

/** The images table. It executes decisions; it makes none. */
export interface ItemStore {
  /** Strongly consistent: a decision must see the last write, or a duplicate looks new. */
  get(id: string): Promise<Item | undefined>;
  /** False when the item changed since it was read (the version check failed). */
  write(id: string, write: ItemWrite): Promise<boolean>;
  /** False when an item with that id already exists. */
  create(item: Item): Promise<boolean>;
  /** Take events that reached the bus out of the item's outbox. */
  markPublished(id: string, eventIds: readonly string[]): Promise<void>;
}

/** The event bus. Resolves only when every event was accepted. */
export interface Publisher {
  publish(events: readonly TransitionEvent[]): Promise<void>;
}
