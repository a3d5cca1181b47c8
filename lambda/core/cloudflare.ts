import { ApiSecretKey } from './contract.js';
import { ApiFailure, CloudflareApiError } from './errors.js';
import type { ErrorInfo } from './item.js';
import { capString, firstString, isoOrUndefined, isRecord, Limits, storable, storableString } from './values.js';

// What a failed call throws lives in the error table (errors.ts), whose 500 counts it by class.
export { ApiFailure, CloudflareApiError };

/**
 * Cloudflare's API as the source of truth: reading its answers (pure) and what they say about an
 * image or a video. The fetch adapter is `lambda/adapters/cloudflare.ts`.
 *
 * Every answer is the envelope `{success, errors, messages, result}`
 * (cloudflare-docs: src/content/docs/fundamentals/api/how-to/make-api-calls.mdx). One that is not
 * is read as Cloudflare being broken, never as an answer.
 */

/** Cloudflare's API root; `CLOUDFLARE_BASE_URL` overrides it, as in the official SDK. */
export const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4';

/** `{"accountId", "apiToken"}`: the JSON of the secrets holding a Cloudflare API token. */
export interface ApiCredentials {
  readonly accountId: string;
  readonly apiToken: string;
}

/** One entry of Cloudflare's `errors` array: only code and message are kept (our request, their words). */
export interface CloudflareMessage {
  readonly code?: number;
  readonly message: string;
}

export interface Envelope {
  readonly success: boolean;
  readonly errors: readonly CloudflareMessage[];
  readonly result: unknown;
}

function readEnvelope(body: string): Envelope | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isRecord(json) || typeof json.success !== 'boolean' || !Array.isArray(json.errors)) return undefined;
  const errors = json.errors.flatMap((e): CloudflareMessage[] => {
    if (!isRecord(e)) return [];
    return [{ ...(typeof e.code === 'number' && { code: e.code }), message: typeof e.message === 'string' ? capString(e.message, 500) : 'unknown error' }];
  });
  return { success: json.success, errors, result: json.result };
}

/** `7000 No route for that URI`, `7003 Could not route to /accounts/…`: a 404 about the URL or the account, not the object. */
const ROUTING_ERRORS: ReadonlySet<number> = new Set([7000, 7003]);

/**
 * A read's answer: the envelope's `result`, `undefined` for "no such object", or the failure.
 * `retryAfter` is the raw header.
 */
export function readAnswer(status: number, body: string, retryAfter?: string | null): unknown {
  const envelope = readEnvelope(body);
  const errors = envelope?.errors ?? [];
  const detail = { status, errors };
  const summary = errors.map((e) => (e.code !== undefined ? `${e.code} ${e.message}` : e.message)).join('; ') || `HTTP ${status}`;
  if (status >= 200 && status < 300) {
    if (envelope?.success === true && envelope.result !== undefined && envelope.result !== null) return envelope.result;
    throw new CloudflareApiError('Cloudflare answered without a result', ApiFailure.BadAnswer, detail);
  }
  if (status === 404 && envelope && !errors.some((e) => e.code !== undefined && ROUTING_ERRORS.has(e.code))) return undefined;
  if (status === 401 || status === 403) {
    throw new CloudflareApiError(`Cloudflare refused the API token (check its permissions): ${summary}`, ApiFailure.Auth, detail);
  }
  if (status === 429) {
    const seconds = retryAfter ? Number(retryAfter) : Number.NaN;
    throw new CloudflareApiError(`Cloudflare is rate limiting the account: ${summary}`, ApiFailure.Throttled, {
      ...detail,
      ...(Number.isFinite(seconds) && seconds >= 0 && { retryAfterSeconds: seconds }),
    });
  }
  if (status >= 500) throw new CloudflareApiError(`Cloudflare failed: ${summary}`, ApiFailure.Unavailable, detail);
  throw new CloudflareApiError(`Cloudflare refused the request: ${summary}`, ApiFailure.Refused, detail);
}

/**
 * What Cloudflare says of an image. A direct creator upload exists as a draft before its file
 * arrives, and the draft answers with `"draft": true`, even with `uploaded` and `variants` filled in;
 * the field is removed once the file is uploaded
 * (cloudflare-docs: src/content/docs/images/upload-images/direct-creator-upload.mdx, "Check the image record status").
 */
export type ImageTruth =
  | { readonly state: 'missing' }
  | { readonly state: 'draft' }
  | { readonly state: 'uploaded'; readonly uploadedAt?: string; readonly attributes: Readonly<Record<string, unknown>> };

export function imageTruth(result: unknown): ImageTruth {
  if (result === undefined) return { state: 'missing' };
  if (!isRecord(result) || typeof result.id !== 'string') throw new CloudflareApiError('Cloudflare answered an image without an id', ApiFailure.BadAnswer);
  if (result.draft === true) return { state: 'draft' };
  // The image API calls it `meta` (the SDK's Image type); the docs' example shows `metadata`.
  const attributes = imageAttributes(result, { metadata: ['meta', 'metadata'], strings: ['filename', 'creator'] });
  const uploadedAt = isoOrUndefined(result.uploaded);
  return { state: 'uploaded', ...(uploadedAt && { uploadedAt }), attributes };
}

/** Which fields of an image to keep, and where its metadata is looked for first. */
export interface ImageFields {
  readonly metadata: readonly ['meta' | 'metadata', 'meta' | 'metadata'];
  readonly strings: readonly string[];
  readonly numbers?: readonly string[];
}

