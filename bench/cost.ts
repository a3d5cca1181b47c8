/**
 * Dollars per million webhooks on AWS list prices (us-east-1, arm64), itemised, from what the
 * bench measured and what the synthesized stack declares: the webhook's path, the stream relay
 * that reads every transition, and the confirmations with Cloudflare's API. Every price is cited;
 * every number that is not measured here is an explicit, named assumption (ASSUMPTIONS).
 *
 * The same prices give the standing cost (`standingCost`): what a deployment costs per month
 * while no webhook arrives, counted from the resources of a synthesized template.
 */
import type { StackFacts } from './stack.js';

/** us-east-1 list prices, checked 2026-11 (docs/PERFORMANCE.md cites the pages). */
export const PRICES = {
  lambdaRequestsPerMillion: 0.2,
  /** arm64, first 7.5 billion GB-s per month. */
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaX86PerGbSecond: 0.0000166667,
  /** HTTP API, first 300 million requests per month (each request up to 512 KB). */
  httpApiPerMillion: 1.0,
  /** On-demand, after the November 2024 price cut (was $1.25 / $0.25). */
  dynamodbPerMillionWriteUnits: 0.625,
  dynamodbPerMillionReadUnits: 0.125,
  /** Custom events put on a bus, per 64 KB chunk. */
  eventBridgePerMillionEvents: 1.0,
  secretsManagerPer10kCalls: 0.05,
  /** Standard log class; Lambda logs are "vended" and tiered, but start at this price. */
  cloudWatchLogsPerGBIngested: 0.5,

  // Standing charges, per month, whether or not anything arrives.
  secretPerMonth: 0.4,
  /** Per metric an alarm reads: a metric-math alarm pays for each metric in its expression. */
  alarmMetricStandardPerMonth: 0.1,
  /** Alarms on a period under 60 s. */
  alarmMetricHighResolutionPerMonth: 0.3,
  compositeAlarmPerMonth: 0.5,
  dashboardPerMonth: 3.0,
  /** An account's free tier: 3 dashboards (up to 50 metrics each) and 10 standard alarm metrics. */
  freeDashboards: 3,
  freeAlarmMetrics: 10,
  /** A customer managed KMS key; AWS managed keys (aws/secretsmanager, aws/dynamodb) cost nothing standing. */
  kmsKeyPerMonth: 1.0,
  wafWebAclPerMonth: 5.0,
  wafRulePerMonth: 1.0,
  /** Custom metrics (EMF), per metric series in a month it receives data. */
  customMetricPerMonth: 0.3,
  cloudWatchLogsStoragePerGBMonth: 0.03,
  /** After the 25 GB per region the free tier always covers. */
  dynamodbStoragePerGBMonth: 0.25,
  dynamodbFreeStorageGB: 25,
  /** Continuous backups (point-in-time recovery), per GB-month of table data. */
  dynamodbPitrPerGBMonth: 0.2,
  eventArchivePerGBArchived: 0.1,
  eventArchiveStoragePerGBMonth: 0.023,
  /** EventBridge Scheduler, after 14 million free invocations a month; scheduled rules are free. */
  schedulerPerMillionInvocations: 1.0,
} as const;

