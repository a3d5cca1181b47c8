/**
 * `npm start`: the receiver on this machine, built exactly as the stack ships it, in front of
 * a fresh emulator. Everything lives in memory and is gone after Ctrl-C.
 *
 * It records where everything is in .build/local.json (or $CF_WEBHOOK_LOCAL_STATE), which is
 * how `npm run cli -- …` in another terminal finds it. `npm start -- --no-build` reuses the
 * bundle of the last build instead of synthesizing again.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { devLoopLines } from '../cli/dev-loop';
import { WebhookEnv } from '../lambda/core/contract';
import { importBundle, lambdaInstances, LOCAL_CONCURRENCY_ENV, localConcurrency } from '../local/instances';
import { provisionLocal } from '../local/provision';
import { webhookEnvironment } from '../local/environments';
import { startLocalServer, type LocalHandler, type LocalServer } from '../local/server';
import { localStatePath, removeLocalState, writeLocalState } from '../local/state';
import { buildAssets, buildDir, type BuiltAssets } from './build';
import { ensureEmulator, startEmulator } from './emulator';

const DEFAULT_PORT = 8787;

async function main(): Promise<void> {
  // The SDK's reminder that releases after early 2027 need Node 22 is noise for local runs.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  await ensureEmulator();
  const reuseBuild = process.argv.includes('--no-build');
  const [emulator, assets] = await Promise.all([startEmulator(), reuseBuild ? lastBuild() : buildAssets()]);
  const statePath = localStatePath();
  let server: LocalServer | undefined;
  const shutdown = async () => {
    await removeLocalState(statePath, process.pid);
    await server?.close();
    await emulator.stop();
  };
  onSignal(shutdown);

  try {
    const resources = await provisionLocal({ endpoint: emulator.endpoint, prefix: 'local' });
    const env = webhookEnvironment(resources);
    // Each concurrent delivery gets an instance of the bundle of its own, as in Lambda (local/instances.ts).
    const concurrency = localConcurrency();
    const webhook = lambdaInstances({ create: () => importBundle<LocalHandler>(assets.webhook.entry, env), concurrency });
    await webhook.warm();
    const handler = webhook.invoke;

    const imagesPath = env[WebhookEnv.ImagesPath]!;
    const streamPath = env[WebhookEnv.StreamPath]!;
    const routes = [`POST ${imagesPath}`, `POST ${streamPath}`];
    const wanted = Number(process.env.PORT ?? DEFAULT_PORT);
    server = await startLocalServer({ handler, routes, port: wanted }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      return startLocalServer({ handler, routes, port: 0 });
    });

    await writeLocalState(statePath, {
      version: 1,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      endpoint: emulator.endpoint,
      imagesUrl: server.url + imagesPath,
      streamUrl: server.url + streamPath,
      tableName: resources.tableName,
      eventBusName: resources.eventBusName,
      eventBusArn: resources.eventBusArn,
      secretId: resources.secretArn,
      watchQueueUrl: resources.watchQueueUrl,
    });

    const note = server.port === wanted || wanted === 0 ? '' : `  (port ${wanted} was busy)`;
    const secretLines = Object.entries(resources.secrets).map(([key, values]) => `    ${key.padEnd(8)} ${values.join(', ')}`);
    console.log(
      [
        '',
        `Cloudflare webhook receiver running locally${note}`,
        '',
        `  Images webhook   POST ${server.url}${imagesPath}`,
        `  Stream webhook   POST ${server.url}${streamPath}`,
        '',
        `  Table            ${resources.tableName}`,
        `  Event bus        ${resources.eventBusName}`,
        `  Watch queue      ${resources.watchQueueUrl}`,
        `  Emulator         ${emulator.endpoint}  (AWS_ENDPOINT_URL for the AWS CLI/SDK; any credentials)`,
        "                   AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true quiets the SDK's Node 20 warning",
        `  Bundle           ${relative(process.cwd(), assets.webhook.entry)} (${(assets.webhook.bytes / 1024).toFixed(0)} KB)`,
        `  Instances        up to ${concurrency} (${LOCAL_CONCURRENCY_ENV}), started on demand, one delivery at a time each; a burst waits`,
        '',
        `  Secrets (${resources.secretId}; generated for this run, local only, never use them in AWS):`,
        ...secretLines,
        '',
        `  Try it from another terminal (the CLI finds this receiver through ${relative(process.cwd(), statePath)}):`,
        ...devLoopLines(),
        '',
        'Ctrl-C to stop.',
      ].join('\n'),
    );
  } catch (error) {
    await shutdown();
    throw error;
  }
}

/** What the last `npm run build` (or `npm test`) produced. */
async function lastBuild(): Promise<BuiltAssets> {
  const file = join(buildDir, 'assets.json');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`--no-build: nothing built yet (${file} is missing); run npm start without it once`);
  });
  const built = JSON.parse(text) as BuiltAssets;
  return { ...built, webhook: { ...built.webhook, entry: resolve(dirname(file), '..', built.webhook.entry) } };
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
