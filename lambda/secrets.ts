import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretKey } from './contract';
import { DependencyError } from './errors';
import type { SecretSet } from './verify';

/** The Secrets Manager adapter: webhook secrets, cached in the warm function. */
export interface SecretSource {
  get(): Promise<SecretSet>;
  /** Re-read after a failed signature, at most once per interval; undefined when rate-limited. */
  refresh(): Promise<SecretSet | undefined>;
}

export interface SecretCacheOptions {
  /** How long a read is trusted before the next delivery re-reads it. */
  readonly ttlMs: number;
  /** A flood of forged requests must not become a flood of GetSecretValue calls. */
  readonly minRefreshIntervalMs: number;
  readonly now: () => number;
}

const DEFAULTS: SecretCacheOptions = { ttlMs: 5 * 60_000, minRefreshIntervalMs: 30_000, now: Date.now };

export class SecretsManagerSecrets implements SecretSource {
  private readonly client: SecretsManagerClient;
  private readonly options: SecretCacheOptions;
  private cached?: { secrets: SecretSet; readAt: number };
  private lastRefreshAt = Number.NEGATIVE_INFINITY;
  private inflight?: Promise<SecretSet>;

  constructor(
    private readonly secretId: string,
    client?: SecretsManagerClient,
    options: Partial<SecretCacheOptions> = {},
  ) {
    this.client = client ?? new SecretsManagerClient({});
    this.options = { ...DEFAULTS, ...options };
  }

  async get(): Promise<SecretSet> {
    if (this.cached && this.options.now() - this.cached.readAt < this.options.ttlMs) return this.cached.secrets;
    return this.load();
  }

  async refresh(): Promise<SecretSet | undefined> {
    // Counted from the last refresh, not the last read: the first bad signature after a cold
    // start must still be able to pick up a secret rotated a moment ago.
    const now = this.options.now();
    if (now - this.lastRefreshAt < this.options.minRefreshIntervalMs) return undefined;
    this.lastRefreshAt = now;
    return this.load();
  }

  private load(): Promise<SecretSet> {
    // Concurrent callers share one read.
    this.inflight ??= this.read().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async read(): Promise<SecretSet> {
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }))).SecretString;
    } catch (error) {
      throw new DependencyError('secretsmanager', `Secrets Manager GetSecretValue failed: ${(error as Error).name}`, { cause: error });
    }
    const secrets = parseSecretSet(text);
    this.cached = { secrets, readAt: this.options.now() };
    return secrets;
  }
}

/**
 * `{"images": "s" | ["s1","s2"], "stream": …, "toolkit": …}`. A malformed secret is our
 * misconfiguration, not the sender's fault: it surfaces as a 500 and never echoes the value.
 */
export function parseSecretSet(text: string | undefined): SecretSet {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    throw new DependencyError('secretsmanager', 'webhook secret is not a JSON object');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new DependencyError('secretsmanager', 'webhook secret is not a JSON object');
  }
  const record = json as Record<string, unknown>;
  const values = (key: string): string[] => {
    const value = record[key];
    const list = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
    if (!list.every((v): v is string => typeof v === 'string')) {
      throw new DependencyError('secretsmanager', `webhook secret key "${key}" must be a string or an array of strings`);
    }
    // An empty string would accept an empty cf-webhook-auth header.
    return list.filter((v) => v.length > 0);
  };
  return { images: values(SecretKey.Images), stream: values(SecretKey.Stream), toolkit: values(SecretKey.Toolkit) };
}