export const PRICE_SOURCES = [
  ['AWS Lambda', 'https://aws.amazon.com/lambda/pricing/'],
  ['Lambda INIT billing (from 2025-08-01)', 'https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/'],
  ['API Gateway HTTP APIs', 'https://aws.amazon.com/api-gateway/pricing/'],
  ['DynamoDB on-demand', 'https://aws.amazon.com/dynamodb/pricing/on-demand/'],
  ['EventBridge', 'https://aws.amazon.com/eventbridge/pricing/'],
  ['Secrets Manager', 'https://aws.amazon.com/secrets-manager/pricing/'],
  ['CloudWatch Logs, metrics, alarms, dashboards (free tier included)', 'https://aws.amazon.com/cloudwatch/pricing/'],
  ['DynamoDB storage and point-in-time recovery', 'https://aws.amazon.com/dynamodb/pricing/on-demand/'],
  ['AWS KMS', 'https://aws.amazon.com/kms/pricing/'],
  ['AWS WAF', 'https://aws.amazon.com/waf/pricing/'],
  [
    'DynamoDB Streams read by Lambda: "You are not charged for GetRecords API calls invoked by AWS Lambda as part of DynamoDB triggers"',
    'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  ],
] as const;

export interface Assumptions {
  /** Share of deliveries that land on a new execution environment (cold start). */
  readonly coldStartFraction: number;
  /** In-region service latency the function waits out per delivery, ms (not measurable here). */
  readonly ioWaitMs: { readonly getItem: number; readonly updateItem: number; readonly putEvents: number };
  /** Graviton core speed relative to this machine's core for this code (1 = same). */
  readonly cpuSpeedFactor: number;
  /**
   * Whether INIT runs with the memory size's CPU share (true) or a full core (false). Lambda does
   * not document it; INIT is widely observed to run unthrottled, and real Init Durations of
   * functions like this one (a few hundred ms at 128–256 MB) only fit that. Both are reported.
   */
  readonly initThrottled: boolean;
  /**
   * Relay invocations per transition. Lambda waits up to the mapping's batching window (1 s) for
   * more records; at a million webhooks a month (0.4 a second) a batch mostly holds one record, so
   * 1. The busier case is measured locally and shown as a scenario.
   */
  readonly relayInvocationsPerTransition: number;
  /**
   * Webhooks confirmed with Cloudflare's API, and how long the function waits for its answer. The
   * fields inside an Images notification's `data` are undocumented, so the Notifications third of
   * the bench's mix is assumed never to settle its outcome; Stream and the toolkit payload do.
   * Cloudflare does not bill API reads; the wait is an assumed round trip from an AWS region.
   */
  readonly confirmation: { readonly fraction: number; readonly waitMs: number };
  /** For the secret-refresh share: deliveries per month and warm instances kept all month. */
  readonly monthlyDeliveries: number;
  readonly warmInstances: number;
  readonly secretTtlMinutes: number;
}

export const ASSUMPTIONS: Assumptions = {
  // Bursts after quiet periods: a burst of N deliveries arriving c at a time starts c environments.
  // AWS reports INIT in under 1% of invocations across production workloads; webhooks are burstier.
  coldStartFraction: 0.1,
  ioWaitMs: { getItem: 4, updateItem: 6, putEvents: 15 },
  cpuSpeedFactor: 1,
  initThrottled: false,
  relayInvocationsPerTransition: 1,
  confirmation: { fraction: 1 / 3, waitMs: 150 },
  monthlyDeliveries: 1_000_000,
  warmInstances: 1,
  secretTtlMinutes: 5,
};

/** Lambda CPU share: 1 vCPU at 1,769 MB, proportionally less below. */
const FULL_CORE_MB = 1769;

export interface MeasuredInputs {
  /** Function CPU per warm delivery (handler process, stub answers instantly), ms. */
  readonly warmCpuMs: number;
  /** Warm wall time per delivery against the stub, p50, ms. */
  readonly warmWallMs: number;
  /** Node's bootstrap and the bundle's import in a fresh process, medians, ms. */
  readonly coldBootMs: number;
  readonly coldImportMs: number;
  /** First delivery after the import, median, ms (first use of the SDK, lazy compilation). */
  readonly coldFirstMs: number;
  /** Steady-state RSS of one instance after many deliveries, MB. */
  readonly steadyRssMB: number;
  /** The function's own log output per delivery. */
  readonly appLogBytes: number;
  readonly appLogLines: number;
  /** One of the function's log lines, to price a leaner one. */
  readonly appLogSample?: string;
  /** DynamoDB requests a transition makes, as the stub received them (DynamoDB JSON). */
  readonly transitionWrites: readonly DynamoRequest[];
  /** SDK calls of a first delivery, per operation (GetItem, UpdateItem, PutEvents), as counted locally. */
  readonly calls: Readonly<Record<string, number>>;
  readonly relay: RelayInputs;
  /** Events a delivery puts on the bus. */
  readonly eventsPerDelivery: number;
  /** The item a delivery finds (DynamoDB JSON), as the stub answered GetItem. */
  readonly pendingItem: (id: string) => Record<string, AttributeValue>;
}

/** The relay, measured: a one-record batch against the stub, and its reads per transition locally. */
export interface RelayInputs {
  readonly cpuMs: number;
  readonly warmWallMs: number;
  readonly coldBootMs: number;
  readonly coldImportMs: number;
  readonly coldFirstMs: number;
  /** Its own log output per invocation. */
  readonly appLogBytes: number;
  readonly appLogLines: number;
  readonly readsPerTransition: number;
  /** Invocations per transition in the local run, and the transitions a second it ran at. */
  readonly busyInvocationsPerTransition: number;
  readonly busyRatePerSecond: number;
}

export interface DynamoRequest {
  readonly UpdateExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, AttributeValue>;
  readonly Key?: Record<string, AttributeValue>;
}
type AttributeValue = Record<string, any>;

export interface CostLine {
  readonly group: 'webhook' | 'relay' | 'confirmation';
  readonly item: string;
  readonly perMillion: number;
  readonly basis: string;
}

export interface MemoryOption {
  readonly memoryMB: number;
  readonly warmMs: number;
  readonly coldResponseMs: number;
  readonly lambdaPerMillion: number;
  readonly totalPerMillion: number;
}

export interface CostModel {
  readonly memoryMB: number;
  readonly lines: readonly CostLine[];
  readonly totalPerMillion: number;
  readonly byColdStartFraction: Record<string, number>;
  readonly memoryOptions: readonly MemoryOption[];
  readonly itemBytes: readonly number[];
  readonly writeUnitsPerDelivery: { readonly table: number; readonly indexes: number };
  readonly logBytesPerDelivery: { readonly app: number; readonly platform: number; readonly access: number };
  readonly assumptions: Assumptions;
  /** The same model with one change more per row: what it would take to reach the target. */
  readonly scenarios: readonly { readonly change: string; readonly totalPerMillion: number }[];
  /** Total with INIT throttled to the memory size's CPU share (the pessimistic reading). */
  readonly totalIfInitThrottled: number;
  /** What the relay adds per million webhooks, as configured and at the batching measured locally. */
  readonly relayPerMillion: { readonly quiet: number; readonly busy: number };
  readonly confirmationPerMillion: number;
}

export function costModel(m: MeasuredInputs, stack: StackFacts, a: Assumptions = ASSUMPTIONS, memoryMB = stack.memoryMB): CostModel {
  const lines = costLines(m, stack, a, memoryMB);
  const total = lines.reduce((sum, l) => sum + l.perMillion, 0);
  const byColdStartFraction = Object.fromEntries(
    [0.01, 0.1, 0.5].map((f) => [String(f), sum(costLines(m, stack, { ...a, coldStartFraction: f }, memoryMB))]),
  );
  const memoryOptions = [128, 192, 256, 384, 512, 1024, 1769].map((mb) => {
    const l = lambdaFigures(m, stack, a, mb);
    return {
      memoryMB: mb,
      warmMs: l.warmMs,
      coldResponseMs: l.coldResponseMs,
      lambdaPerMillion: l.requests + l.compute,
      totalPerMillion: sum(costLines(m, stack, a, mb)),
    };
  });
  const dynamo = dynamoFigures(m, stack);
  const logs = logFigures(m, stack, a, memoryMB);
  return {
    scenarios: scenarios(m, stack, a, memoryMB),
    totalIfInitThrottled: sum(costLines(m, stack, { ...a, initThrottled: true }, memoryMB)),
    memoryMB,
    lines,
    totalPerMillion: total,
    byColdStartFraction,
    memoryOptions,
    itemBytes: dynamo.itemBytes,
    writeUnitsPerDelivery: { table: dynamo.tableWrites, indexes: dynamo.indexWrites },
    logBytesPerDelivery: { app: logs.app, platform: logs.platform, access: logs.access },
    assumptions: a,
    relayPerMillion: {
      quiet: sum(relayLines(m, stack, a)),
      busy: sum(relayLines(m, stack, { ...a, relayInvocationsPerTransition: m.relay.busyInvocationsPerTransition })),
    },
    confirmationPerMillion: sum(confirmationLines(stack, a, memoryMB)),
  };
}

const sum = (lines: readonly CostLine[]) => lines.reduce((s, l) => s + l.perMillion, 0);


function scenarios(m: MeasuredInputs, stack: StackFacts, a: Assumptions, memoryMB: number) {
  const rows: { change: string; totalPerMillion: number }[] = [];
  let [measured, st, assume] = [m, stack, a];
  const push = (change: string) => rows.push({ change, totalPerMillion: sum(costLines(measured, st, assume, memoryMB)) });
  push('as configured');
  if (st.globalSecondaryIndexes.some((gsi) => gsi.name === 'byStatus')) {
    // The construct's `statusIndex: false`: every transition otherwise moves the item's byStatus entry.
    st = { ...st, globalSecondaryIndexes: st.globalSecondaryIndexes.filter((gsi) => gsi.name !== 'byStatus') };
    push('+ statusIndex: false (prop or context): no byStatus index, so a transition writes only the byExpiry delete');
  }
  st = { ...st, logFormat: 'JSON', systemLogLevel: 'WARN' };
  push('+ no platform lines: JSON log format, system log level WARN (not offered: the level filter would also drop EMF at WARN, see docs)');
  measured = { ...measured, calls: { ...measured.calls, GetItem: 0 } };
  push('+ write first: a conditional UpdateItem that returns the item when its condition fails, no GetItem (issue 13, optional; not built)');
  assume = { ...assume, relayInvocationsPerTransition: m.relay.busyInvocationsPerTransition };
  push(`(traffic, not a change) relay batches as measured locally: ${fmt(1 / m.relay.busyInvocationsPerTransition, 1)} transitions per invocation at ${fmt(m.relay.busyRatePerSecond, 1)}/s`);
  assume = { ...assume, coldStartFraction: 0.01 };
  push('(traffic, not a change) cold starts at 1% of webhooks instead of 10%');
  return rows;
}

function costLines(m: MeasuredInputs, stack: StackFacts, a: Assumptions, memoryMB: number): CostLine[] {
  return [...webhookLines(m, stack, a, memoryMB), ...relayLines(m, stack, a), ...confirmationLines(stack, a, memoryMB)];
}

/** GetSecretValue calls per webhook: one per cold start and a refresh per TTL per warm instance. */
const secretCallsPerWebhook = (a: Assumptions) => a.coldStartFraction + (a.warmInstances * ((30 * 24 * 60) / a.secretTtlMinutes)) / a.monthlyDeliveries;

function webhookLines(m: MeasuredInputs, stack: StackFacts, a: Assumptions, memoryMB: number): CostLine[] {
  const lambda = lambdaFigures(m, stack, a, memoryMB);
  const dynamo = dynamoFigures(m, stack);
  const logs = logFigures(m, stack, a, memoryMB);
  const f = a.coldStartFraction;
  const webhook = (line: Omit<CostLine, 'group'>): CostLine => ({ group: 'webhook', ...line });
  return [
    webhook({ item: 'API Gateway HTTP API requests', perMillion: PRICES.httpApiPerMillion, basis: '1 request per webhook' }),
    webhook({ item: 'Lambda requests', perMillion: PRICES.lambdaRequestsPerMillion, basis: '1 invocation per webhook' }),
    webhook({
      item: 'Lambda compute, warm',
      perMillion: lambda.warmCompute,
      basis: `${memoryMB} MB × ${lambda.billedWarmMs} ms billed (${fmt(m.warmCpuMs)} ms CPU × ${fmt(lambda.scale)} + ${ioWait(m, a)} ms I/O)`,
    }),
    webhook({
      item: 'Lambda compute, INIT + first call',
      perMillion: lambda.coldCompute,
      basis: `${pct(f)} cold × ${memoryMB} MB × ${fmt(lambda.coldExtraMs, 0)} ms (boot ${fmt(m.coldBootMs, 0)} + import ${fmt(m.coldImportMs, 0)} + first-call ${fmt(Math.max(0, m.coldFirstMs - m.warmWallMs), 0)} ms, ×${fmt(lambda.initScale)})`,
    }),
    webhook({ item: 'DynamoDB reads', perMillion: dynamo.readUnits * PRICES.dynamodbPerMillionReadUnits, basis: `${fmt(dynamo.readUnits)} RRU (GetItem, strongly consistent, item ≤ 4 KB)` }),
    webhook({
      item: 'DynamoDB writes, table',
      perMillion: dynamo.tableWrites * PRICES.dynamodbPerMillionWriteUnits,
      basis: `${fmt(dynamo.tableWrites)} WRU: ${fmt(dynamo.writes)} UpdateItem × item of ${dynamo.itemBytes.map((b) => fmt(b, 0)).join('/')} B`,
    }),
    webhook({ item: 'DynamoDB writes, secondary indexes', perMillion: dynamo.indexWrites * PRICES.dynamodbPerMillionWriteUnits, basis: dynamo.indexBasis }),
    webhook({ item: 'EventBridge custom events', perMillion: m.eventsPerDelivery * PRICES.eventBridgePerMillionEvents, basis: `${fmt(m.eventsPerDelivery)} event (≤ 64 KB) per webhook` }),
    webhook({
      item: 'Secrets Manager GetSecretValue',
      perMillion: (secretCallsPerWebhook(a) * 1e6 * PRICES.secretsManagerPer10kCalls) / 1e4,
      basis: `1 per cold start (${pct(f)}) + a ${a.secretTtlMinutes}-min refresh per warm instance at ${a.monthlyDeliveries / 1e6}M webhooks/month`,
    }),
    webhook({
      item: 'CloudWatch Logs ingestion',
      perMillion: (logs.total * 1e6 * PRICES.cloudWatchLogsPerGBIngested) / 1e9,
      basis: `${fmt(logs.total, 0)} B/webhook: function ${fmt(logs.app, 0)} + platform ${fmt(logs.platform, 0)} + API access log ${fmt(logs.access, 0)} (incl. 26 B/event)`,
    }),
  ];
}

/** The relay: one record per transition reaches it (the filter drops the writer's own clean-up). */
function relayLines(m: MeasuredInputs, stack: StackFacts, a: Assumptions): CostLine[] {
  const r = m.relay;
  const fn = stack.relay;
  const invocations = a.relayInvocationsPerTransition * m.eventsPerDelivery;
  const reads = r.readsPerTransition * m.eventsPerDelivery;
  const price = fn.architecture === 'arm64' ? PRICES.lambdaArmPerGbSecond : PRICES.lambdaX86PerGbSecond;
  const scale = Math.max(1, FULL_CORE_MB / fn.memoryMB) * a.cpuSpeedFactor;
  // Per invocation: its records' CPU (measured for one, counted per record) and reads.
  const billedMs = Math.ceil(((r.cpuMs * scale + (reads / m.eventsPerDelivery) * a.ioWaitMs.getItem) * m.eventsPerDelivery) / invocations);
  const coldMs = (r.coldBootMs + r.coldImportMs) * (a.initThrottled ? scale : a.cpuSpeedFactor) + Math.max(0, r.coldFirstMs - r.warmWallMs) * scale;
  const logBytes = r.appLogBytes + LOG_EVENT_OVERHEAD * r.appLogLines + platformLogBytes(fn.logFormat, fn.systemLogLevel, fn.memoryMB, a.coldStartFraction);
  const relay = (line: Omit<CostLine, 'group'>): CostLine => ({ group: 'relay', ...line });
  return [
    relay({ item: 'Relay: Lambda requests', perMillion: invocations * PRICES.lambdaRequestsPerMillion, basis: `${fmt(invocations, 3)} invocation per webhook: every transition's stream record passes the filter` }),
    relay({
      item: 'Relay: Lambda compute',
      perMillion: invocations * (fn.memoryMB / 1024) * ((billedMs + a.coldStartFraction * Math.ceil(coldMs)) / 1000) * price * 1e6,
      basis: `${fn.memoryMB} MB × ${billedMs} ms billed (${fmt(r.cpuMs)} ms CPU × ${fmt(scale)} + ${a.ioWaitMs.getItem} ms per read) + ${pct(a.coldStartFraction)} cold × ${fmt(coldMs, 0)} ms (an upper bound: one instance per shard)`,
    }),
    relay({ item: 'Relay: DynamoDB reads', perMillion: reads * PRICES.dynamodbPerMillionReadUnits, basis: `${fmt(reads, 3)} strongly consistent GetItem per webhook, measured locally` }),
    relay({ item: 'Relay: stream reads (GetRecords)', perMillion: 0, basis: 'not charged when Lambda reads the stream (DynamoDB pricing); the stream itself has no standing charge' }),
    relay({
      item: 'Relay: CloudWatch Logs ingestion',
      perMillion: (invocations * logBytes * 1e6 * PRICES.cloudWatchLogsPerGBIngested) / 1e9,
      basis: `${fmt(logBytes, 0)} B per invocation: function ${fmt(r.appLogBytes + LOG_EVENT_OVERHEAD * r.appLogLines, 0)} + platform ${fmt(logBytes - r.appLogBytes - LOG_EVENT_OVERHEAD * r.appLogLines, 0)}`,
    }),
  ];
}

/** Asking Cloudflare: no charge from Cloudflare; the webhook's billed time while it waits, and the read token's secret. */
function confirmationLines(stack: StackFacts, a: Assumptions, memoryMB: number): CostLine[] {
  const { fraction, waitMs } = a.confirmation;
  if (fraction === 0) return [];
  const price = stack.architecture === 'arm64' ? PRICES.lambdaArmPerGbSecond : PRICES.lambdaX86PerGbSecond;
  return [
    {
      group: 'confirmation',
      item: 'Confirmation: Lambda compute while Cloudflare answers',
      perMillion: fraction * (memoryMB / 1024) * (waitMs / 1000) * price * 1e6,
      basis: `${pct(fraction)} of webhooks × ${waitMs} ms (assumed) at ${memoryMB} MB; Cloudflare does not bill API reads`,
    },
    {
      group: 'confirmation',
      item: 'Confirmation: Secrets Manager (read token)',
      perMillion: (secretCallsPerWebhook(a) * 1e6 * PRICES.secretsManagerPer10kCalls) / 1e4,
      basis: 'as the webhook secret: every instance that confirms reads it once and refreshes it',
    },
  ];
}

function ioWait(m: MeasuredInputs, a: Assumptions): number {
  const calls = (op: string) => m.calls[op] ?? 0;
  return calls('GetItem') * a.ioWaitMs.getItem + calls('UpdateItem') * a.ioWaitMs.updateItem + calls('PutEvents') * a.ioWaitMs.putEvents;
}

function lambdaFigures(m: MeasuredInputs, stack: StackFacts, a: Assumptions, memoryMB: number) {
  const price = stack.architecture === 'arm64' ? PRICES.lambdaArmPerGbSecond : PRICES.lambdaX86PerGbSecond;
  const scale = Math.max(1, FULL_CORE_MB / memoryMB) * a.cpuSpeedFactor;
  const initScale = a.initThrottled ? scale : a.cpuSpeedFactor;
  const warmMs = ioWait(m, a) + m.warmCpuMs * scale;
  const billedWarmMs = Math.ceil(warmMs);
  const firstCallExtraMs = Math.max(0, m.coldFirstMs - m.warmWallMs) * scale;
  const initMs = (m.coldBootMs + m.coldImportMs) * initScale;
  const coldExtraMs = initMs + firstCallExtraMs;
  const gb = memoryMB / 1024;
  return {
    scale,
    initScale,
    warmMs,
    billedWarmMs,
    coldExtraMs,
    coldResponseMs: coldExtraMs + warmMs,
    requests: PRICES.lambdaRequestsPerMillion,
    warmCompute: gb * (billedWarmMs / 1000) * price * 1e6,
    coldCompute: a.coldStartFraction * gb * (Math.ceil(coldExtraMs) / 1000) * price * 1e6,
    get compute() {
      return this.warmCompute + this.coldCompute;
    },
  };
}

function dynamoFigures(m: MeasuredInputs, stack: StackFacts) {
  const writes = m.calls.UpdateItem ?? 0;
  const kb = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
  const transitions = m.transitionWrites.filter((w) => w.UpdateExpression?.startsWith('SET'));
  if (transitions.length === 0) throw new Error('cost model: no transition UpdateItem was sampled');
  // The item before (what the stub answered) and after its first transition (plus the SET).
  const pairs = transitions.map((w) => {
    const id = Object.values(w.Key ?? {})[0]?.S ?? 'item';
    const before = m.pendingItem(String(id));
    return { before, after: itemAfter(before, w) };
  });
  const itemBytes = pairs.map((p) => itemSize(p.after));
  const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
  // Each table write is billed on the larger of the item before and after: the item after.
  const tableWrites = mean(itemBytes.map((bytes) => writes * kb(bytes)));
  let indexWrites = 0;
  const basis: string[] = [];
  for (const gsi of stack.globalSecondaryIndexes) {
    const projectedSize = (item: Record<string, AttributeValue>) =>
      itemSize(
        gsi.projection === 'ALL'
          ? item
          : Object.fromEntries(Object.entries(item).filter(([k]) => gsi.keys.includes(k) || k === 'id' || gsi.nonKeyAttributes.includes(k))),
      );
    const projects = (attribute: string) => gsi.projection === 'ALL' || gsi.nonKeyAttributes.includes(attribute);
    const perItem = pairs.map(({ before, after }) => {
      const inBefore = gsi.keys.every((k) => k in before);
      const inAfter = gsi.keys.every((k) => k in after);
      // Index entries carry ~100 bytes of overhead on top of what they project.
      const entry = kb(projectedSize(after) + 100);
      let indexed = 0;
      if (inBefore && inAfter) {
        const keyChanged = gsi.keys.some((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
        const projectedChanged = Object.keys(after).some((k) => projects(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k]));
        indexed = keyChanged ? 2 * entry : projectedChanged ? entry : 0; // a key change is a delete plus a put
      } else if (inBefore || inAfter) {
        indexed = entry; // the item enters or leaves the index
      }
      // Clearing the unpublished marker rewrites the entry only if the index projects it.
      if (inAfter && writes > 1 && (projects('unpublished') || projects('version'))) indexed += entry;
      return indexed;
    });
    const units = mean(perItem);
    indexWrites += units;
    basis.push(`${gsi.name} (${gsi.projection}): ${fmt(units)} WRU`);
  }
  return {
    itemBytes,
    writes,
    readUnits: m.calls.GetItem ?? 0,
    tableWrites,
    indexWrites,
    indexBasis: basis.length > 0 ? basis.join('; ') : 'no secondary index',
  };
}

function itemAfter(before: Record<string, AttributeValue>, write: DynamoRequest): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = { ...before };
  const names = write.ExpressionAttributeNames ?? {};
  const values = write.ExpressionAttributeValues ?? {};
  // `SET #a0 = :a0, … [REMOVE #r0, …]`: the transition may also drop attributes (expiresAt leaves byExpiry).
  const [sets = '', removes = ''] = (write.UpdateExpression ?? '').replace(/^SET\s+/, '').split(/\s+REMOVE\s+/);
  for (const assignment of sets.split(/,\s*(?=#)/)) {
    const [name, value] = assignment.split('=').map((s) => s.trim());
    if (name && value && names[name] !== undefined && values[value] !== undefined) item[names[name]!] = values[value]!;
  }
  for (const name of removes.split(',').map((s) => s.trim())) {
    if (names[name] !== undefined) delete item[names[name]!];
  }
  return item;
}

/** DynamoDB's item size rules: names and values in UTF-8, numbers ~1 byte per 2 digits + 1, 3 bytes per list/map + 1 per element. */
export function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((total, [name, value]) => total + utf8(name) + attributeSize(value), 0);
}

function attributeSize(value: AttributeValue): number {
  if ('S' in value) return utf8(value.S);
  if ('N' in value) return numberSize(value.N);
  if ('B' in value) return Buffer.from(value.B, 'base64').length;
  if ('BOOL' in value || 'NULL' in value) return 1;
  if ('L' in value) return 3 + (value.L as AttributeValue[]).reduce((t, v) => t + 1 + attributeSize(v), 0);
  if ('M' in value) return 3 + Object.entries(value.M as Record<string, AttributeValue>).reduce((t, [k, v]) => t + utf8(k) + 1 + attributeSize(v), 0);
  if ('SS' in value) return (value.SS as string[]).reduce((t, s) => t + utf8(s), 0);
  if ('NS' in value) return (value.NS as string[]).reduce((t, n) => t + numberSize(n), 0);
  return 0;
}

function numberSize(n: string): number {
  const digits = n.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length || 1;
  return Math.ceil(digits / 2) + 1;
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** CloudWatch Logs bills each log event's bytes plus 26 bytes of overhead. */
const LOG_EVENT_OVERHEAD = 26;

/** Log bytes per delivery, each event counted with CloudWatch's 26-byte per-event overhead. */
function logFigures(m: MeasuredInputs, stack: StackFacts, a: Assumptions, memoryMB: number) {
  const app = m.appLogBytes + LOG_EVENT_OVERHEAD * m.appLogLines;
  const platform = platformLogBytes(stack.logFormat, stack.systemLogLevel, memoryMB, a.coldStartFraction);
  let access = 0;
  if (stack.accessLogFormat) {
    const sample: Record<string, string> = {
      requestId: 'JKJaXmPLvHcESHA=',
      'identity.sourceIp': '198.51.100.23',
      requestTime: '22/Nov/2026:14:55:46 +0000',
      httpMethod: 'POST',
      routeKey: 'POST /webhooks/images',
      path: '/webhooks/images',
      status: '200',
      protocol: 'HTTP/1.1',
      responseLength: '142',
      responseLatency: '41',
      integrationLatency: '39',
      integrationStatus: '200',
      integrationErrorMessage: '-',
      'identity.userAgent': 'Cloudflare-Webhooks/1.0',
    };
    const line = stack.accessLogFormat.replace(/\$context\.([A-Za-z.]+)/g, (_, key: string) => sample[key] ?? '-');
    access = utf8(line) + LOG_EVENT_OVERHEAD;
  }
  return { app, platform, access, total: app + platform + access };
}

/** The runtime's own log lines per invocation, in the function's log format (none at WARN and above). */
function platformLogBytes(logFormat: string, systemLogLevel: string | undefined, memoryMB: number, coldStartFraction: number): number {
  const requestId = '8f507cfc-4e4f-4e1b-9a3e-6a1e7a8d2b10';
  if (logFormat === 'Text') {
    // The lines in their documented text format.
    const lines = [
      `START RequestId: ${requestId} Version: $LATEST`,
      `END RequestId: ${requestId}`,
      `REPORT RequestId: ${requestId}\tDuration: 38.21 ms\tBilled Duration: 39 ms\tMemory Size: ${memoryMB} MB\tMax Memory Used: 92 MB\t`,
    ];
    return lines.reduce((t, l) => t + utf8(l) + 1 + LOG_EVENT_OVERHEAD, 0) + coldStartFraction * utf8('Init Duration: 512.34 ms\t');
  }
  if (['WARN', 'ERROR', 'FATAL'].includes(String(systemLogLevel ?? 'INFO'))) return 0;
  // JSON platform events (platform.start, platform.report); their records are larger than the text lines.
  const start = JSON.stringify({ time: '2026-11-22T14:55:46.611Z', type: 'platform.start', record: { requestId, version: '$LATEST' } });
  const report = JSON.stringify({
    time: '2026-11-22T14:55:46.650Z',
    type: 'platform.report',
    record: { requestId, metrics: { durationMs: 38.21, billedDurationMs: 39, memorySizeMB: memoryMB, maxMemoryUsedMB: 92 }, status: 'success' },
  });
  return utf8(start) + utf8(report) + 2 * LOG_EVENT_OVERHEAD;
}

const fmt = (n: number, digits = 2) => {
  const text = n.toFixed(digits);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
};
const pct = (f: number) => `${fmt(f * 100, 1)}%`;

// ---------------------------------------------------------------------------------------------
// Standing cost: the month with no webhook, from the resources a synthesized template declares.

/** A synthesized CloudFormation template, as `Template.toJSON()` or the `.template.json` file holds it. */
export interface CfnTemplate {
  readonly Resources?: Readonly<Record<string, CfnResource>>;
}
interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}

export interface StandingAssumptions {
  /** GB in the table and in archives: none before the first webhook. */
  readonly storedGB: number;
  /**
   * One run of a scheduled function that finds nothing to do (the expiry sweep with no upload
   * due: three index Queries — pending, draft, expired-unpublished — eventually consistent,
   * 0.5 read unit each). Billed time is generous (a few ms of I/O and CPU, plus the INIT of
   * the runs that land on a new environment); its log line is a Powertools JSON line with the
   * Lambda context fields and the run's counters.
   */
  readonly idleRun: { readonly billedMs: number; readonly readUnits: number; readonly appLogBytes: number; readonly coldStartFraction: number };
  /** An item with its index entries, to say what a million stored items add (the bench's items are 0.6–0.9 KB). */
  readonly itemKB: number;
}

export const STANDING_ASSUMPTIONS: StandingAssumptions = {
  storedGB: 0,
  idleRun: { billedMs: 100, readUnits: 1.5, appLogBytes: 600, coldStartFraction: 0.5 },
  itemKB: 1,
};

export interface StandingLine {
  readonly item: string;
  /** How many of the counted thing (secrets, alarm metrics, runs a month, …). */
  readonly count: number;
  readonly perMonth: number;
  readonly basis: string;
}

export interface StandingCost {
  readonly lines: readonly StandingLine[];
  readonly totalPerMonth: number;
  /** The most of the total an account's free tier can absorb (its 3 dashboards and 10 alarm metrics, if unused elsewhere). */
  readonly freeTierPerMonth: number;
  /** What a million stored items add each month, by the same prices. */
  readonly perMillionItems: { readonly pitr: number; readonly storageBeyondFreeTier: number };
  /** Resources whose type has no standing charge (billed per request or per GB only). */
  readonly unchargedResources: number;
  /** Types this model has no rule for: a new resource type must be priced or declared free here. */
  readonly unclassified: readonly string[];
}

/** Billed per request, per GB moved or per GB stored (counted by `standingCost` where stored). */
const NO_STANDING_CHARGE: ReadonlySet<string> = new Set([
  // The front door's REST API (lib/front-door.ts): billed per request, like the HTTP API.
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Authorizer',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::Stage',
  'AWS::CDK::Metadata',
  'AWS::CloudFront::Distribution',
  'AWS::CloudFront::OriginAccessControl',
  'AWS::CloudFront::CachePolicy',
  'AWS::CloudFront::OriginRequestPolicy',
  'AWS::Events::EventBus',
  'AWS::EventSchemas::Registry',
  'AWS::EventSchemas::Schema',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::Policy',
  'AWS::IAM::Role',
  'AWS::Lambda::EventInvokeConfig',
  // Lambda reading a DynamoDB stream pays no GetRecords charge; the invocations follow traffic.
  'AWS::Lambda::EventSourceMapping',
  'AWS::Lambda::Function',
  'AWS::Lambda::Permission',
  'AWS::Lambda::Url',
  'AWS::Logs::ResourcePolicy',
  'AWS::Logs::SubscriptionFilter',
  'AWS::Pipes::Pipe',
  'AWS::S3::Bucket',
  'AWS::S3::BucketPolicy',
  'AWS::SNS::Subscription',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::Queue',
  'AWS::SQS::QueuePolicy',
  // The web ACL is priced with its rules; what its rules reference and where it is attached are not billed.
  'AWS::WAFv2::IPSet',
  'AWS::WAFv2::WebACLAssociation',
]);

const HOURS_PER_MONTH = 730;

/**
 * The month in which no webhook arrives: secrets, alarm metrics, dashboards, keys and web ACLs
 * by count; scheduled functions by their runs; table, archives and logs by what they store.
 */
export function standingCost(template: CfnTemplate, a: StandingAssumptions = STANDING_ASSUMPTIONS): StandingCost {
  const resources = Object.entries(template.Resources ?? {});
  const ofType = (...types: string[]) => resources.filter(([, r]) => types.includes(r.Type));
  const lines: StandingLine[] = [];
  const add = (item: string, count: number, perMonth: number, basis: string) => {
    if (count > 0) lines.push({ item, count, perMonth, basis });
  };

  const secrets = ofType('AWS::SecretsManager::Secret');
  const replicas = secrets.reduce((n, [, r]) => n + (r.Properties?.ReplicaRegions?.length ?? 0), 0);
  add('Secrets Manager secrets', secrets.length + replicas, (secrets.length + replicas) * PRICES.secretPerMonth, `${price(PRICES.secretPerMonth)} per secret (a replica counts as one)`);

  const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => alarmMetrics(r.Properties ?? {}));
  const standard = alarms.reduce((n, m) => n + m.standard, 0);
  const highRes = alarms.reduce((n, m) => n + m.highResolution, 0);
  add(
    'CloudWatch alarm metrics, standard resolution',
    standard,
    standard * PRICES.alarmMetricStandardPerMonth,
    `${alarms.length} alarm${alarms.length === 1 ? '' : 's'}; ${price(PRICES.alarmMetricStandardPerMonth)} per metric an alarm reads (a metric-math alarm pays for each)`,
  );
  add('CloudWatch alarm metrics, high resolution', highRes, highRes * PRICES.alarmMetricHighResolutionPerMonth, `${price(PRICES.alarmMetricHighResolutionPerMonth)} per metric on a period under 60 s`);
  const composites = ofType('AWS::CloudWatch::CompositeAlarm').length;
  add('CloudWatch composite alarms', composites, composites * PRICES.compositeAlarmPerMonth, `${price(PRICES.compositeAlarmPerMonth)} each`);

  const dashboards = ofType('AWS::CloudWatch::Dashboard').length;
  add('CloudWatch dashboards', dashboards, dashboards * PRICES.dashboardPerMonth, `${price(PRICES.dashboardPerMonth)} each; an account's first ${PRICES.freeDashboards} are free`);

  const keys = ofType('AWS::KMS::Key').length;
  add('KMS customer managed keys', keys, keys * PRICES.kmsKeyPerMonth, `${price(PRICES.kmsKeyPerMonth)} per key`);

  for (const [id, acl] of ofType('AWS::WAFv2::WebACL')) {
    const rules = acl.Properties?.Rules?.length ?? 0;
    add(`WAF web ACL ${shortId(id)}`, 1, PRICES.wafWebAclPerMonth + rules * PRICES.wafRulePerMonth, `${price(PRICES.wafWebAclPerMonth)} + ${rules} rule${rules === 1 ? '' : 's'} × ${price(PRICES.wafRulePerMonth)}`);
  }

  const scheduled = scheduledRuns(resources, a);
  for (const run of scheduled) add(`scheduled runs of ${run.name}`, run.runsPerMonth, run.perMonth, run.basis);

  const tables = ofType('AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable');
  const pitr = tables.filter(([, t]) => pointInTimeRecovery(t));
  add(
    'DynamoDB point-in-time recovery',
    pitr.length,
    pitr.length * a.storedGB * PRICES.dynamodbPitrPerGBMonth,
    `${price(PRICES.dynamodbPitrPerGBMonth)} per GB-month of table data; ${a.storedGB} GB before the first webhook`,
  );
  add(
    'DynamoDB storage',
    tables.length,
    Math.max(0, tables.length * a.storedGB - PRICES.dynamodbFreeStorageGB) * PRICES.dynamodbStoragePerGBMonth,
    `${price(PRICES.dynamodbStoragePerGBMonth)} per GB-month beyond the free ${PRICES.dynamodbFreeStorageGB} GB per region`,
  );

  const archives = ofType('AWS::Events::Archive').length;
  add(
    'EventBridge archives',
    archives,
    archives * a.storedGB * PRICES.eventArchiveStoragePerGBMonth,
    `${price(PRICES.eventArchivePerGBArchived)} per GB archived + ${price(PRICES.eventArchiveStoragePerGBMonth)} per GB-month kept; nothing archived yet`,
  );

  const logGroups = ofType('AWS::Logs::LogGroup').length;
  const storedLogGB = scheduled.reduce((gb, run) => gb + run.storedLogGB, 0);
  add(
    'CloudWatch Logs storage',
    logGroups,
    storedLogGB * PRICES.cloudWatchLogsStoragePerGBMonth,
    `${price(PRICES.cloudWatchLogsStoragePerGBMonth)} per GB-month; only scheduled runs write while nothing arrives (${fmt(storedLogGB * 1000, 1)} MB kept)`,
  );

  const priced = new Set([
    'AWS::SecretsManager::Secret',
    'AWS::CloudWatch::Alarm',
    'AWS::CloudWatch::CompositeAlarm',
    'AWS::CloudWatch::Dashboard',
    'AWS::KMS::Key',
    'AWS::WAFv2::WebACL',
    'AWS::Events::Rule',
    'AWS::Scheduler::Schedule',
    'AWS::DynamoDB::Table',
    'AWS::DynamoDB::GlobalTable',
    'AWS::Events::Archive',
    'AWS::Logs::LogGroup',
  ]);
  const unclassified = [...new Set(resources.map(([, r]) => r.Type).filter((t) => !priced.has(t) && !NO_STANDING_CHARGE.has(t) && !t.startsWith('Custom::')))].sort();
  const freeAlarms = Math.min(standard, PRICES.freeAlarmMetrics) * PRICES.alarmMetricStandardPerMonth;
  const gbPerMillionItems = (a.itemKB * 1e6) / 1e6;
  return {
    lines,
    totalPerMonth: lines.reduce((t, l) => t + l.perMonth, 0),
    freeTierPerMonth: Math.min(dashboards, PRICES.freeDashboards) * PRICES.dashboardPerMonth + freeAlarms,
    perMillionItems: {
      pitr: gbPerMillionItems * PRICES.dynamodbPitrPerGBMonth,
      storageBeyondFreeTier: gbPerMillionItems * PRICES.dynamodbStoragePerGBMonth,
    },
    unchargedResources: resources.filter(([, r]) => NO_STANDING_CHARGE.has(r.Type) || r.Type.startsWith('Custom::')).length,
    unclassified,
  };
}

/** Metrics an alarm reads: each `MetricStat` of a metric-math alarm, else its one metric. */
function alarmMetrics(props: Record<string, any>): { standard: number; highResolution: number } {
  const stats: { Period?: number }[] = Array.isArray(props.Metrics)
    ? props.Metrics.filter((q: any) => q.MetricStat).map((q: any) => ({ Period: Number(q.MetricStat.Period) }))
    : [{ Period: Number(props.Period) }];
  const highResolution = stats.filter((s) => (s.Period ?? 60) < 60).length;
  return { standard: stats.length - highResolution, highResolution };
}

function pointInTimeRecovery(table: CfnResource): boolean {
  const p = table.Properties ?? {};
  if (table.Type === 'AWS::DynamoDB::Table') return p.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled === true;
  return (p.Replicas ?? []).some((r: any) => r.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled === true);
}

interface ScheduledRun {
  readonly name: string;
  readonly runsPerMonth: number;
  readonly perMonth: number;
  readonly basis: string;
  readonly storedLogGB: number;
}

/** Enabled schedules (rules with a `rate(…)`, Scheduler schedules) that invoke a function of the template. */
function scheduledRuns(resources: readonly [string, CfnResource][], a: StandingAssumptions): ScheduledRun[] {
  const byId = new Map(resources);
  const runs: ScheduledRun[] = [];
  for (const [id, r] of resources) {
    const p = r.Properties ?? {};
    const isRule = r.Type === 'AWS::Events::Rule' && p.ScheduleExpression !== undefined;
    const isSchedule = r.Type === 'AWS::Scheduler::Schedule';
    if ((!isRule && !isSchedule) || p.State === 'DISABLED') continue;
    const perHour = ratePerHour(String(p.ScheduleExpression), id);
    const targets: any[] = isRule ? (p.Targets ?? []) : [p.Target];
    for (const target of targets) {
      const fnId = target?.Arn?.['Fn::GetAtt']?.[0];
      const fn = fnId === undefined ? undefined : byId.get(fnId);
      if (fn?.Type !== 'AWS::Lambda::Function') continue;
      runs.push(idleRunCost(shortId(fnId), fn, perHour * HOURS_PER_MONTH, isSchedule, byId, a));
    }
  }
  return runs;
}

function idleRunCost(
  name: string,
  fn: CfnResource,
  runsPerMonth: number,
  viaScheduler: boolean,
  byId: ReadonlyMap<string, CfnResource>,
  a: StandingAssumptions,
): ScheduledRun {
  const props = fn.Properties ?? {};
  const memoryMB = Number(props.MemorySize ?? 128);
  const arm = (props.Architectures ?? [])[0] === 'arm64';
  const run = a.idleRun;
  const platform = platformLogBytes(String(props.LoggingConfig?.LogFormat ?? 'Text'), props.LoggingConfig?.SystemLogLevel, memoryMB, run.coldStartFraction);
  const logBytes = run.appLogBytes + LOG_EVENT_OVERHEAD + platform;
  const logGB = (runsPerMonth * logBytes) / 1e9;
  const groupId = props.LoggingConfig?.LogGroup?.Ref;
  const retentionDays = Number(byId.get(groupId)?.Properties?.RetentionInDays ?? 0);
  // Stored: what the retention keeps, about retention/30 months of output (a group that never expires keeps growing).
  const storedLogGB = logGB * (retentionDays > 0 ? retentionDays / 30 : 12);
  const parts = {
    requests: (runsPerMonth * PRICES.lambdaRequestsPerMillion) / 1e6,
    compute: runsPerMonth * (memoryMB / 1024) * (run.billedMs / 1000) * (arm ? PRICES.lambdaArmPerGbSecond : PRICES.lambdaX86PerGbSecond),
    reads: (runsPerMonth * run.readUnits * PRICES.dynamodbPerMillionReadUnits) / 1e6,
    logs: logGB * PRICES.cloudWatchLogsPerGBIngested,
    scheduler: viaScheduler ? (runsPerMonth * PRICES.schedulerPerMillionInvocations) / 1e6 : 0,
  };
  return {
    name,
    runsPerMonth,
    perMonth: Object.values(parts).reduce((t, v) => t + v, 0),
    basis: `${runsPerMonth.toLocaleString('en-US')} runs × (${run.billedMs} ms at ${memoryMB} MB, ${run.readUnits} read units, ${fmt(logBytes, 0)} B of log)${viaScheduler ? ' + Scheduler invocations' : '; rule invocations are free'}`,
    storedLogGB,
  };
}

/** Runs per hour of `rate(N unit)`; anything else is refused rather than guessed. */
function ratePerHour(expression: string, id: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) throw new Error(`standing cost: ${id} has schedule '${expression}'; teach ratePerHour its runs per hour`);
  const n = Number(match[1]);
  const unit = match[2]!.replace(/s$/, '');
  return unit === 'minute' ? 60 / n : unit === 'hour' ? 1 / n : 1 / (24 * n);
}

/** A unit price as the price lists print it: $0.40, $3.00, $0.023. */
const price = (v: number) => `$${Number.isInteger(Math.round(v * 1e6) / 1e4) ? v.toFixed(2) : String(v)}`;

/** `ReceiverExpirySweepFunction92FFC978` → `ExpirySweepFunction`. */
function shortId(logicalId: string): string {
  return logicalId.replace(/^Receiver/, '').replace(/[0-9A-F]{8}$/, '');
}
