import type { Context, ScheduledEvent } from 'aws-lambda';
import { FetchCloudflare } from '../adapters/cloudflare.js';
import { createLogger } from '../adapters/log.js';
import { createMetrics, publishBatches, type MetricBatch } from '../adapters/metrics.js';
import { EventBridgePublisher } from '../adapters/publish.js';
import { ApiTokenSecret } from '../adapters/secrets.js';
import { DynamoItemStore } from '../adapters/store.js';
import { Dimension, MetricName, SWEEP_METRICS_SERVICE } from '../core/metrics.js';
import { readSweepConfig } from './config.js';
import { DynamoSweepIndex } from './index-query.js';
import { sweep, type SweepPorts, type SweepResult } from './sweep.js';

/** Entry: a schedule → one sweep: open uploads past their window, videos pending too long. */

const config = readSweepConfig(process.env);
const logger = createLogger();
const metrics = createMetrics(SWEEP_METRICS_SERVICE);
const base = {
  index: new DynamoSweepIndex(config.tableName),
  store: new DynamoItemStore(config.tableName),
  publisher: new EventBridgePublisher(config.eventBusName),
  ...(config.readSecretId && {
    cloudflare: new FetchCloudflare({ baseUrl: config.cloudflareBaseUrl, credentials: new ApiTokenSecret(config.readSecretId), timeoutMs: config.cloudflareTimeoutMs }),
  }),
  now: () => new Date(),
};

export const handler = async (event?: Partial<ScheduledEvent>, context?: Context): Promise<Omit<SweepResult, 'firstError'>> => {
  const started = performance.now();
  if (context) logger.addContext(context);
  const ports: SweepPorts = { ...base, ...(context && { remainingMs: () => context.getRemainingTimeInMillis() }) };
  const { firstError, ...result } = await sweep(ports, config);
  const line = { scheduledAt: event?.time, durationMs: Math.round(performance.now() - started), ...result };
  publishBatches(metrics, metricBatches(result));
  if (firstError !== undefined) {
    logger.error('sweep incomplete', { ...line, error: firstError as Error });
    // A failed invocation shows on the function's Errors metric; the items are retried next run.
    throw firstError;
  }
  if (result.apiFailures.auth) logger.error('Cloudflare refused the read token', line);
  else logger.info('sweep done', line);
  return result;
};

/** Items by what became of them, recovered webhooks, and failed Cloudflare calls by class. */
function metricBatches(result: Omit<SweepResult, 'firstError'>): MetricBatch[] {
  const outcomes = ['expired', 'recovered', 'skipped', 'deferred', 'failed'] as const;
  return [
    ...outcomes.map((outcome) => ({ dimensionSets: [{ [Dimension.Reconciliation]: outcome }], counts: { [MetricName.Reconciliations]: result[outcome] } })),
    { dimensionSets: [], counts: { [MetricName.RecoveredWebhooks]: result.recovered } },
    ...Object.entries(result.apiFailures).map(([failure, count]) => ({ dimensionSets: [{ [Dimension.Class]: failure }], counts: { [MetricName.CloudflareApiErrors]: count } })),
  ];
}
