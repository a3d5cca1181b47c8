import type { ItemKind, ItemStatus } from './contract.js';
import { DependencyError, PayloadError, PayloadTooLargeError, RouteNotFoundError, SignatureError, UnknownItemError } from './errors.js';
import type { Outcome } from './decide.js';
import type { Receipt } from '../webhook/receive.js';
import { RejectReason, type Route } from '../webhook/verify.js';

/**
 * The webhook function's CloudWatch metrics (EMF): names, dimensions and the mapping from a
 * delivery's result to them. These names are a contract: `lib/observability.ts` builds its
 * alarms and dashboard from this file, so renaming a value here breaks them in step rather than
 * silently. Pure, and free of AWS and Powertools imports, so the CDK code reads it too.
 *
 * One delivery is one EMF blob holding `Deliveries = 1` under several dimension sets, each a
 * view of the same count: by result, by kind and outcome, by rejection reason (rejections only)
 * and by the status moved to (transitions only). Every dimension is low-cardinality: an image
 * id never becomes a dimension (it is in the log line instead).
 */

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
} as const;

/** Every dimension set `Deliveries` is published under (the `service` dimension is on each). */
export const DELIVERY_DIMENSION_SETS = [
  [Dimension.Result],
  [Dimension.Kind, Dimension.Outcome],
  [Dimension.Reason],
  // Status alone: statuses are distinct across kinds, and a key shared by two sets (Kind) makes
  // Powertools log a collision warning on every delivery.
  [Dimension.Status],
] as const;

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

const SIGNATURE_REASONS: Readonly<Record<RejectReason, Rejection>> = {
  [RejectReason.Missing]: Rejection.MissingSignature,
  [RejectReason.Malformed]: Rejection.MalformedSignature,
  [RejectReason.Invalid]: Rejection.InvalidSignature,
  [RejectReason.Stale]: Rejection.StaleSignature,
  [RejectReason.NotConfigured]: Rejection.SecretNotConfigured,
};

export type KindDimension = ItemKind | 'unknown';

/** What one delivery contributes to the metrics and the log line. */
export interface DeliverySummary {
  readonly result: DeliveryResult;
  readonly kind: KindDimension;
  readonly outcome: DeliveryOutcome;
  /** Rejected deliveries only. */
  readonly rejection?: Rejection;
  /** The item's move, when this delivery made one (its own, not a republished one). */
  readonly transition?: { readonly from: ItemStatus; readonly to: ItemStatus };
  readonly republished: number;
  readonly publishFailed: boolean;
}

/** What `receive` answered, or what it threw. @internal function-side only, kept out of the package's types */
export type DeliveryResultInput = { readonly receipt: Receipt } | { readonly error: unknown };

/** `route` is undefined when the request matched no webhook route. @internal */
export function summarizeDelivery(route: Route | undefined, input: DeliveryResultInput): DeliverySummary {
  const kind: KindDimension = route === 'images' ? 'image' : route === 'stream' ? 'video' : 'unknown';
  if ('receipt' in input) {
    const { receipt } = input;
    const transition =
      receipt.outcome === 'transitioned' && receipt.previousStatus !== undefined && receipt.status !== undefined
        ? { from: receipt.previousStatus, to: receipt.status }
        : undefined;
    return {
      result: DeliveryResult.Accepted,
      kind,
      outcome: receipt.outcome,
      ...(transition && { transition }),
      republished: receipt.republished ?? 0,
      publishFailed: false,
    };
  }
  const rejection = rejectionOf(input.error);
  if (rejection !== undefined) {
    return { result: DeliveryResult.Rejected, kind, outcome: DeliveryOutcome.Rejected, rejection, republished: 0, publishFailed: false };
  }
  const publishFailed = input.error instanceof DependencyError && input.error.dependency === 'eventbridge';
  return { result: DeliveryResult.Error, kind, outcome: DeliveryOutcome.Error, republished: 0, publishFailed };
}

/** The rejection an error stands for; undefined for our own failures (a 500). */
export function rejectionOf(error: unknown): Rejection | undefined {
  if (error instanceof SignatureError) return SIGNATURE_REASONS[error.reason as RejectReason] ?? Rejection.InvalidSignature;
  if (error instanceof PayloadError) return Rejection.InvalidPayload;
  if (error instanceof UnknownItemError) return Rejection.UnknownId;
  if (error instanceof PayloadTooLargeError) return Rejection.TooLarge;
  if (error instanceof RouteNotFoundError) return Rejection.UnknownRoute;
  return undefined;
}

/** One EMF blob: every metric in it is published under every one of its dimension sets. */
export interface MetricBatch {
  /** Empty: the `service` dimension alone. */
  readonly dimensionSets: readonly Readonly<Record<string, string>>[];
  readonly counts: Readonly<Partial<Record<MetricName, number>>>;
}

/**
 * The blobs a delivery emits: always the `Deliveries` one; a second, with `service` only, in
 * the rare delivery that republished or failed to publish (those counts mean nothing per kind).
 */
export function metricBatches(summary: DeliverySummary): MetricBatch[] {
  const dimensionSets: Record<string, string>[] = [
    { [Dimension.Result]: summary.result },
    { [Dimension.Kind]: summary.kind, [Dimension.Outcome]: summary.outcome },
  ];
  if (summary.rejection) dimensionSets.push({ [Dimension.Reason]: summary.rejection });
  if (summary.transition) dimensionSets.push({ [Dimension.Status]: summary.transition.to });
  const batches: MetricBatch[] = [{ dimensionSets, counts: { [MetricName.Deliveries]: 1 } }];

  const counts: Partial<Record<MetricName, number>> = {};
  if (summary.republished > 0) counts[MetricName.RepublishedEvents] = summary.republished;
  if (summary.publishFailed) counts[MetricName.PublishFailures] = 1;
  if (Object.keys(counts).length > 0) batches.push({ dimensionSets: [], counts });
  return batches;
}
