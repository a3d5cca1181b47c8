import { Defaults, RelayEnv } from '../core/contract.js';
import { integer, required, type Env } from '../core/env.js';
import type { RelayOptions } from './relay.js';

/** The relay's settings, read once at cold start; a bad value fails fast and names its variable. */
export interface RelayConfig extends RelayOptions {
  readonly tableName: string;
  readonly eventBusName: string;
}

/** A writer's lease plus room for its PutEvents to finish: longer waits hand the record back instead. */
export const DEFAULT_RELAY_MAX_WAIT_MS = 5000;

export function readRelayConfig(env: Env): RelayConfig {
  return {
    tableName: required(env, RelayEnv.TableName),
    eventBusName: required(env, RelayEnv.EventBusName),
    leaseMs: integer(env, RelayEnv.PublishLeaseMs, Defaults.publishLeaseMs),
    maxWaitMs: integer(env, RelayEnv.MaxWaitMs, DEFAULT_RELAY_MAX_WAIT_MS),
  };
}
