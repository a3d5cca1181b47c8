/**
 * The soak: well over a thousand deliveries over hundreds of images and videos, every kind and
 * outcome mixed (transitions, refreshes, duplicates, stale and out-of-order reports, plus
 * forged, unknown, invalid, oversized and no-op requests), sent concurrently by a sender that
 * retries like Cloudflare, through the real bundle, with faults injected between the function
 * and AWS. Then: every item ends where the documented rule says, every transition was published
 * at least once with its stable id, and — in the fault-free control run — exactly once.
 *
 * A third run takes the sender's retries away: it never redelivers, and a fraction of the
 * function's PutEvents calls never get through (the connection drops, or the answer is lost after
 * the bus took the events), so those invocations end after their table write with nothing
 * published, as a function killed at that moment would. The stream relay runs (its real bundle
 * behind the local event source mapping) and is all that stands between those writes and a lost
 * event.
 *
 * Not named *.test.ts, so `npm test` leaves it out (it takes a couple of minutes); .ci/run runs it.
 *
 *   npm run soak                              # figures on stderr and in .build/soak.json
 *   SOAK_SEED=7 SOAK_ITEMS=400 npm run soak   # another script, a bigger run
 *   SOAK_WRITE_DOCS=1 npm run soak            # also rewrite the figures in docs/RELIABILITY.md
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sign } from '../../lambda/webhook/verify.js';
import { payloads } from '../../local/payloads.js';
import { repoRoot } from '../support/cli.js';
import { seedPending } from '../support/deliver.js';
import { randomFaults, seededRandom, startFaultProxy, tally, type FaultPolicy, type FaultProxy, type FaultTally } from '../support/fault-proxy.js';
import { captureLogs, findLeaks, redact, type LogCapture } from '../support/log-capture.js';
import { assertItemConsistent, bodyOf, checkEvents, type EventCheck, type Kind, type Report, type Scheme } from '../support/model.js';
import type { StreamPollerStats } from '../../local/stream-poller.js';
import { startEmulator, type Emulator } from '../../scripts/emulator.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { createSender, inPool, type Sent } from '../support/sender.js';
import { drainEvents, scanItems, waitUntil } from '../support/watch.js';

const SEED = Number(process.env.SOAK_SEED ?? 20240101);
/** Items of the faulty run (≈4 deliveries each); the control run has half as many. */
const ITEMS = Number(process.env.SOAK_ITEMS ?? 270);
const CONCURRENCY = 12;
/** Probability that one SDK call is faulted: at ~2 SDK calls per delivery, about one delivery in ten meets a fault. */
const FAULT_RATE = 0.055;
/** In the run without redeliveries: probability that a PutEvents of the webhook fails on every attempt. */
const KILL_RATE = 0.15;
/** How long the relay may take, after the last answer, to empty every outbox. */
const SETTLE_TIMEOUT_MS = 120_000;

type RunMode = 'control' | 'faulty' | 'no-redelivery';

type NoiseType = 'forged' | 'stale-signature' | 'unknown-id' | 'invalid-payload' | 'test-ping' | 'in-progress' | 'oversized';
const NOISE_STATUS: Record<NoiseType, number> = {
  forged: 401,
  'stale-signature': 401,
  'unknown-id': 404,
  'invalid-payload': 400,
  'test-ping': 200,
  'in-progress': 200,
  oversized: 413,
};

type Planned = { readonly type: 'report'; readonly report: Report } | { readonly type: 'noise'; readonly noise: NoiseType; readonly report: Report };

interface Script {
  readonly items: { readonly id: ReturnType<typeof randomUUID>; readonly kind: Kind; readonly reports: Report[] }[];
  readonly deliveries: Planned[];
}

