import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DEFAULT_METRICS_NAMESPACE, METRICS_NAMESPACE_ENV, type MetricName } from '../core/metrics.js';

/** One EMF blob: every metric in it is published under every one of its dimension sets. */
export interface MetricBatch {
  /** Empty: the `service` dimension alone. */
  readonly dimensionSets: readonly Readonly<Record<string, string>>[];
  readonly counts: Readonly<Partial<Record<MetricName, number>>>;
}

/** Powertools Metrics for one function, in the namespace the construct set (`lambda/core/metrics.ts` names the rest). */
export function createMetrics(service: string): Metrics {
  return new Metrics({ namespace: process.env[METRICS_NAMESPACE_ENV] || DEFAULT_METRICS_NAMESPACE, serviceName: service });
}

/** Writes each batch as its own EMF blob on stdout, before the function returns. */
export function publishBatches(metrics: Metrics, batches: readonly MetricBatch[]): void {
  for (const batch of batches) {
    if (Object.keys(batch.counts).length === 0) continue;
    for (const dimensions of batch.dimensionSets) metrics.addDimensions(dimensions);
    for (const [name, value] of Object.entries(batch.counts)) metrics.addMetric(name, MetricUnit.Count, value);
    metrics.publishStoredMetrics();
  }
}
