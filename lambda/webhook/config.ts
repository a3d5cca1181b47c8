import { CLOUDFLARE_API } from '../core/cloudflare.js';
import { ConfirmMode, Defaults, UnknownIdPolicy, WebhookEnv } from '../core/contract.js';
import { integer, oneOf, required, type Env } from '../core/env.js';
import type { ReceiveOptions } from './receive.js';

/** The function's settings, read once at cold start; a bad value fails fast and names its variable. */
export interface WebhookConfig extends ReceiveOptions {
  readonly tableName: string;
  readonly eventBusName: string;
  readonly secretId: string;
  readonly imagesPath: string;
  readonly streamPath: string;
  /** The read-only Cloudflare token's secret; undefined: nothing is confirmed. */
  readonly readSecretId?: string;
  readonly cloudflareBaseUrl: string;
  readonly cloudflareTimeoutMs: number;
  /** The longest a delivery may take before it is answered 500 (and the function's own end, less a second, if sooner). */
  readonly deadlineMs: number;
}

export function readConfig(env: Env): WebhookConfig {
  const readSecretId = env[WebhookEnv.ReadSecretId] || undefined;
  return {
    tableName: required(env, WebhookEnv.TableName),
    eventBusName: required(env, WebhookEnv.EventBusName),
    secretId: required(env, WebhookEnv.SecretId),
    imagesPath: env[WebhookEnv.ImagesPath] || Defaults.imagesPath,
    streamPath: env[WebhookEnv.StreamPath] || Defaults.streamPath,
    toleranceSeconds: integer(env, WebhookEnv.ToleranceSeconds, Defaults.toleranceSeconds),
    maxBodyBytes: integer(env, WebhookEnv.MaxBodyBytes, Defaults.maxBodyBytes),
    unknownIdPolicy: oneOf(env, WebhookEnv.UnknownIdPolicy, Object.values(UnknownIdPolicy), Defaults.unknownIdPolicy),
    leaseMs: integer(env, WebhookEnv.PublishLeaseMs, Defaults.publishLeaseMs),
    confirmWithCloudflare: oneOf(env, WebhookEnv.ConfirmWithCloudflare, Object.values(ConfirmMode), Defaults.confirmWithCloudflare),
    ...(readSecretId && { readSecretId }),
    cloudflareBaseUrl: env[WebhookEnv.CloudflareBaseUrl] || CLOUDFLARE_API,
    cloudflareTimeoutMs: integer(env, WebhookEnv.CloudflareTimeoutMs, Defaults.webhookCloudflareTimeoutMs),
    deadlineMs: integer(env, WebhookEnv.DeadlineMs, Defaults.deliveryDeadlineMs),
  };
}
