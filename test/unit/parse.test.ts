import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PayloadError } from '../../lambda/core/errors.js';
import { parseDelivery, type Delivery, type Observation } from '../../lambda/webhook/parse.js';
import { payloads } from '../../local/payloads.js';

const now = new Date('2024-01-01T12:30:00.000Z');
const parseText = (route: 'images' | 'stream', body: string) => parseDelivery(route, Buffer.from(body), now);
const parse = (route: 'images' | 'stream', value: unknown) => parseText(route, JSON.stringify(value));
const observed = (delivery: Delivery): Observation => {
  assert.equal(delivery.type, 'observation', JSON.stringify(delivery));
  return (delivery as Extract<Delivery, { type: 'observation' }>).observation;
};
const rejects = (route: 'images' | 'stream', body: string, field?: string) =>
  assert.throws(() => parseText(route, body), (e: unknown) => e instanceof PayloadError && (field === undefined || e.field === field));
/** A Notifications envelope as Cloudflare documents it (notifications/reference/webhook-payload-schema). */
const envelope = (data: unknown, extra: Record<string, unknown> = {}) => ({
  name: 'My policy',
  text: 'Your image upload has completed',
  data,
  ts: 1704110400,
  account_id: 'abc',
  policy_id: 'policy-1',
  policy_name: 'My policy',
  alert_type: 'image_notification',
  alert_correlation_id: 'corr-1',
  alert_event: 'ALERT_STATE_EVENT_START',
  ...extra,
});

describe('Images: the seed\'s bare payloads', () => {
  it('reads upload complete as uploaded, with variants and metadata', () => {
    const r = observed(parse('images', payloads.imageUploaded('2cdc28f0-017a-49c4-9ed7-87056c83901', '2024-01-01T12:00:00.000Z')));
    assert.equal(r.status, 'uploaded');
    assert.equal(r.kind, 'image');
    assert.equal(r.source, 'toolkit');
    assert.equal(r.occurredAt, '2024-01-01T12:00:00.000Z');
    assert.equal((r.attributes.variants as string[]).length, 2);
    assert.deepEqual(r.attributes.metadata, { key: 'value' });
    assert.equal(r.attributes.requireSignedURLs, true);
  });

  it('reads draft: true as draft', () => {
    assert.equal(observed(parse('images', payloads.imageUploaded('a', '2024-01-01T12:00:00Z', { draft: true }))).status, 'draft');
  });

  it('reads upload failed as failed, keeping the error (the seed never did)', () => {
    const r = observed(parse('images', payloads.imageFailed('a', '2024-01-01T12:00:00.000Z')));
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.error, { message: 'Image processing failed' });
  });

  it('never copies unknown top-level fields onto the item', () => {
    const r = observed(parse('images', { ...payloads.imageUploaded('a', '2024-01-01T12:00:00Z'), status: 'pending', version: 0, history: [] }));
    assert.deepEqual(Object.keys(r.attributes).sort(), ['metadata', 'requireSignedURLs', 'variants']);
  });

  it('answers 400 naming the field for a payload without an id, or a signed {} (the seed\'s contract)', () => {
    rejects('images', '{}', 'id');
    rejects('images', JSON.stringify({ uploaded: '2024-01-01T12:00:00Z', variants: [] }), 'id');
    rejects('images', JSON.stringify({ id: 'a', uploaded: 'yesterday' }), 'uploaded');
    rejects('images', JSON.stringify({ id: 'a', uploaded: '2024-01-01T12:00:00Z', variants: 'x' }), 'variants');
    rejects('images', JSON.stringify({ id: '', uploaded: '2024-01-01T12:00:00Z' }), 'id');
    rejects('images', JSON.stringify({ id: 'a', error: 'x' }), 'timestamp');
    rejects('images', JSON.stringify({ id: 'a' }), 'uploaded');
  });

  it('treats null in an optional field as absent', () => {
    const r = observed(parse('images', { id: 'a', uploaded: '2024-01-01T12:00:00Z', variants: null, metadata: null, draft: null, error: null, creator: null }));
    assert.equal(r.status, 'uploaded');
    assert.deepEqual(r.attributes, {});
  });

  it('rejects bodies that are not a JSON object', () => {
    for (const body of ['', 'not json', '[]', '42', 'null', '"x"', '{"id":']) rejects('images', body);
  });
});

