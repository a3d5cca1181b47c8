/**
 * `npm run bench`: what the webhook and relay functions cost, each figure against a floor
 * measured in the same run. A benchmark, not a test: it reports and never fails on a time (it
 * fails only when it cannot measure, e.g. a delivery that does not transition).
 *
 *   npm run bench                   full run (about 5 minutes on 2 cores)
 *   npm run bench -- --quick        fewer samples, for a smoke check (figures are noisier)
 *
 * Writes bench/results/latest.json (for comparing commits) and bench/results/latest.md.
 * Method, floors and the cost model: docs/PERFORMANCE.md. bench/report.ts lays the tables out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkJsonScan, parseMicros, VARIANTS } from './attribution.js';
import { benchDir, buildVariant, shippedBundles, type Bundle, type ShippedBundles } from './build.js';
import { measureCliStart } from './cli-start.js';
import { coldOnce, measureCold, type ColdSubject } from './cold.js';
import { costModel } from './cost.js';
import { benchSecrets, lambdaEnvironment, makeDeliveries, pendingItem, streamEvent } from './deliveries.js';
import { measureLocal, type LocalResult } from './local.js';
import { report, type Measurements } from './report.js';
import { readStackFacts, type StackFacts } from './stack.js';
import { standingReport } from './standing.js';
import { startStub, type StubReport } from './stub.js';
import { measureWarm, type WarmResult } from './warm.js';

const quick = process.argv.includes('--quick');
const SETTINGS = quick
  ? { coldRounds: 8, warmMeasured: 600, warmup: 100, block: 20, soak: 200, cliRounds: 8, cliRebuilds: 1, local: { throughput: { perRound: 25, rounds: 2, concurrency: 8 }, calls: 12, recovery: { deaths: 10, spacingMs: 400 } } }
  : { coldRounds: 21, warmMeasured: 2000, warmup: 200, block: 20, soak: 1000, cliRounds: 15, cliRebuilds: 3, local: { throughput: { perRound: 50, rounds: 4, concurrency: 8 }, calls: 30, recovery: { deaths: 40, spacingMs: 400 } } };

export interface Bundles {
  readonly shipped: ShippedBundles;
  readonly floor: Bundle;
  readonly relayFloor: Bundle;
  readonly variants: ReadonlyMap<string, Bundle>;
}

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  progress('synthesizing the stack and building the floors and the variant');
  const bundles = await buildBundles();
  const stack = readStackFacts(bundles.shipped.templates, { webhook: bundles.shipped.assetNames.webhook!, relay: bundles.shipped.assetNames.relay! });
  progress(`json-scan variant: reads ${checkJsonScan()} bodies of its corpus as lambda/core/json.ts does`);

  const { cold, soak, warm, stubReport } = await againstTheStub(bundles, stack);
  progress('local stack (local/stack.ts) against the emulator');
  const local = await measureLocal(bundles.shipped.entries, bundles.floor.file, SETTINGS.local, progress);
  progress(`cli start: ${SETTINGS.cliRounds} pairs of npm run cli -- --help and node -e 0, ${SETTINGS.cliRebuilds} first calls after a change`);
  const cliStart = await measureCliStart(SETTINGS.cliRounds, SETTINGS.cliRebuilds);

  const cost = costModel(costInputs(cold, soak, warm, stubReport, local), stack);
  progress('standing cost: synthesizing the default stack and each option that changes it');
  const standing = standingReport(cost.totalPerMillion);
  const m: Measurements = { started, settings: SETTINGS, quick, bundles, stack, cold, soak, warm, local, cliStart, cost, standing, parse: parseMicros() };
  const result = report(m);
  const dir = join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(result.json, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), result.markdown);
  process.stdout.write(result.text);
  progress(`done in ${result.json.durationSeconds} s; wrote bench/results/latest.json and latest.md`);
}

async function buildBundles(): Promise<Bundles> {
  const shipped = await shippedBundles();
  const floor = await buildVariant({ name: 'floor', entry: 'bench/floor/sdk.ts' });
  const relayFloor = await buildVariant({ name: 'relay-floor', entry: 'bench/floor/relay-sdk.ts' });
  const variants = new Map<string, Bundle>();
  for (const v of VARIANTS) variants.set(v.name, await buildVariant(v));
  return { shipped, floor, relayFloor, variants };
}

/** Cold starts in fresh processes and warm invocations in one, all against the instant loopback stub. */
async function againstTheStub(bundles: Bundles, stack: StackFacts) {
  const stub = await startStub(JSON.stringify(benchSecrets), '^(img|vid)-webhook-[0-2]$');
  try {
    const env = lambdaEnvironment(stub.endpoint, stack.memoryMB, stack.environment);
    const coldEnv = { ...env, BENCH_EVENT: JSON.stringify(makeDeliveries(1, 'cold')[0]!.event), BENCH_STREAM_EVENT: JSON.stringify(streamEvent(['img-cold'])) };
    const subjects: ColdSubject[] = [
      { name: 'floor', file: bundles.floor.file, first: 'floor' },
      { name: 'webhook', file: bundles.shipped.webhook.file, first: 'webhook', pairWith: 'floor' },
      { name: 'relay-floor', file: bundles.relayFloor.file, first: 'floor' },
      { name: 'relay', file: bundles.shipped.relay.file, first: 'relay', pairWith: 'relay-floor' },
      ...VARIANTS.map((v) => ({ name: v.name, file: bundles.variants.get(v.name)!.file, first: 'webhook' as const, pairWith: 'floor' })),
    ];
    progress(`cold import: ${SETTINGS.coldRounds} rounds × ${subjects.length} bundles, fresh processes, each paired with a sample of its floor`);
    const cold = await measureCold(subjects, SETTINGS.coldRounds, coldEnv, (r) => r % 5 === 0 && progress(`  round ${r}/${SETTINGS.coldRounds}`));
    const soak = await coldOnce({ name: 'webhook', file: bundles.shipped.webhook.file, first: 'webhook' }, { ...coldEnv, BENCH_REPEAT: String(SETTINGS.soak) });

    const measured = SETTINGS.warmMeasured;
    const warmSubjects = [
      { name: 'webhook', file: bundles.shipped.webhook.file, type: 'webhook' as const, measured },
      { name: 'floor', file: bundles.floor.file, type: 'floor' as const, measured },
      { name: 'relay', file: bundles.shipped.relay.file, type: 'relay' as const, measured },
      { name: 'relay-floor', file: bundles.relayFloor.file, type: 'floor' as const, measured },
    ];
    progress(`warm: ${measured} invocations of each of ${warmSubjects.length} subjects after ${SETTINGS.warmup} to warm up, stub on ${stub.endpoint}`);
    const warm = await measureWarm(warmSubjects, SETTINGS, env);
    return { cold, soak, warm, stubReport: await stub.report() };
  } finally {
    await stub.stop();
  }
}

