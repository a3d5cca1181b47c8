/**
 * An ItemStore in memory that keeps the table adapter's rules (lambda/adapters/store.ts):
 * version-guarded writes, a create only where no item is, and markPublished taking the ids out of
 * the outbox. Unit suites extend it: a size limit (sized-store.ts), an index (the sweep's).
 */
import type { Item, ItemWrite } from '../../lambda/core/item.js';
import type { ItemStore } from '../../lambda/core/ports.js';

export class MemoryItemStore implements ItemStore {
  readonly items = new Map<string, Item>();

  async get(id: string) {
    const item = this.items.get(id);
    return item && structuredClone(item);
  }

  async write(id: string, write: ItemWrite) {
    const item = this.items.get(id);
    if (!item || item.version !== write.expectedVersion) return false;
    const next: Record<string, unknown> = { ...item, ...structuredClone(write.set) };
    for (const attribute of write.remove ?? []) delete next[attribute];
    this.commit(id, next);
    return true;
  }

  async create(item: Item) {
    if (this.items.has(item.id)) return false;
    this.commit(item.id, structuredClone(item));
    return true;
  }

  async markPublished(id: string, eventIds: readonly string[]) {
    // As the table's adapter does: the ids out of the outbox, the relay's count of takeovers gone.
    const { unpublished, relayAttempts: _ended, relayBackoffUntil: _backoff, ...item } = this.items.get(id)!;
    const left = (unpublished ?? []).filter((eventId) => !eventIds.includes(eventId));
    this.commit(id, { ...item, ...(left.length > 0 && { unpublished: left }), version: (item.version ?? 0) + 1 });
  }

  /** Where every change lands; a store that refuses one throws here, and the item stays as it was. */
  protected commit(id: string, next: Record<string, unknown>): void {
    this.items.set(id, next as Item);
  }
}
