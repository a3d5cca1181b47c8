import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PayloadError } from '../../lambda/core/errors';
import { parseDelivery, type Delivery, type StatusReport } from '../../lambda/webhook/parse';
import { payloads } from '../../local/payloads';

const now = new Date('2024-01-01T12:30:00.000Z');
const parse = (route: 'images' | 'stream', value: unknown) => parseDelivery(route, Buffer.from(JSON.stringify(value)), now);
const report = (delivery: Delivery): StatusReport => {
  assert.equal(delivery.type, 'status');
  return (delivery as Extract<Delivery, { type: 'status' }>).report;
};
const rejects = (route: 'images' | 'stream', body: string, field?: string) =>
  assert.throws(() => parseDelivery(route, Buffer.from(body), now), (e: unknown) => e instanceof PayloadError && (field === undefined || e.field === field));

describe('Images: the seed\'s bare payloads', () => {
  it('reads upload complete as uploaded, with variants and metadata', () => {
    const r = report(parse('images', payloads.imageUploaded('2cdc28f0-017a-49c4-9ed7-87056c83901', '2024-01-01T12:00:00.000Z')));
    assert.equal(r.status, 'uploaded');
    assert.equal(r.kind, 'image');
    assert.equal(r.occurredAt, '2024-01-01T12:00:00.000Z');
    assert.equal((r.attributes.variants as string[]).length, 2);
    assert.deepEqual(r.attributes.metadata, { key: 'value' });
    assert.equal(r.attributes.requireSignedURLs, true);
  });

  it('reads draft: true as draft', () => {
    assert.equal(report(parse('images', payloads.imageUploaded('a', '2024-01-01T12:00:00Z', { draft: true }))).status, 'draft');
  });

  it('reads upload failed as failed, keeping the error (the seed never did)', () => {
    const r = report(parse('images', payloads.imageFailed('a', '2024-01-01T12:00:00.000Z')));
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.error, { message: 'Image processing failed' });
  });

  it('keeps numbers DynamoDB cannot hold exactly as text, and everything else as it came', () => {
    const r = report(parse('images', payloads.imageUploaded('a', '2024-01-01T12:00:00Z', { metadata: { order: 2 ** 53 + 2, huge: 1e200, tiny: 1e-200, n: 42, f: 0.5, nested: { id: 9007199254740993 } } })));
    assert.deepEqual(r.attributes.metadata, { order: '9007199254740994', huge: '1e+200', tiny: '1e-200', n: 42, f: 0.5, nested: { id: '9007199254740992' } });
  });

  it('keeps metadata nested deeper than DynamoDB allows as JSON text below the limit', () => {
    // DynamoDB refuses documents nested deeper than 32 levels; the item adds two (metadata and the item itself).
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 40; i++) deep = { next: deep };
    const r = report(parse('images', payloads.imageUploaded('a', '2024-01-01T12:00:00Z', { metadata: deep })));
    let node = r.attributes.metadata as Record<string, unknown>;
    let levels = 0;
    while (typeof node.next === 'object' && node.next !== null) {
      node = node.next as Record<string, unknown>;
      levels++;
    }
    assert.ok(levels < 32, `${levels} levels of maps remain`);
    assert.equal(typeof node.next, 'string', 'the rest is kept, as JSON');
    assert.match(node.next as string, /"leaf":1/);
  });

  it('never copies unknown top-level fields onto the item', () => {
    const r = report(parse('images', { ...payloads.imageUploaded('a', '2024-01-01T12:00:00Z'), status: 'pending', version: 0, history: [] }));
    assert.deepEqual(Object.keys(r.attributes).sort(), ['metadata', 'requireSignedURLs', 'variants']);
  });

  it('names the offending field in validation errors', () => {
    rejects('images', JSON.stringify({ id: 'a', uploaded: 'yesterday' }), 'uploaded');
    rejects('images', JSON.stringify({ id: 'a', uploaded: '2024-01-01T12:00:00Z', variants: 'x' }), 'variants');
    rejects('images', JSON.stringify({ id: '', uploaded: '2024-01-01T12:00:00Z' }), 'id');
    rejects('images', JSON.stringify({ id: 'a', error: 'x' }), 'timestamp');
  });

  it('rejects bodies that are not a JSON object', () => {
    for (const body of ['', 'not json', '[]', '42', 'null', '"x"', '{"id":']) rejects('images', body);
  });
});

