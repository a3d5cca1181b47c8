import type { Context, ScheduledEvent } from 'aws-lambda';
import { Defaults, SweepEnv, UploadDefaults } from '../core/contract.js';
import { integer, required, type Env } from '../core/env.js';
import { createLogger } from '../adapters/log.js';
import { EventBridgePublisher } from '../adapters/publish.js';
import { DynamoItemStore } from '../adapters/store.js';
import { DynamoExpiryIndex } from './index-query.js';
import { sweep, type SweepOptions, type SweepPorts, type SweepResult } from './sweep.js';

/** Entry: a schedule → one sweep of pending and draft images whose upload window has passed. */

const env: Env = process.env;
const tableName = required(env, SweepEnv.TableName);
const options: SweepOptions = {
  graceSeconds: integer(env, SweepEnv.GraceSeconds, UploadDefaults.sweepGraceSeconds, 0),
  maxItems: integer(env, SweepEnv.MaxItemsPerRun, UploadDefaults.sweepMaxItemsPerRun, 1),
  leaseMs: integer(env, SweepEnv.PublishLeaseMs, Defaults.publishLeaseMs, 1),
};
const logger = createLogger();
const base = {
  index: new DynamoExpiryIndex(tableName),
  store: new DynamoItemStore(tableName),
  publisher: new EventBridgePublisher(required(env, SweepEnv.EventBusName)),
  now: () => new Date(),
};

export const handler = async (event?: Partial<ScheduledEvent>, context?: Context): Promise<Omit<SweepResult, 'firstError'>> => {
  const started = performance.now();
  if (context) logger.addContext(context);
  const ports: SweepPorts = { ...base, ...(context && { remainingMs: () => context.getRemainingTimeInMillis() }) };
  const { firstError, ...result } = await sweep(ports, options);
  const line = { scheduledAt: event?.time, durationMs: Math.round(performance.now() - started), ...result };
  if (firstError !== undefined) {
    logger.error('sweep incomplete', { ...line, error: firstError as Error });
    // A failed invocation shows on the function's Errors metric; the items are retried next run.
    throw firstError;
  }
  logger.info('sweep done', line);
  return result;
};
