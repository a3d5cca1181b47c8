import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Item, ItemWrite, TransitionEvent } from '../../lambda/core/decide';
import { DependencyError } from '../../lambda/core/errors';
import type { Publisher } from '../../lambda/adapters/publish';
import type { ItemStore } from '../../lambda/adapters/store';
import { expiryReport, sweep, type ExpiryIndex, type SweepPorts } from '../../lambda/sweep/sweep';

// The sweep against an in-memory table that keeps DynamoDB's rules: version-guarded writes,
// an index on (status, expiresAt) holding only items with an expiresAt.

class MemoryTable implements ItemStore, ExpiryIndex {
  readonly items = new Map<string, Item>();
  /** Runs before each write: lets a test change the item between the sweep's read and its write. */
  beforeWrite?: (id: string) => void;

  async get(id: string) {
    const item = this.items.get(id);
    return item && structuredClone(item);
  }
  async write(id: string, write: ItemWrite) {
    this.beforeWrite?.(id);
    const item = this.items.get(id);
    if (!item || item.version !== write.expectedVersion) return false;
    const next: Record<string, unknown> = { ...item, ...structuredClone(write.set) };
    for (const attribute of write.remove ?? []) delete next[attribute];
    this.items.set(id, next as Item);
    return true;
  }
  async create(item: Item) {
    if (this.items.has(item.id)) return false;
    this.items.set(item.id, structuredClone(item));
    return true;
  }
  async markPublished(id: string, eventIds: readonly string[]) {
    const item = this.items.get(id)!;
    const unpublished = { ...item.unpublished };
    for (const eventId of eventIds) delete unpublished[eventId];
    this.items.set(id, { ...item, unpublished, version: (item.version ?? 0) + 1 });
  }
  async due(status: string, until: string, limit: number) {
    return this.indexed()
      .filter((i) => i.status === status && (i.expiresAt as string) <= until)
      .slice(0, limit)
      .map((i) => i.id);
  }
  async unpublished(from: string, until: string, limit: number) {
    return this.indexed()
      .filter((i) => i.status === 'expired' && (i.expiresAt as string) >= from && (i.expiresAt as string) <= until && Object.keys(i.unpublished ?? {}).length > 0)
      .slice(0, limit)
      .map((i) => i.id);
  }
  private indexed() {
    return [...this.items.values()].filter((i) => typeof i.expiresAt === 'string').sort((a, b) => String(a.expiresAt).localeCompare(String(b.expiresAt)));
  }
}

class MemoryBus implements Publisher {
  readonly events: TransitionEvent[] = [];
  failNext = 0;
  async publish(events: readonly TransitionEvent[]) {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new DependencyError('eventbridge', 'PutEvents failed');
    }
    this.events.push(...events);
  }
}

const NOW = new Date('2024-01-01T12:00:00.000Z');
const minutes = (m: number) => new Date(NOW.getTime() + m * 60_000).toISOString();
const pendingUpload = (id: string, expiresAt: string, extra: Partial<Item> = {}): Item => ({
  id, kind: 'image', status: 'pending', precedence: '0##0', createdAt: minutes(-60), updatedAt: minutes(-60), expiresAt, version: 0, ...extra,
});

function setup(now = NOW) {
  const table = new MemoryTable();
  const bus = new MemoryBus();
  let clock = now.getTime();
  const ports: SweepPorts = { index: table, store: table, publisher: bus, now: () => new Date(clock) };
  return { table, bus, ports, advance: (ms: number) => void (clock += ms) };
}
const options = { graceSeconds: 0, maxItems: 100, leaseMs: 3000 };

