import { isSafeNumber, parse as parseLossless } from 'lossless-json';
import { PayloadError } from './errors.js';

/**
 * JSON.parse that never rounds a number. `JSON.parse('{"order": 9007199254740993}')` gives
 * 9007199254740992: the digits are gone before any code sees them (Node 21+ hands a reviver the
 * source text, but local mode and CI run Node 20). A number a JavaScript number cannot hold exactly
 * is therefore returned as its exact source digits, a string, and stored as such; every other value
 * is what JSON.parse gives. The rule is lossless-json's: an integer beyond ±2^53, or a fraction
 * whose double does not read back as the same decimal. The lossless parser is slower than the
 * native one, so it only runs on a body that may hold such a number: a number token (not preceded
 * by a letter, digit, point, quote or sign, so not the inside of an id like "023e105f") of 16 digits
 * or more, a decimal point among them or not (doubles keep 15 to 17), or with an exponent (`0.1e17`
 * is an integer beyond 2^53 in three digits). A string that merely looks like one only costs the
 * slower parser; the result is the same.
 */
const MAY_LOSE_PRECISION = /(?<![\w."+-])-?\d(?:[\d.]{15}|[\d.]*[eE])/;

export function parseJsonExactly(text: string): unknown {
  try {
    if (!MAY_LOSE_PRECISION.test(text)) return JSON.parse(text);
    return parseLossless(text, null, {
      parseNumber: (digits) => (isSafeNumber(digits) ? Number(digits) : digits),
      // JSON.parse's rule for a repeated key: the last one wins.
      onDuplicateKey: ({ newValue }) => newValue,
    });
  } catch (error) {
    // A RangeError is the lossless parser running out of stack on absurd nesting: still the sender's JSON.
    if (error instanceof SyntaxError || error instanceof RangeError) throw new PayloadError('body is not valid JSON');
    throw error;
  }
}
