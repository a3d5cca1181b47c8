import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { runCli } from '../../cli/index.js';
import { fingerprint } from '../../cli/secret-rotation.js';
import { localClientConfig } from '../../local/aws.js';
import { payloads, signedHeaders } from '../../local/payloads.js';
import { cli, stateFor, type CliRun } from '../support/cli.js';
import { post, readItem, seedPending } from '../support/deliver.js';
import { ALL_PERMISSIONS, startCloudflareStandIn, type CloudflareStandIn } from '../../local/cloudflare.js';
import { startUploadsStack, type UploadsStack } from '../support/uploads.js';

// `npm run cli -- connect`, in-process, against the local stand-in of Cloudflare and a local stack whose
// webhook function is the built bundle: what it registers, what it stores, and that the
// receiver then accepts what Cloudflare sends.

async function readSecret(stack: UploadsStack, secretId = stack.resources.secretArn): Promise<Record<string, any>> {
  const client = new SecretsManagerClient(localClientConfig(stack.endpoint));
  return JSON.parse((await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString!);
}

function connector(stack: UploadsStack, cloudflare: CloudflareStandIn, dir: string) {
  let env: Record<string, string> | undefined;
  return async (args: readonly string[] = [], options: { now?: Date; token?: string; env?: Record<string, string> } = {}): Promise<CliRun> => {
    env ??= await stateFor(stack, join(dir, `${stack.resources.tableName}.json`));
    return cli(['connect', '--local', '--account-id', cloudflare.accountId, '--base-url', cloudflare.baseURL, ...args], {
      env: { ...env, CLOUDFLARE_API_TOKEN: options.token ?? cloudflare.token, ...options.env },
      ...(options.now && { now: () => options.now! }),
    });
  };
}

const streamDelivery = async (stack: UploadsStack, secret: string) => {
  const id = await seedPending(stack.resources, 'video');
  const body = JSON.stringify(payloads.videoReady(id, new Date().toISOString()));
  return (await post(stack.streamUrl, body, signedHeaders.stream(secret, body))).status;
};
const imagesPing = async (stack: UploadsStack, secret: string) => (await post(stack.imagesUrl, JSON.stringify(payloads.testPing()), signedHeaders.notification(secret))).status;
const writes = (cloudflare: CloudflareStandIn, from = 0) => cloudflare.requests.slice(from).filter((r) => r.method !== 'GET');

describe('connect', () => {
  let stack: UploadsStack;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'connect-test-'));
    stack = await startUploadsStack({ cloudflareBaseUrl: 'http://127.0.0.1:9/unused' });
  });
  after(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers Stream and Images and stores their secrets; a second run finds everything and changes nothing', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      const connect = connector(stack, cloudflare, dir);
      const provisioned = await readSecret(stack);
      const first = await connect();
      assert.equal(first.code, 0, first.err);

      // Cloudflare: one Stream webhook, one destination, one policy that uses it.
      assert.equal(cloudflare.streamWebhook?.notificationUrl, stack.streamUrl);
      const destinations = [...cloudflare.destinations.values()];
      assert.equal(destinations.length, 1);
      const [destination] = destinations;
      assert.equal(destination!.url, stack.imagesUrl);
      const policies = [...cloudflare.policies.values()];
      assert.equal(policies.length, 1);
      assert.deepEqual([policies[0]!.alert_type, policies[0]!.enabled, policies[0]!.mechanisms.webhooks], ['image_notification', true, [{ id: destination!.id }]]);

      // The stack's secret: Cloudflare's values first, the replaced ones retiring for an hour.
      const stored = await readSecret(stack);
      assert.equal(stored.stream[0], cloudflare.streamWebhook!.secret);
      assert.equal(stored.images[0], destination!.secret);
      assert.deepEqual(stored.toolkit, provisioned.toolkit);
      for (const key of ['stream', 'images'] as const) {
        assert.deepEqual(stored.retiring[key].map((r: { value: string }) => r.value), provisioned[key]);
        const graceMs = Date.parse(stored.retiring[key][0].notAfter) - Date.now();
        assert.ok(graceMs > 59 * 60_000 && graceMs <= 60 * 60_000, `${key}: accepted for an hour`);
      }

      // What it printed: one line per thing it did, no secret in it.
      assert.match(first.out, new RegExp(`^Cloudflare account ${cloudflare.accountId}$`, 'm'));
      assert.match(first.out, /stream\s+created\s+registered the Stream webhook .*\/webhooks\/stream; stored its new signing secret [0-9a-f]{8}; [0-9a-f]{8} accepted until/);
      assert.match(first.out, /images\s+created\s+created webhook destination "cloudflare-webhook 127\.0\.0\.1:\d+" → .*\/webhooks\/images; stored its new secret/);
      assert.match(first.out, /policy\s+created\s+created notification policy "cloudflare-webhook 127\.0\.0\.1:\d+: Images uploads": image_notification → destination/);
      for (const value of [cloudflare.streamWebhook!.secret, destination!.secret!, ...provisioned.images, ...provisioned.stream]) assert.ok(!first.out.includes(value), 'no secret printed');

      // The receiver accepts what Cloudflare now sends.
      assert.equal(await streamDelivery(stack, cloudflare.streamWebhook!.secret), 200);
      assert.equal(await imagesPing(stack, destination!.secret!), 200);

      // And what the stand-in's Stream sends once it has processed a direct creator upload.
      const created = await fetch(`${cloudflare.baseURL}/accounts/${cloudflare.accountId}/stream/direct_upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cloudflare.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ maxDurationSeconds: 60 }),
      });
      const { uid, uploadURL } = ((await created.json()) as { result: { uid: string; uploadURL: string } }).result;
      await seedPending(stack.resources, 'video', uid);
      const video = await cloudflare.upload(uploadURL);
      assert.deepEqual(video.deliveries.map((d) => [d.url, d.status]), [[stack.streamUrl, 200]]);
      assert.equal((await readItem(stack.resources, uid))?.status, 'ready');

      // Again: only reads at Cloudflare, the secret untouched, every line "unchanged".
      const before = cloudflare.requests.length;
      const second = await connect();
      assert.equal(second.code, 0, second.err);
      assert.deepEqual(writes(cloudflare, before), []);
      assert.deepEqual(await readSecret(stack), stored);
      assert.equal(cloudflare.destinations.size, 1);
      assert.equal(cloudflare.policies.size, 1);
      const results = second.out.split('\n').slice(1).map((line) => line.trim().split(/\s+/).slice(0, 2).join(' '));
      assert.deepEqual(results, ['stream unchanged', 'images unchanged', 'policy unchanged']);
    } finally {
      await cloudflare.close();
    }
  });

  it('--dry-run reads, says what it would do, and changes nothing anywhere', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      const stored = await readSecret(stack);
      const run = await connector(stack, cloudflare, dir)(['--dry-run']);
      assert.equal(run.code, 0, run.err);
      assert.match(run.out, /\(dry run: nothing changed\)/);
      assert.match(run.out, /stream\s+planned\s+would register the Stream webhook/);
      assert.match(run.out, /images\s+planned\s+would create webhook destination/);
      assert.match(run.out, /policy\s+planned\s+would create notification policy/);
      assert.deepEqual(writes(cloudflare), []);
      assert.equal(cloudflare.streamWebhook, undefined);
      assert.deepEqual(await readSecret(stack), stored);
    } finally {
      await cloudflare.close();
    }
  });

  it('updates what exists instead of duplicating it: a destination made in the dashboard, a disabled policy', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      cloudflare.destinations.set('d1', { id: 'd1', name: 'made by hand', url: stack.imagesUrl, secret: 'hand-typed', created_at: new Date().toISOString() });
      cloudflare.policies.set('p1', { id: 'p1', name: 'images', alert_type: 'image_notification', enabled: false, mechanisms: { webhooks: [{ id: 'd1' }] }, created: '', modified: '' });
      const run = await connector(stack, cloudflare, dir)(['--only', 'images']);
      assert.equal(run.code, 0, run.err);
      assert.deepEqual([...cloudflare.destinations.keys()], ['d1']);
      assert.deepEqual([...cloudflare.policies.keys()], ['p1']);
      assert.match(cloudflare.destinations.get('d1')!.name, /^cloudflare-webhook /);
      assert.notEqual(cloudflare.destinations.get('d1')!.secret, 'hand-typed');
      assert.equal(cloudflare.policies.get('p1')!.enabled, true);
      assert.match(run.out, /images\s+updated\s+updated webhook destination .*\(was named "made by hand"\)/);
      assert.match(run.out, /policy\s+updated\s+updated notification policy "images"/);
      assert.equal((await readSecret(stack)).images[0], cloudflare.destinations.get('d1')!.secret);
      assert.equal(cloudflare.streamWebhook, undefined, '--only images leaves Stream alone');
    } finally {
      await cloudflare.close();
    }
  });

  it('keeps the previous Stream secret accepted for the grace period after the URL changes, then drops it', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      const connect = connector(stack, cloudflare, dir);
      assert.equal((await connect(['--only', 'stream'])).code, 0);
      const s1 = cloudflare.streamWebhook!.secret;

      // The stack's URL changes (a new API, a custom domain): Cloudflare issues a new secret.
      const moved = `${stack.streamUrl}?v=2`;
      const t0 = new Date();
      const rotated = await connect(['--only', 'stream', '--stream-url', moved, '--grace', '30m'], { now: t0 });
      assert.equal(rotated.code, 0, rotated.err);
      const s2 = cloudflare.streamWebhook!.secret;
      assert.notEqual(s2, s1);
      assert.equal(cloudflare.streamWebhook!.notificationUrl, moved);
      assert.match(rotated.out, new RegExp(`stream\\s+updated\\s+registered the Stream webhook .*\\(was ${stack.streamUrl.replace(/[.?]/g, '\\$&')}\\); stored its new signing secret ${fingerprint(s2)}; ${fingerprint(s1)} accepted until ${new Date(t0.getTime() + 30 * 60_000).toISOString()}`));
      const stored = await readSecret(stack);
      assert.deepEqual(stored.stream.slice(0, 2), [s2, s1]);

      // During the grace both are accepted, by a warm function and by a cold one.
      assert.equal(await streamDelivery(stack, s1), 200);
      assert.equal(await streamDelivery(stack, s2), 200);
      await stack.coldStartWebhook();
      assert.equal(await streamDelivery(stack, s1), 200);

      // After it, the next run drops the old value; from then on it is refused.
      const later = await connect(['--only', 'stream', '--stream-url', moved], { now: new Date(t0.getTime() + 31 * 60_000) });
      assert.equal(later.code, 0, later.err);
      assert.match(later.out, new RegExp(`secret\\s+dropped\\s+dropped stream value ${fingerprint(s1)}`));
      assert.match(later.out, /stream\s+unchanged/);
      assert.ok(!(await readSecret(stack)).stream.includes(s1));
      await stack.coldStartWebhook();
      assert.equal(await streamDelivery(stack, s1), 401);
      assert.equal(await streamDelivery(stack, s2), 200);
    } finally {
      await cloudflare.close();
    }
  });

  it('--rotate gives the Images destination a new secret and keeps the old one for the grace', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      const connect = connector(stack, cloudflare, dir);
      assert.equal((await connect(['--only', 'images'])).code, 0);
      const [destination] = cloudflare.destinations.values();
      const old = destination!.secret!;
      const run = await connect(['--only', 'images', '--rotate', '--grace', '10m']);
      assert.equal(run.code, 0, run.err);
      assert.match(run.out, /images\s+updated\s+updated webhook destination .*\(--rotate\)/);
      assert.notEqual(destination!.secret, old);
      assert.equal(cloudflare.destinations.size, 1);
      // A new instance: a warm one re-reads the secret after a failed signature at most every 30 s.
      await stack.coldStartWebhook();
      assert.equal(await imagesPing(stack, destination!.secret!), 200);
      assert.equal(await imagesPing(stack, old), 200, 'still accepted during the grace');
    } finally {
      await cloudflare.close();
    }
  });

  it('reports Cloudflare’s refusal in one line, exits 1, and leaves no unused secret behind', async () => {
    const cloudflare = await startCloudflareStandIn({ tokens: { 'stream-only': ['stream:write'], full: ALL_PERMISSIONS } });
    try {
      const connect = connector(stack, cloudflare, dir);
      const before = await readSecret(stack);
      const denied = await connect(['--only', 'images'], { token: 'stream-only' });
      assert.equal(denied.code, 1);
      assert.match(denied.err, /^error: Cloudflare refused to list webhook destinations: HTTP 403: 10000 Authentication error \(the API token needs Stream Write and Notifications Write on this account\)$/);

      cloudflare.fail({ method: 'POST', path: /destinations\/webhooks$/ }, { status: 500, times: 3 });
      const failed = await connect(['--only', 'images'], { token: 'full' });
      assert.equal(failed.code, 1);
      assert.match(failed.err, /Cloudflare refused to create the webhook destination: HTTP 500/);
      assert.deepEqual((await readSecret(stack)).images, before.images, 'the value Cloudflare never took is gone again');
      assert.equal(cloudflare.destinations.size, 0);

      const bad = await connect(['--only', 'stream'], { token: 'nope' });
      assert.equal(bad.code, 1);
      assert.match(bad.err, /HTTP 401/);
    } finally {
      await cloudflare.close();
    }
  });

  it('stores the account id and a token for the upload route when asked, once', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      const connect = connector(stack, cloudflare, dir);
      const args = ['--only', 'images', '--uploads-secret', stack.apiSecretArn];
      const withToken = { env: { CLOUDFLARE_UPLOADS_API_TOKEN: 'images-write-token' } };
      const first = await connect(args, withToken);
      assert.equal(first.code, 0, first.err);
      assert.match(first.out, /uploads\s+stored\s+stored the account id and API token [0-9a-f]{8} in the upload route's API secret/);
      assert.ok(!first.out.includes('images-write-token'));
      assert.deepEqual(await readSecret(stack, stack.apiSecretArn), { accountId: cloudflare.accountId, apiToken: 'images-write-token' });
      const second = await connect(args, withToken);
      assert.match(second.out, /uploads\s+unchanged/);
    } finally {
      await cloudflare.close();
    }
  });

  it('needs an account id and a token, and says where to put them', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      const out: string[] = [];
      const code = await runCli(['connect', '--local'], { out: (t) => out.push(t), err: (t) => out.push(t), env: {} });
      assert.equal(code, 2);
      assert.match(out.join('\n'), /connect needs --account-id/);
      const noToken = await connector(stack, cloudflare, dir)([], { token: '' });
      assert.equal(noToken.code, 2);
      assert.match(noToken.err, /\$CLOUDFLARE_API_TOKEN/);
    } finally {
      await cloudflare.close();
    }
  });
});
