import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Scheme, TOOLKIT_SIGNATURE_ALIAS, type Route } from '../core/contract.js';
import { RejectReason } from '../core/errors.js';
import type { SecretSet } from '../core/secret-format.js';

/**
 * Step 1 of the data path: prove the request comes from Cloudflare, on the raw bytes,
 * before anything parses them. Pure: no AWS, no clock (the caller passes `nowSeconds`).
 */

export { Scheme, type Route, type SecretSet };

export { RejectReason };

export type Verification =
  | { readonly ok: true; readonly scheme: Scheme }
  | { readonly ok: false; readonly scheme?: Scheme; readonly reason: RejectReason };

export interface VerifyInput {
  readonly route: Route;
  /** Lower-cased header names, as API Gateway payload v2 delivers them. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  readonly secrets: SecretSet;
  readonly nowSeconds: number;
  readonly toleranceSeconds: number;
}

const SHA256_BYTES = 32;
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

export function verifyRequest(input: VerifyInput): Verification {
  const { headers } = input;
  if (input.route === 'stream') {
    const header = headers[Scheme.StreamSignature];
    if (header === undefined) return { ok: false, reason: RejectReason.Missing };
    return verifyStream(header, input);
  }
  // The Images route serves Cloudflare Notifications and the seed toolkit's scheme; the
  // first header present decides, so a wrong cf-webhook-auth never falls through to another scheme.
  const notificationSecret = headers[Scheme.NotificationSecret];
  if (notificationSecret !== undefined) return verifyNotification(notificationSecret, input.secrets.images);
  const toolkit = headers[Scheme.ToolkitSignature] ?? headers[TOOLKIT_SIGNATURE_ALIAS];
  if (toolkit !== undefined) return verifyToolkit(toolkit, input.body, input.secrets.toolkit);
  return { ok: false, reason: RejectReason.Missing };
}

function verifyNotification(presented: string, secrets: readonly string[]): Verification {
  const scheme = Scheme.NotificationSecret;
  if (secrets.length === 0) return { ok: false, scheme, reason: RejectReason.NotConfigured };
  // Hash both sides so the comparison is constant-time and independent of the secret's length.
  const digest = sha256(presented);
  const match = secrets.some((secret) => timingSafeEqual(digest, sha256(secret)));
  return match ? { ok: true, scheme } : { ok: false, scheme, reason: RejectReason.Invalid };
}

function verifyToolkit(header: string, body: Buffer, secrets: readonly string[]): Verification {
  const scheme = Scheme.ToolkitSignature;
  const presented = header.trim().replace(/^sha256=/i, '');
  if (!HEX_SHA256.test(presented)) return { ok: false, scheme, reason: RejectReason.Malformed };
  if (secrets.length === 0) return { ok: false, scheme, reason: RejectReason.NotConfigured };
  return anySecretSigns(secrets, body, [Buffer.from(presented, 'hex')])
    ? { ok: true, scheme }
    : { ok: false, scheme, reason: RejectReason.Invalid };
}

function verifyStream(header: string, input: VerifyInput): Verification {
  const scheme = Scheme.StreamSignature;
  const parsed = parseStreamSignature(header);
  if (!parsed) return { ok: false, scheme, reason: RejectReason.Malformed };
  if (input.secrets.stream.length === 0) return { ok: false, scheme, reason: RejectReason.NotConfigured };
  const signed = Buffer.concat([Buffer.from(`${parsed.time}.`), input.body]);
  if (!anySecretSigns(input.secrets.stream, signed, parsed.signatures)) {
    return { ok: false, scheme, reason: RejectReason.Invalid };
  }
  // Checked after the signature so the window cannot be probed with forged headers.
  if (Math.abs(input.nowSeconds - parsed.time) > input.toleranceSeconds) {
    return { ok: false, scheme, reason: RejectReason.Stale };
  }
  return { ok: true, scheme };
}

export interface StreamSignature {
  readonly time: number;
  readonly signatures: readonly Buffer[];
}

/** `time=1230811200,sig1=<hex>`; exactly one `time`, one or more `sig1`, nothing malformed. */
export function parseStreamSignature(header: string): StreamSignature | undefined {
  let time: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 1) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 'time') {
      if (time !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      time = Number(value);
    } else if (key === 'sig1') {
      if (!HEX_SHA256.test(value)) return undefined;
      signatures.push(Buffer.from(value, 'hex'));
    }
    // Other keys are ignored: Cloudflare may add schemes (sig2, …) that old receivers skip.
  }
  if (time === undefined || signatures.length === 0) return undefined;
  return { time, signatures };
}

function anySecretSigns(secrets: readonly string[], message: Buffer, presented: readonly Buffer[]): boolean {
  let match = false;
  // Every candidate is compared (no early exit) so timing does not reveal which secret matched.
  for (const secret of secrets) {
    const expected = hmacSha256(secret, message);
    for (const signature of presented) {
      if (signature.length === SHA256_BYTES && timingSafeEqual(expected, signature)) match = true;
    }
  }
  return match;
}

export function hmacSha256(secret: string, message: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(message).digest();
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** What a sender does: used by local tooling and tests to sign deliveries. */
export const sign = {
  stream(secret: string, body: Buffer | string, timeSeconds: number): string {
    const signed = Buffer.concat([Buffer.from(`${timeSeconds}.`), Buffer.from(body)]);
    return `time=${timeSeconds},sig1=${hmacSha256(secret, signed).toString('hex')}`;
  },
  toolkit(secret: string, body: Buffer | string): string {
    return `sha256=${hmacSha256(secret, Buffer.from(body)).toString('hex')}`;
  },
} as const;
