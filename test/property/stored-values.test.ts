/**
 * Property-based tests (fast-check) of what a sender's values become before they are stored
 * (lambda/core/json.ts, lambda/core/values.ts, lambda/webhook/parse.ts):
 *
 * - numbers: any number token, however many digits, is kept exactly: as a number when a JavaScript
 *   number holds it exactly (the same value JSON.parse gives), else as its source digits;
 * - keys: whatever keys a sender uses, the DynamoDB marshaller gets a plain object whose own keys
 *   are the sender's (object-model names escaped one-to-one), and marshalling then unmarshalling it
 *   gives back the same value (the table and the event agree);
 * - depth and encoding: any nesting and any string end in a delivery or a PayloadError naming a
 *   field, never in another exception;
 * - free text: no value of `name`, `text`, `policy_name` or `alert_event` changes an outcome.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { PayloadError } from '../../lambda/core/errors.js';
import { parseJsonExactly } from '../../lambda/core/json.js';
import { storable, storedKey } from '../../lambda/core/values.js';
import { parseDelivery } from '../../lambda/webhook/parse.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 10_000);
const SEED = Number(process.env.PROPERTY_SEED ?? 424242);
const options = { numRuns: RUNS, seed: SEED };

/** JSON number tokens: integers and decimals of any length, with or without an exponent. */
const numberToken = fc
  .tuple(
    fc.boolean(),
    fc.stringMatching(/^(0|[1-9][0-9]{0,40})$/),
    fc.option(fc.stringMatching(/^[0-9]{1,30}$/), { nil: undefined }),
    fc.option(fc.integer({ min: -400, max: 400 }), { nil: undefined }),
  )
  .map(([negative, int, fraction, exponent]) => `${negative ? '-' : ''}${int}${fraction === undefined ? '' : `.${fraction}`}${exponent === undefined ? '' : `e${exponent}`}`);

/** The decimal value of a token, normalised: sign, significant digits, exponent of the first digit. */
function decimal(token: string): string {
  const [, sign, int, fraction = '', exponent = '0'] = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(token)!;
  const digits = `${int}${fraction}`;
  const lead = digits.length - digits.replace(/^0+/, '').length;
  const significant = digits.slice(lead).replace(/0+$/, '');
  if (significant === '') return '0';
  return `${sign}${significant}e${int.length - lead + Number(exponent)}`;
}

/**
 * Whether a JavaScript number holds the token's value: an integer only up to 2^53 (beyond, most
 * neighbours share one double), anything else when the double reads back as the same decimal
 * (an underflow to 0 does not).
 */
function heldExactly(token: string): boolean {
  const n = Number(token);
  if (!Number.isFinite(n)) return false;
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) return false;
  return decimal(String(n)) === decimal(token);
}

/** JSON.parse's value where ours matches it, with numbers JSON.parse could not hold exactly allowed to differ. */
function sameExceptUnsafeNumbers(ours: unknown, theirs: unknown): void {
  if (typeof ours === 'string' && typeof theirs === 'number') {
    assert.ok(Number.isInteger(theirs) && !Number.isSafeInteger(theirs), `${ours} kept as text though ${theirs} is exact`);
    return;
  }
  if (typeof theirs !== 'object' || theirs === null) return assert.equal(ours, theirs);
  assert.deepEqual(Object.keys(ours as object), Object.keys(theirs));
  for (const key of Object.keys(theirs)) sameExceptUnsafeNumbers((ours as Record<string, unknown>)[key], (theirs as Record<string, unknown>)[key]);
}