/** A seeded script: per item a few distinct reports, some duplicates, all shuffled together. */
function makeScript(seed: number, count: number): Script {
  const random = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const choose = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]!;
  const base = Date.UTC(2024, 0, 1, 12);
  const items: Script['items'] = [];
  const deliveries: Planned[] = [];
  for (let n = 0; n < count; n++) {
    const kind: Kind = random() < 0.6 ? 'image' : 'video';
    const id = randomUUID();
    const statuses = kind === 'image' ? (['draft', 'failed', 'uploaded', 'failed'] as const) : (['ready', 'error', 'error'] as const);
    const times = new Set<number>();
    const reports: Report[] = [];
    for (let i = int(1, kind === 'image' ? 4 : 3); i > 0; i--) {
      let time: number;
      do time = base + int(0, 600) * 1000 + int(0, 999);
      while (times.has(time));
      times.add(time);
      const scheme: Scheme = kind === 'video' ? 'stream' : choose(['toolkit', 'notification'] as const);
      reports.push({ kind, id, status: choose(statuses), occurredAt: new Date(time).toISOString(), scheme });
    }
    items.push({ id, kind, reports });
    for (const report of reports) {
      deliveries.push({ type: 'report', report });
      // Cloudflare retries deliveries it thinks failed: a duplicate, sometimes in the other envelope.
      for (let copies = random() < 0.45 ? int(1, 2) : 0; copies > 0; copies--) {
        const scheme: Scheme = kind === 'video' ? 'stream' : choose(['toolkit', 'notification'] as const);
        deliveries.push({ type: 'report', report: { ...report, scheme } });
      }
    }
    // Requests that must change nothing: one in ten, aimed at real items with newer timestamps.
    if (random() < 0.4) {
      const noise = choose(Object.keys(NOISE_STATUS) as NoiseType[]);
      const newer = new Date(base + 3_600_000).toISOString();
      const report: Report = { ...reports[0]!, occurredAt: newer, status: kind === 'image' ? 'uploaded' : 'ready' };
      deliveries.push({ type: 'noise', noise: kind === 'image' && noise === 'in-progress' ? 'forged' : noise, report });
    }
  }
  // Fisher–Yates with the seeded generator: out of order across and within items.
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
  }
  return { items, deliveries };
}

interface RunFigures {
  readonly items: number;
  readonly deliveries: number;
  readonly statusReports: number;
  readonly duplicatesSent: number;
  readonly noise: number;
  readonly attempts: number;
  readonly senderRetries: number;
  readonly gaveUp: number;
  readonly answers: Record<string, number>;
  readonly outcomes: Record<string, number>;
  readonly publishedPerReceipts: number;
  readonly events: EventCheck;
  readonly faults: FaultTally;
  readonly seconds: number;
  /** Without redeliveries: report deliveries whose function failed after its write (answered 500, never sent again). */
  readonly killed?: number;
  /** Without redeliveries: the relay's poller, and how long after the last answer every outbox was empty. */
  readonly relay?: StreamPollerStats;
  readonly settleSeconds?: number;
}

