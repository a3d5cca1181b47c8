import { CLOUDFLARE_API } from '../core/cloudflare.js';
import { Defaults, SweepEnv, UploadDefaults } from '../core/contract.js';
import { integer, required, type Env } from '../core/env.js';
import type { SweepOptions } from './sweep.js';

/** The sweep's settings, read once at cold start; a bad value fails fast and names its variable. */
export interface SweepConfig extends SweepOptions {
  readonly tableName: string;
  readonly eventBusName: string;
  /** The read-only Cloudflare token's secret; undefined: nothing is asked of Cloudflare. */
  readonly readSecretId?: string;
  readonly cloudflareBaseUrl: string;
  readonly cloudflareTimeoutMs: number;
}

export function readSweepConfig(env: Env): SweepConfig {
  const readSecretId = env[SweepEnv.ReadSecretId] || undefined;
  // Pending videos are found on the byStatus index; a table without it cannot be asked.
  const statusIndex = env[SweepEnv.StatusIndex] === 'true';
  return {
    tableName: required(env, SweepEnv.TableName),
    eventBusName: required(env, SweepEnv.EventBusName),
    graceSeconds: integer(env, SweepEnv.GraceSeconds, UploadDefaults.sweepGraceSeconds, 0),
    maxItems: integer(env, SweepEnv.MaxItemsPerRun, UploadDefaults.sweepMaxItemsPerRun, 1),
    leaseMs: integer(env, SweepEnv.PublishLeaseMs, Defaults.publishLeaseMs, 1),
    videoPendingSeconds: statusIndex ? integer(env, SweepEnv.VideoPendingSeconds, UploadDefaults.videoPendingSeconds, 0) : 0,
    ...(readSecretId && { readSecretId }),
    cloudflareBaseUrl: env[SweepEnv.CloudflareBaseUrl] || CLOUDFLARE_API,
    cloudflareTimeoutMs: integer(env, SweepEnv.CloudflareTimeoutMs, UploadDefaults.cloudflareTimeoutMs),
  };
}
