/**
 * Secrets Manager as `connect` writes it: compare-and-swap on the secret's current version, so
 * two operators (or an operator and a hand edit) never silently overwrite each other.
 *
 * Secrets Manager has no conditional PutSecretValue. What it does have is a conditional label
 * move: UpdateSecretVersionStage moves `AWSCURRENT` only if `RemoveFromVersionId` names the
 * version that holds it now, and fails otherwise ("If the label is attached and you either do not
 * specify this parameter, or the version ID does not match, then the operation fails", API
 * reference, UpdateSecretVersionStage). So a write is two calls:
 *
 *   1. PutSecretValue with a staging label of our own (`CONNECT_PENDING`) and no `AWSCURRENT`:
 *      a new version exists, but every reader still gets the current one;
 *   2. UpdateSecretVersionStage `AWSCURRENT` → the new version, from the version we read.
 *
 * If someone wrote in between, step 2 fails and nothing they wrote is lost; the new version stays
 * behind as a labelled, unused version (the next write takes its label).
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { CliError } from './errors.js';
import type { ClientConfig } from './target.js';

export interface StoredSecret {
  readonly text: string | undefined;
  /** The version that holds `AWSCURRENT`; undefined for a secret that has no value yet. */
  readonly version: string | undefined;
}

/** Reads and writes a secret's string; injectable for tests. */
export interface SecretStore {
  read(secretId: string): Promise<StoredSecret>;
  /**
   * Makes `text` the current value if `expected` is still the current version, and returns the
   * new version; otherwise throws {@link SecretConflictError} and changes nothing anyone reads.
   */
  write(secretId: string, text: string, expected: string | undefined): Promise<string>;
}

/** The secret's current version is not the one the write was based on. */
export class SecretConflictError extends CliError {
  override readonly name = 'SecretConflictError';
  constructor(
    readonly secretId: string,
    readonly expected: string | undefined,
    readonly found: string | undefined,
  ) {
    super(`${secretId} changed while connect ran (expected version ${short(expected)}, found ${short(found)})`);
  }
}

/** Our own label for a version that is written but not yet current. */
const PENDING_STAGE = 'CONNECT_PENDING';
const CURRENT_STAGE = 'AWSCURRENT';

export function short(version: string | undefined): string {
  return version ? version.slice(0, 8) : 'none';
}

export function secretsManagerStore(config: ClientConfig): SecretStore {
  const client = new SecretsManagerClient(config);
  const currentVersion = async (secretId: string): Promise<string | undefined> => {
    const { VersionIdsToStages = {} } = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
    return Object.entries(VersionIdsToStages).find(([, stages]) => stages.includes(CURRENT_STAGE))?.[0];
  };
  return {
    async read(secretId) {
      try {
        // The stage named, not implied: the version that readers of the secret get.
        const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: CURRENT_STAGE }));
        return { text: answer.SecretString, version: answer.VersionId };
      } catch (error) {
        if ((error as Error).name === 'ResourceNotFoundException' && /version|stag/i.test((error as Error).message)) {
          return { text: undefined, version: undefined };
        }
        throw error;
      }
    },
    async write(secretId, text, expected) {
      if (expected === undefined) {
        // Nothing to compare with: the secret's first value.
        const { VersionId } = await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text, ClientRequestToken: randomUUID() }));
        return VersionId!;
      }
      const { VersionId: written } = await client.send(
        new PutSecretValueCommand({ SecretId: secretId, SecretString: text, ClientRequestToken: randomUUID(), VersionStages: [PENDING_STAGE] }),
      );
      try {
        await client.send(
          new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: CURRENT_STAGE, MoveToVersionId: written, RemoveFromVersionId: expected }),
        );
      } catch (error) {
        const found = await currentVersion(secretId);
        if (found !== expected) throw new SecretConflictError(secretId, expected, found);
        throw error;
      }
      return written!;
    },
  };
}
