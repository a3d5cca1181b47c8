import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { imageAttributes, streamError, videoAttributes, type ImageFields } from '../core/cloudflare.js';
import { ImageStatus, ItemKind, VideoStatus, type ItemStatus } from '../core/contract.js';
import { PayloadError } from '../core/errors.js';
import { ReportSource, type ErrorInfo, type NotificationRef } from '../core/item.js';
import { parseJsonExactly } from '../core/json.js';
import { firstString, isoOrUndefined, isRecord, Limits, storable, storableString } from '../core/values.js';
import type { Route } from './verify.js';

/**
 * Step 2: turn verified bytes into a `Delivery`. Pure. Outcomes come from fields only, never from
 * free text (`name` and `policy_name` are the notification policy's name, chosen by the user;
 * `text` is prose). `null` in an optional field counts as absent. What the fields do not settle is
 * left for Cloudflare's API to settle (`confirm.ts`). `zod/mini` rather than `zod`: the full
 * import pulls every locale into the bundle (~440 KB, see toolchain notes).
 */

// zod/mini ships no messages ("Invalid input"); English alone makes a 400 say what was expected.
z.config(en());

/** What a delivery says, before anyone asked Cloudflare. */
export interface Observation {
  readonly kind: ItemKind;
  readonly id: string;
  /** The status the fields settle; undefined when they settle none (Cloudflare's API must say). */
  readonly status?: ItemStatus;
  readonly occurredAt: string;
  readonly source: ReportSource;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly error?: ErrorInfo;
  readonly notification?: NotificationRef;
}

export type Delivery =
  | { readonly type: 'observation'; readonly observation: Observation }
  /** The dashboard's "Save and Test" message: acknowledge, change nothing. */
  | { readonly type: 'test' }
  /** Authenticated, well-formed, but nothing we act on (another alert type, a video still processing). */
  | { readonly type: 'ignored'; readonly reason: string };

/** The alert type of a direct creator upload's success or failure (Cloudflare's alerting policy enums). */
const IMAGE_ALERT_TYPE = 'image_notification' as const;

const maybe = <T extends z.ZodMiniType>(schema: T) => z.optional(z.nullable(schema));
const id = z.string().check(z.minLength(1), z.maxLength(1024));
const datetime = z.iso.datetime({ offset: true });
const record = z.record(z.string(), z.unknown());

// The seed's bare payloads (django-cloudflareimages-toolkit): an id is what makes one.
const toolkitPayload = z.looseObject({
  id,
  uploaded: maybe(datetime),
  timestamp: maybe(datetime),
  variants: maybe(z.array(z.string())),
  metadata: maybe(record),
  meta: maybe(record),
  requireSignedURLs: maybe(z.boolean()),
  draft: maybe(z.boolean()),
  creator: maybe(z.string()),
  filename: maybe(z.string()),
  width: maybe(z.number()),
  height: maybe(z.number()),
  format: maybe(z.string()),
});

// The Notifications envelope (notifications/reference/webhook-payload-schema). `account_id`,
// `policy_id` and `alert_type` "may not be present"; free-text fields are not read at all.
const notification = z.looseObject({
  data: maybe(record),
  ts: maybe(z.union([z.number(), z.string()])),
  alert_type: maybe(z.string()),
  policy_id: maybe(z.string()),
  alert_correlation_id: maybe(z.string()),
});

// Stream's video object (stream/manage-video-library/using-webhooks). Its docs spell the reason
// fields two ways, and show `null` in several fields: both are accepted.
const streamVideo = z.looseObject({
  uid: id,
  readyToStream: maybe(z.boolean()),
  status: z.looseObject({ state: z.string() }),
  modified: maybe(datetime),
});

export function parseDelivery(route: Route, body: Buffer, now: Date): Delivery {
  const json = parseJsonExactly(body.toString('utf8'));
  if (!isRecord(json)) throw new PayloadError('body must be a JSON object');
  if (route === 'stream') return parseStream(json, now);
  // A Notifications envelope has `data`, or is the dashboard's text-only test; anything else must be the seed's payload.
  const envelope = 'data' in json || (typeof json.text === 'string' && !('id' in json));
  // zod validates; values are read from the parsed JSON itself, whose objects (unlike zod's copies)
  // still hold every key the sender sent, `__proto__` included, for `storable` to escape.
  return envelope ? parseNotification(validate(notification, json), json, now) : parseToolkit(validate(toolkitPayload, json), json);
}

function parseToolkit(payload: z.infer<typeof toolkitPayload>, raw: Readonly<Record<string, unknown>>): Delivery {
  const error = errorOf(payload.error);
  const when = error ? payload.timestamp : payload.uploaded;
  if (!when) throw new PayloadError(`${error ? 'timestamp' : 'uploaded'}: required`, error ? 'timestamp' : 'uploaded');
  const attributes = error ? {} : imageAttributes(raw, WEBHOOK_IMAGE_FIELDS);
  return observation({
    kind: ItemKind.Image,
    id: storableString(payload.id, 'id'),
    status: error ? ImageStatus.Failed : payload.draft ? ImageStatus.Draft : ImageStatus.Uploaded,
    occurredAt: toIso(when),
    source: ReportSource.Toolkit,
    attributes,
    ...(error && { error }),
  });
}

