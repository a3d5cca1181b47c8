/**
 * The whole stack on this machine, as `npm start` runs it and the integration tests run it: the
 * built bundles (webhook, uploads, sweep, relay) with the environment the stack gives them, against
 * resources of their own in the emulator and, when given, the local stand-in of Cloudflare's API.
 *
 * - The webhook and upload routes behind the local HTTP API, each concurrent request on a
 *   Lambda-like instance of its own (local/instances.ts).
 * - The relay behind a poller that plays Lambda's event source mapping on the table's stream, with
 *   the stack's very settings (`RelayEventSource`), dead-letter queue included.
 * - The sweep, invoked as a schedule would (`sweep()`; `npm start` also runs it on a timer).
 */
import type { Context, DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import type { ApiCredentials } from '../lambda/core/cloudflare';
import { RelayEventSource, UploadDefaults, WebhookEnv } from '../lambda/core/contract';
import type { SweepResult } from '../lambda/sweep/sweep';
import { authorized, type LocalAuth } from './authorizers';
import { lambdaContext } from './context';
import { relayEnvironment, sweepEnvironment, uploadsEnvironment, webhookEnvironment, type LocalCloudflare, type LocalSweepSettings, type WebhookEnvOverrides } from './environments';
import { importBundle, lambdaInstances, localConcurrency, type InstanceStats } from './instances';
import { provisionLocal, type LocalResources, type LocalSecrets } from './provision';
import { startLocalServer, type LocalHandler } from './server';
import type { FilterPattern } from './filter-pattern';
import { startStreamPoller, type StreamPoller, type StreamPollerOptions } from './stream-poller';

/** The built bundles' entry files (scripts/build.ts writes where they are). */
export interface LocalBundles {
  readonly webhook: string;
  readonly uploads: string;
  readonly sweep: string;
  readonly relay: string;
}

export interface LocalStackOptions {
  readonly endpoint: string;
  /** Keeps several stacks apart in one emulator. */
  readonly prefix: string;
  readonly bundles: LocalBundles;
  readonly secrets?: Partial<LocalSecrets>;
  readonly webhookOverrides?: WebhookEnvOverrides;
  /** Cloudflare's API (the stand-in), and the tokens the read and upload secrets hold. @default none: nothing asks Cloudflare */
  readonly cloudflare?: LocalCloudflare & { readonly readToken?: ApiCredentials; readonly uploadsToken?: Partial<ApiCredentials> };
  /** Serves `POST /uploads` with this authorizer. @default no upload route */
  readonly uploads?: LocalAuth;
  /** Runs the relay behind a poller of the table's stream; settings override the stack's. @default off */
  readonly relay?: boolean | Partial<Pick<StreamPollerOptions, 'pollIntervalMs' | 'maxBatchingWindowMs' | 'retryAttempts' | 'maxRecordAgeSeconds' | 'onError'>> & { readonly env?: Readonly<Record<string, string | number | undefined>> };
  readonly sweep?: LocalSweepSettings;
  /** Most instances of the webhook (and of the upload function) at once. @default LOCAL_CONCURRENCY, 8 */
  readonly concurrency?: number;
  /** Tried first; when it is taken, a free one is used. @default a free port */
  readonly port?: number;
}

export type SweepSummary = Omit<SweepResult, 'firstError'>;

export interface LocalStack {
  readonly url: string;
  readonly port: number;
  readonly imagesUrl: string;
  readonly streamUrl: string;
  /** With `uploads`. */
  readonly uploadsUrl?: string;
  readonly resources: LocalResources;
  /** The relay's poller, with `relay`: `caughtUp()` waits until every record so far was handled. */
  readonly relay?: StreamPoller;
  /** One run of the sweep, as the schedule invokes it. */
  sweep(): Promise<SweepSummary>;
  webhookInstances(): InstanceStats;
  /** Replaces every instance of the webhook (cold starts): their secret caches start empty. */
  coldStartWebhook(): Promise<void>;
  stop(): Promise<void>;
}

type SweepHandler = (event: Partial<ScheduledEvent>, context: Context) => Promise<SweepSummary>;
type RelayHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<unknown>;

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { cloudflare } = options;
  const resources = await provisionLocal({
    endpoint: options.endpoint,
    prefix: options.prefix,
    ...(options.secrets && { secrets: options.secrets }),
    ...(cloudflare?.readToken && { readToken: cloudflare.readToken }),
    ...(cloudflare?.uploadsToken && { uploadsToken: cloudflare.uploadsToken }),
  });
  const concurrency = options.concurrency ?? localConcurrency();
  const webhookEnv = webhookEnvironment(resources, options.webhookOverrides, cloudflare);
  let webhook = lambdaInstances({ create: () => importBundle<LocalHandler>(options.bundles.webhook, webhookEnv), concurrency });
  await webhook.warm();
  const sweep = await importBundle<SweepHandler>(options.bundles.sweep, sweepEnvironment(resources, options.sweep, cloudflare));

  const imagesPath = webhookEnv[WebhookEnv.ImagesPath]!;
  const streamPath = webhookEnv[WebhookEnv.StreamPath]!;
  const uploadsRoute = `POST ${UploadDefaults.path}`;
  const uploads = options.uploads && (await uploadRoute(options.bundles.uploads, resources, cloudflare, options.uploads, concurrency));
  const handler: LocalHandler = (event, context) => (uploads && event.routeKey === uploadsRoute ? uploads(event, context) : webhook.invoke(event, context));
  const routes = [`POST ${imagesPath}`, `POST ${streamPath}`, ...(uploads ? [uploadsRoute] : [])];
  const server = await startLocalServer({ handler, routes, port: options.port ?? 0 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRINUSE') throw error;
    return startLocalServer({ handler, routes, port: 0 });
  });
  const relay = options.relay ? await startRelay(options.bundles.relay, resources, options.relay === true ? {} : options.relay) : undefined;

  return {
    url: server.url,
    port: server.port,
    imagesUrl: server.url + imagesPath,
    streamUrl: server.url + streamPath,
    ...(uploads && { uploadsUrl: server.url + UploadDefaults.path }),
    resources,
    ...(relay && { relay }),
    sweep: () => sweep({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString() }, lambdaContext('local-sweep', 120_000)),
    webhookInstances: () => webhook.stats(),
    coldStartWebhook: async () => {
      webhook = lambdaInstances({ create: () => importBundle<LocalHandler>(options.bundles.webhook, webhookEnv), concurrency });
      await webhook.warm();
    },
    stop: async () => {
      await relay?.stop();
      await server.close();
    },
  };
}

