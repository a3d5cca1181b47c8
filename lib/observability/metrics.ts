import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  DEFAULT_METRICS_NAMESPACE,
  DeliveryOutcome,
  DeliveryResult,
  Confirmation,
  Dimension,
  METRICS_SERVICE,
  MetricName,
  RELAY_METRICS_SERVICE,
  Rejection,
  SWEEP_METRICS_SERVICE,
  SIGNATURE_REJECTIONS,
  type KindDimension,
} from '../../lambda/core/metrics.js';
import type { StreamRelay } from '../stream-relay.js';

export const FIVE_MINUTES = Duration.minutes(5);
/** The options of an AWS metric counted per 5 minutes. */
export const FIVE_MINUTE_SUM: cloudwatch.MetricOptions = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM };

/**
 * The receiver's custom metrics as CloudWatch `Metric`s (Sum over 5 minutes unless the options
 * say otherwise): the one place the CDK side names them. Without a label, so an alarm on one
 * renders as a plain metric alarm; the dashboard adds its labels.
 */
export class WebhookMetrics {
  constructor(readonly namespace: string = DEFAULT_METRICS_NAMESPACE) {}

  /** How far behind the table's stream the relay reads (Lambda's own `IteratorAge`, ms), its maximum per 5 minutes. */
  static relayIteratorAge(relay: StreamRelay, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return relay.relayFunction.metric('IteratorAge', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM, ...options });
  }

  /** Deliveries by what the sender was told: accepted (2xx), rejected (4xx), error (5xx). */
  deliveriesByResult(result: DeliveryResult, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Deliveries, { [Dimension.Result]: result }, options);
  }

  deliveriesByOutcome(kind: KindDimension, outcome: DeliveryOutcome, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Deliveries, { [Dimension.Kind]: kind, [Dimension.Outcome]: outcome }, options);
  }

  rejections(reason: Rejection, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Deliveries, { [Dimension.Reason]: reason }, options);
  }

  /** Transitions this function made, by the status moved to (republished events not included). */
  transitions(status: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Deliveries, { [Dimension.Status]: status }, options);
  }

  /** Every rejection by the signature check, summed: missing, malformed, invalid, stale, not configured. */
  signatureRejections(options?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    const usingMetrics = Object.fromEntries(SIGNATURE_REJECTIONS.map((reason, i) => [`r${i}`, this.rejections(reason, { label: reason })]));
    return new cloudwatch.MathExpression({
      // FILL: a reason with no data in a period must count 0, not blank out the sum.
      expression: Object.keys(usingMetrics).map((id) => `FILL(${id}, 0)`).join(' + '),
      usingMetrics,
      label: 'signature rejections',
      period: FIVE_MINUTES,
      ...options,
    });
  }

  republishedEvents(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.RepublishedEvents, {}, options);
  }

  publishFailures(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.PublishFailures, {}, options);
  }

  /** Deliveries put to Cloudflare's API, by what came of it (`lambda/webhook/confirm.ts`). */
  confirmations(confirmation: Confirmation, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Confirmations, { [Dimension.Confirmation]: confirmation }, options);
  }

  /** Failed calls to Cloudflare's API of one class, by the webhook and the sweep together. */
  cloudflareApiErrors(failure: string, options?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    // Ids unique per class: a graph of several classes holds all their metrics at once.
    const id = failure.replace(/[^a-z]/g, '_');
    const usingMetrics = {
      [`webhook_${id}`]: this.metric(MetricName.CloudflareApiErrors, { [Dimension.Class]: failure }),
      [`sweep_${id}`]: this.metric(MetricName.CloudflareApiErrors, { [Dimension.Class]: failure, [Dimension.Service]: SWEEP_METRICS_SERVICE }),
    };
    return new cloudwatch.MathExpression({ expression: `FILL(webhook_${id}, 0) + FILL(sweep_${id}, 0)`, usingMetrics, label: `Cloudflare API ${failure}`, period: FIVE_MINUTES, ...options });
  }

  /** Items the sweep looked at, by what became of them. */
  reconciliations(outcome: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Reconciliations, { [Dimension.Reconciliation]: outcome, [Dimension.Service]: SWEEP_METRICS_SERVICE }, options);
  }

  recoveredWebhooks(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.RecoveredWebhooks, { [Dimension.Service]: SWEEP_METRICS_SERVICE }, options);
  }

  relayedEvents(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.RelayedEvents, { [Dimension.Service]: RELAY_METRICS_SERVICE }, options);
  }

  private metric(metricName: MetricName, dimensions: Record<string, string>, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      statistic: cloudwatch.Stats.SUM,
      period: FIVE_MINUTES,
      ...options,
      dimensionsMap: { [Dimension.Service]: METRICS_SERVICE, ...dimensions, ...options.dimensionsMap },
    });
  }
}

/** CloudWatch's rules for a custom namespace; a token cannot be checked, nor set in the function's environment reliably. */
export function checkMetricsNamespace(namespace: string): string {
  if (Token.isUnresolved(namespace) || !/^[A-Za-z0-9._\-/#: ]{1,255}$/.test(namespace) || namespace.startsWith('AWS/')) {
    throw new Error(`metricsNamespace must be 1-255 letters, digits or . _ - / # : space, not starting with 'AWS/', got '${namespace}'`);
  }
  return namespace;
}
