import { Defaults, UnknownIdPolicy, WebhookEnv } from '../core/contract.js';
import { integer, required, type Env } from '../core/env.js';
import type { ReceiveOptions } from './receive.js';

/** The function's settings, read once at cold start; a bad value fails fast and names its variable. */
export interface WebhookConfig extends ReceiveOptions {
  readonly tableName: string;
  readonly eventBusName: string;
  readonly secretId: string;
  readonly imagesPath: string;
  readonly streamPath: string;
}

export function readConfig(env: Env): WebhookConfig {
  return {
    tableName: required(env, WebhookEnv.TableName),
    eventBusName: required(env, WebhookEnv.EventBusName),
    secretId: required(env, WebhookEnv.SecretId),
    imagesPath: env[WebhookEnv.ImagesPath] || Defaults.imagesPath,
    streamPath: env[WebhookEnv.StreamPath] || Defaults.streamPath,
    toleranceSeconds: integer(env, WebhookEnv.ToleranceSeconds, Defaults.toleranceSeconds),
    maxBodyBytes: integer(env, WebhookEnv.MaxBodyBytes, Defaults.maxBodyBytes),
    unknownIdPolicy: policy(env[WebhookEnv.UnknownIdPolicy]),
    leaseMs: integer(env, WebhookEnv.PublishLeaseMs, Defaults.publishLeaseMs),
  };
}

function policy(raw: string | undefined): UnknownIdPolicy {
  if (raw === undefined || raw === '') return Defaults.unknownIdPolicy;
  if (raw === UnknownIdPolicy.Reject || raw === UnknownIdPolicy.Record) return raw;
  throw new Error(`environment variable ${WebhookEnv.UnknownIdPolicy} must be "reject" or "record", got "${raw}"`);
}