describe('soak', { timeout: 15 * 60_000 }, () => {
  let emulator: Emulator;
  let proxy: FaultProxy;
  let logs: LogCapture;
  const sensitive = new Set<string>();
  const figures: Record<string, unknown> = { seed: SEED, itemsPerRun: ITEMS, concurrency: CONCURRENCY, faultRatePerSdkCall: FAULT_RATE, killRatePerPutEvents: KILL_RATE };

  before(async () => {
    // An emulator of its own: this suite is heavy, and one moto serves one request at a time.
    emulator = await startEmulator();
    proxy = await startFaultProxy(emulator.endpoint);
    logs = captureLogs();
  });

  after(async () => {
    logs.stop();
    await proxy.close();
    await emulator.stop();
    mkdirSync(join(repoRoot, '.build'), { recursive: true });
    writeFileSync(join(repoRoot, '.build', 'soak.json'), `${JSON.stringify(figures, null, 2)}\n`);
    if (process.env.SOAK_WRITE_DOCS === '1') writeDocs(figures);
  });

  /** The faults of each run: none, random ones on every call, or PutEvents failing on every attempt. */
  function faultsFor(mode: RunMode, seed: number): FaultPolicy {
    if (mode === 'control') return () => undefined;
    if (mode === 'no-redelivery') {
      return randomFaults({ seed, rate: KILL_RATE, services: ['events'], persistence: 1, weights: { reset: 3, 'lost-response': 1 } });
    }
    return randomFaults({
      seed,
      rate: FAULT_RATE,
      services: ['dynamodb', 'events'],
      persistence: 0.4,
      weights: { throttle: 3, 'server-error': 2, reset: 2, slow: 1, 'lost-response': 1, 'failed-entry': 2 },
      slowMs: [50, 600],
    });
  }

  /** One run: a fresh receiver (its own table, bus and queue), the script, the checks. */
  async function run(seed: number, items: number, mode: RunMode): Promise<RunFigures> {
    // The control run proves one event per transition, which holds while a writer publishes
    // within its lease: a long lease keeps CPU contention on this machine from counting as a
    // fault. The other runs keep the default lease, so a redelivery or the relay takes over
    // unpublished events.
    const redelivers = mode !== 'no-redelivery';
    const r = await startReceiver({
      emulator,
      overrides: { AWS_ENDPOINT_URL: proxy.url, ...(mode === 'control' ? { PUBLISH_LEASE_MS: 20_000 } : {}) },
      // The relay talks to the emulator directly: only the webhook's calls meet the proxy.
      ...(!redelivers && { relay: true }),
    });
    try {
      for (const values of Object.values(r.resources.secrets)) for (const value of values) sensitive.add(value);
      const script = makeScript(seed, items);
      await inPool(script.items.map((item) => () => seedPending(r.resources, item.kind, item.id)), 16);

      proxy.reset();
      proxy.setPolicy(faultsFor(mode, seed));
      const deliver = createSender({ maxAttempts: redelivers ? 8 : 1, baseMs: 100, capMs: 2000, seed, timeoutMs: 30_000 });
      const started = performance.now();
      const sent = await inPool(script.deliveries.map((planned) => () => deliver(request(r, planned))), CONCURRENCY);
      const seconds = (performance.now() - started) / 1000;
      proxy.setPolicy(() => undefined);
      const faults = tally(proxy.calls);

      // Every delivery ended as a sender would want: status reports applied, noise refused. Without
      // redeliveries a report may end in a 500: its function failed after the write, and nobody sends it again.
      const outcomes: Record<string, number> = {};
      const answers: Record<string, number> = {};
      let publishedPerReceipts = 0;
      let killed = 0;
      script.deliveries.forEach((planned, i) => {
        const answer = sent[i]!;
        answers[answer.status] = (answers[answer.status] ?? 0) + 1;
        const label = `${planned.type === 'noise' ? planned.noise : 'report'} ${planned.report.kind} ${planned.report.status} via ${planned.report.scheme}`;
        if (planned.type === 'noise') {
          assert.equal(answer.status, NOISE_STATUS[planned.noise], `${label}: ${JSON.stringify(answer.body)}`);
          return;
        }
        if (!redelivers && answer.status === 500) {
          assert.deepEqual(answer.body, { error: 'internal error', retryable: true }, label);
          killed++;
          return;
        }
        assert.equal(answer.gaveUp, false, `${label}: the sender gave up after ${answer.attempts} attempts`);
        assert.equal(answer.status, 200, `${label}: ${JSON.stringify(answer.body)}`);
        const outcome = String(answer.body.outcome);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        publishedPerReceipts += Number(answer.body.published ?? 0);
        if (mode === 'control') {
          // Without faults a delivery publishes exactly its own transition and nothing else.
          assert.equal(answer.body.published, outcome === 'transitioned' ? 1 : 0, `${label}: ${outcome} published ${answer.body.published}`);
        }
      });

      // Without redeliveries, what the killed functions left in the outboxes is the relay's to publish.
      let settleSeconds: number | undefined;
      if (!redelivers) {
        const settled = performance.now();
        await waitForEmptyOutboxes(r);
        await r.relay!.caughtUp(SETTLE_TIMEOUT_MS);
        settleSeconds = Math.round((performance.now() - settled) / 100) / 10;
      }

      const stored = await scanItems(r);
      const byId = new Map(stored.map((item) => [item.id, item]));
      for (const item of script.items) assertItemConsistent(byId.get(item.id), item.reports, `${item.kind} ${item.id}`);
      assert.equal(stored.length, script.items.length, 'no item was created by a rejected request');

      const events = checkEvents(stored, await drainEvents(r));
      assert.equal(events.lost, 0, 'every transition was published');
      if (mode === 'control') {
        assert.equal(events.events, events.transitions, 'without faults, one event per transition');
        assert.equal(events.redelivered, 0, 'without faults, no event twice');
        assert.equal(publishedPerReceipts, events.events, 'receipts count the events the bus delivered');
      }
      return {
        items: script.items.length,
        deliveries: script.deliveries.length,
        statusReports: script.deliveries.filter((d) => d.type === 'report').length,
        duplicatesSent: script.deliveries.filter((d) => d.type === 'report').length - script.items.reduce((n, item) => n + item.reports.length, 0),
        noise: script.deliveries.filter((d) => d.type === 'noise').length,
        attempts: sent.reduce((n, s: Sent) => n + s.attempts, 0),
        senderRetries: sent.reduce((n, s: Sent) => n + s.attempts - 1, 0),
        gaveUp: sent.filter((s) => s.gaveUp).length,
        answers,
        outcomes,
        publishedPerReceipts,
        events,
        faults,
        seconds: Math.round(seconds * 10) / 10,
        ...(!redelivers && { killed, relay: r.relay!.stats, settleSeconds }),
      };
    } finally {
      await r.stop();
    }
  }

  /** The HTTP request for a planned delivery, signed afresh on every attempt. */
  function request(r: Receiver, planned: Planned) {
    const secrets = r.resources.secrets;
    const { report } = planned;
    const remember = (headers: Record<string, string>) => {
      for (const name of ['x-signature', 'webhook-signature', 'cf-webhook-auth']) {
        for (const part of headers[name]?.split(/[=,]/) ?? []) if (part.length >= 12) sensitive.add(part);
      }
      return headers;
    };
    const signed = (body: string, scheme: Scheme, secret?: string, time?: () => number) => () =>
      remember(
        scheme === 'toolkit'
          ? { 'content-type': 'application/json', 'x-signature': sign.toolkit(secret ?? secrets.toolkit[0]!, body) }
          : scheme === 'notification'
            ? { 'content-type': 'application/json', 'cf-webhook-auth': secret ?? secrets.images[0]! }
            : { 'content-type': 'application/json', 'webhook-signature': sign.stream(secret ?? secrets.stream[0]!, body, time?.() ?? Math.floor(Date.now() / 1000)) },
      );
    const urlOf = (scheme: Scheme) => (scheme === 'stream' ? r.streamUrl : r.imagesUrl);

    if (planned.type === 'report') {
      const body = JSON.stringify(bodyOf(report));
      return { url: urlOf(report.scheme), body, headers: signed(body, report.scheme) };
    }
    const body = JSON.stringify(bodyOf(report));
    switch (planned.noise) {
      case 'forged':
        return { url: urlOf(report.scheme), body, headers: signed(body, report.scheme, randomBytes(24).toString('hex')) };
      case 'stale-signature':
        return { url: r.streamUrl, body, headers: signed(body, 'stream', undefined, () => Math.floor(Date.now() / 1000) - 3600) };
      case 'unknown-id': {
        const unknown = JSON.stringify(bodyOf({ ...report, id: randomUUID() }));
        return { url: urlOf(report.scheme), body: unknown, headers: signed(unknown, report.scheme) };
      }
      case 'invalid-payload': {
        const invalid = JSON.stringify({ id: report.id, uploaded: 'not a date' });
        return { url: r.imagesUrl, body: invalid, headers: signed(invalid, 'toolkit') };
      }
      case 'test-ping': {
        const ping = JSON.stringify(payloads.testPing());
        return { url: r.imagesUrl, body: ping, headers: signed(ping, 'notification') };
      }
      case 'in-progress': {
        const video = payloads.videoReady(report.id, report.occurredAt);
        const progress = JSON.stringify({ ...video, readyToStream: false, status: { state: 'inprogress', pctComplete: '42.0' } });
        return { url: r.streamUrl, body: progress, headers: signed(progress, 'stream') };
      }
      case 'oversized': {
        const huge = JSON.stringify({ ...bodyOf(report), padding: 'x'.repeat(70_000) });
        return { url: urlOf(report.scheme), body: huge, headers: signed(huge, report.scheme) };
      }
    }
  }

  it('control run without faults: every item right, exactly one event per transition, none for duplicates', async () => {
    const control = await run(SEED, Math.ceil(ITEMS / 2), 'control');
    figures.control = control;
    printRun('control (no faults)', control);
    assert.equal(control.faults.injected.throttle ?? 0, 0);
  });

  it('faulty run (~10% of deliveries meet a fault): every item right, every transition published, nothing lost', async () => {
    const faulty = await run(SEED + 1, ITEMS, 'faulty');
    figures.faulty = faulty;
    printRun('faulty', faulty);
    assert.ok(faulty.deliveries >= 1000, `at least 1,000 deliveries (got ${faulty.deliveries})`);
    const injected = Object.values(faulty.faults.injected).reduce((a, b) => a + b, 0);
    assert.ok(injected >= faulty.deliveries * 0.05, `faults were injected (${injected})`);
    assert.ok(faulty.faults.surfacedToFunction > 0 && faulty.senderRetries > 0, 'some faults reached the function and were retried by the sender');
  });

  it('no redelivery, ever (~15% of PutEvents fail on every attempt, the sender never retries), relay on: every transition published, nothing lost', async () => {
    const lonely = await run(SEED + 2, Math.ceil(ITEMS / 2), 'no-redelivery');
    figures.noRedelivery = lonely;
    printRun('no redelivery (relay on)', lonely);
    assert.equal(lonely.senderRetries, 0, 'the sender never sent anything twice');
    assert.ok(lonely.killed! > 0, `some functions failed after their write (${lonely.killed})`);
    assert.ok(lonely.relay!.invocations > 0, 'the relay was invoked');
  });

  it('logs of every delivery above carry no secret and no signature', () => {
    logs.stop();
    const text = logs.text();
    figures.logLines = logs.lines();
    figures.sensitiveValuesSearched = sensitive.size;
    assert.ok(logs.lines() > 1000, `captured the function's log lines (${logs.lines()})`);
    const leaks = findLeaks(text, sensitive);
    assert.deepEqual(leaks.map(redact), []);
  });
});