function parseNotification(envelope: z.infer<typeof notification>, raw: Readonly<Record<string, unknown>>, now: Date): Delivery {
  const data = isRecord(raw.data) ? raw.data : undefined;
  if (!data) return envelope.alert_type == null && !('data' in raw) ? { type: 'test' } : { type: 'ignored', reason: 'notification without data' };
  if (envelope.alert_type != null && envelope.alert_type !== IMAGE_ALERT_TYPE) return { type: 'ignored', reason: `alert type ${envelope.alert_type.slice(0, 64)}` };
  const imageId = firstString(data.id, data.image_id, data.imageId, isRecord(data.image) ? data.image.id : undefined);
  if (imageId === undefined) return { type: 'ignored', reason: 'notification names no image id' };
  if (imageId.length > 1024) throw new PayloadError('data.id: at most 1024 characters', 'data.id');

  // `ts` is unix seconds; a string of digits is read as one, anything else as absent.
  const ts = typeof envelope.ts === 'string' ? Number(envelope.ts) || undefined : (envelope.ts ?? undefined);
  const error = errorOf(data.error);
  return observation({
    kind: ItemKind.Image,
    id: storableString(imageId, 'data.id'),
    status: imageStatusOf(data, error),
    occurredAt: isoOrUndefined(firstString(data.uploaded, data.timestamp, data.occurredAt)) ?? (ts ? isoOrUndefined(ts * 1000) : undefined) ?? now.toISOString(),
    source: ReportSource.Notification,
    attributes: { ...imageAttributes(data, WEBHOOK_IMAGE_FIELDS), notification: storable(data, 'data') },
    ...(error && { error }),
    notification: notificationRef(envelope, ts),
  });
}

/**
 * Cloudflare documents no fields inside `data` for Images, so only fields that cannot be misread
 * decide: a non-empty error means failed (checked first: a draft that reports an error did not
 * upload), `draft: true` a draft, an upload time or variants an upload. Anything else is unsettled.
 */
function imageStatusOf(data: Readonly<Record<string, unknown>>, error: ErrorInfo | undefined): ItemStatus | undefined {
  if (error) return ImageStatus.Failed;
  if (data.draft === true) return ImageStatus.Draft;
  if (isoOrUndefined(data.uploaded) !== undefined || Array.isArray(data.variants)) return ImageStatus.Uploaded;
  return undefined;
}

/** An error is a non-empty string, or an object with a non-empty code or message; `""` and `null` are none. */
function errorOf(value: unknown): ErrorInfo | undefined {
  const code = isRecord(value) ? firstString(value.code, typeof value.code === 'number' ? String(value.code) : undefined) : undefined;
  const message = typeof value === 'string' ? firstString(value) : isRecord(value) ? firstString(value.message) : undefined;
  if (code === undefined && message === undefined) return undefined;
  return {
    ...(code && { code: storableString(code, 'error.code', Limits.errorCodeChars) }),
    ...(message && { message: storableString(message, 'error.message', Limits.errorMessageChars) }),
  };
}

/** What the item keeps of an image a webhook reports: `metadata` before `meta`, and its format and size too. */
const WEBHOOK_IMAGE_FIELDS: ImageFields = { metadata: ['metadata', 'meta'], strings: ['creator', 'filename', 'format'], numbers: ['width', 'height'] };

function notificationRef(envelope: z.infer<typeof notification>, ts: number | undefined): NotificationRef {
  const text = (value: string | null | undefined, field: string) => (value ? storableString(value, field, 256) : undefined);
  const alertType = text(envelope.alert_type, 'alert_type');
  const alertCorrelationId = text(envelope.alert_correlation_id, 'alert_correlation_id');
  const policyId = text(envelope.policy_id, 'policy_id');
  return {
    ...(alertType && { alertType }),
    ...(alertCorrelationId && { alertCorrelationId }),
    ...(policyId && { policyId }),
    ...(ts !== undefined && Number.isFinite(ts) && { ts }),
  };
}

function parseStream(json: Record<string, unknown>, now: Date): Delivery {
  const video = validate(streamVideo, json);
  const state = video.status.state;
  const playable = state === 'ready' && video.readyToStream !== false;
  if (!playable && state !== 'error') {
    return { type: 'ignored', reason: `video state ${state.slice(0, 64)}${state === 'ready' ? ' but not ready to stream' : ''}` };
  }
  return observation({
    kind: ItemKind.Video,
    id: storableString(video.uid, 'uid'),
    status: playable ? VideoStatus.Ready : VideoStatus.Error,
    occurredAt: toIso(video.modified ?? now.toISOString()),
    source: ReportSource.Stream,
    attributes: videoAttributes(json),
    ...(!playable && { error: streamError(video.status) }),
  });
}

function validate<T extends z.ZodMiniType>(schema: T, value: unknown): z.infer<T> {
  const result = z.safeParse(schema, value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || undefined;
  throw new PayloadError(field ? `${field}: ${issue?.message}` : (issue?.message ?? 'invalid payload'), field);
}

const observation = (value: Observation): Delivery => ({ type: 'observation', observation: value });

/** Normalise to millisecond UTC so timestamps compare as strings (Stream sends microseconds). */
function toIso(value: string): string {
  const iso = isoOrUndefined(value);
  if (iso === undefined) throw new PayloadError(`timestamp out of range: ${value.slice(0, 40)}`);
  return iso;
}
