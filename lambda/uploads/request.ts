import { UploadDefaults } from '../core/contract.js';
import { PayloadError } from '../core/errors.js';
import { parseJsonExactly } from '../core/json.js';
import { isRecord, Limits, storable } from '../core/values.js';
import { UploadForbiddenError, UploadRequestError } from './errors.js';

/**
 * Step 1 of the upload route: what the caller asked for, checked against Cloudflare's
 * documented rules before anything is sent, and the multipart fields Cloudflare's
 * `POST /accounts/{account_id}/images/v2/direct_upload` takes. Pure: no AWS, no clock
 * (the caller passes `now`), no network.
 */

/** Who called, as the route's authorizer established it. */
export type Caller =
  /** IAM (SigV4): the user's backend. It may name a `creator` itself. */
  | { readonly type: 'iam'; readonly arn?: string }
  /** JWT authorizer: the token's subject is the creator, whatever the body says. */
  | { readonly type: 'jwt'; readonly subject?: string };

export interface UploadRequest {
  /** Custom image id; absent: Cloudflare chooses one. */
  readonly id?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly requireSignedURLs: boolean;
  readonly creator?: string;
  /** End of the upload window (ISO, whole seconds), as sent to Cloudflare and stored. */
  readonly expiresAt: string;
  /** The IAM principal that asked, for the item's record. */
  readonly requestedBy?: string;
}

export interface RequestLimits {
  /** Window when the body names none. */
  readonly defaultExpirySeconds: number;
}

/** Fields the route accepts; anything else is a typo we would otherwise silently ignore. */
const FIELDS = ['id', 'metadata', 'requireSignedURLs', 'creator', 'expiry', 'expiresInSeconds'] as const;
/** Cloudflare: custom ids are at most 1024 characters. */
const MAX_ID_LENGTH = 1024;
const MAX_CREATOR_LENGTH = 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONTROL = /[\u0000-\u001f\u007f]/;
/**
 * Cloudflare measures "at least 2 minutes ahead" when the request reaches it; a window asked
 * for at exactly the minimum would fail by the time it arrives, so the shortest one is padded.
 */
export const TRIP_MARGIN_SECONDS = 5;