describe('the expiry sweep', () => {
  it('expires pending and draft images whose window passed, at the window’s end, with one event each', async () => {
    const { table, bus, ports } = setup();
    await table.create(pendingUpload('a', minutes(-10)));
    await table.create(pendingUpload('b', minutes(-1), { status: 'draft', precedence: `1#${minutes(-20)}#1`, statusAt: minutes(-20), version: 1 }));
    await table.create(pendingUpload('later', minutes(+10)));

    const result = await sweep(ports, options);
    assert.deepEqual({ ...result }, { expired: 2, republished: 0, skipped: 0, failed: 0, published: 2, more: false });
    for (const [id, from] of [['a', 'pending'], ['b', 'draft']] as const) {
      const item = table.items.get(id)!;
      assert.equal(item.status, 'expired');
      assert.equal(item.statusAt, item.expiresAt, 'occurredAt is the end of the upload window');
      assert.deepEqual(item.unpublished, {});
      assert.deepEqual(item.history?.map((h) => [h.from, h.to]), [[from, 'expired']]);
    }
    assert.deepEqual(bus.events.map((e) => [e.detailType, e.detail.id, e.detail.occurredAt]), [
      ['Image Expired', 'a', minutes(-10)],
      ['Image Expired', 'b', minutes(-1)],
    ]);
    assert.equal(table.items.get('later')!.status, 'pending');
  });

  it('is idempotent: a second run finds nothing to do and publishes nothing', async () => {
    const { table, bus, ports } = setup();
    await table.create(pendingUpload('a', minutes(-10)));
    await sweep(ports, options);
    const again = await sweep(ports, options);
    assert.equal(again.expired + again.published, 0);
    assert.equal(bus.events.length, 1);
  });

  it('waits out the grace period after the window ends', async () => {
    const { table, ports } = setup();
    await table.create(pendingUpload('a', minutes(-4)));
    assert.equal((await sweep(ports, { ...options, graceSeconds: 300 })).expired, 0);
    await table.create(pendingUpload('b', minutes(-6)));
    assert.equal((await sweep(ports, { ...options, graceSeconds: 300 })).expired, 1);
    assert.equal(table.items.get('a')!.status, 'pending');
  });

  it('never expires an image that completed between the index query and the write', async () => {
    const { table, bus, ports } = setup();
    await table.create(pendingUpload('a', minutes(-10)));
    table.beforeWrite = (id) => {
      table.beforeWrite = undefined;
      // The upload webhook lands first, bumping the version the sweep read.
      const item = table.items.get(id)!;
      table.items.set(id, { ...item, status: 'uploaded', precedence: `2#${minutes(-11)}#4`, statusAt: minutes(-11), version: (item.version ?? 0) + 1 });
    };
    const result = await sweep(ports, options);
    assert.deepEqual([result.expired, result.skipped], [0, 1]);
    assert.equal(table.items.get('a')!.status, 'uploaded');
    assert.deepEqual(bus.events, []);
  });

  it('leaves images that failed or completed alone, and videos and items without a window', () => {
    assert.ok(expiryReport(pendingUpload('a', minutes(-1))));
    assert.ok(expiryReport(pendingUpload('a', minutes(-1), { status: 'expired' })), 'expired again: a duplicate that can republish');
    assert.equal(expiryReport(pendingUpload('a', minutes(-1), { status: 'uploaded' })), undefined);
    assert.equal(expiryReport(pendingUpload('a', minutes(-1), { status: 'failed' })), undefined);
    assert.equal(expiryReport(pendingUpload('a', minutes(-1), { kind: 'video' })), undefined);
    assert.equal(expiryReport({ id: 'a', kind: 'image', status: 'pending' }), undefined);
    assert.equal(expiryReport(pendingUpload('a', 'not a date')), undefined);
  });

  it('republishes an expiry a crashed or failed run left unpublished, with the same eventId, once', async () => {
    const { table, bus, ports, advance } = setup();
    await table.create(pendingUpload('a', minutes(-10)));
    bus.failNext = 1;
    const failed = await sweep(ports, options);
    assert.equal(failed.failed, 1);
    assert.ok(failed.firstError instanceof DependencyError);
    const item = table.items.get('a')!;
    assert.equal(item.status, 'expired', 'the write happened');
    const [eventId] = Object.keys(item.unpublished ?? {});
    assert.ok(eventId, 'and left its marker');

    // The item is no longer pending, so only the recovery query can find it; it waits for the lease.
    const early = await sweep(ports, options);
    assert.deepEqual([early.republished, early.skipped, early.failed], [0, 1, 0]);
    advance(3001);
    const recovered = await sweep(ports, options);
    assert.equal(recovered.republished, 1);
    assert.deepEqual(bus.events.map((e) => e.detail.eventId), [eventId]);
    assert.deepEqual(table.items.get('a')!.unpublished, {});
    assert.equal((await sweep(ports, options)).published, 0);
  });

  it('takes at most maxItems per run and says more are due', async () => {
    const { table, ports } = setup();
    for (let i = 0; i < 5; i++) await table.create(pendingUpload(`i${i}`, minutes(-10 - i)));
    const first = await sweep(ports, { ...options, maxItems: 3 });
    assert.deepEqual([first.expired, first.more], [3, true]);
    assert.deepEqual(['i4', 'i3', 'i2'].map((id) => table.items.get(id)!.status), ['expired', 'expired', 'expired'], 'oldest windows first');
    const second = await sweep(ports, { ...options, maxItems: 3 });
    assert.deepEqual([second.expired, second.more], [2, false]);
  });

  it('stops taking items when the invocation is about to time out', async () => {
    const { table, ports } = setup();
    await table.create(pendingUpload('a', minutes(-10)));
    const result = await sweep({ ...ports, remainingMs: () => 1000 }, options);
    assert.equal(result.expired, 0);
    assert.equal(table.items.get('a')!.status, 'pending');
  });
});
