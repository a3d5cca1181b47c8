import { SecretKey, SecretRetiringKey } from './contract.js';
import { isRecord } from './values.js';

/**
 * The one reading of the webhook secret's format, for the receiver that verifies with it and for
 * `connect` that writes it. Pure.
 *
 *   {"images": ["new", "old"], "stream": ["s2", "s1"], "toolkit": [],
 *    "retiring": {"images": [{"value": "old", "notAfter": "2025-01-01T13:00:00.000Z"}],
 *                 "stream": [{"value": "s1", "notAfter": "2025-01-01T13:00:00.000Z"}]}}
 *
 * Each key holds a string or a list of strings, every one accepted: that is how a secret is
 * rotated without downtime. `retiring` says until when a replaced value stays accepted; keys the
 * format does not know are kept as they are.
 */

/** Active secrets per scheme; several values each so a secret can be rotated without downtime. */
export interface SecretSet {
  readonly images: readonly string[];
  readonly stream: readonly string[];
  readonly toolkit: readonly string[];
}

export type RotatedKey = typeof SecretKey.Images | typeof SecretKey.Stream;

export interface Retiring {
  readonly value: string;
  /** ISO instant after which the value is no longer accepted. */
  readonly notAfter: string;
}

/** The secret as stored. */
export interface WebhookSecret {
  readonly values: Readonly<Record<RotatedKey | typeof SecretKey.Toolkit, readonly string[]>>;
  readonly retiring: Readonly<Record<RotatedKey, readonly Retiring[]>>;
  /** Keys `connect` does not manage, kept verbatim. */
  readonly other: Readonly<Record<string, unknown>>;
}

const ROTATED: readonly RotatedKey[] = [SecretKey.Images, SecretKey.Stream];

/** Throws an `Error` naming what is wrong, never echoing a value. */
export function parseWebhookSecret(text: string | undefined): WebhookSecret {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    throw new Error('the webhook secret is not JSON');
  }
  if (!isRecord(json)) throw new Error('the webhook secret is not a JSON object');
  const { [SecretKey.Images]: images, [SecretKey.Stream]: stream, [SecretKey.Toolkit]: toolkit, [SecretRetiringKey]: retiring, ...other } = json as Record<string, unknown>;
  const list = (key: string, value: unknown): string[] => {
    const values = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
    if (!values.every((v): v is string => typeof v === 'string')) throw new Error(`the webhook secret's "${key}" must be a string or an array of strings`);
    return values.filter((v) => v.length > 0);
  };
  const retiringOf = (key: RotatedKey): Retiring[] => {
    const entries = (retiring as Record<string, unknown> | undefined)?.[key];
    if (!Array.isArray(entries)) return [];
    return entries.flatMap((entry): Retiring[] => {
      const { value, notAfter } = (entry ?? {}) as { value?: unknown; notAfter?: unknown };
      return typeof value === 'string' && typeof notAfter === 'string' && !Number.isNaN(Date.parse(notAfter)) ? [{ value, notAfter }] : [];
    });
  };
  return {
    values: { images: list(SecretKey.Images, images), stream: list(SecretKey.Stream, stream), toolkit: list(SecretKey.Toolkit, toolkit) },
    retiring: { images: retiringOf(SecretKey.Images), stream: retiringOf(SecretKey.Stream) },
    other,
  };
}

/** The secret's JSON, with the receiver's keys first and `retiring` only when something retires. */
export function serializeWebhookSecret(secret: WebhookSecret): string {
  const retiring = Object.fromEntries(ROTATED.filter((key) => secret.retiring[key].length > 0).map((key) => [key, secret.retiring[key]]));
  return JSON.stringify({
    [SecretKey.Images]: secret.values.images,
    [SecretKey.Stream]: secret.values.stream,
    [SecretKey.Toolkit]: secret.values.toolkit,
    ...(Object.keys(retiring).length > 0 && { [SecretRetiringKey]: retiring }),
    ...secret.other,
  });
}

/**
 * What the receiver accepts at `nowMs`: every listed value whose grace has not ended, and until
 * when that stays right (the next end among the retiring values).
 */
export function acceptedAt(secret: WebhookSecret, nowMs: number): { readonly secrets: SecretSet; readonly validUntil: number } {
  let validUntil = Number.POSITIVE_INFINITY;
  const current = (key: RotatedKey) => {
    const ends = new Map(secret.retiring[key].map((r) => [r.value, Date.parse(r.notAfter)]));
    for (const end of ends.values()) if (end > nowMs) validUntil = Math.min(validUntil, end);
    return secret.values[key].filter((value) => (ends.get(value) ?? Number.POSITIVE_INFINITY) > nowMs);
  };
  return { secrets: { images: current(SecretKey.Images), stream: current(SecretKey.Stream), toolkit: secret.values.toolkit }, validUntil };
}