export function parseUploadRequest(body: string | undefined, caller: Caller, now: Date, limits: RequestLimits): UploadRequest {
  const json = parseBody(body);
  const unknown = Object.keys(json).filter((key) => !(FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new UploadRequestError(`unknown field ${unknown[0]}; accepted: ${FIELDS.join(', ')}`, unknown[0]);

  const requireSignedURLs = optional(json, 'requireSignedURLs', 'a boolean', (v): v is boolean => typeof v === 'boolean') ?? false;
  const id = optional(json, 'id', 'a string', isString);
  if (id !== undefined) checkCustomId(id, requireSignedURLs);

  const metadata = storableMetadata(optional(json, 'metadata', 'a JSON object', isRecord));
  const creator = creatorOf(json, caller);
  const expiresAt = windowEnd(json, now, limits);
  return {
    ...(id !== undefined && { id }),
    ...(metadata !== undefined && { metadata }),
    requireSignedURLs,
    ...(creator !== undefined && { creator }),
    expiresAt,
    ...(caller.type === 'iam' && caller.arn && { requestedBy: caller.arn }),
  };
}

/** The multipart form fields of Cloudflare's direct_upload, every value a string as a form sends it. */
export function directUploadFields(request: UploadRequest): Record<string, string> {
  return {
    requireSignedURLs: String(request.requireSignedURLs),
    expiry: request.expiresAt,
    ...(request.metadata !== undefined && { metadata: JSON.stringify(request.metadata) }),
    ...(request.id !== undefined && { id: request.id }),
    ...(request.creator !== undefined && { creator: request.creator }),
  };
}

/**
 * The metadata as the table will hold it and the webhook will later read it, before Cloudflare gets
 * it: the same gate as a webhook's values (keys escaped, depth and Unicode checked, numbers exact),
 * except that a caller's own request over the size cap is refused rather than truncated.
 */
function storableMetadata(metadata: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (metadata === undefined) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(metadata));
  if (bytes > Limits.objectBytes) throw new UploadRequestError(`metadata must be at most ${Limits.objectBytes} bytes as JSON, got ${bytes}`, 'metadata');
  try {
    return storable(metadata, 'metadata') as Record<string, unknown>;
  } catch (error) {
    if (error instanceof PayloadError) throw new UploadRequestError(error.message, error.field);
    throw error;
  }
}

function parseBody(body: string | undefined): Record<string, unknown> {
  if (body === undefined || body.trim() === '') return {};
  let json: unknown;
  try {
    json = parseJsonExactly(body);
  } catch {
    throw new UploadRequestError('body is not valid JSON');
  }
  if (!isRecord(json)) throw new UploadRequestError('body must be a JSON object');
  return json;
}

/** Cloudflare's documented rules for a custom id, so a refusal costs no API call. */
function checkCustomId(id: string, requireSignedURLs: boolean): void {
  const reject = (why: string) => {
    throw new UploadRequestError(`id ${why}`, 'id');
  };
  if (id.length === 0 || id.length > MAX_ID_LENGTH) reject(`must be 1 to ${MAX_ID_LENGTH} characters`);
  if (id.startsWith('/') || id.endsWith('/')) reject('must not start or end with /');
  if (UUID.test(id)) reject('must not be a UUID (Cloudflare reserves those for its own ids)');
  if (CONTROL.test(id)) reject('must not contain control characters');
  if (requireSignedURLs) reject('cannot be combined with requireSignedURLs: true (Cloudflare refuses custom ids on signed images)');
}

function creatorOf(json: Record<string, unknown>, caller: Caller): string | undefined {
  const given = optional(json, 'creator', 'a string', isString);
  if (caller.type === 'jwt') {
    // A browser must not be able to attribute its upload to someone else.
    if (given !== undefined) throw new UploadRequestError('creator is taken from your token; leave it out', 'creator');
    if (!caller.subject) throw new UploadForbiddenError('the token has no subject (sub) to record as the creator');
    return caller.subject;
  }
  if (given !== undefined && (given.length === 0 || given.length > MAX_CREATOR_LENGTH || CONTROL.test(given))) {
    throw new UploadRequestError(`creator must be 1 to ${MAX_CREATOR_LENGTH} printable characters`, 'creator');
  }
  return given;
}

/** `expiresInSeconds` or an absolute `expiry`, within Cloudflare's 2 minutes to 6 hours. */
function windowEnd(json: Record<string, unknown>, now: Date, limits: RequestLimits): string {
  const { minExpirySeconds: min, maxExpirySeconds: max } = UploadDefaults;
  const seconds = optional(json, 'expiresInSeconds', 'an integer', (v): v is number => Number.isInteger(v));
  const expiry = optional(json, 'expiry', 'an RFC 3339 date-time string', isString);
  if (seconds !== undefined && expiry !== undefined) throw new UploadRequestError('give expiry or expiresInSeconds, not both', 'expiry');

  const nowMs = Math.floor(now.getTime() / 1000) * 1000;
  let endMs: number;
  let field: string;
  if (expiry !== undefined) {
    field = 'expiry';
    endMs = Date.parse(expiry);
    if (!RFC3339.test(expiry) || Number.isNaN(endMs)) throw new UploadRequestError('expiry must be an RFC 3339 date-time such as 2024-01-01T12:30:00Z', field);
    endMs = Math.ceil(endMs / 1000) * 1000;
  } else {
    field = 'expiresInSeconds';
    endMs = nowMs + (seconds ?? limits.defaultExpirySeconds) * 1000;
  }
  const ahead = (endMs - nowMs) / 1000;
  if (ahead < min || ahead > max) {
    throw new UploadRequestError(`the upload window must end between ${min} s and ${max} s from now (Cloudflare's limits), got ${Math.round(ahead)} s`, field);
  }
  return new Date(Math.min(Math.max(endMs, nowMs + (min + TRIP_MARGIN_SECONDS) * 1000), nowMs + max * 1000)).toISOString();
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function optional<T>(json: Record<string, unknown>, key: string, what: string, is: (value: unknown) => value is T): T | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (!is(value)) throw new UploadRequestError(`${key} must be ${what}`, key);
  return value;
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}
