import { Defaults, UnknownIdPolicy, WebhookEnv } from './contract';
import type { ReceiveOptions } from './receive';

/** The function's settings, read once at cold start; a bad value fails fast and names its variable. */
export interface WebhookConfig extends ReceiveOptions {
  readonly tableName: string;
  readonly eventBusName: string;
  readonly secretId: string;
  readonly imagesPath: string;
  readonly streamPath: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export function readConfig(env: Env): WebhookConfig {
  return {
    tableName: required(env, WebhookEnv.TableName),
    eventBusName: required(env, WebhookEnv.EventBusName),
    secretId: required(env, WebhookEnv.SecretId),
    imagesPath: env[WebhookEnv.ImagesPath] || Defaults.imagesPath,
    streamPath: env[WebhookEnv.StreamPath] || Defaults.streamPath,
    toleranceSeconds: positiveInt(env, WebhookEnv.ToleranceSeconds, Defaults.toleranceSeconds),
    maxBodyBytes: positiveInt(env, WebhookEnv.MaxBodyBytes, Defaults.maxBodyBytes),
    unknownIdPolicy: policy(env[WebhookEnv.UnknownIdPolicy]),
    leaseMs: positiveInt(env, WebhookEnv.PublishLeaseMs, Defaults.publishLeaseMs),
  };
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`environment variable ${name} must be a positive integer, got "${raw}"`);
  return value;
}

function policy(raw: string | undefined): UnknownIdPolicy {
  if (raw === undefined || raw === '') return Defaults.unknownIdPolicy;
  if (raw === UnknownIdPolicy.Reject || raw === UnknownIdPolicy.Record) return raw;
  throw new Error(`environment variable ${WebhookEnv.UnknownIdPolicy} must be "reject" or "record", got "${raw}"`);
}
