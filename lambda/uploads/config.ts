import { UploadDefaults, UploadsEnv } from '../core/contract.js';
import { integer, required, type Env } from '../core/env.js';
import { CLOUDFLARE_API } from '../core/cloudflare.js';

/** The upload function's settings, read once at cold start; a bad value names its variable. */
export interface UploadsConfig {
  readonly tableName: string;
  readonly apiSecretId: string;
  readonly baseUrl: string;
  readonly defaultExpirySeconds: number;
  readonly cloudflareTimeoutMs: number;
}

export function readUploadsConfig(env: Env): UploadsConfig {
  const defaultExpirySeconds = integer(env, UploadsEnv.DefaultExpirySeconds, UploadDefaults.expirySeconds);
  if (defaultExpirySeconds < UploadDefaults.minExpirySeconds || defaultExpirySeconds > UploadDefaults.maxExpirySeconds) {
    throw new Error(`environment variable ${UploadsEnv.DefaultExpirySeconds} must be between ${UploadDefaults.minExpirySeconds} and ${UploadDefaults.maxExpirySeconds}, got ${defaultExpirySeconds}`);
  }
  return {
    tableName: required(env, UploadsEnv.TableName),
    apiSecretId: required(env, UploadsEnv.ApiSecretId),
    baseUrl: env[UploadsEnv.BaseUrl] || CLOUDFLARE_API,
    defaultExpirySeconds,
    cloudflareTimeoutMs: integer(env, UploadsEnv.CloudflareTimeoutMs, UploadDefaults.cloudflareTimeoutMs),
  };
}
