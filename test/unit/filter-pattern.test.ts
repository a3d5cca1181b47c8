import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamoDBRecord } from 'aws-lambda';
import { RELAY_FILTER } from '../../lambda/core/contract.js';
import { compileFilters, matchesFilter, type FilterPattern } from '../../local/filter-pattern.js';

// Records shaped as Lambda delivers them from a NEW_AND_OLD_IMAGES stream.
const record = (newImage: Record<string, unknown> | undefined, extra: Partial<DynamoDBRecord> = {}) => ({
  eventID: '1',
  eventName: 'MODIFY',
  eventVersion: '1.0',
  eventSource: 'aws:dynamodb',
  awsRegion: 'us-east-1',
  dynamodb: {
    ApproximateCreationDateTime: 1_700_000_000,
    Keys: { id: { S: 'img-1' } },
    ...(newImage && { NewImage: newImage }),
    OldImage: { id: { S: 'img-1' }, status: { S: 'pending' } },
    SequenceNumber: '111',
    SizeBytes: 26,
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  },
  eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000',
  ...extra,
});

const withUnpublished = record({ id: { S: 'img-1' }, unpublished: { SS: ['evt-1', 'evt-2'] } });
const withoutUnpublished = record({ id: { S: 'img-1' }, status: { S: 'ready' } });
const removed = record(undefined, { eventName: 'REMOVE' });

describe('filter patterns: exists on DynamoDB images', () => {
  const hasUnpublished: FilterPattern = { dynamodb: { NewImage: { unpublished: { SS: [{ exists: true }] } } } };

  it('matches a String Set attribute through its type key', () => {
    assert.equal(matchesFilter(hasUnpublished, withUnpublished), true);
    assert.equal(matchesFilter(hasUnpublished, withoutUnpublished), false);
    assert.equal(matchesFilter(hasUnpublished, removed), false);
  });

  it('never matches exists: true on the attribute itself, an intermediate node', () => {
    assert.equal(matchesFilter({ dynamodb: { NewImage: { unpublished: [{ exists: true }] } } }, withUnpublished), false);
  });

  it('matches exists: false when the leaf is absent, and on intermediate nodes always', () => {
    const noUnpublished: FilterPattern = { dynamodb: { NewImage: { unpublished: { SS: [{ exists: false }] } } } };
    assert.equal(matchesFilter(noUnpublished, withoutUnpublished), true);
    assert.equal(matchesFilter(noUnpublished, removed), true);
    assert.equal(matchesFilter(noUnpublished, withUnpublished), false);
    assert.equal(matchesFilter({ dynamodb: { NewImage: { unpublished: [{ exists: false }] } } }, withUnpublished), true);
  });

  it('matches a set when any element matches', () => {
    assert.equal(matchesFilter({ dynamodb: { NewImage: { unpublished: { SS: ['evt-2'] } } } }, withUnpublished), true);
    assert.equal(matchesFilter({ dynamodb: { NewImage: { unpublished: { SS: ['evt-3'] } } } }, withUnpublished), false);
    assert.equal(matchesFilter({ dynamodb: { NewImage: { unpublished: { SS: [{ prefix: 'evt-' }] } } } }, withUnpublished), true);
  });
});

describe('the relay’s filter (RELAY_FILTER)', () => {
  const relayFilter = RELAY_FILTER as unknown as FilterPattern;
  const image = (extra: Record<string, unknown>) => record({ id: { S: 'img-1' }, status: { S: 'uploaded' }, ...extra });
  const outbox = { unpublished: { SS: ['evt-1'] } };

  it('passes a writer’s write with events in the outbox and no count of the relay’s takeovers', () => {
    assert.equal(matchesFilter(relayFilter, image(outbox)), true);
  });

  it('drops the relay’s own takeovers, which keep the outbox and carry relayAttempts', () => {
    assert.equal(matchesFilter(relayFilter, image({ ...outbox, relayAttempts: { N: '1' } })), false);
    assert.equal(matchesFilter(relayFilter, image({ ...outbox, relayAttempts: { N: '37' } })), false);
  });

  it('drops what has nothing to publish, with or without the count', () => {
    assert.equal(matchesFilter(relayFilter, image({})), false);
    assert.equal(matchesFilter(relayFilter, image({ relayAttempts: { N: '2' } })), false);
    assert.equal(matchesFilter(relayFilter, removed), false);
  });

  it('tests the count through its type key: the same name as another type is not the relay’s count', () => {
    assert.equal(matchesFilter(relayFilter, image({ ...outbox, relayAttempts: { S: '1' } })), true);
  });
});

