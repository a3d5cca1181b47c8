/**
 * Where a function bundle grew since an earlier commit, per package and per source file:
 *
 *   npx tsx bench/growth.ts <commit> [webhook|relay|sweep|uploads]     (default webhook)
 *
 * The earlier commit's lambda/ is checked out under .build/bench/, its entry (lib/bundling.ts's
 * FunctionSources at that commit) bundled with today's settings and today's node_modules, and both
 * metafiles compared: a package's bytes are comparable when its version did not change (the lock
 * file says), a moved file is matched to its new path through git's rename detection. Prints a
 * Markdown table, largest change first.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FunctionSources, type FunctionName } from '../lib/bundling.js';
import { buildVariant, repoRoot } from './build.js';
import { kB, markdownTable, signed } from './format.js';

const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });

export async function growth(commit: string, fn: FunctionName = 'webhook'): Promise<string> {
  const dir = join('.build', 'bench', `growth-${commit}`);
  rmSync(join(repoRoot, dir), { recursive: true, force: true });
  mkdirSync(join(repoRoot, dir), { recursive: true });
  execFileSync('sh', ['-c', `git archive ${commit} lambda | tar -x -C ${dir}`], { cwd: repoRoot });
  const oldEntry = new RegExp(`${fn}: '([^']+)'`).exec(git('show', `${commit}:lib/bundling.ts`))?.[1];
  if (!oldEntry) throw new Error(`no ${fn} entry in lib/bundling.ts at ${commit}`);
  const before = await buildVariant({ name: `growth-${commit}-${fn}`, entry: join(dir, oldEntry) });
  const after = await buildVariant({ name: `growth-head-${fn}`, entry: FunctionSources[fn] });
  const renamed = new Map(
    git('diff', '-M', '--name-status', commit, 'HEAD', '--', 'lambda/')
      .split('\n')
      .filter((line) => line.startsWith('R'))
      .map((line) => line.split('\t').slice(1) as [string, string]),
  );
  const old = new Map(Object.entries(before.composition).map(([key, bytes]) => {
    const path = key.replace(`${dir}/`, '');
    return [renamed.get(path) ?? path, bytes] as const;
  }));
  matchMovedByName(old, after.composition);
  const keys = [...new Set([...old.keys(), ...Object.keys(after.composition)])];
  const rows = keys
    .map((key) => ({ key, was: old.get(key) ?? 0, now: after.composition[key] ?? 0 }))
    .filter((r) => r.was !== r.now)
    .sort((a, b) => Math.abs(b.now - b.was) - Math.abs(a.now - a.was));
  const own = (r: { key: string }) => r.key.startsWith('lambda/');
  const sum = (list: typeof rows, pick: (r: (typeof rows)[number]) => number) => list.reduce((t, r) => t + pick(r), 0);
  const line = (label: string, list: typeof rows) => [label, String(sum(list, (r) => r.was)), String(sum(list, (r) => r.now)), signed(sum(list, (r) => r.now - r.was))];
  return [
    `${fn} bundle: ${kB(before.bytes)} at ${commit} → ${kB(after.bytes)} now (${signed(after.bytes - before.bytes)} B; the rest of the difference is minifier naming and the module wrappers)`,
    '',
    markdownTable([
      ['package or source file', `bytes at ${commit}`, 'bytes now', 'Δ'],
      ...rows.map((r) => [r.key, r.was ? String(r.was) : '–', r.now ? String(r.now) : '–', signed(r.now - r.was)]),
      line('**packages**', rows.filter((r) => !own(r))),
      line('**own source files**', rows.filter(own)),
    ]),
  ].join('\n');
}

/**
 * A file git no longer sees as renamed (rewritten too much on the way) is paired with the one file
 * of the same name that is new in the bundle, when there is exactly one.
 */
function matchMovedByName(old: Map<string, number>, now: Readonly<Record<string, number>>): void {
  const name = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  const added = Object.keys(now).filter((key) => key.startsWith('lambda/') && !old.has(key));
  for (const [path, bytes] of [...old]) {
    if (!path.startsWith('lambda/') || path in now) continue;
    const candidates = added.filter((key) => name(key) === name(path));
    if (candidates.length !== 1) continue;
    old.delete(path);
    old.set(candidates[0]!, bytes);
  }
}

if (process.argv[1]?.endsWith('growth.ts')) {
  const [commit, fn = 'webhook'] = process.argv.slice(2);
  if (!commit || !(fn in FunctionSources)) throw new Error('usage: npx tsx bench/growth.ts <commit> [webhook|relay|sweep|uploads]');
  process.stdout.write(`${await growth(commit, fn as FunctionName)}\n`);
}
