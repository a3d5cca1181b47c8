/**
 * Stream: `PUT /accounts/{id}/stream/webhook` with the Stream URL, unless Cloudflare already
 * delivers there; the signing secret it returns becomes the current `stream` value.
 */
import type Cloudflare from 'cloudflare';
import { SecretKey } from '../lambda/core/contract.js';
import { call } from './connect-cloudflare.js';
import { activateValue, graceText, retiredText, type WebhookSecretEditor } from './connect-secret.js';
import type { Act, ConnectSettings } from './connect-types.js';
import { CliError } from './errors.js';
import { activeValues, fingerprint } from './secret-rotation.js';

export async function connectStream(cf: Cloudflare, settings: ConnectSettings, secret: WebhookSecretEditor, act: Act): Promise<void> {
  const { accountId, streamUrl } = settings;
  const current = await call('read the Stream webhook', () => cf.stream.webhooks.get({ account_id: accountId }), { notFound: undefined });
  const currentUrl = urlOf(current);
  if (currentUrl === streamUrl) return keepSigningSecret(current?.secret, settings, secret, act);
  await registerStreamWebhook(cf, settings, currentUrl, secret, act);
}

/** Cloudflare already delivers to our URL: its signing secret is stored, unless it already is. */
async function keepSigningSecret(value: string | undefined, settings: ConnectSettings, secret: WebhookSecretEditor, act: Act): Promise<void> {
  const { streamUrl, now, graceMs } = settings;
  if (!value) {
    act('stream', 'warning', `Cloudflare delivers to ${streamUrl} but did not return its signing secret; nothing stored`);
  } else if (activeValues(secret.current, SecretKey.Stream).includes(value)) {
    act('stream', 'unchanged', `Stream webhook already delivers to ${streamUrl}; its signing secret ${fingerprint(value)} is stored`);
  } else {
    const retired = await activateValue(secret, SecretKey.Stream, value, now(), graceMs);
    act('stream', 'stored', `Stream webhook already delivers to ${streamUrl}; stored its signing secret ${fingerprint(value)}${retiredText(retired)}`);
  }
}

/** Points the Stream webhook at our URL; Cloudflare issues a new secret, the previous one stays accepted for the grace. */
async function registerStreamWebhook(cf: Cloudflare, settings: ConnectSettings, currentUrl: string | undefined, secret: WebhookSecretEditor, act: Act): Promise<void> {
  const { accountId, streamUrl, dryRun, now, graceMs } = settings;
  const was = currentUrl ? ` (was ${currentUrl})` : '';
  if (dryRun) {
    act('stream', 'updated', `would register the Stream webhook ${streamUrl}${was}; Cloudflare issues a new signing secret, ${graceText(secret.current.values.stream.length, graceMs)}`);
    return;
  }
  const updated = await call('register the Stream webhook', () => cf.stream.webhooks.update({ account_id: accountId, notificationUrl: streamUrl }));
  if (!updated.secret) throw new CliError('Cloudflare registered the Stream webhook but returned no signing secret; run connect again');
  // Cloudflare signs with the new secret from now on: store it before anything else.
  const retired = await activateValue(secret, SecretKey.Stream, updated.secret, now(), graceMs);
  act('stream', currentUrl ? 'updated' : 'created', `registered the Stream webhook ${streamUrl}${was}; stored its new signing secret ${fingerprint(updated.secret)}${retiredText(retired)}`);
}

function urlOf(webhook: { notificationUrl?: string; notification_url?: string } | undefined): string | undefined {
  // The SDK's type says `notificationUrl`, Cloudflare's documented answer has `notification_url` (and both in examples).
  return webhook?.notificationUrl ?? webhook?.notification_url;
}
