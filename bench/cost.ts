/**
 * Dollars per million webhooks on AWS list prices (us-east-1, arm64), itemised, from what the
 * bench measured and what the synthesized stack declares. Every price is cited; every number
 * that is not measured here is an explicit, named assumption (ASSUMPTIONS) with its reason.
 */
import type { StackFacts } from './stack';

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
} as const;

export const PRICE_SOURCES = [
  ['AWS Lambda', 'https://aws.amazon.com/lambda/pricing/'],
  ['Lambda INIT billing (from 2025-08-01)', 'https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/'],
  ['API Gateway HTTP APIs', 'https://aws.amazon.com/api-gateway/pricing/'],
  ['DynamoDB on-demand', 'https://aws.amazon.com/dynamodb/pricing/on-demand/'],
  ['EventBridge', 'https://aws.amazon.com/eventbridge/pricing/'],
  ['Secrets Manager', 'https://aws.amazon.com/secrets-manager/pricing/'],
  ['CloudWatch Logs', 'https://aws.amazon.com/cloudwatch/pricing/'],
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
  /** DynamoDB writes per delivery: the transition, then clearing the unpublished marker. */
  readonly writesPerDelivery: number;
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
  writesPerDelivery: 2,
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
  /** Events a delivery puts on the bus. */
  readonly eventsPerDelivery: number;
  /** The item a delivery finds (DynamoDB JSON), as the stub answered GetItem. */
  readonly pendingItem: (id: string) => Record<string, AttributeValue>;
}

export interface DynamoRequest {
  readonly UpdateExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, AttributeValue>;
  readonly Key?: Record<string, AttributeValue>;
}
type AttributeValue = Record<string, any>;

export interface CostLine {
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
  const dynamo = dynamoFigures(m, stack, a);
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
  };
}

const sum = (lines: readonly CostLine[]) => lines.reduce((s, l) => s + l.perMillion, 0);


function scenarios(m: MeasuredInputs, stack: StackFacts, a: Assumptions, memoryMB: number) {
  const rows: { change: string; totalPerMillion: number }[] = [];
  let st = stack;
  let assume = a;
  let extra = 0;
  const push = (change: string) => rows.push({ change, totalPerMillion: sum(costLines(m, st, assume, memoryMB)) + extra });
  push('as configured');
  if (st.globalSecondaryIndexes.some((gsi) => gsi.name === 'byStatus')) {
    // The construct's `statusIndex: false`: every transition otherwise moves the item's byStatus entry.
    st = { ...st, globalSecondaryIndexes: st.globalSecondaryIndexes.filter((gsi) => gsi.name !== 'byStatus') };
    push('+ statusIndex: false (prop or context): no byStatus index, so a transition writes only the byExpiry delete');
  }
  st = { ...st, logFormat: 'JSON', systemLogLevel: 'WARN' };
  push('+ no platform lines: JSON log format, system log level WARN (not offered: the level filter would also drop EMF at WARN, see docs)');
  assume = { ...assume, writesPerDelivery: 1 };
  // A stream consumer (Lambda, batches of ~10) publishes instead: its requests and compute.
  extra = 0.2 / 10 + 0.01;
  push('+ one DynamoDB write per webhook: events published from the table stream instead of PutEvents + marker clear (≈ $0.03/M consumer)');
  assume = { ...assume, coldStartFraction: 0.01 };
  push('(traffic, not a change) cold starts at 1% of webhooks instead of 10%');
  return rows;
}

function costLines(m: MeasuredInputs, stack: StackFacts, a: Assumptions, memoryMB: number): CostLine[] {
  const lambda = lambdaFigures(m, stack, a, memoryMB);
  const dynamo = dynamoFigures(m, stack, a);
  const logs = logFigures(m, stack, a, memoryMB);
  const secretCalls = a.coldStartFraction + (a.warmInstances * ((30 * 24 * 60) / a.secretTtlMinutes)) / a.monthlyDeliveries;
  const f = a.coldStartFraction;
  return [
    { item: 'API Gateway HTTP API requests', perMillion: PRICES.httpApiPerMillion, basis: '1 request per webhook' },
    { item: 'Lambda requests', perMillion: PRICES.lambdaRequestsPerMillion, basis: '1 invocation per webhook' },
    {
      item: 'Lambda compute, warm',
      perMillion: lambda.warmCompute,
      basis: `${memoryMB} MB × ${lambda.billedWarmMs} ms billed (${fmt(m.warmCpuMs)} ms CPU × ${fmt(lambda.scale)} + ${ioWait(a)} ms I/O)`,
    },
    {
      item: 'Lambda compute, INIT + first call',
      perMillion: lambda.coldCompute,
      basis: `${pct(f)} cold × ${memoryMB} MB × ${fmt(lambda.coldExtraMs, 0)} ms (boot ${fmt(m.coldBootMs, 0)} + import ${fmt(m.coldImportMs, 0)} + first-call ${fmt(Math.max(0, m.coldFirstMs - m.warmWallMs), 0)} ms, ×${fmt(lambda.initScale)})`,
    },
    {
      item: 'DynamoDB reads',
      perMillion: dynamo.readUnits * PRICES.dynamodbPerMillionReadUnits,
      basis: `${fmt(dynamo.readUnits)} RRU (GetItem, strongly consistent, item ≤ 4 KB)`,
    },
    {
      item: 'DynamoDB writes, table',
      perMillion: dynamo.tableWrites * PRICES.dynamodbPerMillionWriteUnits,
      basis: `${fmt(dynamo.tableWrites)} WRU: ${a.writesPerDelivery} UpdateItem × item of ${dynamo.itemBytes.map((b) => fmt(b, 0)).join('/')} B`,
    },
    {
      item: 'DynamoDB writes, secondary indexes',
      perMillion: dynamo.indexWrites * PRICES.dynamodbPerMillionWriteUnits,
      basis: dynamo.indexBasis,
    },
    { item: 'EventBridge custom events', perMillion: m.eventsPerDelivery * PRICES.eventBridgePerMillionEvents, basis: `${fmt(m.eventsPerDelivery)} event (≤ 64 KB) per webhook` },
    {
      item: 'Secrets Manager GetSecretValue',
      perMillion: (secretCalls * 1e6 * PRICES.secretsManagerPer10kCalls) / 1e4,
      basis: `1 per cold start (${pct(f)}) + a ${a.secretTtlMinutes}-min refresh per warm instance at ${a.monthlyDeliveries / 1e6}M webhooks/month`,
    },
    {
      item: 'CloudWatch Logs ingestion',
      perMillion: (logs.total * 1e6 * PRICES.cloudWatchLogsPerGBIngested) / 1e9,
      basis: `${fmt(logs.total, 0)} B/webhook: function ${fmt(logs.app, 0)} + platform ${fmt(logs.platform, 0)} + API access log ${fmt(logs.access, 0)} (incl. 26 B/event)`,
    },
  ];
}

