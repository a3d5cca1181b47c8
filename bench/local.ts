/**
 * The stack as `npm start` and the integration tests run it (local/stack.ts: the shipped bundles,
 * each concurrent delivery on a Lambda-like instance of its own, the relay behind the stream
 * poller with the stack's own settings), against one emulator, in three phases:
 *
 * 1. Throughput: signed deliveries from a load generator in its own process, with a fixed number
 *    in flight, against the emulator's ceiling for the same work: the floor's calls on the same
 *    table with the same concurrency. Rounds alternate (ceiling, receiver, receiver, ceiling) so
 *    both share the emulator's warm-up and the machine's noise. Every item is seeded first as the
 *    upload route creates it, so each delivery is a transition, and each transition (either side's)
 *    a stream record the relay reads: its invocations, reads and durations are counted here.
 * 2. Calls: a second stack whose webhook reaches the emulator through a counting proxy
 *    (test/support/fault-proxy.ts): the SDK calls of a first delivery and of the same delivery again.
 * 3. Recovery: deliveries whose PutEvents fails at that proxy, so their writer gives up after its
 *    write and nobody delivers them again; the time from the failed publish to the event in a
 *    queue, brought there by the relay alone.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Defaults, TableDesign } from '../lambda/core/contract.js';
import { localClientConfig } from '../local/aws.js';
import { webhookEnvironment } from '../local/environments.js';
import { importBundle } from '../local/instances.js';
import { startLocalStack, type LocalBundles, type LocalStack } from '../local/stack.js';
import { startEmulator } from '../scripts/emulator.js';
import { startFaultProxy, type RecordedCall } from '../test/support/fault-proxy.js';
import { inPool } from '../test/support/sender.js';
import { benchDir, repoRoot } from './build.js';
import { benchSecrets, makeDeliveries, pendingItem, type Delivery } from './deliveries.js';
import { summarize, type Summary } from './stats.js';

const localSecrets = { images: [...benchSecrets.images], stream: [...benchSecrets.stream], toolkit: [...benchSecrets.toolkit] };

export interface LocalOptions {
  readonly throughput: { readonly perRound: number; readonly rounds: number; readonly concurrency: number };
  /** Deliveries counted in the calls phase (each sent twice). */
  readonly calls: number;
  /** Writers that die, one every `spacingMs`. */
  readonly recovery: { readonly deaths: number; readonly spacingMs: number };
}

export interface ThroughputSide {
  /** Deliveries per second over all rounds (total deliveries / total time). */
  readonly perSecond: number;
  readonly rounds: readonly number[];
}

export interface LocalResult {
  readonly throughput: { readonly receiver: ThroughputSide; readonly ceiling: ThroughputSide; readonly concurrency: number; readonly perRound: number };
  /** The relay over the throughput phase's transitions (both sides'). */
  readonly relay: {
    readonly transitions: number;
    readonly perSecond: number;
    readonly invocations: number;
    readonly calls: Record<string, number>;
    /** Invocations that waited for a live writer's lease. */
    readonly waited: number;
    readonly durationMs: Summary;
  };
  /** SDK calls per delivery, by operation; GetSecretValue per instance, apart. */
  readonly calls: { readonly deliveries: number; readonly first: Record<string, number>; readonly duplicate: Record<string, number>; readonly secretReadsPerInstance: number };
  readonly recovery: { readonly ms: Summary; readonly leaseMs: number; readonly events: number; readonly duplicates: number; readonly relayCallsPerEvent: Record<string, number> };
}

