import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { ImageStatus, ItemKind, VideoStatus, type ImageStatus as ImageStatusT, type VideoStatus as VideoStatusT } from '../core/contract.js';
import { PayloadError } from '../core/errors.js';
import type { Route } from './verify.js';

/**
 * Step 2: turn verified bytes into a `Delivery`. Pure. `zod/mini` rather than `zod`:
 * the full import pulls every locale into the bundle (~440 KB, see toolchain notes).
 */

// zod/mini ships no messages ("Invalid input"); English alone makes a 400 say what was expected.
z.config(en());

export interface ErrorInfo {
  readonly code?: string;
  readonly message?: string;
}

/** What a delivery says happened to one image or video. */
export interface StatusReport {
  readonly kind: ItemKind;
  readonly id: string;
  readonly status: ImageStatusT | VideoStatusT;
  /** When Cloudflare says it happened (ISO 8601, millisecond precision, UTC). */
  readonly occurredAt: string;
  readonly payload: 'toolkit' | 'notification' | 'stream' | 'sweep';
  /** Fields copied onto the item (variants, playback, metadata, …). */
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly error?: ErrorInfo;
}

export type Delivery =
  | { readonly type: 'status'; readonly report: StatusReport }
  /** The dashboard's "Save and Test" message: acknowledge, change nothing. */
  | { readonly type: 'test' }
  /** Authenticated, well-formed, but nothing we act on (another alert type, a video still processing). */
  | { readonly type: 'ignored'; readonly reason: string };

const id = z.string().check(z.minLength(1), z.maxLength(1024));
const datetime = z.iso.datetime({ offset: true });
const metadata = z.record(z.string(), z.unknown());

// The seed's bare payloads (django-cloudflareimages-toolkit).
const toolkitFailed = z.looseObject({
  id,
  error: z.string(),
  timestamp: datetime,
});
const toolkitComplete = z.looseObject({
  id,
  uploaded: datetime,
  variants: z.optional(z.array(z.string())),
  metadata: z.optional(metadata),
  requireSignedURLs: z.optional(z.boolean()),
  draft: z.optional(z.boolean()),
  meta: z.optional(metadata),
  creator: z.optional(z.nullable(z.string())),
  filename: z.optional(z.string()),
  width: z.optional(z.number()),
  height: z.optional(z.number()),
  format: z.optional(z.string()),
});

// Cloudflare Notifications envelope; `data` is undocumented for Images, so it is read leniently.
const notification = z.looseObject({
  name: z.optional(z.string()),
  text: z.optional(z.string()),
  data: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
  ts: z.optional(z.number()),
  alert_type: z.optional(z.string()),
  alert_event: z.optional(z.string()),
  account_id: z.optional(z.string()),
  policy_id: z.optional(z.string()),
  policy_name: z.optional(z.string()),
  alert_correlation_id: z.optional(z.string()),
});

// Cloudflare Stream's video object. Its docs spell the reason fields two ways; accept both.
const streamVideo = z.looseObject({
  uid: id,
  readyToStream: z.optional(z.boolean()),
  status: z.looseObject({
    state: z.string(),
    pctComplete: z.optional(z.union([z.string(), z.number()])),
    errorReasonCode: z.optional(z.string()),
    errorReasonText: z.optional(z.string()),
    errReasonCode: z.optional(z.string()),
    errReasonText: z.optional(z.string()),
  }),
  meta: z.optional(metadata),
  created: z.optional(datetime),
  modified: z.optional(datetime),
  uploaded: z.optional(z.nullable(datetime)),
  thumbnail: z.optional(z.string()),
  preview: z.optional(z.string()),
  duration: z.optional(z.number()),
  size: z.optional(z.number()),
  creator: z.optional(z.nullable(z.string())),
  requireSignedURLs: z.optional(z.boolean()),
  input: z.optional(z.looseObject({ width: z.optional(z.number()), height: z.optional(z.number()) })),
  playback: z.optional(z.looseObject({ hls: z.optional(z.string()), dash: z.optional(z.string()) })),
});

export function parseDelivery(route: Route, body: Buffer, now: Date): Delivery {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new PayloadError('body is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new PayloadError('body must be a JSON object');
  }
  return route === 'stream' ? parseStream(json, now) : parseImages(json as Record<string, unknown>, now);
}

function parseImages(json: Record<string, unknown>, now: Date): Delivery {
  if (!('id' in json)) return parseNotification(validate(notification, json), now);
  if ('error' in json) {
    const failed = validate(toolkitFailed, json);
    return status({
      kind: ItemKind.Image,
      id: failed.id,
      status: ImageStatus.Failed,
      occurredAt: toIso(failed.timestamp),
      payload: 'toolkit',
      attributes: {},
      error: { message: failed.error },
    });
  }
  const complete = validate(toolkitComplete, json);
  return status({
    kind: ItemKind.Image,
    id: complete.id,
    status: complete.draft ? ImageStatus.Draft : ImageStatus.Uploaded,
    occurredAt: toIso(complete.uploaded),
    payload: 'toolkit',
    // Named fields only: a loose payload must never overwrite the item's own bookkeeping.
    attributes: pick(complete, ['variants', 'metadata', 'requireSignedURLs', 'meta', 'creator', 'filename', 'width', 'height', 'format']),
  });
}

