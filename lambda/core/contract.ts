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
  /**
   * Items by status, ordered by their last change: answers "what failed in the last hour"
   * without a scan. Sparse: an item without `status` or `updatedAt` is not in it.
   */
  byStatus: {
    indexName: 'byStatus',
    partitionKey: 'status',
    sortKey: 'updatedAt',
    // Only what a listing shows. Every write rewrites the entries of the indexes whose projected
    // attributes it changes: with ALL, clearing a published event would rewrite the entry again.
    projected: ['kind', 'lastError'],
  },
  /**
   * Items by status, ordered by the end of their upload window: the expiry sweep asks for
   * `pending` and `draft` items whose window has passed without a scan. Sparse: only items
   * holding an `expiresAt` are in it. The upload route sets it; the first transition to any
   * other status than `pending`/`draft` (uploaded, failed, ready, error) REMOVEs it in the same
   * conditional write, so an item leaves the index once and the later marker clean-up, which
   * changes the projected `unpublished`, rewrites no entry here. `expired` keeps it: only the
   * sweep writes it, and its crash recovery finds expiries still holding unpublished events
   * through this index (`unpublished` is projected for that filter; the sweep re-reads each item).
   */
  byExpiry: { indexName: 'byExpiry', partitionKey: 'status', sortKey: 'expiresAt' },
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

/**
 * Sidecar key of the webhook secret: values of `images`/`stream` that are being retired after a
 * rotation, with the instant their grace period ends. `connect` writes it and drops the values
 * once the instant passes; the receiver ignores keys it does not know.
 * `{"retiring": {"stream": [{"value": "…", "notAfter": "2025-01-01T13:00:00.000Z"}]}}`
 */
export const SecretRetiringKey = 'retiring' as const;

/** Environment of the upload function (`lambda/uploads/`). */
export const UploadsEnv = {
  TableName: 'TABLE_NAME',
  /** Secrets Manager secret `{"accountId": "…", "apiToken": "…"}`: the only place the Cloudflare API token lives. */
  ApiSecretId: 'CLOUDFLARE_API_SECRET_ID',
  /** Cloudflare's API root; the official SDK reads the same variable. Unset in AWS. */
  BaseUrl: 'CLOUDFLARE_BASE_URL',
  /** Upload window when the request names none, in seconds. */
  DefaultExpirySeconds: 'DEFAULT_EXPIRY_SECONDS',
  /** How long one Cloudflare call may take before the route answers 504 (ms). */
  CloudflareTimeoutMs: 'CLOUDFLARE_TIMEOUT_MS',
} as const;

/** Keys of the Cloudflare API secret read by the upload function. */
export const ApiSecretKey = { AccountId: 'accountId', ApiToken: 'apiToken' } as const;

/** Environment of the expiry sweep function (`lambda/sweep/`). */
export const SweepEnv = {
  TableName: 'TABLE_NAME',
  EventBusName: 'EVENT_BUS_NAME',
  PublishLeaseMs: 'PUBLISH_LEASE_MS',
  /** An upload window must have ended this long ago before the image is expired (s). */
  GraceSeconds: 'EXPIRY_GRACE_SECONDS',
  /** Most items one run expires; the next run takes the rest. */
  MaxItemsPerRun: 'MAX_ITEMS_PER_RUN',
} as const;

/** Cloudflare's limits on a direct creator upload's window, and our defaults. */
export const UploadDefaults = {
  path: '/uploads',
  // Literals, not products: esbuild keeps an object with arithmetic in every bundle that imports this file.
  /** Cloudflare's own default window: 30 minutes. */
  expirySeconds: 1800,
  /** 2 minutes. */
  minExpirySeconds: 120,
  /** 6 hours. */
  maxExpirySeconds: 21600,
  cloudflareTimeoutMs: 8000,
  sweepGraceSeconds: 5 * 60,
  sweepMaxItemsPerRun: 1000,
} as const;
