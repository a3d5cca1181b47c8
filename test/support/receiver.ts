/**
 * The whole receiver running locally for integration tests: the stack `npm start` runs
 * (local/stack.ts), built bundles and all, against resources of its own in the emulator.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { WebhookEnvOverrides } from '../../local/environments.js';
import type { InstanceStats } from '../../local/instances.js';
import type { LocalResources, LocalSecrets } from '../../local/provision.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.js';
import type { BuiltAssets } from '../../scripts/build.js';
import { startEmulator, type Emulator } from '../../scripts/emulator.js';
import { repoRoot } from '../../scripts/root.js';

/** The functions' log lines only when asked for (POWERTOOLS_LOG_LEVEL), for suites that make them fail on purpose. */
export const QUIET = { POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT' };

export interface ReceiverOptions {
  overrides?: WebhookEnvOverrides;
  secrets?: Partial<LocalSecrets>;
  /** An emulator the test started itself (a heavy suite off the shared one); the caller stops it. */
  emulator?: Emulator;
  /** Most instances of the bundle at once; npm start's (LOCAL_CONCURRENCY, default 8) unless given. */
  concurrency?: number;
  /** Runs the stream relay as npm start does (local/stack.ts). @default off, so a test sees only its own deliveries' publishing */
  relay?: LocalStackOptions['relay'];
  /** The stand-in of Cloudflare's API the webhook confirms with, and the read token it holds. @default none */
  cloudflare?: LocalStackOptions['cloudflare'];
  /** Serves `POST /uploads` with this authorizer. @default no upload route */
  uploads?: LocalStackOptions['uploads'];
  sweep?: LocalStackOptions['sweep'];
}

export interface Receiver {
  url: string;
  imagesUrl: string;
  streamUrl: string;
  resources: LocalResources;
  endpoint: string;
  stop(): Promise<void>;
}

/** A receiver `startReceiver` runs: the whole local stack (local/stack.ts) and how many instances it started. */
export interface LocalReceiver extends Receiver, Omit<LocalStack, 'stop' | 'webhookInstances' | 'url' | 'imagesUrl' | 'streamUrl' | 'resources'> {
  instances(): InstanceStats;
}

// Read once: receivers later set AWS_ENDPOINT_URL themselves, for the bundle's SDK clients.
const sharedEndpoint = process.env.AWS_ENDPOINT_URL;
let own: { emulator: Promise<Emulator>; users: number } | undefined;

/**
 * The emulator `npm test` started or, when a test file runs alone, one per process shared by
 * its receivers: the SDK reads AWS_ENDPOINT_URL lazily from the one process.env they share.
 */
export async function connectEmulator(): Promise<Emulator> {
  if (sharedEndpoint) return { endpoint: sharedEndpoint, stop: async () => {} };

  own ??= { emulator: startEmulator(), users: 0 };
  const current = own;
  current.users++;
  const emulator = await current.emulator.catch((error: unknown) => {
    if (own === current) own = undefined;
    throw error;
  });
  return {
    endpoint: emulator.endpoint,
    stop: async () => {
      if (--current.users > 0) return;
      if (own === current) own = undefined;
      await emulator.stop();
    },
  };
}

let receivers = 0;

export async function startReceiver(options: ReceiverOptions = {}): Promise<LocalReceiver> {
  const emulator = options.emulator ? { endpoint: options.emulator.endpoint, stop: async () => {} } : await connectEmulator();
  try {
    const bundles = await builtBundles();
    const stack = await startLocalStack({
      endpoint: emulator.endpoint,
      prefix: `t${process.pid}-${++receivers}-${randomBytes(3).toString('hex')}`,
      bundles: { webhook: bundles.webhook.entry, uploads: bundles.uploads.entry, sweep: bundles.sweep.entry, relay: bundles.relay.entry },
      ...(options.secrets && { secrets: options.secrets }),
      ...(options.overrides && { webhookOverrides: options.overrides }),
      ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
      ...(options.relay !== undefined && { relay: options.relay }),
      ...(options.cloudflare && { cloudflare: options.cloudflare }),
      ...(options.uploads && { uploads: options.uploads }),
      ...(options.sweep && { sweep: options.sweep }),
    });
    return {
      ...stack,
      endpoint: emulator.endpoint,
      instances: stack.webhookInstances,
      stop: async () => {
        await stack.stop();
        await emulator.stop();
      },
    };
  } catch (error) {
    await emulator.stop();
    throw error;
  }
}

type Bundles = Required<Pick<BuiltAssets, 'webhook' | 'uploads' | 'sweep' | 'relay'>>;

/** The bundles `npm test` built (.build/assets.json), or built now when a test file runs alone. */
export async function builtBundles(): Promise<Bundles> {
  let assets: BuiltAssets | undefined;
  try {
    assets = JSON.parse(await readFile(join(repoRoot, '.build', 'assets.json'), 'utf8')) as BuiltAssets;
  } catch {
    // Run without `npm test`: nothing has built the bundles yet.
  }
  if (!assets?.uploads || !assets.sweep || !assets.relay) {
    const { buildAssets } = await import('../../scripts/build.js');
    assets = await buildAssets();
  }
  const abs = (entry: string) => (isAbsolute(entry) ? entry : resolve(repoRoot, entry));
  return {
    webhook: { ...assets.webhook, entry: abs(assets.webhook.entry) },
    uploads: { ...assets.uploads!, entry: abs(assets.uploads!.entry) },
    sweep: { ...assets.sweep!, entry: abs(assets.sweep!.entry) },
    relay: { ...assets.relay!, entry: abs(assets.relay!.entry) },
  };
}

export interface BrokenBusPair {
  readonly broken: Receiver;
  readonly healthy: Receiver;
  stop(): Promise<void>;
}

/**
 * Two receivers on one table: `broken` publishes to a bus that does not exist, `healthy` works
 * (a retry of Cloudflare's landing on a healthy instance) and takes over unpublished events fast.
 */
export async function startBrokenBusPair(): Promise<BrokenBusPair> {
  const broken = await startReceiver({ overrides: { EVENT_BUS_NAME: 'no-such-bus', PUBLISH_LEASE_MS: 200 } });
  const healthy = await startReceiver({ overrides: { TABLE_NAME: broken.resources.tableName, PUBLISH_LEASE_MS: 200 }, secrets: broken.resources.secrets });
  return {
    broken,
    healthy,
    stop: async () => {
      await broken.stop();
      await healthy.stop();
    },
  };
}