async function uploadRoute(entry: string, resources: LocalResources, cloudflare: LocalCloudflare | undefined, auth: LocalAuth, concurrency: number): Promise<LocalHandler> {
  const env = uploadsEnvironment(resources, cloudflare ?? { baseUrl: '' });
  const instances = lambdaInstances({ create: () => importBundle<LocalHandler>(entry, env), concurrency });
  await instances.warm();
  return authorized(instances.invoke, auth);
}

/** The relay bundle behind Lambda's event source mapping, as the stack configures it (lib/stream-relay.ts). */
async function startRelay(entry: string, resources: LocalResources, settings: Exclude<LocalStackOptions['relay'], boolean | undefined>): Promise<StreamPoller> {
  if (!resources.streamArn || !resources.relayDlqUrl) throw new Error('the relay needs the table’s stream');
  const { env, ...poller } = settings;
  const relay = await importBundle<RelayHandler>(entry, relayEnvironment(resources, env));
  return startStreamPoller({
    endpoint: resources.endpoint,
    streamArn: resources.streamArn,
    handler: relay,
    filters: [RelayEventSource.filter as unknown as FilterPattern],
    startingPosition: 'TRIM_HORIZON',
    batchSize: RelayEventSource.batchSize,
    maxBatchingWindowMs: RelayEventSource.maxBatchingWindowSeconds * 1000,
    retryAttempts: RelayEventSource.retryAttempts,
    maxRecordAgeSeconds: RelayEventSource.maxRecordAgeSeconds,
    bisectBatchOnFunctionError: true,
    reportBatchItemFailures: true,
    onFailure: { queueUrl: resources.relayDlqUrl },
    functionName: 'local-relay',
    ...poller,
  });
}
