/**
 * Attribution variant of lambda/core/json.ts without lossless-json: one pass over the text finds
 * the number tokens outside strings, writes each one a double cannot hold exactly as a JSON string
 * of its own digits, and the native JSON.parse does the rest (duplicate keys: the last one wins,
 * as before). The rule for "cannot hold exactly" is the shipped one (lossless-json's): an integer
 * beyond ±2^53, or a number whose double does not read back as the same significant digits. Only
 * tokens of JSON's number grammar are rewritten, so invalid JSON stays invalid. bench/attribution.ts
 * checks that it parses every case of its corpus as the shipped module does before measuring it.
 */
import { PayloadError } from '../../lambda/core/errors.js';

const MAY_LOSE_PRECISION = /\d[\d.]{15}|\d[eE]/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

export function parseJsonExactly(text: string): unknown {
  try {
    return JSON.parse(MAY_LOSE_PRECISION.test(text) ? quoteInexactNumbers(text) : text);
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof RangeError) throw new PayloadError('body is not valid JSON');
    throw error;
  }
}

function quoteInexactNumbers(text: string): string {
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = afterString(text, i);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && /[\d.eE+-]/.test(text[end]!)) end++;
      const token = text.slice(i, end);
      if (NUMBER.test(token) && !isExact(token)) {
        out += `${text.slice(copied, i)}"${token}"`;
        copied = end;
      }
      i = end;
    } else {
      i++;
    }
  }
  return out + text.slice(copied);
}

/** Index after the string that opens at `start`: escapes skipped, the text's end if it never closes. */
function afterString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

function isExact(token: string): boolean {
  if (/^-?\d+$/.test(token)) return Number.isSafeInteger(Number(token));
  const value = Number(token);
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) return false;
  const back = String(value);
  return back === token || significantDigits(back) === significantDigits(token);
}

/** The digits from the first non-zero to the last non-zero before any exponent, without the point. */
function significantDigits(number: string): string {
  const mantissa = number.replace(/^-/, '').replace(/[eE].*$/, '').replace('.', '');
  return mantissa.replace(/^0+/, '').replace(/0+$/, '');
}