describe('filter patterns: values and operators', () => {
  const image = record({
    id: { S: 'img-1' },
    status: { S: 'ready' },
    count: { N: '5' },
    flag: { BOOL: true },
    gone: { NULL: true },
    tags: { L: [{ S: 'a' }, { S: 'b' }] },
  });

  it('matches exact strings without case folding, and any of several values', () => {
    assert.equal(matchesFilter({ eventName: ['MODIFY'] }, image), true);
    assert.equal(matchesFilter({ eventName: ['modify'] }, image), false);
    assert.equal(matchesFilter({ eventName: ['INSERT', 'MODIFY'] }, image), true);
    assert.equal(matchesFilter({ dynamodb: { NewImage: { status: { S: ['ready'] } } } }, image), true);
  });

  it('requires every field of a pattern to match', () => {
    assert.equal(matchesFilter({ eventName: ['MODIFY'], dynamodb: { NewImage: { status: { S: ['ready'] } } } }, image), true);
    assert.equal(matchesFilter({ eventName: ['INSERT'], dynamodb: { NewImage: { status: { S: ['ready'] } } } }, image), false);
  });

  it('matches numbers only against numbers, so an N (a string) needs a string', () => {
    assert.equal(matchesFilter({ dynamodb: { SizeBytes: [26] } }, image), true);
    assert.equal(matchesFilter({ dynamodb: { SizeBytes: ['26'] } }, image), false);
    assert.equal(matchesFilter({ dynamodb: { NewImage: { count: { N: ['5'] } } } }, image), true);
    assert.equal(matchesFilter({ dynamodb: { NewImage: { count: { N: [5] } } } }, image), false);
  });

  it('matches booleans and null', () => {
    assert.equal(matchesFilter({ dynamodb: { NewImage: { flag: { BOOL: [true] } } } }, image), true);
    assert.equal(matchesFilter({ dynamodb: { NewImage: { flag: { BOOL: [false] } } } }, image), false);
    assert.equal(matchesFilter({ dynamodb: { NewImage: { gone: { NULL: [true] } } } }, image), true);
    assert.equal(matchesFilter({ missing: [null] }, { missing: null }), true);
    assert.equal(matchesFilter({ missing: [null] }, {}), false);
  });

  it('matches prefix, suffix and equals-ignore-case on strings only', () => {
    assert.equal(matchesFilter({ eventSourceARN: [{ prefix: 'arn:aws:dynamodb:' }] }, image), true);
    assert.equal(matchesFilter({ eventSourceARN: [{ prefix: 'arn:aws:sqs:' }] }, image), false);
    assert.equal(matchesFilter({ eventName: [{ suffix: 'IFY' }] }, image), true);
    assert.equal(matchesFilter({ eventName: [{ 'equals-ignore-case': 'modify' }] }, image), true);
    assert.equal(matchesFilter({ dynamodb: { SizeBytes: [{ prefix: '2' }] } }, image), false);
  });

  it('matches anything-but only on present values', () => {
    assert.equal(matchesFilter({ eventName: [{ 'anything-but': 'REMOVE' }] }, image), true);
    assert.equal(matchesFilter({ eventName: [{ 'anything-but': 'REMOVE' }] }, removed), false);
    assert.equal(matchesFilter({ eventName: [{ 'anything-but': ['INSERT', 'MODIFY'] }] }, image), false);
    assert.equal(matchesFilter({ eventName: [{ 'anything-but': { prefix: 'MOD' } }] }, image), false);
    assert.equal(matchesFilter({ absent: [{ 'anything-but': 'x' }] }, image), false);
  });

  it('matches numeric ranges', () => {
    assert.equal(matchesFilter({ dynamodb: { SizeBytes: [{ numeric: ['>', 20, '<=', 26] }] } }, image), true);
    assert.equal(matchesFilter({ dynamodb: { SizeBytes: [{ numeric: ['>', 26] }] } }, image), false);
    assert.equal(matchesFilter({ dynamodb: { SizeBytes: [{ numeric: ['=', 26] }] } }, image), true);
    assert.equal(matchesFilter({ dynamodb: { NewImage: { count: { N: [{ numeric: ['=', 5] }] } } } }, image), false);
  });

  it('looks inside lists of objects under the list path', () => {
    assert.equal(matchesFilter({ dynamodb: { NewImage: { tags: { L: { S: ['b'] } } } } }, image), true);
    assert.equal(matchesFilter({ dynamodb: { NewImage: { tags: { L: { S: ['c'] } } } } }, image), false);
  });

  it('does not confuse a dotted attribute name with a nested path', () => {
    const dotted = { a: { 'b.c': ['x'] } };
    assert.equal(matchesFilter(dotted, { a: { 'b.c': 'x' } }), true);
    assert.equal(matchesFilter(dotted, { a: { b: { c: 'x' } } }), false);
  });
});

describe('filter patterns: several filters and validation', () => {
  it('ORs filters, and passes everything without any', () => {
    const either = compileFilters([{ eventName: ['INSERT'] }, { eventName: ['REMOVE'] }]);
    assert.equal(either(removed), true);
    assert.equal(either(withUnpublished), false);
    assert.equal(compileFilters([])(withUnpublished), true);
  });

  it('rejects what Lambda would refuse when the mapping is created', () => {
    assert.throws(() => compileFilters([{}]), /non-empty object/);
    assert.throws(() => compileFilters([{ eventName: 'INSERT' } as unknown as FilterPattern]), /array of rules/);
    assert.throws(() => compileFilters([{ eventName: [{ wildcard: 'IN*' }] }]), /unsupported filter operator "wildcard"/);
    assert.throws(() => compileFilters([{ eventName: [{ prefix: 'a', suffix: 'b' }] }]), /one operator/);
    assert.throws(() => compileFilters([{ a: [{ exists: 'yes' }] }]), /true or false/);
    assert.throws(() => compileFilters([{ a: [{ numeric: ['>', 'x'] }] }]), /operator, number/);
    assert.throws(() => compileFilters([{ a: [{ 'anything-but': [] }] }]), /non-empty list/);
  });
});
