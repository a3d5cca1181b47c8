/**
 * `npm run bench`: what the webhook function costs, each figure against a floor measured in the
 * same run. A benchmark, not a test: it reports and never fails on a time (it fails only when
 * it cannot measure, e.g. a delivery that does not transition).
 *
 *   npm run bench                   full run (4–4½ min on 2 cores)
 *   npm run bench -- --quick        fewer samples, for a smoke check (figures are noisier)
 *   npm run bench -- --all-variants also the finer attribution rows (logger and metrics apart, …)
 *
 * Writes bench/results/latest.json (for comparing commits) and bench/results/latest.md.
 * Method, floors and the cost model: docs/PERFORMANCE.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchDir, buildVariant, shippedBundle, type Bundle, type ShippedBundle, type VariantSpec } from './build';
import { measureCliStart, type CliStartResult } from './cli-start';
import { measureCold, coldOnce, type ColdResult } from './cold';
import { ASSUMPTIONS, costModel, PRICE_SOURCES, type CostModel } from './cost';
import { benchSecrets, lambdaEnvironment, makeDeliveries, pendingItem } from './deliveries';
import { readStackFacts } from './stack';
import { standingMarkdown, standingReport, standingText, type StandingReport } from './standing';
import { round, roundSummary } from './stats';
import { startStub } from './stub';
import { measureThroughput, type ThroughputResult } from './throughput';
import { measureWarm, type WarmResult } from './warm';

const TARGETS = { bundleBytes: 420_000, coldImportRatio: 1.15, warmP50Ratio: 1.1, throughputRatio: 0.9, dollarsPerMillion: 3.5 };

const quick = process.argv.includes('--quick');
const SETTINGS = quick
  ? { coldRounds: 8, warmMeasured: 600, warmup: 100, block: 20, throughput: { perRound: 25, rounds: 2, concurrency: 8 }, soak: 200, cliRounds: 8, cliRebuilds: 1 }
  : { coldRounds: 21, warmMeasured: 2000, warmup: 200, block: 20, throughput: { perRound: 50, rounds: 4, concurrency: 8 }, soak: 1000, cliRounds: 15, cliRebuilds: 3 };

/** Attribution: the shipped entry with one choice changed each, built with the same settings. */
const LOGGER = { 'lambda/adapters/log': 'bench/variants/console-logger.ts' };
const METRICS = { '@aws-lambda-powertools/metrics': 'bench/variants/emf-metrics.ts' };
const allVariants = process.argv.includes('--all-variants');
/** `extra`: only with --all-variants (each adds ~20 s of cold-start pairs). */
const VARIANT_LIST: readonly (VariantSpec & { readonly label: string; readonly warm: boolean; readonly extra?: boolean })[] = [
  { name: 'no-pt-logger', label: 'Powertools Logger → 70-line JSON logger', entry: 'lambda/webhook/handler.ts', swap: LOGGER, warm: false, extra: true },
  { name: 'no-pt-metrics', label: 'Powertools Metrics → 60-line EMF writer', entry: 'lambda/webhook/handler.ts', swap: METRICS, warm: false, extra: true },
  // The bare DynamoDB client (the other measured lever) ships in lambda/adapters/store.ts: what is left is
  // Powertools, kept on purpose (issue 7); this row is what it costs, measured with the warm side too.
  {
    name: 'no-powertools',
    label: 'without Powertools: both packages → console-logger.ts + emf-metrics.ts (not shipped)',
    entry: 'lambda/webhook/handler.ts',
    swap: { ...LOGGER, ...METRICS },
    warm: true,
  },
  { name: 'zod-classic', label: "zod/mini → import * as z from 'zod'", entry: 'lambda/webhook/handler.ts', swap: { 'zod/mini': 'bench/variants/zod-classic.ts' }, warm: false },
  { name: 'zod-named', label: "zod/mini → import { z } from 'zod'", entry: 'lambda/webhook/handler.ts', swap: { 'zod/mini': 'bench/variants/zod-named.ts' }, warm: false },
  { name: 'no-en-locale', label: 'without zod English messages (en locale)', entry: 'lambda/webhook/handler.ts', swap: { 'zod/v4/locales/en.js': 'bench/variants/zod-no-locale.ts' }, warm: false, extra: true },
  { name: 'parse-lazy', label: 'zod and schemas evaluated on first delivery, not at load', entry: 'lambda/webhook/handler.ts', swap: { 'lambda/webhook/parse': 'bench/variants/parse-lazy.ts' }, warm: false },
  {
    name: 'no-powertools-lazy',
    label: 'without Powertools + zod and schemas on first delivery',
    entry: 'lambda/webhook/handler.ts',
    swap: { ...LOGGER, ...METRICS, 'lambda/webhook/parse': 'bench/variants/parse-lazy.ts' },
    warm: false,
    extra: true,
  },
];
const VARIANTS = VARIANT_LIST.filter((v) => allVariants || !v.extra);

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  // 1. Bundles.
  progress('synthesizing the stack and building floor and variants');
  const shipped = await shippedBundle();
  const stack = readStackFacts(shipped.templates, shipped.assetName);
  const floor = await buildVariant({ name: 'floor', entry: 'bench/floor/sdk.ts' });
  const empty = await buildVariant({ name: 'empty', entry: 'bench/floor/empty.ts' });
  const variants = new Map<string, Bundle>();
  for (const v of VARIANTS) variants.set(v.name, await buildVariant(v));

  const stub = await startStub(JSON.stringify(benchSecrets), '^(img|vid)-shipped-[0-2]$');
  try {
    const env = lambdaEnvironment(stub.endpoint, stack.memoryMB, stack.environment);

    // 2. Cold import (and first delivery), fresh processes, interleaved.
    const coldSubjects = [
      { name: 'empty', file: empty.file, first: 'none' as const, paired: false },
      { name: 'floor', file: floor.file, first: 'floor' as const },
      { name: 'shipped', file: shipped.file, first: 'webhook' as const },
      ...VARIANTS.map((v) => ({ name: v.name, file: variants.get(v.name)!.file, first: 'webhook' as const })),
    ];
    progress(`cold import: ${SETTINGS.coldRounds} rounds × ${coldSubjects.length} bundles, fresh processes, each paired with a floor sample`);
    const coldEnv = { ...env, BENCH_EVENT: JSON.stringify(makeDeliveries(1, 'cold')[0]!.event) };
    const cold = await measureCold(coldSubjects, SETTINGS.coldRounds, coldEnv, {
      reference: 'floor',
      onRound: (r) => {
        if (r % 5 === 0) progress(`  round ${r}/${SETTINGS.coldRounds}`);
      },
    });
    const soak = await coldOnce({ name: 'shipped', file: shipped.file, first: 'webhook' }, { ...coldEnv, BENCH_REPEAT: String(SETTINGS.soak) });

    // 3. Warm per-webhook time.
    const warmSubjects = [
      { name: 'shipped', file: shipped.file, type: 'webhook' as const, measured: SETTINGS.warmMeasured },
      { name: 'floor', file: floor.file, type: 'floor' as const, measured: SETTINGS.warmMeasured },
      // Same count for every subject: blocks stay interleaved from the first delivery to the last.
      ...VARIANTS.filter((v) => v.warm).map((v) => ({ name: v.name, file: variants.get(v.name)!.file, type: 'webhook' as const, measured: SETTINGS.warmMeasured })),
    ];
    const total = warmSubjects.reduce((n, s) => n + s.measured + SETTINGS.warmup, 0);
    progress(`warm: ${total} signed deliveries through ${warmSubjects.length} subjects, stub on ${stub.endpoint}`);
    const beforeWarm = await stub.report();
    const warm = await measureWarm(warmSubjects, SETTINGS, env);
    const stubReport = await stub.report();
    // What the stub answered per warm delivery: shows the floor and the handler make the same calls.
    const warmCalls = Object.fromEntries(
      Object.entries(stubReport.counts).map(([op, n]) => [op, round((n - (beforeWarm.counts[op] ?? 0)) / total, 4)]),
    );

    // 4. Throughput of npm start's pieces against the emulator.
    progress(`throughput: emulator, ${SETTINGS.throughput.rounds} rounds × ${SETTINGS.throughput.perRound} deliveries each side, concurrency ${SETTINGS.throughput.concurrency}`);
    const throughput = await measureThroughput({ handler: shipped.file, floor: floor.file }, SETTINGS.throughput);

    // 5. The developer loop: how soon `npm run cli` answers.
    progress(`cli start: ${SETTINGS.cliRounds} pairs of npm run cli -- --help and node -e 0, ${SETTINGS.cliRebuilds} first calls after a change`);
    const cliStart = await measureCliStart(SETTINGS.cliRounds, SETTINGS.cliRebuilds);

    // Cost model from the measurements and the stack.
    const shippedWarm = warm.subjects.shipped!;
    const cost = costModel(
      {
        warmCpuMs: shippedWarm.cpuMs,
        warmWallMs: shippedWarm.ms.median,
        coldBootMs: cold.shipped!.bootMs.median,
        coldImportMs: cold.shipped!.importMs.median,
        coldFirstMs: cold.shipped!.firstMs!.median,
        steadyRssMB: soak.maxRssMB,
        appLogBytes: shippedWarm.log.bytesPerDelivery,
        appLogLines: shippedWarm.log.linesPerDelivery,
        ...(shippedWarm.log.sample ? { appLogSample: shippedWarm.log.sample } : {}),
        transitionWrites: stubReport.samples.filter((s) => s.target.endsWith('.UpdateItem')).map((s) => s.body),
        eventsPerDelivery: 1,
        pendingItem: (id) => pendingItem(id, id.startsWith('vid-') ? 'video' : 'image'),
      },
      stack,
    );

    progress('standing cost: synthesizing the default stack and each option that changes it');
    const standing = standingReport(cost.totalPerMillion);
    const result = report({ started, shipped, floor, empty, variants, cold, soak, warm, throughput, cliStart, cost, standing, stack, stubCallsPerDelivery: warmCalls });
    const dir = join(benchDir, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(result.json, null, 2)}\n`);
    writeFileSync(join(dir, 'latest.md'), result.markdown);
    process.stdout.write(result.text);
    progress(`done in ${result.json.durationSeconds} s; wrote bench/results/latest.json and latest.md`);
  } finally {
    await stub.stop();
  }
}

interface Measurements {
  readonly started: number;
  readonly shipped: ShippedBundle;
  readonly floor: Bundle;
  readonly empty: Bundle;
  readonly variants: Map<string, Bundle>;
  readonly cold: Record<string, ColdResult>;
  readonly soak: { readonly maxRssMB: number; readonly rssMB: number; readonly heapMB: number };
  readonly warm: WarmResult;
  readonly throughput: ThroughputResult;
  readonly cliStart: CliStartResult;
  readonly cost: CostModel;
  readonly standing: StandingReport;
  readonly stack: ReturnType<typeof readStackFacts>;
  readonly stubCallsPerDelivery: Record<string, number>;
}

function report(m: Measurements) {
  const machine = {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
  const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
  const x = (v: number) => `${v.toFixed(2)}×`;
  const spread = (r: ColdResult) => `${r.importMs.p10.toFixed(0)}–${r.importMs.p90.toFixed(0)}`;
  const w = m.warm.subjects;
  const ratio = {
    bundle: m.shipped.bytes / m.floor.bytes,
    cold: m.cold.shipped!.pairedRatio!.wall.median,
    coldCpu: m.cold.shipped!.pairedRatio!.cpu.median,
    first: m.cold.shipped!.firstMs!.median / m.cold.floor!.firstMs!.median,
    warmP50: w.shipped!.ms.median / w.floor!.ms.median,
    warmP99: w.shipped!.ms.p99 / w.floor!.ms.p99,
    cpu: w.shipped!.cpuMs / w.floor!.cpuMs,
    throughput: m.throughput.receiver.perSecond / m.throughput.ceiling.perSecond,
  };
  const meets = (ok: boolean) => (ok ? 'meets' : 'misses');
  const T = TARGETS;
  const main: string[][] = [
    ['figure', 'this build', 'floor, same run', 'ratio', 'target', ''],
    ['1 webhook bundle (index.mjs as cdk synth builds it)', kB(m.shipped.bytes), kB(m.floor.bytes), x(ratio.bundle), `≤ ${kB(T.bundleBytes)}`, meets(m.shipped.bytes <= T.bundleBytes)],
    ...Object.entries(m.shipped.assets)
      .filter(([name]) => name !== 'webhook')
      .map(([name, a]) => [`  ${name} function bundle (same settings)`, kB(a.bytes), '', '', '', '']),
    [
      '2 cold import, median [p10–p90]',
      `${ms(m.cold.shipped!.importMs.median)} [${spread(m.cold.shipped!)}]`,
      `${ms(m.cold.floor!.importMs.median)} [${spread(m.cold.floor!)}]`,
      x(ratio.cold),
      `≤ ${x(T.coldImportRatio)}`,
      meets(ratio.cold <= T.coldImportRatio),
    ],
    [
      '  ratio per adjacent pair, p10–p90',
      '',
      '',
      `${m.cold.shipped!.pairedRatio!.wall.p10.toFixed(2)}–${m.cold.shipped!.pairedRatio!.wall.p90.toFixed(2)}`,
      '',
      '',
    ],
    ['  CPU time of the import, median', ms(m.cold.shipped!.importCpuMs.median), ms(m.cold.floor!.importCpuMs.median), x(ratio.coldCpu), '', ''],
    ['  first delivery after import, median', ms(m.cold.shipped!.firstMs!.median), ms(m.cold.floor!.firstMs!.median), x(ratio.first), '', ''],
    ['3 warm per webhook, p50', ms(w.shipped!.ms.median), ms(w.floor!.ms.median), x(ratio.warmP50), `≤ ${x(T.warmP50Ratio)}`, meets(ratio.warmP50 <= T.warmP50Ratio)],
    ['  warm per webhook, p99', ms(w.shipped!.ms.p99), ms(w.floor!.ms.p99), x(ratio.warmP99), '', ''],
    ['  CPU per webhook', ms(w.shipped!.cpuMs), ms(w.floor!.cpuMs), x(ratio.cpu), '', ''],
    [
      `4 npm start throughput, concurrency ${m.throughput.concurrency}`,
      `${m.throughput.receiver.perSecond.toFixed(1)}/s`,
      `${m.throughput.ceiling.perSecond.toFixed(1)}/s (emulator ceiling)`,
      x(ratio.throughput),
      `≥ ${x(T.throughputRatio)}`,
      meets(ratio.throughput >= T.throughputRatio),
    ],
    [
      '5 npm run cli -- --help, spawn to exit, median',
      ms(m.cliStart.cliMs.median),
      `${ms(m.cliStart.nodeMs.median)} (node -e 0)`,
      x(m.cliStart.ratio.median),
      '',
      '',
    ],
    ['  first call after a source changed (bundles the CLI)', ms(m.cliStart.afterChangeMs.median), '', '', '', ''],
    [
      `$ per million webhooks (${m.cost.memoryMB} MB, ${Math.round(m.cost.assumptions.coldStartFraction * 100)}% cold)`,
      `$${m.cost.totalPerMillion.toFixed(2)}`,
      '',
      '',
      `≤ $${T.dollarsPerMillion.toFixed(2)}`,
      meets(m.cost.totalPerMillion <= T.dollarsPerMillion),
    ],
  ];

  const attribution: string[][] = [['variant (one choice changed)', 'bundle', 'Δ bytes', 'import, wall (× floor)', 'import, CPU (× floor)', 'first delivery', 'warm p50 (× floor)', 'CPU/webhook']];
  const attributionJson: Record<string, unknown>[] = [];
  const withRatio = (value: number, ratio: number) => `${ms(value)} (${x(ratio)})`;
  const row = (name: string, label: string, bundle: Bundle) => {
    const c = m.cold[name]!;
    const wr = w[name];
    attribution.push([
      label,
      kB(bundle.bytes),
      name === 'shipped' ? '' : `${bundle.bytes - m.shipped.bytes > 0 ? '+' : ''}${(bundle.bytes - m.shipped.bytes).toLocaleString('en-US')}`,
      withRatio(c.importMs.median, c.pairedRatio!.wall.median),
      withRatio(c.importCpuMs.median, c.pairedRatio!.cpu.median),
      c.firstMs ? ms(c.firstMs.median) : '–',
      wr ? withRatio(wr.ms.median, wr.ms.median / w.floor!.ms.median) : '–',
      wr ? ms(wr.cpuMs) : '–',
    ]);
    attributionJson.push({
      variant: name,
      change: label,
      bytes: bundle.bytes,
      deltaBytes: bundle.bytes - m.shipped.bytes,
      coldImportMs: roundSummary(c.importMs),
      coldImportRatio: round(c.pairedRatio!.wall.median, 3),
      coldImportRatioP10P90: [round(c.pairedRatio!.wall.p10, 3), round(c.pairedRatio!.wall.p90, 3)],
      importCpuMs: round(c.importCpuMs.median, 2),
      importCpuRatio: round(c.pairedRatio!.cpu.median, 3),
      ...(c.firstMs ? { firstDeliveryMs: round(c.firstMs.median, 2) } : {}),
      ...(wr ? { warmMs: roundSummary(wr.ms, 3), warmP50Ratio: round(wr.ms.median / w.floor!.ms.median, 3), cpuMsPerWebhook: round(wr.cpuMs, 3) } : {}),
    });
  };
  row('shipped', 'as shipped', m.shipped);
  for (const v of VARIANTS) row(v.name, v.label, m.variants.get(v.name)!);

  const costRows: string[][] = [['cost item', '$ / million', 'basis'], ...m.cost.lines.map((l) => [l.item, `$${l.perMillion.toFixed(3)}`, l.basis])];
  costRows.push([
    'total',
    `$${m.cost.totalPerMillion.toFixed(2)}`,
    `at ${Math.round(m.cost.assumptions.coldStartFraction * 100)}% cold starts (1%: $${m.cost.byColdStartFraction['0.01']!.toFixed(2)}, 50%: $${m.cost.byColdStartFraction['0.5']!.toFixed(2)}); INIT throttled to the memory's CPU share: $${m.cost.totalIfInitThrottled.toFixed(2)}`,
  ]);
  const scenarioRows: string[][] = [['what it would take (each row adds one change; modelled, not measured)', 'total $ / million'], ...m.cost.scenarios.map((sc) => [sc.change, `$${sc.totalPerMillion.toFixed(2)}`])];
  const memoryRows: string[][] = [
    ['memory', 'warm duration (est.)', 'cold response (est.)', 'Lambda $ / million', 'total $ / million'],
    ...m.cost.memoryOptions.map((o) => [
      `${o.memoryMB} MB${o.memoryMB === m.stack.memoryMB ? ' (stack)' : ''}`,
      ms(o.warmMs),
      ms(o.coldResponseMs),
      `$${o.lambdaPerMillion.toFixed(3)}`,
      `$${o.totalPerMillion.toFixed(2)}`,
    ]),
  ];

  const durationSeconds = Math.round((Date.now() - m.started) / 1000);
  const header = `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, Node ${machine.node} (${machine.platform}) · commit ${commit}${dirty ? ' + uncommitted changes' : ''} · ${new Date().toISOString().slice(0, 16)}Z · ${durationSeconds} s`;
  const samples = `samples: cold ${SETTINGS.coldRounds} fresh processes per bundle, each next to a floor sample (ratio = median of pair ratios); warm ${SETTINGS.warmMeasured} deliveries per subject after ${SETTINGS.warmup} warm-up (interleaved blocks of ${SETTINGS.block}); throughput ${SETTINGS.throughput.rounds}×${SETTINGS.throughput.perRound} per side; cli start ${SETTINGS.cliRounds} pairs${quick ? ' (--quick)' : ''}`;
  const steady = `one instance after ${SETTINGS.soak} deliveries: max RSS ${m.soak.maxRssMB.toFixed(0)} MB, live heap ${m.soak.heapMB.toFixed(0)} MB (stack memory ${m.stack.memoryMB} MB); Node bootstrap ${ms(m.cold.shipped!.bootMs.median)}; empty-module import ${ms(m.cold.empty!.importMs.median)}`;

  const text = [
    '',
    'Cloudflare webhook receiver: npm run bench',
    header,
    samples,
    '',
    table(main),
    '',
    'Attribution: the shipped entry with one module swapped, same esbuild settings, same run (ratios against the floor)',
    table(attribution),
    '',
    'Cost per million webhooks, us-east-1 list prices (docs/PERFORMANCE.md has the sources and assumptions)',
    table(costRows),
    '',
    table(scenarioRows),
    '',
    `Memory: invoke duration estimated as assumed I/O wait + measured CPU × 1769/MB (1 vCPU at 1,769 MB); INIT ${ASSUMPTIONS.initThrottled ? 'scaled the same way' : 'at a full core'}`,
    table(memoryRows),
    steady,
    '',
    'Standing cost per month while no webhook arrives, same prices (docs/DEPLOY.md); each option changes the default by one context key',
    standingText(m.standing),
    '',
  ].join('\n');

  const markdown = [
    `<!-- generated by npm run bench (bench/run.ts); ${header} -->`,
    `_${header}_  `,
    `_${samples}_`,
    '',
    markdownTable(main),
    '',
    markdownTable(attribution),
    '',
    markdownTable(costRows),
    '',
    markdownTable(scenarioRows),
    '',
    markdownTable(memoryRows),
    '',
    `_${steady}_`,
    '',
    standingMarkdown(m.standing, '../../docs/'),
    '',
  ].join('\n');

  const json = {
    schema: 1,
    when: new Date().toISOString(),
    commit,
    dirty,
    machine,
    quick,
    settings: SETTINGS,
    durationSeconds,
    targets: TARGETS,
    bundle: {
      shippedBytes: m.shipped.bytes,
      shippedAssetBytes: m.shipped.assetBytes,
      assets: m.shipped.assets,
      floorBytes: m.floor.bytes,
      ratio: round(ratio.bundle, 3),
      meetsTarget: m.shipped.bytes <= TARGETS.bundleBytes,
      composition: Object.fromEntries(Object.entries(m.shipped.composition).filter(([, bytes]) => bytes >= 1000)),
      floorComposition: Object.fromEntries(Object.entries(m.floor.composition).filter(([, bytes]) => bytes >= 1000)),
    },
    coldImport: {
      shippedMs: roundSummary(m.cold.shipped!.importMs),
      floorMs: roundSummary(m.cold.floor!.importMs),
      emptyMs: roundSummary(m.cold.empty!.importMs),
      ratio: round(ratio.cold, 3),
      ratioMethod: 'median of per-pair ratios (each shipped sample next to a floor sample)',
      pairedRatio: { wall: roundSummary(m.cold.shipped!.pairedRatio!.wall, 3), cpu: roundSummary(m.cold.shipped!.pairedRatio!.cpu, 3) },
      meetsTarget: ratio.cold <= TARGETS.coldImportRatio,
      cpuMs: { shipped: roundSummary(m.cold.shipped!.importCpuMs), floor: roundSummary(m.cold.floor!.importCpuMs), ratio: round(ratio.coldCpu, 3) },
      nodeBootMs: roundSummary(m.cold.shipped!.bootMs),
      firstDeliveryMs: { shipped: roundSummary(m.cold.shipped!.firstMs!), floor: roundSummary(m.cold.floor!.firstMs!), ratio: round(ratio.first, 3) },
      rssAfterFirstMB: { shipped: round(m.cold.shipped!.rssMB.median, 1), floor: round(m.cold.floor!.rssMB.median, 1) },
      steadyMaxRssMB: round(m.soak.maxRssMB, 1),
      steadyHeapMB: round(m.soak.heapMB, 1),
    },
    warm: {
      shippedMs: roundSummary(w.shipped!.ms, 3),
      floorMs: roundSummary(w.floor!.ms, 3),
      p50Ratio: round(ratio.warmP50, 3),
      p99Ratio: round(ratio.warmP99, 3),
      meetsTarget: ratio.warmP50 <= TARGETS.warmP50Ratio,
      cpuMsPerWebhook: { shipped: round(w.shipped!.cpuMs, 3), floor: round(w.floor!.cpuMs, 3) },
      logBytesPerWebhook: round(w.shipped!.log.bytesPerDelivery, 1),
      logSample: w.shipped!.log.sample,
      stubCallsPerDelivery: m.stubCallsPerDelivery,
    },
    throughput: {
      receiverPerSecond: round(m.throughput.receiver.perSecond, 2),
      ceilingPerSecond: round(m.throughput.ceiling.perSecond, 2),
      ratio: round(ratio.throughput, 3),
      meetsTarget: ratio.throughput >= TARGETS.throughputRatio,
      receiverRounds: m.throughput.receiver.rounds.map((r) => round(r, 2)),
      ceilingRounds: m.throughput.ceiling.rounds.map((r) => round(r, 2)),
      concurrency: m.throughput.concurrency,
    },
    cliStart: {
      cliMs: roundSummary(m.cliStart.cliMs),
      nodeMs: roundSummary(m.cliStart.nodeMs),
      ratio: round(m.cliStart.ratio.median, 3),
      ratioP10P90: [round(m.cliStart.ratio.p10, 3), round(m.cliStart.ratio.p90, 3)],
      ratioMethod: 'median of per-pair ratios (npm run cli -- --help next to node -e 0, order alternating)',
      firstCallAfterChangeMs: roundSummary(m.cliStart.afterChangeMs),
    },
    attribution: attributionJson,
    cost: {
      memoryMB: m.cost.memoryMB,
      totalPerMillion: round(m.cost.totalPerMillion, 3),
      totalIfInitThrottled: round(m.cost.totalIfInitThrottled, 3),
      scenarios: m.cost.scenarios.map((sc) => ({ ...sc, totalPerMillion: round(sc.totalPerMillion, 3) })),
      meetsTarget: m.cost.totalPerMillion <= TARGETS.dollarsPerMillion,
      lines: m.cost.lines.map((l) => ({ ...l, perMillion: round(l.perMillion, 4) })),
      byColdStartFraction: Object.fromEntries(Object.entries(m.cost.byColdStartFraction).map(([k, v]) => [k, round(v, 3)])),
      memoryOptions: m.cost.memoryOptions.map((o) => ({ ...o, warmMs: round(o.warmMs, 1), coldResponseMs: round(o.coldResponseMs, 0), lambdaPerMillion: round(o.lambdaPerMillion, 4), totalPerMillion: round(o.totalPerMillion, 3) })),
      itemBytes: m.cost.itemBytes,
      writeUnitsPerWebhook: m.cost.writeUnitsPerDelivery,
      logBytesPerWebhook: Object.fromEntries(Object.entries(m.cost.logBytesPerDelivery).map(([k, v]) => [k, round(v, 0)])),
      assumptions: ASSUMPTIONS,
      stack: { memoryMB: m.stack.memoryMB, architecture: m.stack.architecture, logFormat: m.stack.logFormat, globalSecondaryIndexes: m.stack.globalSecondaryIndexes },
      prices: Object.fromEntries(PRICE_SOURCES),
    },
    standing: {
      totalPerMonth: round(m.standing.standard.totalPerMonth, 4),
      withinFreeTierPerMonth: round(m.standing.standard.totalPerMonth - m.standing.standard.freeTierPerMonth, 4),
      lines: m.standing.standard.lines.map((l) => ({ ...l, perMonth: round(l.perMonth, 4) })),
      perMillionItems: m.standing.standard.perMillionItems,
      variants: m.standing.variants.map((v) => ({ context: v.context, totalPerMonth: round(v.cost.totalPerMonth, 4) })),
    },
  };
  return { text, markdown, json };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
    return i === 0 ? `${line}\n${widths.map((n) => '-'.repeat(n)).join('  ')}` : line;
  }).join('\n');
}

function markdownTable(rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${rows[0]!.map(esc).join(' | ')} |`,
    `|${rows[0]!.map(() => '---').join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: join(benchDir, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
