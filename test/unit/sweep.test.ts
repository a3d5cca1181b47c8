import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DependencyError } from '../../lambda/core/errors.js';
import { expiryReport, sweep, type SweepIndex, type SweepPorts } from '../../lambda/sweep/sweep.js';
import type { CloudflareReader } from '../../lambda/adapters/cloudflare.js';
import { ApiFailure, CloudflareApiError, type ImageTruth, type VideoTruth } from '../../lambda/core/cloudflare.js';
import type { Item, ItemWrite, TransitionEvent } from '../../lambda/core/item.js';
import type { Publisher } from '../../lambda/core/ports.js';
import { MemoryItemStore } from '../support/memory-store.js';

// The sweep's decisions against an in-memory table that keeps DynamoDB's rules (version-guarded
// writes, an index on (status, expiresAt) holding only items with an expiresAt) and a stand-in of
// what Cloudflare's API answers. test/integration/expiry.test.ts runs the built sweep against
// moto and the local stand-in of Cloudflare's API.

class MemoryTable extends MemoryItemStore implements SweepIndex {
  /** Runs before each write: lets a test change the item between the sweep's read and its write. */
  beforeWrite?: (id: string) => void;

  override async write(id: string, write: ItemWrite) {
    this.beforeWrite?.(id);
    return super.write(id, write);
  }

