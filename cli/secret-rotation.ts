/**
 * Rotating the webhook secret as `connect` does it, with grace: a replaced value stays accepted
 * until its `notAfter`, and is dropped after. Pure: no AWS, no clock. The format itself, read the
 * same way by the receiver, is lambda/core/secret-format.ts.
 */
import { createHash } from 'node:crypto';
import { SecretKey } from '../lambda/core/contract.js';
import type { RotatedKey, WebhookSecret } from '../lambda/core/secret-format.js';

export { parseWebhookSecret, serializeWebhookSecret, type Retiring, type RotatedKey, type WebhookSecret } from '../lambda/core/secret-format.js';

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
