/**
 * `npm start`: the receiver on this machine, built exactly as the stack ships it, in front of
 * a fresh emulator. Everything lives in memory and is gone after Ctrl-C.
 */
import { pathToFileURL } from 'node:url';
import { WebhookEnv } from '../lambda/contract';
import { provisionLocal, webhookEnvironment } from '../local/provision';
import { startLocalServer, type LocalHandler, type LocalServer } from '../local/server';
import { buildAssets } from './build';
import { ensureEmulator, startEmulator } from './emulator';

const DEFAULT_PORT = 8787;

async function main(): Promise<void> {
  // The SDK's reminder that releases after early 2027 need Node 22 is noise for local runs.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  await ensureEmulator();
  const [emulator, assets] = await Promise.all([startEmulator(), buildAssets()]);
  let server: LocalServer | undefined;
  const shutdown = async () => {
    await server?.close();
    await emulator.stop();
  };
  onSignal(shutdown);

  try {
    const resources = await provisionLocal({ endpoint: emulator.endpoint, prefix: 'local' });
    const env = webhookEnvironment(resources);
    // The bundle reads its configuration from process.env when it loads.
    Object.assign(process.env, env);
    const { handler } = (await import(pathToFileURL(assets.webhook.entry).href)) as { handler: LocalHandler };

    const imagesPath = env[WebhookEnv.ImagesPath]!;
    const streamPath = env[WebhookEnv.StreamPath]!;
    const routes = [`POST ${imagesPath}`, `POST ${streamPath}`];
    const wanted = Number(process.env.PORT ?? DEFAULT_PORT);
    server = await startLocalServer({ handler, routes, port: wanted }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      return startLocalServer({ handler, routes, port: 0 });
    });

    const note = server.port === wanted ? '' : `  (port ${wanted} was busy)`;
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
        `  Bundle           ${assets.webhook.entry} (${(assets.webhook.bytes / 1024).toFixed(0)} KB)`,
        '',
        `  Secrets (${resources.secretId}; generated for this run, local only, never use them in AWS):`,
        ...secretLines,
        '',
        '  Dev loop:',
        '    TODO(dev-loop): commands to send a signed sample webhook and to watch published events',
        '',
        'Ctrl-C to stop.',
      ].join('\n'),
    );
  } catch (error) {
    await shutdown();
    throw error;
  }
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
