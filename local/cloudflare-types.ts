/**
 * What the Cloudflare stand-in (local/cloudflare.ts) keeps and sends: the permissions its tokens
 * carry, its records of images, videos, webhooks and notification policies, and the webhooks it
 * delivers. local/cloudflare.ts exports every name here.
 */

/** Fine-grained token permissions, each a slice of Cloudflare's API token permission groups. */
export const Permission = {
  ImagesRead: 'images:read',
  ImagesWrite: 'images:write',
  StreamRead: 'stream:read',
  StreamWrite: 'stream:write',
  NotificationsWrite: 'notifications:write',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];
export const ALL_PERMISSIONS: readonly Permission[] = Object.values(Permission);

/** Whether `granted` covers `needed`; Cloudflare's Write permission groups include reading. */
export function allows(granted: readonly Permission[], needed: Permission): boolean {
  return granted.includes(needed) || (needed.endsWith(':read') && granted.includes(needed.replace(/:read$/, ':write') as Permission));
}

/** A webhook about to be sent, as a `dropWebhooks` rule sees it. */
export interface PlannedDelivery {
  readonly kind: 'notification' | 'stream';
  /** The image id or the video uid the webhook is about. */
  readonly subject: string;
  readonly url: string;
  readonly body: string;
}
export type DropRule = boolean | ((delivery: PlannedDelivery) => boolean);

export interface WebhookDelivery extends PlannedDelivery {
  /** Headers as sent, but `cf-webhook-auth` (the destination's secret) redacted. */
  readonly headers: Readonly<Record<string, string>>;
  readonly at: string;
  /** Lost on purpose (`dropWebhooks`): recorded here, never sent. */
  readonly dropped: boolean;
  /** The receiver's status; 0 when it could not be reached; absent when dropped. */
  readonly status?: number;
  readonly response?: string;
}

export interface StandInImage {
  readonly id: string;
  /** True until a creator's file is accepted; Cloudflare then removes the field. */
  draft: boolean;
  readonly requireSignedURLs: boolean;
  readonly metadata: Record<string, unknown>;
  readonly creator?: string;
  readonly expiry: string;
  readonly uploadURL: string;
  /** Set when the draft is created (Cloudflare's draft example shows one), replaced when the file arrives. */
  uploaded: string;
  readonly variants: readonly string[];
  filename?: string;
}

/** Video states: the `status.state` enum of Cloudflare's SDK (`cloudflare` on npm, resources/stream/stream.d.ts). */
export type VideoState = 'pendingupload' | 'downloading' | 'queued' | 'inprogress' | 'ready' | 'error';

export interface StandInVideo {
  readonly uid: string;
  readonly creator: string | null;
  meta: Record<string, unknown>;
  readonly requireSignedURLs: boolean;
  readonly allowedOrigins: readonly string[];
  readonly maxDurationSeconds: number;
  readonly uploadExpiry: string;
  readonly uploadURL: string;
  readonly created: string;
  modified: string;
  uploaded: string | null;
  state: VideoState;
  pctComplete: string;
  step?: 'encoding';
  error?: { readonly code: string; readonly text: string };
  size: number;
  readyToStreamAt: string | null;
}

export interface StreamWebhook {
  notificationUrl: string;
  secret: string;
  modified: string;
}

export interface WebhookDestination {
  readonly id: string;
  name: string;
  url: string;
  /** Kept, never returned by the API (as in Cloudflare): tests read it here. */
  secret?: string;
  readonly created_at: string;
  last_success?: string;
  last_failure?: string;
}

export interface NotificationPolicy {
  readonly id: string;
  name: string;
  alert_type: string;
  enabled: boolean;
  description?: string;
  mechanisms: { webhooks?: { id: string }[]; email?: { id: string }[]; pagerduty?: { id: string }[] };
  filters?: Record<string, unknown>;
  readonly created: string;
  modified: string;
}
