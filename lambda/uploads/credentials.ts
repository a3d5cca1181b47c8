import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClientConfig } from '../adapters/aws.js';
import { ApiSecretKey } from '../core/contract.js';
import { DependencyError } from '../core/errors.js';
import type { ApiCredentials, CredentialSource } from './cloudflare.js';
import { UploadsNotConfiguredError } from './errors.js';

/**
 * The Secrets Manager adapter for the Cloudflare API secret `{"accountId", "apiToken"}`.
 * This function's role is the only one that may read it.
 */
export class SecretsManagerCredentials implements CredentialSource {
  private readonly client: SecretsManagerClient;
  private cached?: { credentials: ApiCredentials; readAt: number };

  constructor(
    private readonly secretId: string,
    client?: SecretsManagerClient,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {
    this.client = client ?? new SecretsManagerClient(awsClientConfig);
  }

  async get(): Promise<ApiCredentials> {
    if (this.cached && this.now() - this.cached.readAt < this.ttlMs) return this.cached.credentials;
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }))).SecretString;
    } catch (error) {
      throw new DependencyError('secretsmanager', `Secrets Manager GetSecretValue failed: ${(error as Error).name}`, { cause: error });
    }
    const credentials = parseApiSecret(text);
    this.cached = { credentials, readAt: this.now() };
    return credentials;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}

/** Never echoes the value: a half-filled secret names the missing key only. */
export function parseApiSecret(text: string | undefined): ApiCredentials {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    throw new UploadsNotConfiguredError('the Cloudflare API secret is not a JSON object {"accountId", "apiToken"}');
  }
  const record = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const accountId = record[ApiSecretKey.AccountId];
  const apiToken = record[ApiSecretKey.ApiToken];
  const missing = [
    ...(typeof accountId === 'string' && accountId.trim() ? [] : [ApiSecretKey.AccountId]),
    ...(typeof apiToken === 'string' && apiToken.trim() ? [] : [ApiSecretKey.ApiToken]),
  ];
  if (missing.length > 0) throw new UploadsNotConfiguredError(`the Cloudflare API secret has no ${missing.join(' and no ')}`);
  return { accountId: (accountId as string).trim(), apiToken: (apiToken as string).trim() };
}