function ioWait(a: Assumptions): number {
  // With one write per delivery the event leaves through the table's stream, not PutEvents.
  return a.ioWaitMs.getItem + a.writesPerDelivery * a.ioWaitMs.updateItem + (a.writesPerDelivery > 1 ? a.ioWaitMs.putEvents : 0);
}

function lambdaFigures(m: MeasuredInputs, stack: StackFacts, a: Assumptions, memoryMB: number) {
  const price = stack.architecture === 'arm64' ? PRICES.lambdaArmPerGbSecond : PRICES.lambdaX86PerGbSecond;
  const scale = Math.max(1, FULL_CORE_MB / memoryMB) * a.cpuSpeedFactor;
  const initScale = a.initThrottled ? scale : a.cpuSpeedFactor;
  const warmMs = ioWait(a) + m.warmCpuMs * scale;
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

function dynamoFigures(m: MeasuredInputs, stack: StackFacts, a: Assumptions) {
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
  const tableWrites = mean(itemBytes.map((bytes) => a.writesPerDelivery * kb(bytes)));
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
      let writes = 0;
      if (inBefore && inAfter) {
        const keyChanged = gsi.keys.some((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
        const projectedChanged = Object.keys(after).some((k) => projects(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k]));
        writes = keyChanged ? 2 * entry : projectedChanged ? entry : 0; // a key change is a delete plus a put
      } else if (inBefore || inAfter) {
        writes = entry; // the item enters or leaves the index
      }
      // Clearing the unpublished marker rewrites the entry only if the index projects it.
      if (inAfter && a.writesPerDelivery > 1 && (projects('unpublished') || projects('version'))) writes += entry;
      return writes;
    });
    const writes = mean(perItem);
    indexWrites += writes;
    basis.push(`${gsi.name} (${gsi.projection}): ${fmt(writes)} WRU`);
  }
  return {
    itemBytes,
    readUnits: 1,
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

/** Log bytes per delivery, each event counted with CloudWatch's 26-byte per-event overhead. */
function logFigures(m: MeasuredInputs, stack: StackFacts, a: Assumptions, memoryMB: number) {
  const EVENT = 26;
  const app = m.appLogBytes + EVENT * m.appLogLines;
  const requestId = '8f507cfc-4e4f-4e1b-9a3e-6a1e7a8d2b10';
  let platform = 0;
  if (stack.logFormat === 'Text') {
    // The runtime's own lines for each invocation, in their documented text format.
    const lines = [
      `START RequestId: ${requestId} Version: $LATEST`,
      `END RequestId: ${requestId}`,
      `REPORT RequestId: ${requestId}\tDuration: 38.21 ms\tBilled Duration: 39 ms\tMemory Size: ${memoryMB} MB\tMax Memory Used: 92 MB\t`,
    ];
    platform = lines.reduce((t, l) => t + utf8(l) + 1 + EVENT, 0) + a.coldStartFraction * utf8('Init Duration: 512.34 ms\t');
  } else if (!['WARN', 'ERROR', 'FATAL'].includes(String(stack.systemLogLevel ?? 'INFO'))) {
    // JSON platform events (platform.start, platform.report); their records are larger than the text lines.
    const start = JSON.stringify({ time: '2026-11-22T14:55:46.611Z', type: 'platform.start', record: { requestId, version: '$LATEST' } });
    const report = JSON.stringify({
      time: '2026-11-22T14:55:46.650Z',
      type: 'platform.report',
      record: { requestId, metrics: { durationMs: 38.21, billedDurationMs: 39, memorySizeMB: memoryMB, maxMemoryUsedMB: 92 }, status: 'success' },
    });
    platform = utf8(start) + utf8(report) + 2 * EVENT;
  }
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
    access = utf8(line) + EVENT;
  }
  return { app, platform, access, total: app + platform + access };
}

const fmt = (n: number, digits = 2) => {
  const text = n.toFixed(digits);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
};
const pct = (f: number) => `${fmt(f * 100, 1)}%`;
