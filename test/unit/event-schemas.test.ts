import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DetailType, EVENT_SOURCE, type ItemKind } from '../../lambda/core/contract.js';
import { decide } from '../../lambda/core/decide.js';
import { parseDelivery } from '../../lambda/webhook/parse.js';
import type { Route } from '../../lambda/webhook/verify.js';
import { payloads } from '../../local/payloads.js';
import { eventJsonSchema, transitionDetailSchema } from '../../lib/event-schemas.js';
import type { Item, StatusReport, TransitionEvent } from '../../lambda/core/item.js';

// The JSON Schemas registered for consumers in other languages, checked against events the
// receiver really produces: payloads parsed by `parseDelivery`, decided by `decide`, serialized
// as `publish.ts` serializes them.

/**
 * The draft-04 keywords the emitted schemas use, checked by hand (ajv is not a dependency).
 * Unknown keywords are an error, so a schema that starts using one fails here first.
 */
function validate(schema: Record<string, any>, value: unknown, path = '$'): string[] {
  const known = new Set(['$schema', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'pattern', 'minLength', 'format', 'description', 'title', 'x-amazon-events-source', 'x-amazon-events-detail-type']);
  const unknown = Object.keys(schema).filter((k) => !known.has(k));
  if (unknown.length > 0) return [`${path}: unsupported keywords ${unknown.join(', ')}`];
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (schema.type !== undefined && schema.type !== type && !(schema.type === 'integer' && Number.isInteger(value))) return [`${path}: ${type}, not ${schema.type}`];
  if (schema.enum && !schema.enum.includes(value)) return [`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`];
  const errors: string[] = [];
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: '${value}' does not match ${schema.pattern}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => errors.push(...validate(schema.items, v, `${path}[${i}]`)));
  if (type === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in object)) errors.push(`${path}.${key}: required`);
    for (const [key, v] of Object.entries(object)) {
      const property = schema.properties?.[key] ?? schema.additionalProperties;
      if (property === false) errors.push(`${path}.${key}: not allowed`);
      else if (property && typeof property === 'object') errors.push(...validate(property, v, `${path}.${key}`));
    }
  }
  return errors;
}

const now = new Date('2026-11-22T15:14:42.149Z');
const id = randomUUID();

/** What the receiver publishes for a delivery that moves a pending item. */
function publishedFor(route: Route, payload: unknown, kind: ItemKind): TransitionEvent {
  const delivery = parseDelivery(route, Buffer.from(JSON.stringify(payload)), now);
  assert.equal(delivery.type, 'observation');
  const { observation } = delivery as Extract<typeof delivery, { type: 'observation' }>;
  return publishedForReport({ ...observation, status: observation.status! }, kind);
}

function publishedForReport(report: StatusReport, kind: ItemKind): TransitionEvent {
  const item: Item = { id, kind, status: 'pending', createdAt: now.toISOString() };
  const decision = decide(item, report, { now, leaseMs: 3000 });
  assert.equal(decision.type, 'write');
  const [event] = (decision as Extract<typeof decision, { type: 'write' }>).publish;
  assert.ok(event);
  return event;
}

/** The event as a rule's target receives it: the envelope EventBridge adds, the detail as JSON. */
function delivered(event: TransitionEvent): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': event.detailType,
    source: event.source,
    account: '123456789012',
    time: '2026-11-22T15:14:42Z',
    region: 'eu-west-1',
    resources: [],
    detail: JSON.parse(JSON.stringify(event.detail)),
  };
}

const produced: Record<DetailType, TransitionEvent> = {
  [DetailType.ImageUploaded]: publishedFor('images', payloads.imageUploaded(id, '2026-11-22T15:14:41.666Z'), 'image'),
  [DetailType.ImageDraft]: publishedFor('images', payloads.imageUploaded(id, '2026-11-22T15:14:41.666Z', { draft: true }), 'image'),
  [DetailType.ImageUploadFailed]: publishedFor('images', payloads.imageFailed(id, '2026-11-22T15:14:41.666Z'), 'image'),
  // The expiry sweep makes this report itself (lambda/sweep/sweep.ts) and decides it like a webhook.
  [DetailType.ImageExpired]: publishedForReport({ kind: 'image', id, status: 'expired', occurredAt: '2026-11-22T15:00:00.000Z', source: 'expiry', attributes: {} }, 'image'),
  [DetailType.VideoReady]: publishedFor('stream', payloads.videoReady(id, '2026-11-22T15:14:41.666Z'), 'video'),
  [DetailType.VideoFailed]: publishedFor('stream', payloads.videoError(id, '2026-11-22T15:14:41.666Z'), 'video'),
};

describe('the JSON Schema of each event', () => {
  it('the payloads used here produce every detail-type', () => {
    for (const [detailType, event] of Object.entries(produced)) assert.equal(event.detailType, detailType);
  });

  for (const detailType of Object.values(DetailType)) {
    it(`'${detailType}' accepts the event the receiver publishes, as delivered`, () => {
      const event = delivered(produced[detailType]);
      assert.deepEqual(validate(eventJsonSchema(detailType), event), []);
      assert.equal(transitionDetailSchema.safeParse(event.detail).success, true);
    });
  }

  it('rejects another detail-type, a status the detail-type never carries, and a missing field', () => {
    const uploaded = delivered(produced[DetailType.ImageUploaded]);
    const schema = eventJsonSchema(DetailType.ImageUploaded);
    assert.notDeepEqual(validate(eventJsonSchema(DetailType.VideoReady), uploaded), []);
    assert.notDeepEqual(validate(schema, { ...uploaded, detail: { ...(uploaded.detail as object), status: 'failed' } }), []);
    const { eventId, ...withoutId } = uploaded.detail as Record<string, unknown>;
    assert.ok(eventId);
    assert.deepEqual(validate(schema, { ...uploaded, detail: withoutId }), ['$.detail.eventId: required']);
    assert.deepEqual(validate(schema, { ...uploaded, source: 'aws.s3' }), [`$.source: "aws.s3" not in ["${EVENT_SOURCE}"]`]);
  });

  it('accepts fields added later, so old bindings keep working', () => {
    const event = delivered(produced[DetailType.VideoReady]);
    assert.deepEqual(validate(eventJsonSchema(DetailType.VideoReady), { ...event, detail: { ...(event.detail as object), newField: 1 } }), []);
  });

  it("accepts the details docs/events.md shows, as the emulator delivered them", () => {
    const docs = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
    const examples = [...docs.matchAll(/```json\n(\{\n[\s\S]*?\n\})\n```/g)].map((m) => JSON.parse(m[1]!) as Record<string, any>).filter((e) => e.detail);
    assert.ok(examples.length >= 2);
    for (const example of examples) {
      const schema = eventJsonSchema(example['detail-type']);
      assert.deepEqual(validate((schema.properties as any).detail, example.detail), []);
    }
  });
});