export async function measureLocal(bundles: LocalBundles, floorFile: string, options: LocalOptions, progress: (m: string) => void): Promise<LocalResult> {
  const emulator = await startEmulator();
  const quiet = muteLogs();
  try {
    progress(`  throughput: ${options.throughput.rounds} rounds × ${options.throughput.perRound} deliveries each side, concurrency ${options.throughput.concurrency}`);
    const { throughput, relay } = await throughputPhase(emulator.endpoint, bundles, floorFile, options.throughput, quiet.relayLines);
    progress(`  calls: ${options.calls} deliveries and their duplicates through a counting proxy`);
    const proxied = await proxiedStack(emulator.endpoint, bundles);
    try {
      const calls = await callsPhase(proxied, options.calls);
      progress(`  recovery: ${options.recovery.deaths} writers whose publish fails, one every ${options.recovery.spacingMs} ms`);
      const recovery = await recoveryPhase(proxied, options.recovery);
      return { throughput, relay, calls, recovery };
    } finally {
      await proxied.stop();
    }
  } finally {
    quiet.restore();
    await emulator.stop();
  }
}

/**
 * The functions log a line per invocation (stdout, and stderr at WARN and above), which is where
 * the bench reports: their JSON lines are dropped while this runs (on Lambda the runtime ships them
 * off the function's hands), except that the relay's are kept for their counts and durations (at
 * debug level: the usual invocation, with nothing left to publish, logs nothing above it).
 */
function muteLogs() {
  const relayLines: Record<string, unknown>[] = [];
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  const filter = (stream: NodeJS.WriteStream, original: typeof process.stdout.write) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const kept = text.split('\n').filter((line) => {
        if (!line.startsWith('{')) return true;
        if (line.includes('"message":"relay')) relayLines.push(JSON.parse(line) as Record<string, unknown>);
        return false;
      });
      return kept.join('') === '' ? true : original.call(stream, kept.join('\n'), ...(rest as []));
    }) as typeof process.stdout.write;
  process.stdout.write = filter(process.stdout, originals.stdout);
  process.stderr.write = filter(process.stderr, originals.stderr);
  return {
    relayLines,
    restore: () => {
      process.stdout.write = originals.stdout;
      process.stderr.write = originals.stderr;
    },
  };
}

async function throughputPhase(endpoint: string, bundles: LocalBundles, floorFile: string, options: LocalOptions['throughput'], relayLines: Record<string, unknown>[]) {
  const relayProxy = await startFaultProxy(endpoint);
  const stack = await startLocalStack({ endpoint, prefix: 'bench-tp', bundles, secrets: localSecrets, concurrency: options.concurrency, relay: { env: { AWS_ENDPOINT_URL: relayProxy.url, POWERTOOLS_LOG_LEVEL: 'DEBUG' } } });
  try {
    const floor = await importBundle<(id: string) => Promise<void>>(floorFile, webhookEnvironment(stack.resources));
    const receiverRound = async (label: string, count: number) => {
      const deliveries = makeDeliveries(count, `tp-${label}`);
      await seed(stack, deliveries);
      return loadRun(stack.url, deliveries, options.concurrency, 'transitioned');
    };
    const ceilingRound = async (label: string, count: number) => {
      const items = Array.from({ length: count }, (_, i) => ({ id: `img-tp-${label}-${i}`, kind: 'image' as const }));
      await seed(stack, items);
      const started = performance.now();
      await inPool(items.map(({ id }) => () => floor(id)), options.concurrency);
      return performance.now() - started;
    };
    // Warm-up of both paths (first calls, the emulator's first writes to a fresh table).
    await ceilingRound('warm', Math.ceil(options.perRound / 5));
    await receiverRound('warm', Math.ceil(options.perRound / 5));
    await stack.relay!.caughtUp(60_000);

    const before = { invocations: stack.relay!.stats.invocations, calls: relayProxy.calls.length, lines: relayLines.length, at: performance.now() };
    const receiver: number[] = [];
    const ceiling: number[] = [];
    const pattern = ['ceiling', 'receiver', 'receiver', 'ceiling'] as const;
    for (let r = 0; receiver.length < options.rounds || ceiling.length < options.rounds; r++) {
      const which = pattern[r % 4]!;
      if (which === 'receiver' && receiver.length < options.rounds) receiver.push(await receiverRound(`r${r}`, options.perRound));
      if (which === 'ceiling' && ceiling.length < options.rounds) ceiling.push(await ceilingRound(`c${r}`, options.perRound));
    }
    const seconds = (performance.now() - before.at) / 1000;
    await stack.relay!.caughtUp(60_000);
    const lines = relayLines.slice(before.lines);
    const transitions = 2 * options.rounds * options.perRound;
    const side = (list: number[]): ThroughputSide => ({
      perSecond: (options.perRound * list.length) / (list.reduce((a, b) => a + b, 0) / 1000),
      rounds: list.map((m) => options.perRound / (m / 1000)),
    });
    return {
      throughput: { receiver: side(receiver), ceiling: side(ceiling), concurrency: options.concurrency, perRound: options.perRound },
      relay: {
        transitions,
        perSecond: transitions / seconds,
        invocations: stack.relay!.stats.invocations - before.invocations,
        calls: sdkCalls(relayProxy.calls.slice(before.calls)),
        waited: lines.filter((l) => Number(l.waited) > 0).length,
        durationMs: summarize(lines.map((l) => Number(l.durationMs))),
      },
    };
  } finally {
    await stack.stop();
    await relayProxy.close();
  }
}