function costInputs(cold: Measurements['cold'], soak: Measurements['soak'], warm: WarmResult, stubReport: StubReport, local: LocalResult) {
  const webhook = warm.subjects.webhook!;
  const relay = warm.subjects.relay!;
  const relayRun = local.relay;
  return {
    warmCpuMs: webhook.cpuMs,
    warmWallMs: webhook.ms.median,
    coldBootMs: cold.webhook!.bootMs.median,
    coldImportMs: cold.webhook!.importMs.median,
    coldFirstMs: cold.webhook!.firstMs!.median,
    steadyRssMB: soak.maxRssMB,
    appLogBytes: webhook.log.bytesPerDelivery,
    appLogLines: webhook.log.linesPerDelivery,
    ...(webhook.log.sample ? { appLogSample: webhook.log.sample } : {}),
    transitionWrites: stubReport.samples.filter((s) => s.target.endsWith('.UpdateItem')).map((s) => s.body),
    calls: local.calls.first,
    eventsPerDelivery: 1,
    pendingItem: (id: string) => pendingItem(id, id.startsWith('vid-') ? 'video' : 'image'),
    relay: {
      cpuMs: relay.cpuMs,
      warmWallMs: relay.ms.median,
      coldBootMs: cold.relay!.bootMs.median,
      coldImportMs: cold.relay!.importMs.median,
      coldFirstMs: cold.relay!.firstMs!.median,
      appLogBytes: relay.log.bytesPerDelivery,
      appLogLines: relay.log.linesPerDelivery,
      readsPerTransition: (relayRun.calls.GetItem ?? 0) / relayRun.transitions,
      busyInvocationsPerTransition: relayRun.invocations / relayRun.transitions,
      busyRatePerSecond: relayRun.perSecond,
    },
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
