import { UploadDefaults, UploadsEnv } from '../contract';
import { CLOUDFLARE_API } from './cloudflare';

/** The upload function's settings, read once at cold start; a bad value names its variable. */
export interface UploadsConfig {
  readonly tableName: string;
  readonly apiSecretId: string;
  readonly baseUrl: string;
  readonly defaultExpirySeconds: number;
  readonly cloudflareTimeoutMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

export function readUploadsConfig(env: Env): UploadsConfig {
  const defaultExpirySeconds = positiveInt(env, UploadsEnv.DefaultExpirySeconds, UploadDefaults.expirySeconds);
  if (defaultExpirySeconds < UploadDefaults.minExpirySeconds || defaultExpirySeconds > UploadDefaults.maxExpirySeconds) {
    throw new Error(`environment variable ${UploadsEnv.DefaultExpirySeconds} must be between ${UploadDefaults.minExpirySeconds} and ${UploadDefaults.maxExpirySeconds}, got ${defaultExpirySeconds}`);
  }
  return {
    tableName: required(env, UploadsEnv.TableName),
    apiSecretId: required(env, UploadsEnv.ApiSecretId),
    baseUrl: env[UploadsEnv.BaseUrl] || CLOUDFLARE_API,
    defaultExpirySeconds,
    cloudflareTimeoutMs: positiveInt(env, UploadsEnv.CloudflareTimeoutMs, UploadDefaults.cloudflareTimeoutMs),
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
