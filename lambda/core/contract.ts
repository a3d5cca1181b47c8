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

/** The two webhook routes: Cloudflare Notifications (Images, and the seed's toolkit) and Stream. */
export type Route = 'images' | 'stream';

/** How a delivery proves it comes from Cloudflare (lambda/webhook/verify.ts); the value is the header it rides in. */
export const Scheme = {
  /** Cloudflare Notifications (how Images direct-creator-upload events arrive): the secret itself. */
  NotificationSecret: 'cf-webhook-auth',
  /** Cloudflare Stream: `Webhook-Signature: time=…,sig1=…`, HMAC over `<time>.<body>`. */
  StreamSignature: 'webhook-signature',
  /** django-cloudflareimages-toolkit: `X-Signature`, HMAC over the body, optional `sha256=`. */
  ToolkitSignature: 'x-signature',
} as const;
export type Scheme = (typeof Scheme)[keyof typeof Scheme];

/** The other name the toolkit's signature may come under (verify.ts reads either). */
export const TOOLKIT_SIGNATURE_ALIAS = 'x-cloudflare-signature' as const;

/** Every header a scheme reads: a request with none of them can only be refused (the front door's WAF rule says so early). */
export const SIGNATURE_HEADERS = [Scheme.NotificationSecret, Scheme.StreamSignature, Scheme.ToolkitSignature, TOOLKIT_SIGNATURE_ALIAS] as const;

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

/** Every status an item of each kind can have. */
export const STATUSES: Readonly<Record<ItemKind, readonly ItemStatus[]>> = {
  image: Object.values(ImageStatus),
  video: Object.values(VideoStatus),
};

/** The event each transition publishes, by the status moved to; `pending` never is one. */
const DETAIL_TYPES: Readonly<Record<ItemKind, Readonly<Partial<Record<ItemStatus, DetailType>>>>> = {
  image: {
    draft: DetailType.ImageDraft,
    uploaded: DetailType.ImageUploaded,
    failed: DetailType.ImageUploadFailed,
    expired: DetailType.ImageExpired,
  },
  video: { ready: DetailType.VideoReady, error: DetailType.VideoFailed },
};

export function detailTypeOf(kind: ItemKind, status: ItemStatus): DetailType | undefined {
  return DETAIL_TYPES[kind][status];
}

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
   * Items by status, ordered by the end of their upload window: the sweep asks for `pending` and
   * `draft` images whose window has passed without a scan. Sparse: only items holding an
   * `expiresAt` are in it. The upload route sets it; the first report of any other status REMOVEs it
   * in the same conditional write, so an item leaves the index once.
   */
  byExpiry: {
    indexName: 'byExpiry',
    partitionKey: 'status',
    sortKey: 'expiresAt',
    // The sweep reads ids only. `unpublished` is projected for the sweep's old outbox recovery (the
    // stream relay does that now); it stays so an upgrade does not have to rebuild the index.
    projected: ['unpublished'],
  },
  /**
   * The outbox: `unpublished` is a String Set of the event ids a writer put in the table with a
   * transition and has not yet seen on the bus, `leaseUntil` (epoch ms) when its claim on them ends.
   * DynamoDB drops a set when its last element is deleted, so "the attribute exists" means "there is
   * something to publish": the one thing the stream's filter has to know.
   * `relayAttempts` (a Number) counts the stream relay's takeovers of the outbox since a writer last
   * added an event to it or emptied it (both REMOVE it), and its presence keeps the
   * relay's own writes out of its stream's filter. `relayBackoffUntil` (epoch ms) is when the relay
   * tries again: it doubles with each count. It is the relay's alone: `leaseUntil` stays the plain
   * lease of whoever may be publishing, which is all a writer waits for.
   */
  outbox: { attribute: 'unpublished', lease: 'leaseUntil', relayAttempts: 'relayAttempts', relayBackoff: 'relayBackoffUntil' },
} as const;

/**
 * The filter of the relay's event source mapping: only stream records whose new image still has
 * something in the outbox, and was not written by the relay itself, invoke it. A writer's own
 * clean-up, every write that publishes nothing, and the relay's takeovers (which keep the outbox
 * and carry `relayAttempts`) never do: only a retry of the record that put the events there brings
 * the relay back to an item. `exists` on the attribute's type key is how Lambda's filters test a
 * DynamoDB attribute, `exists: false` matching a record without it
 * (docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html, "Using the Exists operator").
 */
