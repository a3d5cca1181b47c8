import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { Defaults, SweepEnv, UploadDefaults } from '../contract';
import { EventBridgePublisher } from '../publish';
import { DynamoItemStore } from '../store';
import { DynamoExpiryIndex } from './index-query';
import { sweep, type SweepOptions, type SweepPorts, type SweepResult } from './sweep';

/** Entry: a schedule → one sweep of pending and draft images whose upload window has passed. */

type Env = Readonly<Record<string, string | undefined>>;
const env: Env = process.env;
const tableName = required(SweepEnv.TableName);
const options: SweepOptions = {
  graceSeconds: integer(SweepEnv.GraceSeconds, UploadDefaults.sweepGraceSeconds, 0),
  maxItems: integer(SweepEnv.MaxItemsPerRun, UploadDefaults.sweepMaxItemsPerRun, 1),
  leaseMs: integer(SweepEnv.PublishLeaseMs, Defaults.publishLeaseMs, 1),
};
const logger = new Logger();
const base = {
  index: new DynamoExpiryIndex(tableName),
  store: new DynamoItemStore(tableName),
  publisher: new EventBridgePublisher(required(SweepEnv.EventBusName)),
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

function required(name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

function integer(name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`environment variable ${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}
