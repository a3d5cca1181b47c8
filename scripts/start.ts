/**
 * `npm start`: the whole product on this machine, built exactly as the stack ships it, in front of
 * a fresh emulator and the local stand-in of Cloudflare's API. Everything lives in memory and is
 * gone after Ctrl-C.
 *
 * - the webhook routes and `POST /uploads` (local/stack.ts), each concurrent request on a Lambda-like
 *   instance of its own;
 * - the stream relay behind a poller of the table's stream, and the sweep every minute;
 * - the stand-in of Cloudflare's Images and Stream API, registered with the receiver the way
 *   `npm run connect` registers a deployed stack, so an upload through it ends in a signed webhook;
 *   `--drop-webhooks` makes it lose every webhook, to watch `images sync` or the sweep recover them.
 *
 * It records where everything is in .build/local.json (or $CF_WEBHOOK_LOCAL_STATE), which is how
 * `npm run cli -- …` in another terminal finds it. `npm start -- --no-build` reuses the bundles of
 * the last build instead of synthesizing again.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { connect, formatConnectReport } from '../cli/connect.js';
import { devLoopLines, uploadByHandLines } from '../cli/dev-loop.js';
import { secretsManagerStore } from '../cli/secret-store.js';
import { localClientConfig } from '../local/aws.js';
import { ALL_PERMISSIONS, Permission, startCloudflareStandIn, type CloudflareStandIn } from '../local/cloudflare.js';
import { LOCAL_CONCURRENCY_ENV, localConcurrency } from '../local/instances.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { localStatePath, removeLocalState, writeLocalState, type LocalState } from '../local/state.js';
import { buildAssets, buildDir, type BuiltAssets, type FunctionBundle } from './build.js';
import { ensureEmulator, startEmulator } from './emulator.js';

const DEFAULT_PORT = 8787;
/** The stack's sweep runs every 5 minutes; locally every minute, so a lost webhook is recovered while you watch. */
const LOCAL_SWEEP_MS = 60_000;
/** Tokens of the stand-in: the one `connect` and the upload route use, and the read-only one the webhook and the sweep use. */
const ADMIN_TOKEN = 'local-admin-token';
const READ_TOKEN = 'local-read-token';

async function main(): Promise<void> {
  // The SDK's reminder that releases after early 2027 need Node 22 is noise for local runs.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dropWebhooks = process.argv.includes('--drop-webhooks');
  const port = Number(process.env.PORT ?? DEFAULT_PORT);

  await ensureEmulator();
  const [emulator, assets] = await Promise.all([startEmulator(), process.argv.includes('--no-build') ? lastBuild() : buildAssets()]);
  const statePath = localStatePath();
  let stack: LocalStack | undefined;
  let cloudflare: CloudflareStandIn | undefined;
  let sweeping: NodeJS.Timeout | undefined;
  const shutdown = async () => {
    clearInterval(sweeping);
    await removeLocalState(statePath, process.pid);
    await stack?.stop();
    await cloudflare?.close();
    await emulator.stop();
  };
  onSignal(shutdown);

  try {
    cloudflare = await startCloudflare(dropWebhooks);
    stack = await startStack(emulator.endpoint, port, assets, cloudflare);
    const registered = await register(stack, cloudflare);
    sweeping = setInterval(() => void sweepOnce(stack!), LOCAL_SWEEP_MS);
    await writeLocalState(statePath, localState(stack, emulator.endpoint, cloudflare.baseURL));
    const { url, accountId } = cloudflare;
    console.log(banner({ stack, wantedPort: port, assets: assets.webhook, emulator: emulator.endpoint, cloudflare: { url, accountId }, registered, dropWebhooks, statePath }));
  } catch (error) {
    await shutdown();
    throw error;
  }
}

/** The stand-in of Cloudflare's API, with the admin token (`connect`, the upload route) and the read-only one. */
function startCloudflare(dropWebhooks: boolean): Promise<CloudflareStandIn> {
  return startCloudflareStandIn({
    tokens: { [ADMIN_TOKEN]: ALL_PERMISSIONS, [READ_TOKEN]: [Permission.ImagesRead, Permission.StreamRead] },
    dropWebhooks,
  });
}

/** Where everything is, for `npm run cli` in another terminal. */
function localState(stack: LocalStack, endpoint: string, cloudflareBaseUrl: string): LocalState {
  const { resources } = stack;
  return {
    version: 1,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    endpoint,
    imagesUrl: stack.imagesUrl,
    streamUrl: stack.streamUrl,
    uploadsUrl: stack.uploadsUrl!,
    tableName: resources.tableName,
    eventBusName: resources.eventBusName,
    eventBusArn: resources.eventBusArn,
    secretId: resources.secretArn,
    watchQueueUrl: resources.watchQueueUrl,
    readSecretId: resources.readSecretArn,
    ...(resources.eventArchiveArn && { eventArchiveArn: resources.eventArchiveArn }),
    ...(resources.relayDlqUrl && { relayDeadLetterQueueUrl: resources.relayDlqUrl }),
    cloudflareBaseUrl,
  };
}

