import { PayloadError } from './errors.js';

/**
 * The one gate every sender-chosen value passes before it is stored or published: the webhook's
 * payloads, Cloudflare's API answers, the upload route's metadata. What comes out is safe to hand
 * to the DynamoDB marshaller and reads back the same from the table and from the bus.
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** ISO 8601, millisecond precision, UTC; undefined for anything else. */
export function isoOrUndefined(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const date = new Date(value);
  const year = date.getUTCFullYear();
  // Outside four-digit years the ISO strings stop sorting as text, and precedence relies on that.
  return Number.isNaN(date.getTime()) || year < 1970 || year > 9999 ? undefined : date.toISOString();
}

/** The first argument that is a non-empty string. `null`, `""` and other types count as absent. */
export function firstString(...values: unknown[]): string | undefined {
  return values.find((v): v is string => typeof v === 'string' && v.length > 0);
}

/**
 * Documented limits (README, "Payload limits"). Each stored sender-chosen attribute has a cap, and
 * the caps add up to well under DynamoDB's 400 KB per item, so no sequence of valid deliveries can
 * make an item unwritable. A value over its cap is truncated with a marker, never refused.
 */
export const Limits = {
  /** Objects and arrays nested deeper than this are refused (400): DynamoDB nests at most 32 levels, the item adds two. */
  maxDepth: 24,
  /** Characters of an error message (`lastError` and every history entry). */
  errorMessageChars: 1024,
  /** Characters of an error code. */
  errorCodeChars: 128,
  /** Characters of any other stored string (a URL, a file name, a creator). */
  stringChars: 2048,
  /** Entries of a stored array (variants: Cloudflare allows 100 variants per account). */
  arrayEntries: 100,
  /**
   * Bytes of a stored object or array (metadata, meta, the Notifications `data`, playback, variants),
   * as JSON. An object over it is replaced by `{truncated: true, bytes, preview}`; an array keeps its
   * first entries.
   */
  objectBytes: 8 * 1024,
} as const;

/**
 * Keys that name parts of JavaScript's object model. Stored as they came, `__proto__` would be
 * dropped or replace a prototype, and `constructor` makes the DynamoDB marshaller mistake a map
 * for a String (it trusts `value.constructor.name`). They are kept under an escaped name: one `_`
 * appended, and one more to any key that already has that shape, so the mapping is one-to-one.
 */
const OBJECT_MODEL_KEY = /^(?:__proto__|constructor|prototype)_*$/;
export const storedKey = (key: string): string => (OBJECT_MODEL_KEY.test(key) ? `${key}_` : key);

/**
 * A sender's value as it may be stored: keys escaped, strings well-formed and capped, arrays and
 * objects capped, numbers as exact as the source allowed (an unsafe number arrives here as its
 * digits, see json.ts), nesting bounded. `field` names the value in a 400.
 */
export function storable(value: unknown, field: string): unknown {
  const copy = walk(value, field, 0);
  if (!isRecord(copy) && !Array.isArray(copy)) return copy;
  const text = JSON.stringify(copy);
  const bytes = Buffer.byteLength(text);
  if (bytes <= Limits.objectBytes) return copy;
  // An array stays an array (variants are read as one): its first entries, as many as fit.
  if (Array.isArray(copy)) {
    const kept: unknown[] = [];
    let size = 2;
    for (const entry of copy) {
      size += Buffer.byteLength(JSON.stringify(entry)) + 1;
      if (size > Limits.objectBytes) break;
      kept.push(entry);
    }
    return kept;
  }
  // An object too big to keep whole: its start, readable, and how big it was.
  return { truncated: true, bytes, preview: capString(text, Limits.objectBytes / 8) };
}

/** A stored string: well-formed UTF-16 (a lone surrogate cannot be written as UTF-8) and capped. */
export function storableString(value: string, field: string, cap: number = Limits.stringChars): string {
  if (LONE_SURROGATE.test(value)) throw new PayloadError(`${field}: not well-formed Unicode (a lone surrogate)`, field);
  return capString(value, cap);
}

// In u-mode a surrogate pair is one code point, so only a lone half matches.
const LONE_SURROGATE = /\p{Cs}/u;

/** `value` cut to `cap` characters with a marker saying how much was cut; never splits a surrogate pair. */
export function capString(value: string, cap: number): string {
  if (value.length <= cap) return value;
  let end = cap;
  if (/[\ud800-\udbff]/.test(value[end - 1]!)) end -= 1;
  return `${value.slice(0, end)}…[truncated ${value.length - end} characters]`;
}

function walk(value: unknown, field: string, depth: number): unknown {
  if (typeof value === 'string') return storableString(value, field);
  if (typeof value === 'number') return storableNumber(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= Limits.maxDepth) throw new PayloadError(`${field}: nested deeper than ${Limits.maxDepth} levels`, field);
  if (Array.isArray(value)) return value.slice(0, Limits.arrayEntries).map((v, i) => walk(v, `${field}.${i}`, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const name = storedKey(storableString(key, `${field} key`, Limits.stringChars));
    copy[name] = walk(v, `${field}.${key}`, depth + 1);
  }
  return copy;
}

// DynamoDB holds numbers of up to 38 digits within 1E-130..9.99E+125; a JavaScript number outside
// that range cannot be written, so it is kept as text rather than refused.
function storableNumber(value: number): number | string {
  const magnitude = Math.abs(value);
  return Number.isFinite(value) && magnitude < 9.9e125 && (magnitude === 0 || magnitude > 1e-130) ? value : String(value);
}
