/**
 * An ItemStore that applies DynamoDB's item size rule exactly as documented and all or nothing:
 * a write whose resulting item exceeds 400 KB is refused whole and the item stays as it was
 * (DynamoDB: "Item sizes and formats", docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 * moto refuses earlier than DynamoDB and half-applies a refused update, so the emulator cannot
 * show where the limit really bites; this store can, under the real data path (`receive`).
 */
import { DependencyError } from '../../lambda/core/errors.js';
import type { Item, ItemWrite } from '../../lambda/core/item.js';
import type { ItemStore } from '../../lambda/core/ports.js';

export const MAX_ITEM_BYTES = 400 * 1024;

/** An item's size as DynamoDB counts it: attribute names plus values. */
export function itemSize(item: Readonly<Record<string, unknown>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) if (value !== undefined) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return numberSize(value);
  if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + valueSize(v), 0);
  // A list or map: 3 bytes, and 1 byte per element besides the element itself.
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueSize(v), 0);
  if (typeof value === 'object') {
    return 3 + Object.entries(value).reduce((sum, [name, v]) => sum + 1 + Buffer.byteLength(name) + valueSize(v), 0);
  }
  throw new Error(`no DynamoDB size for ${typeof value}`);
}

/** 1 byte per two significant digits, plus 1. */
function numberSize(value: number): number {
  const digits = Math.abs(value).toExponential().split('e')[0]!.replace('.', '').replace(/0+$/, '');
  return Math.ceil(digits.length / 2) + 1;
}

export class SizedItemStore implements ItemStore {
  readonly items = new Map<string, Item>();
  refused = 0;

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

  private commit(id: string, next: Record<string, unknown>): void {
    const size = itemSize(next);
    if (size > MAX_ITEM_BYTES) {
      this.refused += 1;
      // What the adapter turns DynamoDB's ValidationException into: a 500, the item unchanged.
      throw new DependencyError('dynamodb', `DynamoDB update item failed: ValidationException (item would be ${size} bytes)`);
    }
    this.items.set(id, next as Item);
  }
}
