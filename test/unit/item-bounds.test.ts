import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordedItem } from '../../lambda/core/decide.js';
import type { TransitionEvent } from '../../lambda/core/item.js';
import { receive, type Ports, type ReceiveOptions } from '../../lambda/webhook/receive.js';
import { payloads, signedHeaders } from '../../local/payloads.js';
import { itemSize, MAX_ITEM_BYTES, SizedItemStore } from '../support/sized-store.js';

// Issue 15, finding 2: a holder of the Images secret used to jam an item for good by sending
// failures with huge texts (each copied into lastError and every history entry). The real data
// path (`receive`, as the bundle runs it) against a store that keeps DynamoDB's 400 KB rule.

const SECRET = 'images-secret';
const options: ReceiveOptions = { toleranceSeconds: 300, maxBodyBytes: 65536, unknownIdPolicy: 'reject', leaseMs: 3000, confirmWithCloudflare: 'never' };

function setup() {
  const store = new SizedItemStore();
  const events: TransitionEvent[] = [];
  let clock = Date.parse('2024-01-01T12:00:00.000Z');
  const ports: Ports = {
    secrets: { get: async () => ({ images: [SECRET], stream: [], toolkit: [] }), refresh: async () => undefined },
    store,
    publisher: { publish: async (batch) => void events.push(...batch) },
    now: () => new Date((clock += 1000)),
    sleep: async () => {},
  };
  const deliver = (data: Record<string, unknown>, ts: number) => {
    const body = JSON.stringify({ ...payloads.notification(data, ts), name: 'n'.repeat(2000), text: 't'.repeat(2000) });
    return receive({ route: 'images', headers: signedHeaders.notification(SECRET), body: Buffer.from(body) }, ports, options);
  };
  return { store, events, deliver };
}

/**
 * The largest reports a sender can fit in a 64 KiB body, alternating so every delivery is a
 * transition with its own history entry: a failure whose error is all the body can hold, and a
 * draft with every other stored field at or over its cap.
 */
function hostileFailure(id: string, i: number): Record<string, unknown> {
  const timestamp = new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString();
  if (i % 2 === 1) return { id, timestamp, error: { code: 'E'.repeat(500), message: `${i}:${'m'.repeat(58_000)}` } };
  const filler = Object.fromEntries(Array.from({ length: 4 }, (_, k) => [`f${k}`, 'x'.repeat(2500)]));
  return {
    id,
    draft: true,
    timestamp,
    metadata: filler,
    variants: Array.from({ length: 200 }, (_, k) => `https://imagedelivery.net/${'v'.repeat(40)}/${k}`),
    filename: 'f'.repeat(3000),
    creator: 'c'.repeat(3000),
    ...filler,
  };
}

describe('an item stays far from DynamoDB’s 400 KB whatever valid deliveries it gets', () => {
  it('64 maximal signed failures leave the item writable, and the genuine upload still lands', async () => {
    const { store, events, deliver } = setup();
    const id = 'img-target';
    await store.create(recordedItem('image', id, new Date('2024-01-01T00:00:00Z')));
    let largest = 0;
    let largestBody = 0;
    for (let i = 1; i <= 64; i++) {
      const body = JSON.stringify(hostileFailure(id, i));
      assert.ok(Buffer.byteLength(body) < 64 * 1024, 'each within the 64 KiB body limit');
      largestBody = Math.max(largestBody, Buffer.byteLength(body));
      await deliver(hostileFailure(id, i), 1704067200 + i);
      largest = Math.max(largest, itemSize(store.items.get(id)!));
    }
    assert.ok(largestBody > 55 * 1024, `bodies up to ${largestBody} bytes`);
    assert.equal(store.refused, 0, 'no write was ever refused');
    assert.ok(largest < MAX_ITEM_BYTES / 3, `the item peaked at ${largest} bytes`);

    const receipt = await deliver({ id, uploaded: '2024-01-02T00:00:00Z', variants: ['https://imagedelivery.net/h/img-target/public'] }, 1704153600);
    assert.deepEqual([receipt.outcome, receipt.status], ['transitioned', 'uploaded']);
    assert.equal(store.items.get(id)!.status, 'uploaded');
    assert.equal(events.at(-1)?.detailType, 'Image Uploaded');
    const history = store.items.get(id)!.history!;
    assert.equal(history.length, 20, 'history keeps its last 20 transitions');
    assert.ok(history.filter((entry) => entry.error).length >= 9, 'half of them failures with their error');
    assert.ok(history.every((entry) => (entry.error?.message ?? '').length <= 1100 && (entry.error?.code ?? '').length <= 200), 'each error capped');
  });

  it('the store really refuses an item over 400 KB, all or nothing (so the test above could fail)', async () => {
    const store = new SizedItemStore();
    await store.create({ id: 'a', version: 0 });
    await assert.rejects(store.write('a', { expectedVersion: 0, set: { blob: 'x'.repeat(MAX_ITEM_BYTES), version: 1 } }));
    assert.deepEqual(store.items.get('a'), { id: 'a', version: 0 });
  });
});
