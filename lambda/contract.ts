/**
 * Names that consumers and the infrastructure depend on. Changing any value here is a
 * breaking change for everyone with an EventBridge rule or a query on the table.
 * No AWS imports: the CDK code, the Lambda and local tooling all read this file.
 */

/** `source` of every event this receiver publishes. */
export const EVENT_SOURCE = 'cloudflare-webhook' as const;

/** `detail-type` per transition target; one per outcome a consumer reacts to. */
export const DetailType = {
  ImageDraft: 'Image Draft',
  ImageUploaded: 'Image Uploaded',
  ImageUploadFailed: 'Image Upload Failed',
  ImageExpired: 'Image Expired',
  VideoReady: 'Video Ready',
  VideoFailed: 'Video Failed',
} as const;
export type DetailType = (typeof DetailType)[keyof typeof DetailType];

export const ItemKind = { Image: 'image', Video: 'video' } as const;
export type ItemKind = (typeof ItemKind)[keyof typeof ItemKind];

export const ImageStatus = {
  Pending: 'pending',
  Draft: 'draft',
  Uploaded: 'uploaded',
  Failed: 'failed',
  Expired: 'expired',
} as const;
export type ImageStatus = (typeof ImageStatus)[keyof typeof ImageStatus];

export const VideoStatus = {
  Pending: 'pending',
  Ready: 'ready',
  Error: 'error',
} as const;
export type VideoStatus = (typeof VideoStatus)[keyof typeof VideoStatus];

export type ItemStatus = ImageStatus | VideoStatus;

/** The images table: one item per image or video, keyed by Cloudflare's id. */
export const TableDesign = {
  partitionKey: 'id',
} as const;

/**
 * Keys of the Secrets Manager secret (a JSON object). Each value is a string or an array
 * of strings: every listed value is accepted, which is how a secret is rotated without
 * downtime (add the new value, switch Cloudflare over, remove the old one).
 */
export const SecretKey = {
  /** `cf-webhook-auth` value of the Cloudflare Notifications webhook destination (Images). */
  Images: 'images',
  /** Signing secret returned by `PUT /accounts/{account_id}/stream/webhook`. */
  Stream: 'stream',
  /** Optional HMAC secret of the django-cloudflareimages-toolkit `X-Signature` scheme. */
  Toolkit: 'toolkit',
} as const;

/** Environment of the webhook function; read once by `lambda/config.ts`. */
export const WebhookEnv = {
  TableName: 'TABLE_NAME',
  EventBusName: 'EVENT_BUS_NAME',
  SecretId: 'SECRET_ID',
  ImagesPath: 'IMAGES_PATH',
  StreamPath: 'STREAM_PATH',
  ToleranceSeconds: 'SIGNATURE_TOLERANCE_SECONDS',
  MaxBodyBytes: 'MAX_BODY_BYTES',
  UnknownIdPolicy: 'UNKNOWN_ID_POLICY',
  /** How long a writer owns publishing its event before a redelivery may take over (ms). */
  PublishLeaseMs: 'PUBLISH_LEASE_MS',
} as const;

export const Defaults = {
  imagesPath: '/webhooks/images',
  streamPath: '/webhooks/stream',
  toleranceSeconds: 300,
  /** Cloudflare's webhook bodies are a few KB; anything near this is not from Cloudflare. */
  maxBodyBytes: 64 * 1024,
  unknownIdPolicy: 'reject',
  /** Longer than a normal PutEvents, far shorter than the function's timeout. */
  publishLeaseMs: 3000,
} as const;

export const UnknownIdPolicy = { Reject: 'reject', Record: 'record' } as const;
export type UnknownIdPolicy = (typeof UnknownIdPolicy)[keyof typeof UnknownIdPolicy];
