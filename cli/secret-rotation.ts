/**
 * The webhook secret as `connect` maintains it, with rotation grace. Pure: no AWS, no clock.
 *
 *   {"images": ["new", "old"], "stream": ["s2", "s1"], "toolkit": [],
 *    "retiring": {"images": [{"value": "old", "notAfter": "2025-01-01T13:00:00.000Z"}],
 *                 "stream": [{"value": "s1", "notAfter": "2025-01-01T13:00:00.000Z"}]}}
 *
 * The lists are what the receiver accepts today (every listed value); `retiring` says until
 * when a value stays listed. `connect` drops a value once its `notAfter` has passed. Keys it
 * does not know are kept as they are.
 */
import { createHash } from 'node:crypto';
import { SecretKey, SecretRetiringKey } from '../lambda/core/contract';

export type RotatedKey = typeof SecretKey.Images | typeof SecretKey.Stream;

export interface Retiring {
  readonly value: string;
  /** ISO instant after which the value is no longer accepted. */
  readonly notAfter: string;
}

export interface WebhookSecret {
  readonly values: Readonly<Record<RotatedKey | typeof SecretKey.Toolkit, readonly string[]>>;
  readonly retiring: Readonly<Record<RotatedKey, readonly Retiring[]>>;
  /** Keys `connect` does not manage, kept verbatim. */
  readonly other: Readonly<Record<string, unknown>>;
}

/** A change, described without the value itself. */
export interface SecretChange {
  readonly key: RotatedKey;
  /** First 8 hex of the value's SHA-256: tells values apart in output without revealing them. */
  readonly fingerprint: string;
  readonly notAfter?: string;
}

const ROTATED: readonly RotatedKey[] = [SecretKey.Images, SecretKey.Stream];

export function fingerprint(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8);
}

export function parseWebhookSecret(text: string | undefined): WebhookSecret {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    throw new Error('the webhook secret is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('the webhook secret is not a JSON object');
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

/** Drops every value whose grace has ended, from its list and from `retiring`. */
export function pruneRetired(secret: WebhookSecret, now: Date): { secret: WebhookSecret; dropped: SecretChange[] } {
  const dropped: SecretChange[] = [];
  const values = { ...secret.values };
  const retiring = { ...secret.retiring };
  for (const key of ROTATED) {
    const ended = secret.retiring[key].filter((r) => Date.parse(r.notAfter) <= now.getTime());
    if (ended.length === 0) continue;
    const gone = new Set(ended.map((r) => r.value));
    values[key] = secret.values[key].filter((v) => !gone.has(v));
    retiring[key] = secret.retiring[key].filter((r) => !gone.has(r.value));
    dropped.push(...ended.map((r) => ({ key, fingerprint: fingerprint(r.value), notAfter: r.notAfter })));
  }
  return { secret: { ...secret, values, retiring }, dropped };
}

/**
 * Makes `value` the current secret of `key` (first in its list). Every other value of the key
 * stays accepted for `graceMs` and is marked retiring (an earlier, sooner end is kept); with no
 * grace it goes at once.
 */
export function activate(secret: WebhookSecret, key: RotatedKey, value: string, now: Date, graceMs: number): { secret: WebhookSecret; retired: SecretChange[] } {
  const others = secret.values[key].filter((v) => v !== value);
  const notAfter = new Date(now.getTime() + graceMs).toISOString();
  const previous = new Map(secret.retiring[key].map((r) => [r.value, r.notAfter]));
  const kept = graceMs > 0 ? others : [];
  const retiring = kept.map((v) => {
    const earlier = previous.get(v);
    return { value: v, notAfter: earlier !== undefined && earlier < notAfter ? earlier : notAfter };
  });
  // Report what this call changed: values newly retiring, or with no grace every value dropped.
  const reported = graceMs > 0 ? others.filter((v) => !previous.has(v)) : others;
  return {
    secret: { ...secret, values: { ...secret.values, [key]: [value, ...kept] }, retiring: { ...secret.retiring, [key]: retiring } },
    retired: reported.map((v) => ({ key, fingerprint: fingerprint(v), ...(graceMs > 0 && { notAfter }) })),
  };
}

/** Adds `value` as accepted without retiring anything: the step before Cloudflare starts using it. */
export function accept(secret: WebhookSecret, key: RotatedKey, value: string): WebhookSecret {
  if (secret.values[key].includes(value)) return secret;
  return { ...secret, values: { ...secret.values, [key]: [value, ...secret.values[key]] } };
}

/** The values of `key` not marked retiring. */
export function activeValues(secret: WebhookSecret, key: RotatedKey): string[] {
  const retiring = new Set(secret.retiring[key].map((r) => r.value));
  return secret.values[key].filter((v) => !retiring.has(v));
}