/** Until no item holds an outbox: every event a writer left behind was published (or a deadline passed). */
async function waitForEmptyOutboxes(r: Receiver): Promise<void> {
  await waitUntil('no item to hold unpublished events after the last answer', async () => (await scanItems(r)).every((item) => item.unpublished === undefined), SETTLE_TIMEOUT_MS, 250);
}

function printRun(name: string, run: RunFigures): void {
  const injected = Object.entries(run.faults.injected).map(([type, n]) => `${type} ${n}`).join(', ') || 'none';
  process.stderr.write(
    [
      `soak ${name}: ${run.deliveries} deliveries (${run.statusReports} status reports, ${run.duplicatesSent} duplicates, ${run.noise} refused by design) over ${run.items} items in ${run.seconds} s`,
      `  sender: ${run.attempts} attempts, ${run.senderRetries} retries, ${run.gaveUp} gave up; answers ${JSON.stringify(run.answers)}; outcomes ${JSON.stringify(run.outcomes)}`,
      `  SDK calls faulted ${run.faults.faultedCalls}; faults injected: ${injected}; SDK absorbed ${run.faults.absorbedBySdk}, reached the function ${run.faults.surfacedToFunction}, SDK retries ${run.faults.sdkRetries}`,
      `  transitions ${run.events.transitions}, events ${run.events.events} (${run.events.distinct} distinct, ${run.events.redelivered} delivered more than once), lost ${run.events.lost}`,
      ...(run.relay
        ? [
            `  functions failed after their write, never redelivered: ${run.killed}; every outbox empty ${run.settleSeconds} s after the last answer`,
            `  relay: ${run.relay.invocations} invocations, ${run.relay.delivered} records handled, ${run.relay.filteredOut} filtered out, ${run.relay.retries} retries, ${run.relay.discarded} discarded`,
          ]
        : []),
      '',
    ].join('\n'),
  );
}