  async due(status: string, until: string, limit: number) {
    return this.indexed()
      .filter((i) => i.status === status && (i.expiresAt as string) <= until)
      .slice(0, limit)
      .map((i) => i.id);
  }
  async pendingVideos(before: string, limit: number) {
    return [...this.items.values()]
      .filter((i) => i.kind === 'video' && i.status === 'pending' && String(i.updatedAt) <= before)
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

/** What Cloudflare's API answers, per id; an Error is thrown as the call's failure. */
class Answers implements CloudflareReader {
  readonly images = new Map<string, ImageTruth | CloudflareApiError>();
  readonly videos = new Map<string, VideoTruth | CloudflareApiError>();
  calls = 0;
  async configured() {
    return true;
  }
  async image(id: string): Promise<ImageTruth> {
    return this.answer<ImageTruth>(this.images.get(id) ?? { state: 'missing' });
  }
  async video(id: string): Promise<VideoTruth> {
    return this.answer<VideoTruth>(this.videos.get(id) ?? { state: 'missing' });
  }
  private async answer<T>(value: T | CloudflareApiError): Promise<T> {
    this.calls += 1;
    if (value instanceof CloudflareApiError) throw value;
    return value;
  }
}

function setup(now = NOW, withCloudflare = false) {
  const table = new MemoryTable();
  const bus = new MemoryBus();
  const cloudflare = new Answers();
  let clock = now.getTime();
  const ports: SweepPorts = { index: table, store: table, publisher: bus, now: () => new Date(clock), ...(withCloudflare && { cloudflare }) };
  return { table, bus, cloudflare, ports, advance: (ms: number) => void (clock += ms) };
}
const options = { graceSeconds: 0, maxItems: 100, leaseMs: 3000, videoPendingSeconds: 86_400 };
const pendingVideo = (id: string, since: string): Item => ({ id, kind: 'video', status: 'pending', precedence: '0##0', createdAt: since, updatedAt: since, version: 0 });
const counts = (r: Awaited<ReturnType<typeof sweep>>) => ({ expired: r.expired, recovered: r.recovered, skipped: r.skipped, deferred: r.deferred, failed: r.failed, published: r.published });

describe('the sweep without a read token: expiry', () => {
  it('expires pending and draft images whose window passed, at the window’s end, with one event each', async () => {
    const { table, bus, ports } = setup();
    await table.create(pendingUpload('a', minutes(-10)));
    await table.create(pendingUpload('b', minutes(-1), { status: 'draft', precedence: `1#${minutes(-20)}#1`, statusAt: minutes(-20), version: 1 }));
    await table.create(pendingUpload('later', minutes(+10)));

    const result = await sweep(ports, options);
    assert.deepEqual(counts(result), { expired: 2, recovered: 0, skipped: 0, deferred: 0, failed: 0, published: 2 });
    for (const [id, from] of [['a', 'pending'], ['b', 'draft']] as const) {
      const item = table.items.get(id)!;
      assert.equal(item.status, 'expired');
      assert.equal(item.statusAt, minutes(id === 'a' ? -10 : -1), 'occurredAt is the end of the upload window');
      assert.equal(item.unpublished, undefined, 'the outbox is empty again');
      assert.equal(item.expiresAt, undefined, 'and the item left the byExpiry index');
      assert.deepEqual(item.history?.map((h) => [h.from, h.to, h.source]), [[from, 'expired', 'expiry']]);
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

  it('leaves images that failed, completed or expired alone, and videos and items without a window', () => {
    const until = minutes(0);
    assert.ok(expiryReport(pendingUpload('a', minutes(-1)), until));
    assert.equal(expiryReport(pendingUpload('a', minutes(+1)), until), undefined);
    for (const status of ['uploaded', 'failed', 'expired'] as const) assert.equal(expiryReport(pendingUpload('a', minutes(-1), { status }), until), undefined, status);
    assert.equal(expiryReport(pendingUpload('a', minutes(-1), { kind: 'video' }), until), undefined);
    assert.equal(expiryReport({ id: 'a', kind: 'image', status: 'pending' }, until), undefined);
    assert.equal(expiryReport(pendingUpload('a', 'not a date'), until), undefined);
  });

  it('a failed publish leaves the expiry in the outbox for the relay, and the next run does not expire it again', async () => {
    const { table, bus, ports } = setup();
    await table.create(pendingUpload('a', minutes(-10)));
    bus.failNext = 1;
    const failed = await sweep(ports, options);
    assert.equal(failed.failed, 1);
    assert.ok(failed.firstError instanceof DependencyError);
    const item = table.items.get('a')!;
    assert.equal(item.status, 'expired', 'the write happened');
    assert.equal(item.unpublished?.length, 1, 'and left its event in the outbox, where the stream relay finds it');
    assert.deepEqual(counts(await sweep(ports, options)), { expired: 0, recovered: 0, skipped: 0, deferred: 0, failed: 0, published: 0 });
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

describe('the sweep with a read token: reconciliation from Cloudflare’s API', () => {
  const uploaded: ImageTruth = { state: 'uploaded', uploadedAt: minutes(-15), attributes: { variants: ['https://imagedelivery.net/h/a/public'], filename: 'cat.jpg' } };

  it('an image whose webhook was lost becomes uploaded, never expired: one Image Uploaded, counted as recovered', async () => {
    const { table, bus, cloudflare, ports } = setup(NOW, true);
    await table.create(pendingUpload('a', minutes(-10)));
    cloudflare.images.set('a', uploaded);
    assert.deepEqual(counts(await sweep(ports, options)), { expired: 0, recovered: 1, skipped: 0, deferred: 0, failed: 0, published: 1 });
    const item = table.items.get('a')!;
    assert.deepEqual([item.status, item.statusAt, item.filename, item.history?.[0]?.source], ['uploaded', minutes(-15), 'cat.jpg', 'cloudflare-api']);
    assert.deepEqual(bus.events.map((e) => [e.detailType, e.detail.source]), [['Image Uploaded', 'cloudflare-api']]);
  });

  it('a real abandoned upload (still a draft, or unknown to Cloudflare) expires as before', async () => {
    const { table, bus, cloudflare, ports } = setup(NOW, true);
    await table.create(pendingUpload('draft', minutes(-10)));
    await table.create(pendingUpload('gone', minutes(-10)));
    cloudflare.images.set('draft', { state: 'draft' });
    assert.equal((await sweep(ports, options)).expired, 2);
    assert.deepEqual(bus.events.map((e) => e.detailType), ['Image Expired', 'Image Expired']);
  });

  it('a video pending past the age becomes ready or error from Cloudflare; one still processing waits', async () => {
    const { table, bus, cloudflare, ports } = setup(NOW, true);
    for (const id of ['ready', 'failed', 'busy']) await table.create(pendingVideo(id, minutes(-25 * 60)));
    await table.create(pendingVideo('young', minutes(-60)));
    cloudflare.videos.set('ready', { state: 'ready', modifiedAt: minutes(-24 * 60), attributes: { duration: 5 } });
    cloudflare.videos.set('failed', { state: 'error', attributes: {}, error: { code: 'ERR_NON_VIDEO' } });
    cloudflare.videos.set('busy', { state: 'processing', streamState: 'inprogress' });
    assert.deepEqual(counts(await sweep(ports, options)), { expired: 0, recovered: 2, skipped: 1, deferred: 0, failed: 0, published: 2 });
    assert.deepEqual(['ready', 'failed', 'busy', 'young'].map((id) => table.items.get(id)!.status), ['ready', 'error', 'pending', 'pending']);
    assert.deepEqual(bus.events.map((e) => e.detailType).sort(), ['Video Failed', 'Video Ready']);
    assert.equal(cloudflare.calls, 3, 'the young video is not asked about');
    assert.equal((await sweep(ports, { ...options, videoPendingSeconds: 0 })).skipped, 0, 'age 0 turns it off');
  });

  it('a Cloudflare outage changes nothing; the next run settles it', async () => {
    const { table, bus, cloudflare, ports } = setup(NOW, true);
    await table.create(pendingUpload('a', minutes(-10)));
    cloudflare.images.set('a', new CloudflareApiError('down', ApiFailure.Unavailable));
    const down = await sweep(ports, options);
    assert.deepEqual([down.deferred, down.apiFailures.unavailable], [1, 1]);
    assert.equal(table.items.get('a')!.status, 'pending');
    cloudflare.images.set('a', uploaded);
    assert.equal((await sweep(ports, options)).recovered, 1);
    assert.equal(bus.events.length, 1);
  });

  it('a refused token or a rate limit stops asking for the rest of the run, and writes nothing', async () => {
    for (const failure of [ApiFailure.Auth, ApiFailure.Throttled]) {
      const { table, cloudflare, ports } = setup(NOW, true);
      for (let i = 0; i < 5; i++) await table.create(pendingUpload(`i${i}`, minutes(-10 - i)));
      for (let i = 0; i < 5; i++) cloudflare.images.set(`i${i}`, new CloudflareApiError('no', failure));
      const result = await sweep(ports, { ...options, concurrency: 1 });
      assert.deepEqual([result.deferred, result.apiFailures[failure], cloudflare.calls], [5, 1, 1], failure);
      assert.ok([...table.items.values()].every((item) => item.status === 'pending'));
    }
  });
});
