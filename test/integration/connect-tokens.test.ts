import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { connect, type ConnectSettings } from '../../cli/connect.js';
import { secretsManagerStore, type SecretStore } from '../../cli/secret-store.js';
import { fingerprint } from '../../cli/secret-rotation.js';
import { localClientConfig } from '../../local/aws.js';
import { cli, emulatorEnv, fakeCloudFormation, FROM_SOURCES, spawnCli, stateFor, type CliRun } from '../support/cli.js';
import { startCloudflareStandIn, type CloudflareStandIn } from '../../local/cloudflare.js';
import { startUploadsStack, type UploadsStack } from '../support/uploads.js';

// Issue 15, finding 5 and the left-over of issue 12: `connect` takes no token on its command
// line, stores the read-only token, and writes every secret with compare-and-swap. Against the
// stand-in of Cloudflare's API (local/cloudflare.ts) and secrets in the emulator.

describe('connect: tokens, the read-only secret and concurrent writers', () => {
  let stack: UploadsStack;
  let dir: string;
  let state: Record<string, string>;
  let sm: SecretsManagerClient;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'connect-tokens-'));
    stack = await startUploadsStack({ cloudflareBaseUrl: 'http://127.0.0.1:9/unused' });
    state = await stateFor(stack, join(dir, 'local.json'));
    sm = new SecretsManagerClient(localClientConfig(stack.endpoint));
  });
  after(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const readJson = async (secretId: string) => JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString!) as Record<string, any>;
  const readSecret = async () => {
    const name = `read-${randomUUID()}`;
    return (await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ accountId: '', apiToken: '' }) }))).ARN!;
  };
  const run = (cloudflare: CloudflareStandIn, args: readonly string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<CliRun> =>
    cli(['connect', '--local', '--account-id', cloudflare.accountId, '--base-url', cloudflare.baseURL, '--only', 'images', ...args], {
      env: { ...state, ...options.env },
      ...(options.stdin !== undefined && { stdin: options.stdin }),
    });

  it('refuses a token flag, says how to pass it, and calls nobody', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      for (const [flag, env, kind] of [
        ['--api-token', 'CLOUDFLARE_API_TOKEN', 'api'],
        ['--uploads-token', 'CLOUDFLARE_UPLOADS_API_TOKEN', 'uploads'],
        ['--read-token', 'CLOUDFLARE_READ_API_TOKEN', 'read'],
      ] as const) {
        const refused = await run(cloudflare, [flag, 'tok-on-the-command-line'], { env: { CLOUDFLARE_API_TOKEN: cloudflare.token } });
        assert.equal(refused.code, 2, flag);
        assert.match(refused.err, new RegExp(`${flag} is not accepted: a token on the command line lands in the shell history and the process list`));
        assert.match(refused.err, new RegExp(`\\$${env}, or give it on standard input with --token-stdin ${kind}`));
        assert.ok(!refused.err.includes('tok-on-the-command-line'));
      }
      assert.deepEqual(cloudflare.requests, []);
    } finally {
      await cloudflare.close();
    }
  });

  it('takes the API token from standard input, and a read-only token from its variable into the read secret', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      const readArn = await readSecret();
      const result = await run(cloudflare, ['--token-stdin', 'api', '--read-secret', readArn], {
        stdin: `${cloudflare.token}\n`,
        env: { CLOUDFLARE_READ_API_TOKEN: 'images-and-stream-read' },
      });
      assert.equal(result.code, 0, result.err);
      assert.equal(cloudflare.destinations.size, 1, 'Cloudflare was called with the token from stdin');
      assert.deepEqual(await readJson(readArn), { accountId: cloudflare.accountId, apiToken: 'images-and-stream-read' });
      assert.match(result.out, new RegExp(`read\\s+stored\\s+stored the account id and API token ${fingerprint('images-and-stream-read')} in the read-only API secret`));
      for (const token of [cloudflare.token, 'images-and-stream-read']) assert.ok(!result.out.includes(token) && !result.err.includes(token));

      const again = await run(cloudflare, ['--read-secret', readArn], { env: { CLOUDFLARE_API_TOKEN: cloudflare.token } });
      assert.match(again.out, /read\s+unchanged\s+the read-only API secret already holds the account id/);
    } finally {
      await cloudflare.close();
    }
  });

  it('warns when the read secret has no token yet, and refuses a read token for a stack without one', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      const readArn = await readSecret();
      const missing = await run(cloudflare, ['--read-secret', readArn], { env: { CLOUDFLARE_API_TOKEN: cloudflare.token } });
      assert.equal(missing.code, 0, missing.err);
      assert.match(missing.out, /read\s+warning\s+the read-only API secret has no Cloudflare API token yet: .*\$CLOUDFLARE_READ_API_TOKEN, or give it on standard input with --token-stdin read; a token with Images Read and Stream Read/);

      const nowhere = await run(cloudflare, [], { env: { CLOUDFLARE_API_TOKEN: cloudflare.token, CLOUDFLARE_READ_API_TOKEN: 'x' } });
      assert.equal(nowhere.code, 2);
      assert.match(nowhere.err, /no CloudflareReadSecretArn output: pass --read-secret/);
      assert.ok(!nowhere.err.includes("'x'"));
    } finally {
      await cloudflare.close();
    }
  });

  it('finds the read secret through the stack output CloudflareReadSecretArn', async () => {
    const cloudflare = await startCloudflareStandIn();
    const readArn = await readSecret();
    const cfn = await fakeCloudFormation({
      Fixture: { ImagesWebhookUrl: stack.imagesUrl, StreamWebhookUrl: stack.streamUrl, SecretArn: stack.resources.secretArn, CloudflareReadSecretArn: readArn },
    });
    try {
      const result = await spawnCli(
        ['connect', '--stack', 'Fixture', '--account-id', cloudflare.accountId, '--base-url', cloudflare.baseURL, '--only', 'images', '--token-stdin', 'read'],
        emulatorEnv(stack.endpoint, { AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url, CLOUDFLARE_API_TOKEN: cloudflare.token }),
        { stdin: 'piped-read-token\n', entry: FROM_SOURCES },
      );
      assert.equal(result.code, 0, result.err);
      assert.deepEqual(await readJson(readArn), { accountId: cloudflare.accountId, apiToken: 'piped-read-token' });
    } finally {
      await cfn.close();
      await cloudflare.close();
    }
  });

  it('reads a piped token in a real process: the token is in no argument of it', async () => {
    const cloudflare = await startCloudflareStandIn();
    try {
      const argv = ['connect', '--local', '--account-id', cloudflare.accountId, '--base-url', cloudflare.baseURL, '--only', 'images', '--uploads-secret', stack.apiSecretArn, '--token-stdin', 'uploads'];
      const result = await spawnCli(argv, { PATH: process.env.PATH, HOME: process.env.HOME, ...state, CLOUDFLARE_API_TOKEN: cloudflare.token }, { stdin: 'images-write-from-a-pipe\n', entry: FROM_SOURCES });
      assert.equal(result.code, 0, result.err);
      assert.ok(!argv.join(' ').includes('images-write-from-a-pipe'));
      assert.deepEqual(await readJson(stack.apiSecretArn), { accountId: cloudflare.accountId, apiToken: 'images-write-from-a-pipe' });
      assert.match(result.out, /uploads\s+stored\s+stored the account id and API token/);
      assert.ok(!result.out.includes('images-write-from-a-pipe'));
    } finally {
      await cloudflare.close();
    }
  });

  describe('compare-and-swap on the webhook secret', () => {
    /** Someone else's edit, as the console or another tool makes it: a plain PutSecretValue. */
    const interloper = async (value: string) => {
      const current = await readJson(stack.resources.secretArn);
      current.toolkit = [...(current.toolkit ?? []), value];
      await sm.send(new PutSecretValueCommand({ SecretId: stack.resources.secretArn, SecretString: JSON.stringify(current) }));
    };
    /** The real store, with another writer getting in just before some of its writes. */
    const racing = (store: SecretStore, before: (write: number) => Promise<void>): SecretStore => {
      let writes = 0;
      return { read: (id) => store.read(id), write: async (id, text, expected) => (await before(++writes), store.write(id, text, expected)) };
    };
    const settings = (cloudflare: CloudflareStandIn, secrets: SecretStore): ConnectSettings => ({
      accountId: cloudflare.accountId,
      apiToken: cloudflare.token,
      baseURL: cloudflare.baseURL,
      imagesUrl: stack.imagesUrl,
      streamUrl: stack.streamUrl,
      secretId: stack.resources.secretArn,
      secrets,
      graceMs: 60 * 60_000,
      name: `cas-${randomUUID()}`,
      now: () => new Date(),
      maxRetries: 0,
    });

    it('detects a change made between its read and its write, reports it, and keeps both', async () => {
      const cloudflare = await startCloudflareStandIn();
      try {
        const store = racing(secretsManagerStore(localClientConfig(stack.endpoint)), async (write) => {
          if (write === 1) await interloper('theirs-1');
        });
        const report = await connect({ ...settings(cloudflare, store), only: 'stream' });
        const stored = await readJson(stack.resources.secretArn);
        assert.ok(stored.toolkit.includes('theirs-1'), 'their value survived');
        assert.equal(stored.stream[0], cloudflare.streamWebhook!.secret, 'and so did ours');
        const warning = report.actions.find((a) => a.area === 'secret' && a.result === 'warning');
        assert.match(warning?.message ?? '', /changed by someone else while connect ran \(version [0-9a-f-]{8} → [0-9a-f-]{8}\); applied this run's change on top of theirs, overwriting nothing/);
      } finally {
        await cloudflare.close();
      }
    });

    it('gives up with an error when the secret keeps changing, before Cloudflare gets a secret it cannot store', async () => {
      const cloudflare = await startCloudflareStandIn();
      try {
        const store = racing(secretsManagerStore(localClientConfig(stack.endpoint)), (write) => interloper(`theirs-${write}`));
        await assert.rejects(connect({ ...settings(cloudflare, store), only: 'images' }), /kept changing under connect \(3 attempts\); nothing of anyone's was overwritten/);
        const stored = await readJson(stack.resources.secretArn);
        assert.ok(['theirs-1', 'theirs-2', 'theirs-3'].every((v) => stored.toolkit.includes(v)));
        assert.equal(cloudflare.destinations.size, 0, 'no destination was given a secret that is not stored');
      } finally {
        await cloudflare.close();
      }
    });

    it('refuses to overwrite an API secret changed meanwhile', async () => {
      const cloudflare = await startCloudflareStandIn();
      try {
        const readArn = await readSecret();
        const store = racing(secretsManagerStore(localClientConfig(stack.endpoint)), async () => {
          await sm.send(new PutSecretValueCommand({ SecretId: readArn, SecretString: JSON.stringify({ accountId: 'a', apiToken: 'set-by-someone-else' }) }));
        });
        await assert.rejects(
          connect({ ...settings(cloudflare, store), only: 'images', read: { secretId: readArn, apiToken: 'mine' } }),
          /could not store the read-only API secret .*: it was changed by someone else while connect ran .* nothing was overwritten, run connect again/,
        );
        assert.equal((await readJson(readArn)).apiToken, 'set-by-someone-else');
      } finally {
        await cloudflare.close();
      }
    });
  });
});
