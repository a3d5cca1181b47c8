import type { ItemKind } from './contract.js';
import type { Outcome } from './decide.js';

/**
 * The functions' CloudWatch metrics (EMF): names and dimensions. These names are a contract:
 * `lib/observability/` builds its alarms and dashboard from this file, so renaming a value here
 * breaks them in step rather than silently. Pure, and free of AWS and Powertools imports, so the
 * CDK code reads it too; how a delivery maps onto them is `lambda/webhook/metrics.ts`.
 *
 * One delivery is one EMF blob holding `Deliveries = 1` under several dimension sets, each a
 * view of the same count: by result, by kind and outcome, by rejection reason (rejections only)
 * and by the status moved to (transitions only). Every dimension is low-cardinality: an image
 * id never becomes a dimension (it is in the log line instead).
 */

/** Service dimension of the sweep's and the relay's metrics: their own, so a dashboard can tell them apart. */
export const SWEEP_METRICS_SERVICE = 'cloudflare-sweep' as const;
export const RELAY_METRICS_SERVICE = 'cloudflare-relay' as const;

/** Namespace when the function's environment names none (`POWERTOOLS_METRICS_NAMESPACE`). */
export const DEFAULT_METRICS_NAMESPACE = 'CloudflareWebhook' as const;

/** Value of the `service` dimension, on every metric. Fixed, so alarms do not depend on the log settings. */
export const METRICS_SERVICE = 'cloudflare-webhook' as const;

/** Variable the construct sets to the namespace (Powertools' own name for it). */
export const METRICS_NAMESPACE_ENV = 'POWERTOOLS_METRICS_NAMESPACE' as const;

export const MetricName = {
  /** 1 per delivery (any answer); its dimension sets below say what became of it. */
  Deliveries: 'Deliveries',
  /** Events put on the bus that an earlier delivery wrote but left unpublished (it died or timed out). */
  RepublishedEvents: 'RepublishedEvents',
  /** 1 per delivery answered 500 because EventBridge failed or dropped an event. */
  PublishFailures: 'PublishFailures',
  /** 1 per delivery whose outcome was put to Cloudflare's API (or could not be); dimension `Confirmation`. */
  Confirmations: 'Confirmations',
  /** 1 per failed call to Cloudflare's API, by any function; dimension `Class` (`auth` means the token was refused). */
  CloudflareApiErrors: 'CloudflareApiErrors',
  /** Items the sweep looked at, by what became of them; dimension `Reconciliation`. */
  Reconciliations: 'Reconciliations',
  /** Lost webhooks the sweep recovered: Cloudflare had the file (or the video's outcome) and no webhook had told us. */
  RecoveredWebhooks: 'RecoveredWebhooks',
  /** Events the stream relay published because their writer left them in the outbox. */
  RelayedEvents: 'RelayedEvents',
  /** Stream records the relay handed back for a retry (their item could not be settled in that invocation). */
  RelayRetries: 'RelayRetries',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

export const Dimension = {
  Service: 'service',
  /** `DeliveryResult`: what the sender was told. */
  Result: 'Result',
  /** `image` (Images route) or `video` (Stream route); `unknown` for a request on no webhook route. */
  Kind: 'Kind',
  /** `DeliveryOutcome`. */
  Outcome: 'Outcome',
  /** `Rejection`; rejected deliveries only. */
  Reason: 'Reason',
  /** The status the item moved to; deliveries that made a transition only. */
  Status: 'Status',
  /** What asking Cloudflare made of a delivery (`lambda/webhook/confirm.ts`, `Confirmation`). */
  Confirmation: 'Confirmation',
  /** Class of a Cloudflare API failure (`ApiFailure` in `lambda/core/cloudflare.ts`). */
  Class: 'Class',
  /** What the sweep made of an item: `expired`, `recovered`, `skipped`, `deferred`. */
  Reconciliation: 'Reconciliation',
} as const;

export const DeliveryResult = {
  /** Answered 2xx: Cloudflare is done with it. */
  Accepted: 'accepted',
  /** Answered 4xx: bad signature, payload, id, size or route; Cloudflare should not retry. */
  Rejected: 'rejected',
  /** Answered 5xx: our fault (a dependency failed); the sender retries. */
  Error: 'error',
} as const;
export type DeliveryResult = (typeof DeliveryResult)[keyof typeof DeliveryResult];

/** `Outcome` dimension: the receipt's outcome for accepted deliveries, else the result. */
export const DeliveryOutcome = {
  Transitioned: 'transitioned',
  Refreshed: 'refreshed',
  Duplicate: 'duplicate',
  Stale: 'stale',
  Test: 'test',
  Ignored: 'ignored',
  Rejected: 'rejected',
  Error: 'error',
} as const satisfies Record<string, Outcome | 'test' | 'ignored' | 'rejected' | 'error'>;
export type DeliveryOutcome = (typeof DeliveryOutcome)[keyof typeof DeliveryOutcome];

/** `Reason` dimension of a rejected delivery. */
export const Rejection = {
  MissingSignature: 'missing-signature',
  MalformedSignature: 'malformed-signature',
  InvalidSignature: 'invalid-signature',
  StaleSignature: 'stale-signature',
  /** No secret is configured for the scheme the request used: our setup, not the sender. */
  SecretNotConfigured: 'secret-not-configured',
  InvalidPayload: 'invalid-payload',
  UnknownId: 'unknown-id',
  TooLarge: 'too-large',
  UnknownRoute: 'unknown-route',
} as const;
export type Rejection = (typeof Rejection)[keyof typeof Rejection];

/** The rejections a signature check makes (401): what a probe or a wrong secret produces. */
export const SIGNATURE_REJECTIONS = [
  Rejection.MissingSignature,
  Rejection.MalformedSignature,
  Rejection.InvalidSignature,
  Rejection.StaleSignature,
  Rejection.SecretNotConfigured,
] as const satisfies readonly Rejection[];

/** `Kind` dimension: `unknown` for a request on no webhook route. */
export type KindDimension = ItemKind | 'unknown';

/** What asking Cloudflare made of a delivery: a metric dimension and part of the answer. */
export const Confirmation = {
  /** Not asked: the fields settled it and the mode did not require asking. */
  NotAsked: 'not-asked',
  /** Cloudflare agreed with the fields (or settled what they left open). */
  Confirmed: 'confirmed',
  /** Cloudflare's answer replaced what the fields said. */
  Corrected: 'corrected',
  /** Cloudflare has no such image or video: failed. */
  NotFound: 'not-found',
  /** The image is still a draft at Cloudflare, the video still processing. */
  Pending: 'pending',
  /** Cloudflare could not be asked; the fields settled the outcome, so they were used. */
  Unavailable: 'unavailable',
  /** No read token is configured (or confirmation is off) and the fields settle nothing. */
  Unsettled: 'unsettled',
} as const;
export type Confirmation = (typeof Confirmation)[keyof typeof Confirmation];