/** The stack again, its webhook and its relay each behind a counting proxy of its own. */
async function proxiedStack(endpoint: string, bundles: LocalBundles) {
  const webhookProxy = await startFaultProxy(endpoint);
  const relayProxy = await startFaultProxy(endpoint);
  const stack = await startLocalStack({
    endpoint,
    prefix: 'bench-calls',
    bundles,
    secrets: localSecrets,
    webhookOverrides: { AWS_ENDPOINT_URL: webhookProxy.url },
    relay: { env: { AWS_ENDPOINT_URL: relayProxy.url } },
  });
  return {
    stack,
    webhookProxy,
    relayProxy,
    stop: async () => {
      await stack.stop();
      await Promise.all([webhookProxy.close(), relayProxy.close()]);
    },
  };
}

type Proxied = Awaited<ReturnType<typeof proxiedStack>>;

/** Each delivery once, then again: one after the other, so one instance serves them all. */
async function callsPhase({ stack, webhookProxy }: Proxied, count: number): Promise<LocalResult['calls']> {
  const deliveries = makeDeliveries(count, 'calls');
  await seed(stack, deliveries);
  const perDelivery = async (outcome: string) => {
    webhookProxy.reset();
    await loadRun(stack.url, deliveries, 1, outcome);
    const { GetSecretValue = 0, ...calls } = sdkCalls(webhookProxy.calls);
    return { calls: Object.fromEntries(Object.entries(calls).map(([op, n]) => [op, n / count])), secretReads: GetSecretValue };
  };
  const first = await perDelivery('transitioned');
  const duplicate = await perDelivery('duplicate');
  return { deliveries: count, first: first.calls, duplicate: duplicate.calls, secretReadsPerInstance: first.secretReads / stack.webhookInstances().started };
}

/** SDK calls per operation: attempts of one call (the same invocation id) counted once. */
function sdkCalls(calls: readonly RecordedCall[]): Record<string, number> {
  const seen = new Map<string, string>();
  for (const call of calls) seen.set(call.invocationId, call.operation);
  const counts: Record<string, number> = {};
  for (const operation of seen.values()) counts[operation] = (counts[operation] ?? 0) + 1;
  return counts;
}