describe('exact numbers', () => {
  it(`keeps every number token exactly: ${RUNS} tokens of up to 70 digits`, () => {
    let asText = 0;
    fc.assert(
      fc.property(numberToken, (token) => {
        const parsed = (parseJsonExactly(`{"n":${token}}`) as { n: unknown }).n;
        if (heldExactly(token)) {
          assert.equal(parsed, JSON.parse(token), `${token} is a number JSON.parse gives exactly`);
        } else {
          asText++;
          assert.equal(parsed, token, 'kept as its exact source digits');
        }
      }),
      options,
    );
    assert.ok(asText > RUNS / 10, `${asText} tokens needed their digits kept`);
  });

  it('parses like JSON.parse everywhere else, a repeated key included', () => {
    fc.assert(
      fc.property(fc.json(), (text) => sameExceptUnsafeNumbers(parseJsonExactly(text), JSON.parse(text))),
      options,
    );
    assert.deepEqual(parseJsonExactly('{"a":1,"a":12345678901234567890}'), { a: '12345678901234567890' });
  });
});

describe('keys a sender chooses', () => {
  const objectModelKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'constructor_', '__proto___', 'toString', 'hasOwnProperty');
  const key = fc.oneof(objectModelKey, fc.string({ maxLength: 8 }));
  const value = fc.letrec((tie) => ({
    tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
    array: fc.array(tie('tree'), { maxLength: 4 }),
    object: fc.array(fc.tuple(key, tie('tree')), { maxLength: 5 }).map((entries) => JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`) as unknown),
  })).object;

  it(`stores the same object the event carries, escaping object-model names one-to-one: ${RUNS} objects`, () => {
    fc.assert(
      fc.property(value, (sent) => {
        const stored = storable(sent, 'metadata') as Record<string, unknown>;
        const back = unmarshall(marshall({ metadata: stored }, { removeUndefinedValues: true, convertClassInstanceToMap: false })).metadata;
        assert.deepEqual(back, stored, 'the table gives back what the event carries');
        const sentKeys = Object.keys(sent as object);
        assert.deepEqual(Object.keys(stored).sort(), sentKeys.map(storedKey).sort(), 'every key kept, escaped one-to-one');
      }),
      options,
    );
  });
});

describe('hostile bodies through the parser', () => {
  // Mostly around the limit, sometimes far beyond it (a recursive walk would overflow the stack there).
  const depths = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 64 }) }, { weight: 1, arbitrary: fc.integer({ min: 1000, max: 50_000 }) });
  const deep = fc.tuple(depths, fc.constantFrom('[', '{"a":')).map(([depth, open]) => {
    const close = open === '[' ? ']' : '}';
    return `{"id":"x","uploaded":"2024-01-01T00:00:00Z","metadata":{"m":${open.repeat(depth)}1${close.repeat(depth)}}}`;
  });
  const surrogates = fc.string({ unit: 'binary', maxLength: 20 }).map((s) => `{"id":${JSON.stringify(s || 'x')},"uploaded":"2024-01-01T00:00:00Z","metadata":{"k":${JSON.stringify(s)}}}`);

  it(`ends any nesting and any string in a delivery or a 400 naming the field: ${RUNS} bodies`, () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(deep, surrogates), (body) => {
        try {
          parseDelivery('images', Buffer.from(body), new Date());
        } catch (error) {
          assert.ok(error instanceof PayloadError, `threw ${(error as Error).name}`);
          refused++;
        }
      }),
      options,
    );
    assert.ok(refused > 0);
  });

  it('decides nothing from free text: no name, text, policy_name or alert_event changes an outcome', () => {
    const data = fc.constantFrom({ id: 'a' }, { id: 'a', error: 'x' }, { id: 'a', draft: true }, { id: 'a', variants: [] }, { id: 'a', error: '' });
    fc.assert(
      fc.property(data, fc.string(), fc.string(), (d, words, more) => {
        const base = { data: d, alert_type: 'image_notification', ts: 1 };
        const plain = parseDelivery('images', Buffer.from(JSON.stringify(base)), new Date());
        const worded = parseDelivery('images', Buffer.from(JSON.stringify({ ...base, name: words, text: more, policy_name: words, alert_event: more })), new Date());
        assert.deepEqual(worded, plain);
      }),
      options,
    );
  });
});
