/**
 * An ItemStore that applies DynamoDB's item size rule exactly as documented and all or nothing:
 * a write whose resulting item exceeds 400 KB is refused whole and the item stays as it was
 * (DynamoDB: "Item sizes and formats", docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 * moto refuses earlier than DynamoDB and half-applies a refused update, so the emulator cannot
 * show where the limit really bites; this store can, under the real data path (`receive`).
 */
import { DependencyError } from '../../lambda/core/errors.js';
import { MemoryItemStore } from './memory-store.js';

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

export class SizedItemStore extends MemoryItemStore {
  refused = 0;

  protected override commit(id: string, next: Record<string, unknown>): void {
    const size = itemSize(next);
    if (size > MAX_ITEM_BYTES) {
      this.refused += 1;
      // What the adapter turns DynamoDB's ValidationException into: a 500, the item unchanged.
      throw new DependencyError('dynamodb', `DynamoDB update item failed: ValidationException (item would be ${size} bytes)`);
    }
    super.commit(id, next);
  }
}