function parseNotification(envelope: z.infer<typeof notification>, now: Date): Delivery {
  const data = envelope.data ?? undefined;
  if (!data) {
    return envelope.text !== undefined && envelope.alert_type === undefined
      ? { type: 'test' }
      : { type: 'ignored', reason: 'notification without data' };
  }
  if (envelope.alert_type !== undefined && !/image/i.test(envelope.alert_type)) {
    return { type: 'ignored', reason: `alert type ${envelope.alert_type}` };
  }
  const imageId = firstString(data.id, data.image_id, data.imageId, nested(data.image, 'id'));
  if (imageId === undefined || imageId.length > 1024) {
    return { type: 'ignored', reason: 'notification names no image id' };
  }
  const outcome = notificationOutcome(data, envelope);
  if (outcome === undefined) return { type: 'ignored', reason: 'notification outcome not recognised' };

  const when = firstString(data.uploaded, data.timestamp, data.occurredAt);
  const occurredAt = (when && isoOrUndefined(when)) ?? (envelope.ts !== undefined ? isoOrUndefined(envelope.ts * 1000) : undefined) ?? now.toISOString();

  const attributes: Record<string, unknown> = { notification: data };
  if (Array.isArray(data.variants) && data.variants.every((v) => typeof v === 'string')) attributes.variants = data.variants;
  if (isRecord(data.metadata)) attributes.metadata = data.metadata;
  if (typeof data.requireSignedURLs === 'boolean') attributes.requireSignedURLs = data.requireSignedURLs;

  const errorMessage = firstString(data.error, nested(data.error, 'message'), data.reason);
  return status({
    kind: ItemKind.Image,
    id: imageId,
    status: outcome,
    occurredAt,
    payload: 'notification',
    attributes,
    ...(outcome === ImageStatus.Failed ? { error: { message: errorMessage ?? envelope.text ?? 'upload failed' } } : {}),
  });
}

/**
 * Cloudflare documents no fields inside `data` for Images, so the outcome is read from the
 * words it is most likely to use, failure first: an upload that "failed to complete" failed.
 */
function notificationOutcome(data: Record<string, unknown>, envelope: z.infer<typeof notification>) {
  const words = [data.status, data.state, data.event, data.result, data.outcome, envelope.alert_event, envelope.name, envelope.text]
    .filter((w): w is string => typeof w === 'string')
    .join(' ')
    .toLowerCase();
  if (data.error !== undefined || /fail|error|reject/.test(words)) return ImageStatus.Failed;
  if (data.draft === true || /\bdraft\b/.test(words)) return ImageStatus.Draft;
  if (Array.isArray(data.variants) || data.uploaded !== undefined || /complete|uploaded|success|ready/.test(words)) {
    return ImageStatus.Uploaded;
  }
  return undefined;
}

function parseStream(json: unknown, now: Date): Delivery {
  const video = validate(streamVideo, json);
  const state = video.status.state;
  const playable = state === 'ready' && video.readyToStream !== false;
  if (!playable && state !== 'error') {
    return { type: 'ignored', reason: `video state ${state}${state === 'ready' ? ' but not ready to stream' : ''}` };
  }
  const attributes = pick(video, ['thumbnail', 'preview', 'duration', 'size', 'meta', 'playback', 'input', 'readyToStream', 'requireSignedURLs', 'creator']);
  const code = video.status.errorReasonCode || video.status.errReasonCode;
  const message = video.status.errorReasonText || video.status.errReasonText;
  return status({
    kind: ItemKind.Video,
    id: video.uid,
    status: playable ? VideoStatus.Ready : VideoStatus.Error,
    occurredAt: toIso(video.modified ?? now.toISOString()),
    payload: 'stream',
    attributes,
    ...(playable ? {} : { error: { ...(code ? { code } : {}), ...(message ? { message } : {}) } }),
  });
}

function validate<T extends z.ZodMiniType>(schema: T, value: unknown): z.infer<T> {
  const result = z.safeParse(schema, value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || undefined;
  throw new PayloadError(field ? `${field}: ${issue?.message}` : (issue?.message ?? 'invalid payload'), field);
}

const status = (report: StatusReport): Delivery => ({ type: 'status', report: { ...report, attributes: storable(report.attributes) as Record<string, unknown> } });

// DynamoDB holds numbers of up to 38 digits within 1E-130..9.99E+125 and nests maps 32 deep;
// the SDK refuses integers beyond 2^53 outright. A signed delivery carrying such a value (a
// 64-bit order id in metadata) must still be recorded, so those values are kept as text.
const MAX_DEPTH = 30;
function storable(value: unknown, depth = 0): unknown {
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    const exact = !Number.isInteger(value) || Number.isSafeInteger(value);
    return exact && magnitude < 9.9e125 && (magnitude === 0 || magnitude > 1e-130) ? value : String(value);
  }
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return JSON.stringify(value);
  if (Array.isArray(value)) return value.map((v) => storable(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storable(v, depth + 1)]));
}

/** Normalise to millisecond UTC so timestamps compare as strings (Stream sends microseconds). */
function toIso(value: string): string {
  const iso = isoOrUndefined(value);
  if (iso === undefined) throw new PayloadError(`timestamp out of range: ${value.slice(0, 40)}`);
  return iso;
}

function isoOrUndefined(value: string | number): string | undefined {
  const date = new Date(value);
  const year = date.getUTCFullYear();
  // Outside four-digit years the ISO strings stop sorting as text, and precedence relies on that.
  return Number.isNaN(date.getTime()) || year < 1970 || year > 9999 ? undefined : date.toISOString();
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((v): v is string => typeof v === 'string' && v.length > 0);
}

function nested(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
