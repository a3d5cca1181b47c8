import { answerOf } from '../core/errors.js';
import type { ItemStatus } from '../core/contract.js';
import {
  Confirmation,
  Dimension,
  DeliveryOutcome,
  DeliveryResult,
  MetricName,
  Rejection,
  type KindDimension,
} from '../core/metrics.js';
import type { ApiFailure } from '../core/cloudflare.js';
import type { MetricBatch } from '../adapters/metrics.js';
import type { Receipt } from './receive.js';
import type { Route } from './verify.js';

/** How one webhook delivery maps onto the metrics named in `lambda/core/metrics.ts`. */



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
  /** What asking Cloudflare made of it, when the delivery reported a status. */
  readonly confirmation?: Confirmation;
  /** Why a call to Cloudflare failed, when one did (the delivery may still have been accepted on its fields). */
  readonly apiFailure?: ApiFailure;
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
      ...(receipt.confirmation && { confirmation: receipt.confirmation }),
      ...(receipt.apiFailure && { apiFailure: receipt.apiFailure }),
    };
  }
  // Everything about a failed delivery comes from its row of the error table (lambda/core/errors.ts).
  const { rejection, publishFailed = false, apiFailure } = answerOf(input.error);
  if (rejection !== undefined) {
    return { result: DeliveryResult.Rejected, kind, outcome: DeliveryOutcome.Rejected, rejection, republished: 0, publishFailed: false };
  }
  return { result: DeliveryResult.Error, kind, outcome: DeliveryOutcome.Error, republished: 0, publishFailed, ...(apiFailure && { apiFailure }) };
}

/**
 * The blobs a delivery emits: always the `Deliveries` one; a second, with `service` only, in
 * the rare delivery that republished or failed to publish (those counts mean nothing per kind);
 * one per dimension of a confirmation and of a failed Cloudflare call, when there was one.
 */
export function metricBatches(summary: DeliverySummary): MetricBatch[] {
  const dimensionSets: Record<string, string>[] = [
    { [Dimension.Result]: summary.result },
    { [Dimension.Kind]: summary.kind, [Dimension.Outcome]: summary.outcome },
  ];
  if (summary.rejection) dimensionSets.push({ [Dimension.Reason]: summary.rejection });
  // Status alone: statuses are distinct across kinds, and a key shared by two sets (Kind) makes
  // Powertools log a collision warning on every delivery.
  if (summary.transition) dimensionSets.push({ [Dimension.Status]: summary.transition.to });
  const batches: MetricBatch[] = [{ dimensionSets, counts: { [MetricName.Deliveries]: 1 } }];

  const counts: Partial<Record<MetricName, number>> = {};
  if (summary.republished > 0) counts[MetricName.RepublishedEvents] = summary.republished;
  if (summary.publishFailed) counts[MetricName.PublishFailures] = 1;
  if (Object.keys(counts).length > 0) batches.push({ dimensionSets: [], counts });
  if (summary.confirmation && summary.confirmation !== Confirmation.NotAsked) {
    batches.push({ dimensionSets: [{ [Dimension.Confirmation]: summary.confirmation }], counts: { [MetricName.Confirmations]: 1 } });
  }
  if (summary.apiFailure) batches.push({ dimensionSets: [{ [Dimension.Class]: summary.apiFailure }], counts: { [MetricName.CloudflareApiErrors]: 1 } });
  return batches;
}
