import type { DetailType, EVENT_SOURCE, ItemKind, ItemStatus } from './contract.js';

/**
 * The shapes the functions, `lib/` and `cli/` share: what a report says, what the table holds,
 * what the bus carries. Types only; the rules that produce them live in `decide.ts`.
 */

/** What went wrong, as Cloudflare put it: a code when it gives one, and its words. Both capped (values.ts). */
export interface ErrorInfo {
  readonly code?: string;
  readonly message?: string;
}

/** Who told us. A history entry keeps it, so an audit can tell a webhook from a reconciliation. */
export const ReportSource = {
  /** A Cloudflare Notifications delivery (Images), decided from its fields. */
  Notification: 'notification',
  /** The seed's bare payload (django-cloudflareimages-toolkit, `X-Signature`). */
  Toolkit: 'toolkit',
  /** A Stream webhook. */
  Stream: 'stream',
  /** Cloudflare's API, asked to confirm a delivery or to reconcile an item whose webhook never came. */
  CloudflareApi: 'cloudflare-api',
  /** The sweep: an upload window ended and Cloudflare (when asked) does not have the file. */
  Expiry: 'expiry',
} as const;
export type ReportSource = (typeof ReportSource)[keyof typeof ReportSource];

/** The audit fields of a Notifications envelope (notifications/reference/webhook-payload-schema). */
export interface NotificationRef {
  readonly alertType?: string;
  readonly alertCorrelationId?: string;
  readonly policyId?: string;
  /** The envelope's `ts`, unix seconds. */
  readonly ts?: number;
}

/** What a delivery (or Cloudflare's API, or the sweep) says happened to one image or video. */
export interface StatusReport {
  readonly kind: ItemKind;
  readonly id: string;
  readonly status: ItemStatus;
  /** When it happened (ISO 8601, millisecond precision, UTC): the order of reports rests on it. */
  readonly occurredAt: string;
  readonly source: ReportSource;
  /** Fields copied onto the item (variants, playback, metadata, …), already made storable. */
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly error?: ErrorInfo;
  /** The envelope that brought it, when it came as a Cloudflare Notification. */
  readonly notification?: NotificationRef;
}

export interface HistoryEntry {
  readonly eventId: string;
  readonly from: ItemStatus;
  readonly to: ItemStatus;
  readonly occurredAt: string;
  readonly recordedAt: string;
  /** Absent on entries written before the source was recorded. */
  readonly source?: ReportSource;
  readonly error?: ErrorInfo;
  readonly notification?: NotificationRef;
}

/** The item as stored. Items created by users may hold as little as `{ id, kind, status }`. */
export interface Item {
  readonly id: string;
  readonly kind?: ItemKind;
  readonly status?: ItemStatus;
  readonly precedence?: string;
  readonly statusAt?: string;
  readonly version?: number;
  readonly history?: readonly HistoryEntry[];
  /**
   * The outbox: ids of events written with a transition and not yet confirmed on the bus (a String
   * Set in the table, absent when empty, which is what lets the stream's filter skip every other
   * write). `leaseUntil` is when the writer that holds them gives up its claim (epoch ms).
   */
  readonly unpublished?: readonly string[];
  readonly leaseUntil?: number;
  /** The stream relay's takeovers of this outbox so far (TableDesign.outbox.relayAttempts); absent once a writer adds or clears events. */
  readonly relayAttempts?: number;
  /** When the relay tries this outbox again (epoch ms; TableDesign.outbox.relayBackoff); absent with `relayAttempts`. */
  readonly relayBackoffUntil?: number;
  readonly [attribute: string]: unknown;
}

/** Attribute values to SET (and attributes to REMOVE), guarded by the version the decision was made on. */
export interface ItemWrite {
  readonly expectedVersion: number | undefined;
  readonly set: Readonly<Record<string, unknown>>;
  readonly remove?: readonly string[];
}

export interface TransitionEvent {
  readonly source: typeof EVENT_SOURCE;
  readonly detailType: DetailType;
  readonly detail: TransitionDetail;
}

/** `detail` of every published event. `eventId` is stable across republishing: deduplicate on it. */
export interface TransitionDetail {
  readonly eventId: string;
  readonly id: string;
  readonly kind: ItemKind;
  readonly status: ItemStatus;
  readonly previousStatus: ItemStatus;
  readonly occurredAt: string;
  readonly recordedAt: string;
  /** Who reported the transition; `cloudflare-api` marks one confirmed or recovered from Cloudflare's API. */
  readonly source?: ReportSource;
  readonly error?: ErrorInfo;
  readonly variants?: readonly string[];
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly playback?: Readonly<Record<string, unknown>>;
  readonly thumbnail?: string;
}