describe('Images: Cloudflare Notifications, from fields only', () => {
  it('treats the dashboard test message as a test', () => {
    assert.deepEqual(parse('images', payloads.testPing()), { type: 'test' });
  });

  it('reads an upload time or variants as uploaded, keeping the raw data and the envelope’s audit fields', () => {
    const data = { id: 'img-1', uploaded: '2024-01-01T11:59:00Z', variants: ['https://x/img-1/public'] };
    const r = observed(parse('images', envelope(data)));
    assert.deepEqual([r.status, r.source, r.occurredAt], ['uploaded', 'notification', '2024-01-01T11:59:00.000Z']);
    assert.deepEqual(r.attributes.notification, data);
    assert.deepEqual(r.attributes.variants, data.variants);
    assert.deepEqual(r.notification, { alertType: 'image_notification', alertCorrelationId: 'corr-1', policyId: 'policy-1', ts: 1704110400 });
    assert.equal(observed(parse('images', envelope({ id: 'img-1', variants: [] }))).status, 'uploaded');
  });

  it('reads a non-empty error (a string, or an object with code or message) as failed, code and message kept', () => {
    assert.deepEqual(observed(parse('images', envelope({ id: 'a', error: 'too big' }))).error, { message: 'too big' });
    const r = observed(parse('images', envelope({ image_id: 'a', error: { code: 5400, message: 'Bad image' } })));
    assert.deepEqual([r.id, r.status, r.error], ['a', 'failed', { code: '5400', message: 'Bad image' }]);
  });

  it('never reads "" or null as an error (Stream sends "" on success)', () => {
    for (const error of ['', null]) {
      assert.equal(observed(parse('images', envelope({ id: 'a', error, uploaded: '2024-01-01T11:59:00Z' }))).status, 'uploaded');
      assert.equal(observed(parse('images', envelope({ id: 'a', error }))).status, undefined);
    }
  });

  it('reads draft: true as draft, and an error on a draft as failed', () => {
    assert.equal(observed(parse('images', envelope({ id: 'a', draft: true }))).status, 'draft');
    assert.equal(observed(parse('images', envelope({ id: 'a', draft: true, error: 'x' }))).status, 'failed');
  });

  it('decides nothing from free text: the policy name, the text and the alert event change no outcome', () => {
    for (const words of ['Upload failures', 'Draft and complete', 'uploaded with no errors', 'error', 'success']) {
      const r = observed(parse('images', envelope({ id: 'a' }, { name: words, policy_name: words, text: words, alert_event: words })));
      assert.equal(r.status, undefined, words);
      assert.equal(observed(parse('images', envelope({ id: 'a', uploaded: '2024-01-01T11:59:00Z' }, { name: words, text: words }))).status, 'uploaded', words);
    }
  });

  it('ignores other alert types, a transformation-quota alert among them, and a notification naming no image', () => {
    assert.deepEqual(parse('images', envelope({ id: 'a', uploaded: '2024-01-01T11:59:00Z' }, { alert_type: 'image_resizing_notification' })), { type: 'ignored', reason: 'alert type image_resizing_notification' });
    assert.equal(parse('images', envelope({ id: 'a' }, { alert_type: 'billing_usage_alert' })).type, 'ignored');
    assert.equal(parse('images', envelope({ input_id: 'live-1', event_type: 'live_input.connected' }, { alert_type: undefined })).type, 'ignored');
    assert.equal(parse('images', { alert_type: 'image_notification', text: 'hi', data: null }).type, 'ignored');
  });

  it('accepts account_id: null, a string ts, and null optional fields from a signed sender', () => {
    const r = observed(parse('images', envelope({ id: 'a', uploaded: null, variants: ['v'] }, { account_id: null, ts: '1704110400', policy_id: null, alert_correlation_id: null })));
    assert.equal(r.status, 'uploaded');
    assert.equal(r.occurredAt, '2024-01-01T12:00:00.000Z');
    assert.equal(observed(parse('images', envelope({ id: 'a', variants: [] }, { ts: 'yesterday' }))).occurredAt, now.toISOString());
  });

  it('rejects an envelope whose data is not an object', () => {
    rejects('images', JSON.stringify({ text: 'x', data: [1] }), 'data');
    rejects('images', JSON.stringify(envelope('x')), 'data');
  });
});