/** Rewrites the generated block of docs/RELIABILITY.md with this run's figures. */
function writeDocs(figures: Record<string, unknown>): void {
  const path = join(repoRoot, 'docs', 'RELIABILITY.md');
  const doc = readFileSync(path, 'utf8');
  const runs = [figures.control, figures.faulty, figures.noRedelivery] as RunFigures[];
  const row = (label: string, pick: (run: RunFigures) => unknown) => `| ${label} | ${runs.map(pick).join(' | ')} |`;
  const injected = (run: RunFigures) => Object.values(run.faults.injected).reduce((a, b) => a + b, 0);
  const relay = (pick: (stats: StreamPollerStats) => number) => (run: RunFigures) => (run.relay ? pick(run.relay) : '—');
  const table = [
    `Seed ${figures.seed}, ${figures.itemsPerRun} items in the faulty run (half in the others), ${figures.concurrency} deliveries in flight, fault rate ${figures.faultRatePerSdkCall} per SDK call; without redeliveries, ${figures.killRatePerPutEvents} of the webhook's PutEvents calls fail on every attempt.`,
    '',
    '| | control (no faults) | faulty | no redelivery, relay on |',
    '|---|---:|---:|---:|',
    row('items (images and videos)', (r) => r.items),
    row('deliveries', (r) => r.deliveries),
    row('… status reports (incl. duplicates)', (r) => r.statusReports),
    row('… duplicates', (r) => r.duplicatesSent),
    row('… refused by design (forged, stale, unknown, invalid, oversized, no-op)', (r) => r.noise),
    row('SDK calls that met a fault', (r) => r.faults.faultedCalls),
    row('faults injected (every faulted attempt)', injected),
    row('… by type', (r) => Object.entries(r.faults.injected).map(([t, n]) => `${t} ${n}`).join(', ') || '—'),
    row('SDK calls whose faults the SDK retried away', (r) => r.faults.absorbedBySdk),
    row('SDK calls whose fault reached the function', (r) => r.faults.surfacedToFunction),
    row('sender attempts', (r) => r.attempts),
    row('sender retries', (r) => r.senderRetries),
    row('deliveries given up', (r) => r.gaveUp),
    row('functions that failed after their write, never redelivered', (r) => r.killed ?? '—'),
    row('outcomes', (r) => Object.entries(r.outcomes).map(([o, n]) => `${o} ${n}`).join(', ')),
    row('transitions recorded', (r) => r.events.transitions),
    row('events received', (r) => r.events.events),
    row('… events received more than once (same eventId)', (r) => r.events.redelivered),
    row('… copies beyond the first', (r) => r.events.events - r.events.distinct),
    row('**transitions lost**', (r) => `**${r.events.lost}**`),
    row('relay invocations', relay((s) => s.invocations)),
    row('… stream records it handled / filtered out', (r) => (r.relay ? `${r.relay.delivered} / ${r.relay.filteredOut}` : '—')),
    row('… retries / records discarded', (r) => (r.relay ? `${r.relay.retries} / ${r.relay.discarded}` : '—')),
    row('every outbox empty, s after the last answer', (r) => r.settleSeconds ?? '—'),
    row('wall time, s', (r) => r.seconds),
  ].join('\n');
  const next = doc.replace(/(<!-- soak:begin -->\n)[\s\S]*?(\n<!-- soak:end -->)/, `$1${table}$2`);
  writeFileSync(path, next);
}