/**
 * An image's named fields as the item keeps them (a loose payload must never overwrite the item's
 * own bookkeeping), each through the stored-value gate: what the API answers (imageTruth) and what
 * a webhook reports (lambda/webhook/parse.ts).
 */
export function imageAttributes(source: Readonly<Record<string, unknown>>, fields: ImageFields): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  if (Array.isArray(source.variants) && source.variants.every((v) => typeof v === 'string')) attributes.variants = storable(source.variants, 'variants');
  const metadata = fields.metadata.map((key) => source[key]).find(isRecord);
  if (metadata) attributes.metadata = storable(metadata, 'metadata');
  if (typeof source.requireSignedURLs === 'boolean') attributes.requireSignedURLs = source.requireSignedURLs;
  for (const key of fields.strings) {
    const value = source[key];
    if (typeof value === 'string') attributes[key] = storableString(value, key);
  }
  for (const key of fields.numbers ?? []) {
    if (typeof source[key] === 'number') attributes[key] = storable(source[key], key);
  }
  return attributes;
}

/**
 * What Cloudflare says of a video: it plays when `readyToStream` is true and `status.state` is
 * `ready`; `error` is final; anything else is still on its way
 * (cloudflare-docs: src/content/docs/stream/manage-video-library/using-webhooks.mdx).
 */
export type VideoTruth =
  | { readonly state: 'missing' }
  | { readonly state: 'processing'; readonly streamState: string }
  | { readonly state: 'ready' | 'error'; readonly modifiedAt?: string; readonly attributes: Readonly<Record<string, unknown>>; readonly error?: ErrorInfo };

/** Video fields copied onto the item. */
const VIDEO_ATTRIBUTES = ['thumbnail', 'preview', 'duration', 'size', 'meta', 'playback', 'input', 'readyToStream', 'requireSignedURLs', 'creator'] as const;

export function videoTruth(result: unknown): VideoTruth {
  if (result === undefined) return { state: 'missing' };
  if (!isRecord(result) || typeof result.uid !== 'string' || !isRecord(result.status) || typeof result.status.state !== 'string') {
    throw new CloudflareApiError('Cloudflare answered a video without a uid or a status', ApiFailure.BadAnswer);
  }
  const state = result.status.state;
  const ready = state === 'ready' && result.readyToStream === true;
  if (!ready && state !== 'error') return { state: 'processing', streamState: capString(state, 64) };
  const modifiedAt = isoOrUndefined(result.modified);
  return { state: ready ? 'ready' : 'error', ...(modifiedAt && { modifiedAt }), attributes: videoAttributes(result), ...(!ready && { error: streamError(result.status) }) };
}

/** The fields a video keeps on its item, from a Stream webhook body or the API's video object alike. */
export function videoAttributes(video: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const key of VIDEO_ATTRIBUTES) {
    const value = video[key];
    if (value !== undefined && value !== null) attributes[key] = storable(value, key);
  }
  return attributes;
}

/** Stream's reason fields, in both spellings its documentation uses (`errorReasonCode` and `errReasonCode`). */
export function streamError(status: Readonly<Record<string, unknown>>): ErrorInfo {
  const code = firstString(status.errorReasonCode, status.errReasonCode);
  const message = firstString(status.errorReasonText, status.errReasonText);
  return {
    ...(code && { code: storableString(code, 'status.errorReasonCode', Limits.errorCodeChars) }),
    ...(message && { message: storableString(message, 'status.errorReasonText', Limits.errorMessageChars) }),
  };
}

/** A direct creator upload as Cloudflare answers it (images/upload-images/direct-creator-upload.mdx). */
export interface DirectUpload {
  readonly id: string;
  readonly uploadURL: string;
}

export function readDirectUpload(result: unknown): DirectUpload {
  if (isRecord(result) && typeof result.id === 'string' && typeof result.uploadURL === 'string') return { id: result.id, uploadURL: result.uploadURL };
  throw new CloudflareApiError('Cloudflare answered without an upload id and URL', ApiFailure.BadAnswer);
}

/** What a secret of the form `{"accountId", "apiToken"}` holds: the credentials, or why there are none. */
export type ApiSecretReading =
  | { readonly ok: true; readonly credentials: ApiCredentials }
  | { readonly ok: false; readonly problem: string };

/** Never echoes the value: a half-filled secret names the missing key only. */
export function readApiSecret(text: string | undefined): ApiSecretReading {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    return { ok: false, problem: 'the Cloudflare API secret is not a JSON object {"accountId", "apiToken"}' };
  }
  const record = isRecord(json) ? json : {};
  const field = (key: string) => (typeof record[key] === 'string' ? record[key].trim() : '');
  const accountId = field(ApiSecretKey.AccountId);
  const apiToken = field(ApiSecretKey.ApiToken);
  const missing = [...(accountId ? [] : [ApiSecretKey.AccountId]), ...(apiToken ? [] : [ApiSecretKey.ApiToken])];
  if (missing.length > 0) return { ok: false, problem: `the Cloudflare API secret has no ${missing.join(' and no ')}` };
  return { ok: true, credentials: { accountId, apiToken } };
}

export function apiUrl(baseUrl: string, accountId: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/accounts/${encodeURIComponent(accountId)}${path}`;
}
