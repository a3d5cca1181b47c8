/** Runs bench/child/warm.mjs against the stub and summarises what it measured. */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, repoRoot } from './build.js';
import { makeDeliveries, streamEvent } from './deliveries.js';
import { summarize, type Summary } from './stats.js';

export interface WarmSubject {
  readonly name: string;
  readonly file: string;
  /** `webhook`: invoked with signed payload-v2 events; `relay`: with a one-record stream batch; `floor`: with an item id. */
  readonly type: 'webhook' | 'relay' | 'floor';
  /** Deliveries measured, after the warm-up. */
  readonly measured: number;
}

export interface WarmSide {
  readonly ms: Summary;
  /** CPU time (user + system) of the process per invocation, in ms. */
  readonly cpuMs: number;
  /** `outcome/published` → count, for webhook subjects: all must be `transitioned/1`. */
  readonly outcomes: Record<string, number>;
  readonly log: { readonly bytesPerDelivery: number; readonly linesPerDelivery: number; readonly sample?: string };
}

export interface WarmResult {
  readonly subjects: Record<string, WarmSide>;
  readonly warmup: number;
  readonly block: number;
  readonly rssMB: number;
}

export async function measureWarm(subjects: readonly WarmSubject[], { warmup, block }: { warmup: number; block: number }, env: Record<string, string>): Promise<WarmResult> {
  const dir = join(repoRoot, '.build', 'bench');
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'warm-input.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      warmup,
      block,
      subjects: subjects.map((s) => {
        // Fresh ids per subject and per delivery: every one is a first transition of its item.
        const count = warmup + s.measured;
        const ids = Array.from({ length: count }, (_, i) => `img-${s.name}-${i}`);
        const inputs = s.type === 'webhook' ? makeDeliveries(count, s.name).map((d) => d.event) : s.type === 'relay' ? ids.map((id) => streamEvent([id])) : ids;
        return { name: s.name, file: s.file, type: s.type, inputs };
      }),
    }),
  );
  const child = fork(join(benchDir, 'child', 'warm.mjs'), [configFile], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const raw = await new Promise<any>((resolveResult, reject) => {
    let message: unknown;
    child.once('message', (m) => (message = m));
    child.once('error', reject);
    child.once('exit', (code) => (message ? resolveResult(message) : reject(new Error(`warm benchmark exited with ${code}`))));
  });
  const result: Record<string, WarmSide> = {};
  for (const subject of subjects) {
    const s = raw.subjects[subject.name];
    if (subject.type === 'webhook') {
      const odd = Object.keys(s.outcomes).filter((k) => k !== 'transitioned/1');
      if (odd.length > 0) throw new Error(`${subject.name}: deliveries were not all fresh transitions: ${JSON.stringify(s.outcomes)}`);
    }
    result[subject.name] = {
      ms: summarize(s.times),
      cpuMs: s.cpuMicros / 1000 / s.times.length,
      outcomes: s.outcomes,
      log: {
        bytesPerDelivery: (s.log?.bytes ?? 0) / s.deliveries,
        linesPerDelivery: (s.log?.lines ?? 0) / s.deliveries,
        ...(s.log?.sample ? { sample: s.log.sample } : {}),
      },
    };
  }
  return { subjects: result, warmup, block, rssMB: raw.rssMB };
}
