/**
 * Local end-to-end throughput: what `npm start` runs (scripts/start.ts: the emulator, resources
 * provisioned in it, the shipped bundle behind the local HTTP API), driven by signed deliveries
 * with a fixed concurrency from a separate process; against the emulator's own ceiling for the
 * same work: the floor's calls (GetSecretValue once, then GetItem, UpdateItem, PutEvents,
 * UpdateItem per delivery) made directly against the same emulator with the same concurrency.
 * Rounds alternate (ceiling, receiver, receiver, ceiling, …) so both share the emulator's warm-up
 * and the machine's noise. Every item is seeded first as the upload route creates it (pending,
 * version 0, in the table's indexes), so each delivery is a transition.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TableDesign, WebhookEnv } from '../lambda/core/contract';
import { localClientConfig } from '../local/aws';
import { provisionLocal } from '../local/provision';
import { webhookEnvironment } from '../local/environments';
import { startLocalServer, type LocalHandler } from '../local/server';
import { startEmulator } from '../scripts/emulator';
import { inPool } from '../test/support/sender';
import { benchDir, repoRoot } from './build';
import { benchSecrets, makeDeliveries, pendingItem, type Delivery } from './deliveries';

export interface ThroughputOptions {
  readonly perRound: number;
  readonly rounds: number;
  readonly concurrency: number;
}

export interface ThroughputSide {
  /** Deliveries per second over all rounds (total deliveries / total time). */
  readonly perSecond: number;
  readonly rounds: readonly number[];
}

export interface ThroughputResult {
  readonly receiver: ThroughputSide;
  readonly ceiling: ThroughputSide;
  readonly concurrency: number;
  readonly perRound: number;
  readonly emulatorStartMs: number;
}

export async function measureThroughput(files: { handler: string; floor: string }, options: ThroughputOptions): Promise<ThroughputResult> {
  const started = Date.now();
  const emulator = await startEmulator();
  const emulatorStartMs = Date.now() - started;
  let server: Awaited<ReturnType<typeof startLocalServer>> | undefined;
  const saved = { ...process.env };
  const stdoutWrite = process.stdout.write;
  try {
    const resources = await provisionLocal({
      endpoint: emulator.endpoint,
      prefix: 'bench',
      secrets: { images: [...benchSecrets.images], stream: [...benchSecrets.stream], toolkit: [...benchSecrets.toolkit] },
    });
    // As scripts/start.ts does: the bundle reads its configuration from process.env as it loads.
    const env = webhookEnvironment(resources);
    Object.assign(process.env, env, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    const { handler } = (await import(`${pathToFileURL(files.handler).href}?bench=throughput`)) as { handler: LocalHandler };
    const floor = (await import(`${pathToFileURL(files.floor).href}?bench=throughput`)) as { handler: (id: string) => Promise<void> };
    const routes = [`POST ${env[WebhookEnv.ImagesPath]}`, `POST ${env[WebhookEnv.StreamPath]}`];
    // The function logs a line per delivery to stdout, which is the bench's report: drop them
    // while this runs (on Lambda the runtime ships them off the function's hands).
    process.stdout.write = (() => true) as typeof process.stdout.write;
    server = await startLocalServer({ handler, routes });

    const client = new DynamoDBClient(localClientConfig(emulator.endpoint));
    const seed = async (ids: { id: string; kind: 'image' | 'video' }[]) => {
      for (let i = 0; i < ids.length; i += 25) {
        const batch = ids.slice(i, i + 25).map(({ id, kind }) => ({
          PutRequest: { Item: { ...pendingItem(id, kind), [TableDesign.partitionKey]: { S: id } } as Record<string, any> },
        }));
        await client.send(new BatchWriteItemCommand({ RequestItems: { [resources.tableName]: batch } }));
      }
    };

    const receiverRound = async (label: string, count: number) => {
      const deliveries = makeDeliveries(count, `tp-${label}`);
      for (const d of deliveries) {
        if (!routes.includes(`POST ${d.request.path}`)) throw new Error(`delivery path ${d.request.path} is not a route of the local API`);
      }
      await seed(deliveries);
      return loadRun(server!.url, deliveries, options.concurrency);
    };
    const ceilingRound = async (label: string, count: number) => {
      const ids = Array.from({ length: count }, (_, i) => ({ id: `img-tp-${label}-${i}`, kind: 'image' as const }));
      await seed(ids);
      const t0 = performance.now();
      await inPool(ids.map(({ id }) => () => floor.handler(id)), options.concurrency);
      return performance.now() - t0;
    };

    // Warm-up of both paths (first calls, the emulator's first writes to a fresh table).
    await ceilingRound('warm', Math.ceil(options.perRound / 5));
    await receiverRound('warm', Math.ceil(options.perRound / 5));

    const receiver: number[] = [];
    const ceiling: number[] = [];
    const pattern = ['ceiling', 'receiver', 'receiver', 'ceiling'] as const;
    for (let r = 0; receiver.length < options.rounds || ceiling.length < options.rounds; r++) {
      const which = pattern[r % 4]!;
      if (which === 'receiver' && receiver.length < options.rounds) receiver.push(await receiverRound(`r${r}`, options.perRound));
      if (which === 'ceiling' && ceiling.length < options.rounds) ceiling.push(await ceilingRound(`c${r}`, options.perRound));
    }
    const side = (ms: number[]): ThroughputSide => ({
      perSecond: (options.perRound * ms.length) / (ms.reduce((a, b) => a + b, 0) / 1000),
      rounds: ms.map((m) => options.perRound / (m / 1000)),
    });
    return { receiver: side(receiver), ceiling: side(ceiling), concurrency: options.concurrency, perRound: options.perRound, emulatorStartMs };
  } finally {
    process.stdout.write = stdoutWrite;
    await server?.close();
    await emulator.stop();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** The load generator in its own process; resolves with the elapsed ms, after checking every answer. */
async function loadRun(url: string, deliveries: readonly Delivery[], concurrency: number): Promise<number> {
  const input = join(repoRoot, '.build', 'bench', 'load-input.json');
  writeFileSync(input, JSON.stringify({ url, concurrency, requests: deliveries.map((d) => d.request) }));
  const child = spawn(process.execPath, [join(benchDir, 'child', 'load.mjs'), input], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const result = JSON.parse(out) as { elapsedMs: number; statuses: Record<string, number>; outcomes: Record<string, number> };
  if (result.statuses['200'] !== deliveries.length || result.outcomes.transitioned !== deliveries.length) {
    throw new Error(`throughput run: not every delivery was a 200 transition: ${JSON.stringify(result)}`);
  }
  return result.elapsedMs;
}
