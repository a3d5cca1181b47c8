import { setTimeout as sleep } from 'node:timers/promises';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createLogger } from '../adapters/log.js';
import { createMetrics, publishBatches } from '../adapters/metrics.js';
import { EventBridgePublisher } from '../adapters/publish.js';
import { DynamoItemStore } from '../adapters/store.js';
import { MetricName, RELAY_METRICS_SERVICE } from '../core/metrics.js';
import { readRelayConfig } from './config.js';
import { relay, type RelayPorts } from './relay.js';

/**
 * Entry: the images table's stream (through an event source mapping whose filter lets through only
 * records with something in the outbox) → `relay`. Answers with ReportBatchItemFailures: Lambda
 * retries from the lowest failed record and splits a failing batch; once its records are too old to
 * retry (RelayEventSource), it sends the batch's description to the dead-letter queue
 * (`npm run cli -- events redrive`).
 */

const config = readRelayConfig(process.env);
const logger = createLogger();
const metrics = createMetrics(RELAY_METRICS_SERVICE);
const base = {
  store: new DynamoItemStore(config.tableName),
  publisher: new EventBridgePublisher(config.eventBusName),
  now: () => new Date(),
  sleep,
};

export const handler = async (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
  const started = performance.now();
  if (context) logger.addContext(context);
  const ports: RelayPorts = { ...base, ...(context && { remainingMs: () => context.getRemainingTimeInMillis() }) };
  const { firstError, failures, ...result } = await relay(event.Records ?? [], ports, config);
  const line = { records: event.Records?.length ?? 0, ...result, failures: failures.length, durationMs: Math.round(performance.now() - started) };
  if (firstError !== undefined) logger.error('relay incomplete: records handed back', { ...line, error: firstError as Error });
  else if (result.republished > 0) logger.warn('relay published events a writer left behind', line);
  else if (result.waited > 0) logger.info('relay done', line);
  // The usual invocation: every transition's write reaches the relay, whose writer has already
  // published. It writes nothing (a debug line, no zero-count metrics): its log bytes were half
  // of what the relay cost per million webhooks (docs/PERFORMANCE.md, "the relay").
  else logger.debug('relay: every outbox already empty', line);
  if (result.republished > 0 || failures.length > 0) {
    publishBatches(metrics, [{ dimensionSets: [], counts: { [MetricName.RelayedEvents]: result.republished, [MetricName.RelayRetries]: failures.length } }]);
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
};
