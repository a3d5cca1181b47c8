/**
 * Cold import: fresh Node processes, each importing one bundle (and, optionally, making its
 * first delivery against the stub). Every round samples every subject, in a shuffled order, and
 * each subject's sample is paired with a sample of its floor (`pairWith`) taken just before or
 * after it: on a busy machine the noise moves in bursts of seconds, and a ratio per adjacent
 * pair cancels most of it where a ratio of two medians does not.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchDir } from './build.js';
import { summarize, type Summary } from './stats.js';

export interface ColdSubject {
  readonly name: string;
  readonly file: string;
  /** What to do after the import: nothing, a webhook delivery, or the floor's bare calls. */
  readonly first: 'none' | 'webhook' | 'relay' | 'floor';
  /** The subject (a floor) each sample of this one is paired with; none: sampled on its own. */
  readonly pairWith?: string;
}

export interface ColdSample {
  /** Node's own start-up, before the first line of the child script. */
  readonly bootMs: number;
  readonly importMs: number;
  /** CPU time (user + system) spent in the import. */
  readonly importCpuMs: number;
  readonly firstMs?: number;
  readonly status?: number;
  readonly rssMB: number;
  readonly maxRssMB: number;
  readonly heapMB: number;
}

export interface ColdResult {
  readonly bootMs: Summary;
  readonly importMs: Summary;
  readonly importCpuMs: Summary;
  readonly firstMs?: Summary;
  /** Per-pair ratios to `pairWith` (a sample of it taken next to each of this subject's). */
  readonly pairedRatio?: { readonly wall: Summary; readonly cpu: Summary };
  readonly rssMB: Summary;
  readonly samples: readonly ColdSample[];
}

export async function measureCold(
  subjects: readonly ColdSubject[],
  rounds: number,
  env: Record<string, string>,
  onRound?: (round: number) => void,
): Promise<Record<string, ColdResult>> {
  const byName = new Map(subjects.map((s) => [s.name, s]));
  const samples: Record<string, ColdSample[]> = Object.fromEntries(subjects.map((s) => [s.name, []]));
  const ratios: Record<string, { wall: number[]; cpu: number[] }> = Object.fromEntries(subjects.map((s) => [s.name, { wall: [], cpu: [] }]));
  // Discarded warm-up round: the first spawns after a build pay for a cold page cache.
  for (const subject of subjects) await coldOnce(subject, env);
  for (let round = 0; round < rounds; round++) {
    for (const subject of shuffled(subjects, round)) {
      const reference = subject.pairWith === undefined ? undefined : byName.get(subject.pairWith);
      if (!reference) {
        samples[subject.name]!.push(await coldOnce(subject, env));
        continue;
      }
      // Paired with a floor sample taken right before or after (alternating), so both see the
      // same moment of the machine: the ratio is taken per pair, then its median.
      const referenceFirst = round % 2 === 0;
      const a = await coldOnce(referenceFirst ? reference : subject, env);
      const b = await coldOnce(referenceFirst ? subject : reference, env);
      const [ref, own] = referenceFirst ? [a, b] : [b, a];
      samples[reference.name]!.push(ref);
      samples[subject.name]!.push(own);
      ratios[subject.name]!.wall.push(own.importMs / ref.importMs);
      ratios[subject.name]!.cpu.push(own.importCpuMs / ref.importCpuMs);
    }
    onRound?.(round + 1);
  }
  return Object.fromEntries(
    subjects.map((subject) => {
      const list = samples[subject.name]!;
      const bad = list.find((s) => s.status !== undefined && s.status !== 200);
      if (bad) throw new Error(`cold start of ${subject.name}: first delivery answered ${bad.status}`);
      const first = list.map((s) => s.firstMs).filter((v): v is number => v !== undefined);
      const paired = ratios[subject.name]!;
      return [
        subject.name,
        {
          bootMs: summarize(list.map((s) => s.bootMs)),
          importMs: summarize(list.map((s) => s.importMs)),
          importCpuMs: summarize(list.map((s) => s.importCpuMs)),
          ...(first.length > 0 ? { firstMs: summarize(first) } : {}),
          ...(paired.wall.length > 0 ? { pairedRatio: { wall: summarize(paired.wall), cpu: summarize(paired.cpu) } } : {}),
          rssMB: summarize(list.map((s) => s.rssMB)),
          samples: list,
        },
      ];
    }),
  );
}

export function coldOnce(subject: ColdSubject, env: Record<string, string>): Promise<ColdSample> {
  return new Promise((resolveSample, reject) => {
    const child = spawn(process.execPath, [join(benchDir, 'child', 'cold.mjs'), pathToFileURL(subject.file).href, subject.first], {
      env,
      // stdout: the function's log lines, dropped; fd 3: the measurement.
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let result = '';
    let errors = '';
    child.stdio[3]!.on('data', (chunk: Buffer) => (result += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0 || !result) {
        reject(new Error(`cold start of ${subject.name} failed (exit ${code}):\n${errors.trim()}`));
        return;
      }
      resolveSample(JSON.parse(result) as ColdSample);
    });
  });
}

/** A different, reproducible order each round. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = (seed + 1) * 2654435761;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
