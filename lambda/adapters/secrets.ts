import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClientConfig } from './aws.js';
import { readApiSecret, type ApiSecretReading } from '../core/cloudflare.js';
import { DependencyError } from '../core/errors.js';
import type { CredentialSource } from './cloudflare.js';
import { acceptedAt, parseWebhookSecret, type SecretSet } from '../core/secret-format.js';

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
  private cached?: { text: string | undefined; secrets: SecretSet; readAt: number; validUntil: number };
  private lastRefreshAt = Number.NEGATIVE_INFINITY;
  private inflight?: Promise<SecretSet>;

  constructor(
    private readonly secretId: string,
    client?: SecretsManagerClient,
    options: Partial<SecretCacheOptions> = {},
  ) {
    this.client = client ?? new SecretsManagerClient(awsClientConfig);
    this.options = { ...DEFAULTS, ...options };
  }

  async get(): Promise<SecretSet> {
    const now = this.options.now();
    if (this.cached && now - this.cached.readAt < this.options.ttlMs) {
      // A retiring value's grace can end while the read is cached: drop it at that instant.
      if (now >= this.cached.validUntil) this.cached = { ...this.cached, ...secretSetAt(this.cached.text, now) };
      return this.cached.secrets;
    }
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
    const text = await readSecretString(this.client, this.secretId);
    const now = this.options.now();
    const parsed = secretSetAt(text, now);
    this.cached = { text, ...parsed, readAt: now };
    return parsed.secrets;
  }
}

/**
 * The receiver's reading of the webhook secret (lambda/core/secret-format.ts): what it accepts at
 * `nowMs`. A malformed secret is our misconfiguration, not the sender's fault: a 500 that never
 * echoes the value.
 */
export function parseSecretSet(text: string | undefined, now: Date = new Date()): SecretSet {
  return secretSetAt(text, now.getTime()).secrets;
}

function secretSetAt(text: string | undefined, nowMs: number): { secrets: SecretSet; validUntil: number } {
  try {
    return acceptedAt(parseWebhookSecret(text), nowMs);
  } catch (error) {
    throw new DependencyError('secretsmanager', (error as Error).message);
  }
}

/**
 * A Cloudflare API token's secret `{"accountId", "apiToken"}`, cached in the warm function. A blank
 * or half-filled secret (the stack creates them empty; `connect` fills them in) reads as "not
 * configured", and is asked again sooner than a filled one, so a token stored a minute ago is used.
 */
export class ApiTokenSecret implements CredentialSource {
  private readonly client: SecretsManagerClient;
  private cached?: { reading: ApiSecretReading; readAt: number };

  constructor(
    private readonly secretId: string,
    client?: SecretsManagerClient,
    private readonly options: { readonly ttlMs: number; readonly blankTtlMs: number; readonly now: () => number } = { ttlMs: 5 * 60_000, blankTtlMs: 30_000, now: Date.now },
  ) {
    this.client = client ?? new SecretsManagerClient(awsClientConfig);
  }

  /** The credentials, or what is missing from the secret (never its value). */
  async reading(): Promise<ApiSecretReading> {
    const now = this.options.now();
    const cached = this.cached;
    if (cached && now - cached.readAt < (cached.reading.ok ? this.options.ttlMs : this.options.blankTtlMs)) return cached.reading;
    this.cached = { reading: readApiSecret(await readSecretString(this.client, this.secretId)), readAt: now };
    return this.cached.reading;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}

/** The secret's current value; a failed read is a dependency failure (500), never the sender's. */
async function readSecretString(client: SecretsManagerClient, secretId: string): Promise<string | undefined> {
  try {
    return (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (error) {
    throw new DependencyError('secretsmanager', `Secrets Manager GetSecretValue failed: ${(error as Error).name}`, { cause: error });
  }
}