async function startStack(endpoint: string, port: number, assets: BuiltAssets, cloudflare: CloudflareStandIn): Promise<LocalStack> {
  const { accountId, baseURL } = cloudflare;
  return startLocalStack({
    endpoint,
    prefix: 'local',
    bundles: { webhook: assets.webhook.entry, uploads: assets.uploads!.entry, sweep: assets.sweep!.entry, relay: assets.relay!.entry },
    cloudflare: { baseUrl: baseURL, readToken: { accountId, apiToken: READ_TOKEN }, uploadsToken: { accountId, apiToken: ADMIN_TOKEN } },
    uploads: { type: 'open' },
    relay: true,
    // A window that ended is expired at once locally (the stack waits 5 minutes for a late webhook).
    sweep: { graceSeconds: 0 },
    port,
  });
}

/** What `npm run connect` does for a deployed stack: the stand-in's Stream webhook and Notifications policy point here, their secrets stored. */
async function register(stack: LocalStack, cloudflare: CloudflareStandIn): Promise<string> {
  const report = await connect({
    accountId: cloudflare.accountId,
    apiToken: ADMIN_TOKEN,
    baseURL: cloudflare.baseURL,
    imagesUrl: stack.imagesUrl,
    streamUrl: stack.streamUrl,
    secretId: stack.resources.secretArn,
    secrets: secretsManagerStore(localClientConfig(stack.resources.endpoint)),
    graceMs: 0,
    name: 'cloudflare-webhook local',
    now: () => new Date(),
    maxRetries: 0,
  });
  return formatConnectReport(report);
}

async function sweepOnce(stack: LocalStack): Promise<void> {
  try {
    const run = await stack.sweep();
    if (run.expired + run.recovered + run.failed > 0) console.log(`sweep: ${JSON.stringify(run)}`);
  } catch (error) {
    console.error('sweep failed:', error instanceof Error ? error.message : error);
  }
}

interface BannerFacts {
  readonly stack: LocalStack;
  /** The port asked for ($PORT, else 8787); the stack may have had to take another. */
  readonly wantedPort: number;
  readonly assets: FunctionBundle;
  readonly emulator: string;
  readonly cloudflare: { readonly url: string; readonly accountId: string };
  readonly registered: string;
  readonly dropWebhooks: boolean;
  readonly statePath: string;
}

function banner({ stack, wantedPort, assets, emulator, cloudflare, registered, dropWebhooks, statePath }: BannerFacts): string {
  const { resources } = stack;
  const note = stack.port === wantedPort || wantedPort === 0 ? '' : `  (port ${wantedPort} was busy)`;
  return [
    '',
    `Cloudflare webhook receiver running locally${note}`,
    '',
    `  Images webhook   POST ${stack.imagesUrl}`,
    `  Stream webhook   POST ${stack.streamUrl}`,
    `  Uploads          POST ${stack.uploadsUrl}  (open locally; IAM or a JWT in AWS)`,
    '',
    `  Table            ${resources.tableName}`,
    `  Event bus        ${resources.eventBusName}  (archived: events replay)`,
    `  Watch queue      ${resources.watchQueueUrl}`,
    `  Emulator         ${emulator}  (AWS_ENDPOINT_URL for the AWS CLI/SDK; any credentials)`,
    "                   AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true quiets the SDK's Node 20 warning",
    `  Bundle           ${relative(process.cwd(), assets.entry)} (${(assets.bytes / 1024).toFixed(0)} KB)`,
    `  Instances        up to ${localConcurrency()} (${LOCAL_CONCURRENCY_ENV}), started on demand, one delivery at a time each; a burst waits`,
    '  Relay            reads the table’s stream; the sweep runs every minute',
    '',
    `  Cloudflare       ${cloudflare.url}  (a local stand-in of its Images and Stream API, account ${cloudflare.accountId})`,
    `                   ${dropWebhooks ? 'loses every webhook (--drop-webhooks): images sync and the sweep recover them' : 'delivers signed webhooks here; npm start -- --drop-webhooks loses them'}`,
    ...registered.split('\n').map((line) => `  ${line}`),
    '',
    `  Try it from another terminal (the CLI finds this receiver through ${relative(process.cwd(), statePath)}):`,
    ...devLoopLines(),
    '',
    '  Or upload by hand:',
    ...uploadByHandLines(stack.uploadsUrl!),
    '',
    'Ctrl-C to stop.',
  ].join('\n');
}

/** What the last `npm run build` (or `npm test`) produced. */
async function lastBuild(): Promise<BuiltAssets> {
  const file = join(buildDir, 'assets.json');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`--no-build: nothing built yet (${file} is missing); run npm start without it once`);
  });
  const built = JSON.parse(text) as BuiltAssets;
  const at = (bundle: FunctionBundle | undefined, name: string) => {
    if (!bundle) throw new Error(`--no-build: the last build has no ${name} function; run npm start without it once`);
    return { ...bundle, entry: resolve(dirname(file), '..', bundle.entry) };
  };
  return { webhook: at(built.webhook, 'webhook'), uploads: at(built.uploads, 'uploads'), sweep: at(built.sweep, 'sweep'), relay: at(built.relay, 'relay') };
}

function onSignal(shutdown: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A second Ctrl-C means "now", even if a clean stop hangs.
    if (stopping) process.exit(130);
    stopping = true;
    console.log(`\n${signal}: stopping`);
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
