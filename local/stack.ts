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
import type { ApiCredentials } from '../lambda/core/cloudflare.js';
import { RelayEventSource, UploadDefaults, WebhookEnv } from '../lambda/core/contract.js';
import type { SweepResult } from '../lambda/sweep/sweep.js';
import { authorized, type LocalAuth } from './authorizers.js';
import { lambdaContext } from './context.js';
import { relayEnvironment, sweepEnvironment, uploadsEnvironment, webhookEnvironment, type LocalCloudflare, type LocalSweepSettings, type WebhookEnvOverrides } from './environments.js';
import { importBundle, lambdaInstances, localConcurrency, type Instances, type InstanceStats } from './instances.js';
import { provisionLocal, type LocalResources, type LocalSecrets, type ProvisionOptions } from './provision.js';
import { startLocalServer, type LocalHandler, type LocalServer } from './server.js';
import type { FilterPattern } from './filter-pattern.js';
import { startStreamPoller, type StreamPoller, type StreamPollerOptions } from './stream-poller.js';

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
  const { bundles, cloudflare } = options;
  const resources = await provisionLocal(provisionOptions(options));
  const concurrency = options.concurrency ?? localConcurrency();
  const webhookEnv = webhookEnvironment(resources, options.webhookOverrides, cloudflare);
  let webhook = await warmInstances(bundles.webhook, webhookEnv, concurrency);
  const sweep = await importBundle<SweepHandler>(bundles.sweep, sweepEnvironment(resources, options.sweep, cloudflare));
  const paths = { images: webhookEnv[WebhookEnv.ImagesPath]!, stream: webhookEnv[WebhookEnv.StreamPath]! };
  const uploads = options.uploads && (await uploadRoute(bundles.uploads, resources, cloudflare, options.uploads, concurrency));
  // Whichever `webhook` is current: coldStartWebhook replaces it.
  const server = await serve(paths, (event, context) => webhook.invoke(event, context), uploads, options.port ?? 0);
  const relay = options.relay ? await startRelay(bundles.relay, resources, options.relay === true ? {} : options.relay) : undefined;

  return {
    url: server.url,
    port: server.port,
    imagesUrl: server.url + paths.images,
    streamUrl: server.url + paths.stream,
    ...(uploads && { uploadsUrl: server.url + UploadDefaults.path }),
    resources,
    ...(relay && { relay }),
    sweep: () => sweep({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString() }, lambdaContext('local-sweep', 120_000)),
    webhookInstances: () => webhook.stats(),
    coldStartWebhook: async () => {
      webhook = await warmInstances(bundles.webhook, webhookEnv, concurrency);
    },
    stop: async () => {
      await relay?.stop();
      await server.close();
    },
  };
}

function provisionOptions({ endpoint, prefix, secrets, cloudflare }: LocalStackOptions): ProvisionOptions {
  return {
    endpoint,
    prefix,
    ...(secrets && { secrets }),
    ...(cloudflare?.readToken && { readToken: cloudflare.readToken }),
    ...(cloudflare?.uploadsToken && { uploadsToken: cloudflare.uploadsToken }),
  };
}

/** Instances of a bundle's function, one of them started now: a bundle that cannot load fails here. */
async function warmInstances(entry: string, env: Record<string, string>, concurrency: number): Promise<Instances<Parameters<LocalHandler>, unknown>> {
  const instances = lambdaInstances({ create: () => importBundle<LocalHandler>(entry, env), concurrency });
  await instances.warm();
  return instances;
}

/** The HTTP API: the webhook routes, and `POST /uploads` with `uploads`; on a free port when `port` is taken. */
function serve(paths: { images: string; stream: string }, webhook: LocalHandler, uploads: LocalHandler | undefined, port: number): Promise<LocalServer> {
  const uploadsRoute = `POST ${UploadDefaults.path}`;
  const handler: LocalHandler = (event, context) => (uploads && event.routeKey === uploadsRoute ? uploads(event, context) : webhook(event, context));
  const routes = [`POST ${paths.images}`, `POST ${paths.stream}`, ...(uploads ? [uploadsRoute] : [])];
  return startLocalServer({ handler, routes, port }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRINUSE') throw error;
    return startLocalServer({ handler, routes, port: 0 });
  });
}

async function uploadRoute(entry: string, resources: LocalResources, cloudflare: LocalCloudflare | undefined, auth: LocalAuth, concurrency: number): Promise<LocalHandler> {
  const instances = await warmInstances(entry, uploadsEnvironment(resources, cloudflare), concurrency);
  return authorized(instances.invoke, auth);
}

/** The relay bundle behind Lambda's event source mapping, as the stack configures it (lib/stream-relay.ts). */
async function startRelay(entry: string, resources: LocalResources, settings: Exclude<LocalStackOptions['relay'], boolean | undefined>): Promise<StreamPoller> {
  if (!resources.streamArn || !resources.relayDlqUrl) throw new Error('the relay needs the table’s stream');
  const { env, ...poller } = settings;
  const relay = await importBundle<RelayHandler>(entry, relayEnvironment(resources, env));
  return startStreamPoller({ ...relayMapping(resources), handler: relay, functionName: 'local-relay', ...poller });
}

/** The relay's event source mapping as the stack configures it (lib/stream-relay.ts), on this table's stream. */
export function relayMapping(resources: LocalResources): Omit<StreamPollerOptions, 'handler'> {
  return {
    endpoint: resources.endpoint,
    streamArn: resources.streamArn!,
    filters: [RelayEventSource.filter as unknown as FilterPattern],
    startingPosition: 'TRIM_HORIZON',
    batchSize: RelayEventSource.batchSize,
    maxBatchingWindowMs: RelayEventSource.maxBatchingWindowSeconds * 1000,
    retryAttempts: RelayEventSource.retryAttempts,
    maxRecordAgeSeconds: RelayEventSource.maxRecordAgeSeconds,
    bisectBatchOnFunctionError: true,
    reportBatchItemFailures: true,
    onFailure: { queueUrl: resources.relayDlqUrl! },
  };
}
