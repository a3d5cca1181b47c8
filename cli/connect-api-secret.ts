/** The upload route's API secret and the read-only API secret, each `{accountId, apiToken}`. */
import { ApiSecretKey } from '../lambda/core/contract.js';
import type { Act, ApiSecretTarget, ConnectSettings } from './connect-types.js';
import { CliError } from './errors.js';
import { SecretConflictError, short, type StoredSecret } from './secret-store.js';
import { fingerprint } from './secret-rotation.js';
import { howToPass, TokenKind } from './tokens.js';
import { isRecord } from '../lambda/core/values.js';

/** What each `{accountId, apiToken}` secret is for, as the report names it. */
const API_SECRETS = {
  uploads: { what: "the upload route's API secret", kind: TokenKind.Uploads, needs: 'Images Write', without: 'POST /uploads answers 503 until one is stored' },
  read: {
    what: 'the read-only API secret',
    kind: TokenKind.Read,
    needs: 'Images Read and Stream Read',
    without: "the receiver cannot confirm deliveries with Cloudflare's API until one is stored",
  },
} as const;

/**
 * Stores the account id (and the token, when one was given) in an API secret of the same JSON
 * shape as the upload route's (`ApiSecretKey`), with compare-and-swap. Keys it does not know stay.
 */
export async function connectApiSecret(settings: ConnectSettings, area: keyof typeof API_SECRETS, target: ApiSecretTarget, act: Act): Promise<void> {
  const { what, kind, needs, without } = API_SECRETS[area];
  const stored = await readApiSecret(settings, what, target.secretId);
  const current = jsonObject(stored.text);
  const token = target.apiToken ?? (typeof current[ApiSecretKey.ApiToken] === 'string' ? (current[ApiSecretKey.ApiToken] as string) : '');
  const desired = { ...current, [ApiSecretKey.AccountId]: settings.accountId, [ApiSecretKey.ApiToken]: token };
  const changed = current[ApiSecretKey.AccountId] !== settings.accountId || current[ApiSecretKey.ApiToken] !== token;
  const stores = target.apiToken !== undefined ? `the account id and API token ${fingerprint(token)}` : 'the account id';
  if (!changed) {
    act(area, 'unchanged', `${what} already holds ${stores}`);
  } else {
    if (!settings.dryRun) await writeApiSecret(settings, what, target.secretId, JSON.stringify(desired), stored.version);
    act(area, 'stored', `${settings.dryRun ? 'would store' : 'stored'} ${stores} in ${what}`);
  }
  if (!token) act(area, 'warning', `${what} has no Cloudflare API token yet: ${without} (${howToPass(kind)}; a token with ${needs})`);
}

async function readApiSecret(settings: ConnectSettings, what: string, secretId: string): Promise<StoredSecret> {
  try {
    return await settings.secrets.read(secretId);
  } catch (error) {
    throw new CliError(`could not read ${what} ${secretId}: ${(error as Error).message}`, 1, { cause: error });
  }
}

async function writeApiSecret(settings: ConnectSettings, what: string, secretId: string, text: string, version: string | undefined): Promise<void> {
  try {
    await settings.secrets.write(secretId, text, version);
  } catch (error) {
    const why = error instanceof SecretConflictError ? `it was changed by someone else while connect ran (version ${short(error.expected)} → ${short(error.found)}); nothing was overwritten, run connect again` : (error as Error).message;
    throw new CliError(`could not store ${what} ${secretId}: ${why}`, 1, { cause: error });
  }
}

/** A secret's JSON object; anything else (empty, not JSON, an array) reads as `{}` and is replaced. */
function jsonObject(text: string | undefined): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text ?? '{}');
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {};
  }
}