describe('Images: Cloudflare Notifications', () => {
  it('treats the dashboard test message as a test', () => {
    assert.deepEqual(parse('images', payloads.testPing()), { type: 'test' });
  });

  it('reads an image id and a completed outcome leniently from data, keeping the raw data', () => {
    const data = { id: 'img-1', status: 'complete', variants: ['https://x/img-1/public'] };
    const r = report(parse('images', payloads.notification(data, 1704110400)));
    assert.equal(r.status, 'uploaded');
    assert.equal(r.payload, 'notification');
    assert.equal(r.occurredAt, '2024-01-01T12:00:00.000Z');
    assert.deepEqual(r.attributes.notification, data);
    assert.deepEqual(r.attributes.variants, data.variants);
  });

  it('reads a failure from the words Cloudflare uses, whatever field holds the id', () => {
    for (const data of [{ image_id: 'img-2', status: 'failed' }, { imageId: 'img-2', event: 'upload_error' }, { image: { id: 'img-2' }, error: 'too big' }]) {
      const r = report(parse('images', payloads.notification(data, 1704110400, 'Image upload')));
      assert.equal(r.id, 'img-2');
      assert.equal(r.status, 'failed', JSON.stringify(data));
    }
  });

  it('acknowledges notifications it cannot act on instead of failing them', () => {
    assert.equal(parse('images', payloads.notification({ status: 'complete' }, 1)).type, 'ignored');
    assert.equal(parse('images', payloads.notification({ id: 'x', something: 'else' }, 1, 'Something')).type, 'ignored');
    assert.equal(parse('images', { ...payloads.notification({ id: 'x', status: 'complete' }, 1), alert_type: 'billing_usage_alert' }).type, 'ignored');
    assert.equal(parse('images', { alert_type: 'image_notification', text: 'hi' }).type, 'ignored');
  });

  it('rejects an envelope whose fields have the wrong types', () => {
    rejects('images', JSON.stringify({ text: 'x', ts: 'yesterday' }), 'ts');
    rejects('images', JSON.stringify({ text: 'x', data: [1] }), 'data');
  });
});

describe('Stream', () => {
  it('reads a ready video with its playback and normalises the microsecond timestamp', () => {
    const r = report(parse('stream', payloads.videoReady('dd5d531a12de0c724bd1275a3b2bc9c6', '2019-01-01T01:02:21.076571Z')));
    assert.equal(r.kind, 'video');
    assert.equal(r.status, 'ready');
    assert.equal(r.occurredAt, '2019-01-01T01:02:21.076Z');
    assert.ok((r.attributes.playback as { hls: string }).hls.endsWith('.m3u8'));
  });

  it('reads an error video with either spelling of the reason fields', () => {
    for (const spelling of ['err', 'error'] as const) {
      const r = report(parse('stream', payloads.videoError('v1', '2019-01-01T01:02:21Z', spelling)));
      assert.equal(r.status, 'error');
      assert.deepEqual(r.error, { code: 'ERR_NON_VIDEO', message: 'The file was not recognized as a valid video file.' });
    }
  });

  it('ignores states that are not final and ready videos that cannot play yet', () => {
    assert.equal(parse('stream', { uid: 'v', status: { state: 'inprogress' } }).type, 'ignored');
    assert.equal(parse('stream', { uid: 'v', readyToStream: false, status: { state: 'ready' } }).type, 'ignored');
  });

  it('rejects a body without uid or state, naming the field', () => {
    rejects('stream', JSON.stringify({ status: { state: 'ready' } }), 'uid');
    rejects('stream', JSON.stringify({ uid: 'v' }), 'status');
    rejects('stream', JSON.stringify({ uid: 'v', status: { state: 'ready' }, modified: 'soon' }), 'modified');
  });

  it('does not accept an image payload on the Stream route', () => {
    rejects('stream', JSON.stringify(payloads.imageUploaded('a', '2024-01-01T12:00:00Z')), 'uid');
  });
});