async function recoveryPhase({ stack, webhookProxy, relayProxy }: Proxied, options: LocalOptions['recovery']): Promise<LocalResult['recovery']> {
  const deliveries = makeDeliveries(options.deaths, 'die');
  await seed(stack, deliveries);
  await stack.relay!.caughtUp(60_000);
  const diedAt = new Map<string, number>();
  webhookProxy.setPolicy((call) => {
    const id = call.operation === 'PutEvents' ? /(?:img|vid)-die-\d+/.exec(call.body.toString('utf8'))?.[0] : undefined;
    if (id === undefined) return undefined;
    if (!diedAt.has(id)) diedAt.set(id, performance.now());
    return { type: 'failed-entry' };
  });
  const relayCallsBefore = relayProxy.calls.length;
  const watch = watchQueue(stack, new Set(deliveries.map((d) => d.id)));
  for (const delivery of deliveries) {
    const response = await fetch(stack.url + delivery.request.path, { method: 'POST', headers: delivery.request.headers, body: delivery.request.body });
    if (response.status !== 500) throw new Error(`recovery: a delivery whose publish fails answered ${response.status}: ${await response.text()}`);
    await sleep(options.spacingMs);
  }
  const arrivals = await watch.until(Defaults.publishLeaseMs + 30_000);
  await stack.relay!.caughtUp(60_000);
  const latencies = [...diedAt].map(([id, died]) => {
    const arrived = arrivals.get(id);
    if (!arrived) throw new Error(`recovery: the event of ${id} never reached the queue`);
    return arrived[0]! - died;
  });
  const relayCalls = sdkCalls(relayProxy.calls.slice(relayCallsBefore));
  return {
    ms: summarize(latencies),
    leaseMs: Defaults.publishLeaseMs,
    events: latencies.length,
    duplicates: [...arrivals.values()].reduce((n, times) => n + times.length - 1, 0),
    relayCallsPerEvent: Object.fromEntries(Object.entries(relayCalls).map(([op, n]) => [op, n / latencies.length])),
  };
}

/** Reads the stack's watch queue (every event on its bus) and notes when each awaited item's events arrive. */
function watchQueue(stack: LocalStack, awaited: ReadonlySet<string>) {
  const sqs = new SQSClient(localClientConfig(stack.resources.endpoint));
  const arrivals = new Map<string, number[]>();
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.resources.watchQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      const now = performance.now();
      for (const message of Messages) {
        const id = (JSON.parse(message.Body!) as { detail?: { id?: string } }).detail?.id;
        if (id !== undefined && awaited.has(id)) arrivals.set(id, [...(arrivals.get(id) ?? []), now]);
      }
      if (Messages.length > 0) {
        const Entries = Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! }));
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: stack.resources.watchQueueUrl, Entries }));
      }
    }
  })();
  return {
    /** Resolves when every awaited item has an event and two more seconds passed (for duplicates), or at the deadline. */
    until: async (timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      while (arrivals.size < awaited.size && performance.now() < deadline) await sleep(100);
      await sleep(2000);
      stopping = true;
      await loop;
      sqs.destroy();
      return arrivals;
    },
  };
}

/** Items as the upload route creates them (pending, version 0, in the table's indexes). */
async function seed(stack: LocalStack, items: readonly { id: string; kind: 'image' | 'video' }[]): Promise<void> {
  const client = new DynamoDBClient(localClientConfig(stack.resources.endpoint));
  try {
    for (let i = 0; i < items.length; i += 25) {
      const batch = items.slice(i, i + 25).map(({ id, kind }) => ({ PutRequest: { Item: { ...pendingItem(id, kind), [TableDesign.partitionKey]: { S: id } } as Record<string, any> } }));
      await client.send(new BatchWriteItemCommand({ RequestItems: { [stack.resources.tableName]: batch } }));
    }
  } finally {
    client.destroy();
  }
}

/** The load generator in its own process; resolves with the elapsed ms, after checking every answer. */
async function loadRun(url: string, deliveries: readonly Delivery[], concurrency: number, outcome: string): Promise<number> {
  const input = join(repoRoot, '.build', 'bench', 'load-input.json');
  writeFileSync(input, JSON.stringify({ url, concurrency, requests: deliveries.map((d) => d.request) }));
  const child = spawn(process.execPath, [join(benchDir, 'child', 'load.mjs'), input], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const result = JSON.parse(out) as { elapsedMs: number; statuses: Record<string, number>; outcomes: Record<string, number> };
  if (result.statuses['200'] !== deliveries.length || result.outcomes[outcome] !== deliveries.length) {
    throw new Error(`local run: not every delivery was a 200 ${outcome}: ${JSON.stringify(result)}`);
  }
  return result.elapsedMs;
}
