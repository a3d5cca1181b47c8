/**
 * Images: a Notifications webhook destination for the Images URL, created (or updated) with a
 * freshly generated secret that is stored before Cloudflare gets it; then the notification
 * policy that delivers to it (cli/connect-policy.ts).
 */
import { randomBytes } from 'node:crypto';
import type Cloudflare from 'cloudflare';
import { SecretKey } from '../lambda/core/contract.js';
import { call, listAll } from './connect-cloudflare.js';
import { connectPolicy } from './connect-policy.js';
import { activateValue, graceText, retiredText, type WebhookSecretEditor } from './connect-secret.js';
import type { Act, ConnectSettings } from './connect-types.js';
import { accept, activeValues, fingerprint } from './secret-rotation.js';

type Destination = Awaited<ReturnType<typeof listDestinations>>[number];

export async function connectImages(cf: Cloudflare, settings: ConnectSettings, secret: WebhookSecretEditor, act: Act): Promise<void> {
  const { imagesUrl, name } = settings;
  const existing = ourDestination(await listDestinations(cf, settings.accountId), imagesUrl, name);
  let destinationId = existing?.id;
  const inSync = existing !== undefined && existing.url === imagesUrl && existing.name === name && activeValues(secret.current, SecretKey.Images).length > 0;
  if (inSync && !settings.rotate) {
    act('images', 'unchanged', `webhook destination "${name}" already delivers to ${imagesUrl}`, destinationId);
  } else {
    destinationId = await renewDestination(cf, settings, existing, secret, act);
  }
  await connectPolicy(cf, settings, destinationId, act);
}

function listDestinations(cf: Cloudflare, accountId: string) {
  return call('list webhook destinations', () => listAll(cf.alerting.destinations.webhooks.list({ account_id: accountId })));
}

/**
 * Ours is the one delivering to our URL (preferring our name), else the one with our name
 * (the stack's URL changed), so a re-run or a dashboard-made destination is updated, never duplicated.
 */
function ourDestination(destinations: readonly Destination[], imagesUrl: string, name: string): Destination | undefined {
  const atUrl = destinations.filter((d) => d.url === imagesUrl);
  return atUrl.find((d) => d.name === name) ?? atUrl[0] ?? destinations.find((d) => d.name === name);
}

/** Creates or updates our destination with a new secret; returns its id. */
async function renewDestination(cf: Cloudflare, settings: ConnectSettings, existing: Destination | undefined, secret: WebhookSecretEditor, act: Act): Promise<string | undefined> {
  const { imagesUrl, name, dryRun, now, graceMs } = settings;
  const why = renewalReason(existing, settings);
  if (dryRun) {
    act('images', existing ? 'updated' : 'created', `would ${existing ? 'update' : 'create'} webhook destination "${name}" → ${imagesUrl}${why} with a new secret, ${graceText(secret.current.values.images.length, graceMs)}`, existing?.id);
    return existing?.id;
  }
  const fresh = randomBytes(32).toString('hex');
  // Accepted before Cloudflare has it: a delivery (or Cloudflare's test message) may follow at once.
  await secret.update((current) => accept(current, SecretKey.Images, fresh));
  const destinationId = await sendDestination(cf, settings, existing, fresh, secret);
  const retired = await activateValue(secret, SecretKey.Images, fresh, now(), graceMs);
  act('images', existing ? 'updated' : 'created', `${existing ? 'updated' : 'created'} webhook destination "${name}" → ${imagesUrl}${why}; stored its new secret ${fingerprint(fresh)}${retiredText(retired)}`, destinationId);
  return destinationId;
}

function renewalReason(existing: Destination | undefined, { imagesUrl, name, rotate }: ConnectSettings): string {
  if (!existing) return '';
  if (existing.url !== imagesUrl) return ` (was ${existing.url})`;
  if (existing.name !== name) return ` (was named "${existing.name}")`;
  return rotate ? ' (--rotate)' : ' (no stored secret)';
}

/** Gives Cloudflare the destination with secret `fresh`; returns its id. */
async function sendDestination(cf: Cloudflare, settings: ConnectSettings, existing: Destination | undefined, fresh: string, secret: WebhookSecretEditor): Promise<string | undefined> {
  const params = { account_id: settings.accountId, name: settings.name, url: settings.imagesUrl, secret: fresh };
  try {
    const result = existing?.id
      ? await call('update the webhook destination', () => cf.alerting.destinations.webhooks.update(existing.id!, params))
      : await call('create the webhook destination', () => cf.alerting.destinations.webhooks.create(params));
    return result.id ?? existing?.id;
  } catch (error) {
    // Cloudflare did not take it: forget the value rather than accept a secret nobody uses.
    await secret.update((current) => ({ ...current, values: { ...current.values, images: current.values.images.filter((v) => v !== fresh) } }));
    throw error;
  }
}