export const RELAY_FILTER = {
  dynamodb: {
    NewImage: {
      [TableDesign.outbox.attribute]: { SS: [{ exists: true }] },
      [TableDesign.outbox.relayAttempts]: { N: [{ exists: false }] },
    },
  },
} as const;

/**
 * How the relay reads the table's stream. The stack's event source mapping (lib/stream-relay.ts)
 * and local mode's poller (local/stack.ts) both take these, so what runs locally is what is deployed.
 */
export const RelayEventSource = {
  /** Records per invocation: one read each, rarely a publish. */
  batchSize: 100,
  /** Gather records this long: a writer's own clean-up has usually emptied the outbox by then. */
  maxBatchingWindowSeconds: 1,
  /**
   * -1: a failing batch is retried (split in two on error) until its records are too old. A retry
   * finds the relay's own lease, doubled at each takeover, and waits or hands the records back
   * without writing: the doubling lease, not a retry count, paces the relay while it cannot publish.
   */
  retryAttempts: -1,
  /**
   * After 6 hours of failing, a batch goes to the dead-letter queue: the alarm then means "given up",
   * and `events redrive` still has 18 of the stream's 24 hours to read the records back.
   */
  maxRecordAgeSeconds: 21_600,
  filter: RELAY_FILTER,
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

/** Each function's `service` in its log lines (POWERTOOLS_SERVICE_NAME), as the construct and local mode set it. */
export const LogService = {
  Webhook: 'cloudflare-webhook',
  Uploads: 'cloudflare-uploads',
  Sweep: 'cloudflare-expiry-sweep',
  Relay: 'cloudflare-relay',
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
  ConfirmWithCloudflare: 'CONFIRM_WITH_CLOUDFLARE',
  /** The read-only token's secret `{"accountId", "apiToken"}`; unset: nothing is confirmed. */
  ReadSecretId: 'CLOUDFLARE_READ_SECRET_ID',
  /** Cloudflare's API root; the official SDK reads the same variable. Unset in AWS. */
  CloudflareBaseUrl: 'CLOUDFLARE_BASE_URL',
  /** How long one Cloudflare read may take before the delivery gives up on it (ms). */
  CloudflareTimeoutMs: 'CLOUDFLARE_TIMEOUT_MS',
  /** How long a whole delivery may take before it is answered 500 (ms). */
  DeadlineMs: 'DELIVERY_DEADLINE_MS',
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
  confirmWithCloudflare: 'unconfirmed',
  /** A webhook waits this long for Cloudflare's API; the function's own timeout is 10 s. */
  webhookCloudflareTimeoutMs: 3000,
  /** Below the function's 10 s timeout, so a slow delivery still gets a clean, retryable answer. */
  deliveryDeadlineMs: 8000,
} as const;

export const UnknownIdPolicy = { Reject: 'reject', Record: 'record' } as const;

/**
 * When the webhook asks Cloudflare's API before it writes (the read token permitting):
 * `unconfirmed` only when the delivery's fields do not settle the outcome; `always` for every
 * delivery that reports a status; `never` not at all (a delivery the fields do not settle is then
 * acknowledged and left to the sweep).
 */
export const ConfirmMode = { Unconfirmed: 'unconfirmed', Always: 'always', Never: 'never' } as const;
export type ConfirmMode = (typeof ConfirmMode)[keyof typeof ConfirmMode];
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
  /** The read-only token's secret; unset: no image is checked with Cloudflare and no video reconciled. */
  ReadSecretId: 'CLOUDFLARE_READ_SECRET_ID',
  CloudflareBaseUrl: 'CLOUDFLARE_BASE_URL',
  CloudflareTimeoutMs: 'CLOUDFLARE_TIMEOUT_MS',
  /** A video `pending` this long (s) is checked with Cloudflare; 0 turns video reconciliation off. */
  VideoPendingSeconds: 'VIDEO_PENDING_SECONDS',
  /** Set when the table has the byStatus index, which is how the sweep finds pending videos. */
  StatusIndex: 'STATUS_INDEX',
} as const;

/** Environment of the stream relay (`lambda/relay/`). */
export const RelayEnv = {
  TableName: 'TABLE_NAME',
  EventBusName: 'EVENT_BUS_NAME',
  PublishLeaseMs: 'PUBLISH_LEASE_MS',
  /** Longest a relay waits, within one invocation, for a live writer's lease to end (ms). */
  MaxWaitMs: 'RELAY_MAX_WAIT_MS',
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
  /** Stream uploads can take hours to process: a video is reconciled once pending this long. */
  videoPendingSeconds: 86400,
} as const;