describe('Stored values: exact numbers, safe keys, bounded size and depth', () => {
  it('keeps a number a JavaScript number cannot hold as its exact source digits', () => {
    const body = '{"id":"a","uploaded":"2024-01-01T12:00:00Z","metadata":{"order":9007199254740993,"big":123456789012345678901234567890,"pi":3.14159265358979323846,"n":42,"f":0.5,"e":1e400}}';
    assert.deepEqual(observed(parseText('images', body)).attributes.metadata, { order: '9007199254740993', big: '123456789012345678901234567890', pi: '3.14159265358979323846', n: 42, f: 0.5, e: '1e400' });
  });

  it('keeps keys named after the object model under an escaped name, the same in every place', () => {
    const body = '{"id":"a","uploaded":"2024-01-01T12:00:00Z","metadata":{"constructor":{"name":"String"},"__proto__":{"x":1},"prototype":2,"constructor_":3,"orderId":"o-1"}}';
    const metadata = observed(parseText('images', body)).attributes.metadata as Record<string, unknown>;
    assert.deepEqual(Object.keys(metadata).sort(), ['__proto___', 'constructor_', 'constructor__', 'orderId', 'prototype_']);
    assert.deepEqual(metadata.constructor_, { name: 'String' });
    assert.equal(Object.getPrototypeOf(metadata), Object.prototype);
  });

  it('answers 400 naming the field for nesting beyond the documented depth, however deep', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { next: deep };
    rejects('images', JSON.stringify(payloads.imageUploaded('a', '2024-01-01T12:00:00Z', { metadata: deep })), undefined);
    const array = `{"id":"a","uploaded":"2024-01-01T12:00:00Z","metadata":{"x":${'['.repeat(32_000)}${']'.repeat(32_000)}}}`;
    assert.throws(() => parseText('images', array), (e: unknown) => e instanceof PayloadError && e.field?.startsWith('metadata.x') === true);
  });

  it('answers 400 naming the field for a string that is not well-formed Unicode (a lone surrogate)', () => {
    rejects('images', '{"id":"a\\ud800","uploaded":"2024-01-01T12:00:00Z"}', 'id');
    rejects('images', '{"id":"a","uploaded":"2024-01-01T12:00:00Z","metadata":{"k":"\\udc00x"}}', 'metadata.k');
    assert.equal(observed(parseText('images', '{"id":"a\\ud83d\\ude00","uploaded":"2024-01-01T12:00:00Z"}')).id, 'a😀', 'a pair is fine');
  });

  it('truncates an error message and an oversized object with a marker instead of refusing the delivery', () => {
    const blobs = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'y'.repeat(1000)]));
    const r = observed(parse('images', envelope({ id: 'a', error: 'x'.repeat(5000), long: 'z'.repeat(20_000), ...blobs })));
    assert.ok((r.error?.message ?? '').length < 1100);
    assert.match(r.error?.message ?? '', /truncated 3976 characters/);
    const data = r.attributes.notification as { truncated: boolean; bytes: number };
    assert.equal(data.truncated, true);
    assert.ok(data.bytes > 20_000);
  });
});

describe('Stream', () => {
  it('reads a ready video with its playback and normalises the microsecond timestamp', () => {
    const r = observed(parse('stream', payloads.videoReady('dd5d531a12de0c724bd1275a3b2bc9c6', '2019-01-01T01:02:21.076571Z')));
    assert.equal(r.kind, 'video');
    assert.equal(r.status, 'ready');
    assert.equal(r.occurredAt, '2019-01-01T01:02:21.076Z');
    assert.ok((r.attributes.playback as { hls: string }).hls.endsWith('.m3u8'));
  });

  it('reads an error video with either spelling of the reason fields', () => {
    for (const spelling of ['err', 'error'] as const) {
      const r = observed(parse('stream', payloads.videoError('v1', '2019-01-01T01:02:21Z', spelling)));
      assert.equal(r.status, 'error');
      assert.deepEqual(r.error, { code: 'ERR_NON_VIDEO', message: 'The file was not recognized as a valid video file.' });
    }
  });

  it('accepts null in optional fields (thumbnail, preview, errorReasonCode, modified)', () => {
    const r = observed(parse('stream', { uid: 'v', readyToStream: true, thumbnail: null, preview: null, modified: null, status: { state: 'ready', errorReasonCode: null } }));
    assert.equal(r.status, 'ready');
    assert.deepEqual(Object.keys(r.attributes), ['readyToStream']);
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

  it('keeps a playback object whose keys collide with the object model safely', () => {
    const r = observed(parseText('stream', '{"uid":"v","readyToStream":true,"status":{"state":"ready"},"playback":{"constructor":"x","hls":"h"}}'));
    assert.deepEqual(r.attributes.playback, { constructor_: 'x', hls: 'h' });
  });

  it('does not accept an image payload on the Stream route', () => {
    rejects('stream', JSON.stringify(payloads.imageUploaded('a', '2024-01-01T12:00:00Z')), 'uid');
  });
});
