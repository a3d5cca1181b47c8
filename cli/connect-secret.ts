/**
 * The webhook secret `{images, stream, toolkit}` as one `connect` run changes it: read once,
 * values whose grace has ended dropped, every change written with compare-and-swap
 * (`cli/secret-store.ts`) and, when someone else wrote meanwhile, applied again on top of theirs.
 */
import type { Act, ConnectSettings } from './connect-types.js';
import { CliError } from './errors.js';
import { UNIT_MS } from './format.js';
import { SecretConflictError, short, type SecretStore, type StoredSecret } from './secret-store.js';
import { activate, parseWebhookSecret, pruneRetired, serializeWebhookSecret, type RotatedKey, type SecretChange, type WebhookSecret } from './secret-rotation.js';

/** Attempts at one write of the webhook secret while others keep changing it. */
const MAX_SECRET_WRITES = 3;

/** The webhook secret as this run sees it, and the one way to change it. */
export interface WebhookSecretEditor {
  readonly current: WebhookSecret;
  /**
   * Applies `change` and writes the result (not in a dry run) with compare-and-swap. If someone
   * else wrote the secret since this run read it, says so and applies `change` again on top of
   * what they wrote, so neither side's values are lost.
   */
  update(change: (secret: WebhookSecret) => WebhookSecret): Promise<WebhookSecret>;
}

export async function webhookSecretEditor(settings: ConnectSettings, act: Act): Promise<WebhookSecretEditor> {
  const { secretId, secrets, dryRun, now } = settings;
  const written = await readWebhookSecret(secrets, secretId);
  const start = prunedSecret(written, secretId, now());
  for (const change of start.dropped) {
    act('secret', 'dropped', `${dryRun ? 'would drop' : 'dropped'} ${change.key} value ${change.fingerprint} (accepted until ${change.notAfter})`);
  }
  return new Editor(settings, act, written, start.secret);
}

class Editor implements WebhookSecretEditor {
  constructor(
    private readonly settings: ConnectSettings,
    private readonly act: Act,
    private written: StoredSecret,
    private secret: WebhookSecret,
  ) {}

  get current(): WebhookSecret {
    return this.secret;
  }

  async update(change: (secret: WebhookSecret) => WebhookSecret): Promise<WebhookSecret> {
    const { secretId, secrets, dryRun, now } = this.settings;
    this.secret = change(this.secret);
    for (let attempt = 1; !dryRun; attempt++) {
      const text = serializeWebhookSecret(this.secret);
      if (text === this.written.text) break;
      try {
        this.written = { text, version: await secrets.write(secretId, text, this.written.version) };
        break;
      } catch (error) {
        await this.takeTheirs(error, attempt);
        this.secret = change(prunedSecret(this.written, secretId, now()).secret);
      }
    }
    return this.secret;
  }

  /** After a refused write: what someone else wrote becomes the version to change, unless the write failed for another reason or too often. */
  private async takeTheirs(error: unknown, attempt: number): Promise<void> {
    const { secretId, secrets } = this.settings;
    if (!(error instanceof SecretConflictError)) throw new CliError(`could not write the webhook secret ${secretId}: ${(error as Error).message}`, 1, { cause: error });
    if (attempt === MAX_SECRET_WRITES) {
      throw new CliError(`the webhook secret ${secretId} kept changing under connect (${attempt} attempts); nothing of anyone's was overwritten. Run connect again when no one else is changing it`, 1, { cause: error });
    }
    const theirs = await readWebhookSecret(secrets, secretId);
    this.act('secret', 'warning', `the webhook secret was changed by someone else while connect ran (version ${short(error.expected)} → ${short(theirs.version)}); applied this run's change on top of theirs, overwriting nothing`);
    this.written = theirs;
  }
}

function readWebhookSecret(secrets: SecretStore, secretId: string): Promise<StoredSecret> {
  return secrets.read(secretId).catch((error: unknown) => {
    throw new CliError(`could not read the webhook secret ${secretId}: ${(error as Error).message}`, 1, { cause: error });
  });
}

/** Values whose grace has ended are dropped first, from whichever version is being changed. */
function prunedSecret(stored: StoredSecret, secretId: string, now: Date): { secret: WebhookSecret; dropped: SecretChange[] } {
  try {
    return pruneRetired(parseWebhookSecret(stored.text), now);
  } catch (error) {
    throw new CliError(`${(error as Error).message} (${secretId})`);
  }
}

/** Makes `value` current and returns what it retired (as applied to the version finally written). */
export async function activateValue(secret: WebhookSecretEditor, key: RotatedKey, value: string, now: Date, graceMs: number): Promise<SecretChange[]> {
  let retired: SecretChange[] = [];
  await secret.update((current) => {
    const activated = activate(current, key, value, now, graceMs);
    retired = activated.retired;
    return activated.secret;
  });
  return retired;
}

export function retiredText(retired: readonly SecretChange[]): string {
  if (retired.length === 0) return '';
  const dropped = retired.filter((r) => !r.notAfter).map((r) => r.fingerprint);
  const kept = retired.filter((r) => r.notAfter);
  return [
    ...(kept.length > 0 ? [`; ${kept.map((r) => r.fingerprint).join(', ')} accepted until ${kept[0]!.notAfter}`] : []),
    ...(dropped.length > 0 ? [`; dropped ${dropped.join(', ')}`] : []),
  ].join('');
}

export function graceText(previous: number, graceMs: number): string {
  if (previous === 0) return 'stored in the webhook secret';
  return graceMs > 0 ? `the ${previous === 1 ? 'previous value stays' : `${previous} previous values stay`} accepted for ${formatDuration(graceMs)}` : 'previous values dropped at once';
}

function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${Math.round(ms / UNIT_MS.s)}s`;
}
