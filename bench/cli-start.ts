/**
 * How long `npm run cli -- --help` takes, spawn to exit, as a developer types it (npm, the
 * launcher scripts/cli.mjs, the bundled CLI), against `node -e 0` in the same run: the least any
 * Node command costs on this machine. Pairs of fresh processes, order alternating, so both sides
 * see the same moment of a busy machine. Also the first call after a source changed, which
 * bundles the CLI before running it (a fresh build directory each time).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './build.js';
import { summarize, type Summary } from './stats.js';

export interface CliStartResult {
  /** `npm run cli -- --help`, spawn to exit. */
  readonly cliMs: Summary;
  /** `node -e 0`, spawn to exit. */
  readonly nodeMs: Summary;
  /** cli / node per adjacent pair. */
  readonly ratio: Summary;
  /** `npm run cli -- --help` with no bundle for the current sources: bundling included. */
  readonly afterChangeMs: Summary;
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export async function measureCliStart(rounds: number, rebuilds: number): Promise<CliStartResult> {
  const cli = () => timed(NPM, ['run', 'cli', '--', '--help']);
  const node = () => timed(process.execPath, ['-e', '0']);
  // Warm-up, discarded: builds the bundle if the sources changed since the last call.
  await cli();
  await node();
  const cliMs: number[] = [];
  const nodeMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const [first, second] = round % 2 === 0 ? [cli, node] : [node, cli];
    const a = await first();
    const b = await second();
    cliMs.push(round % 2 === 0 ? a : b);
    nodeMs.push(round % 2 === 0 ? b : a);
  }
  const afterChangeMs: number[] = [];
  for (let i = 0; i < rebuilds; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
    try {
      afterChangeMs.push(await timed(NPM, ['run', 'cli', '--', '--help'], { CF_WEBHOOK_CLI_BUILD_DIR: dir }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    cliMs: summarize(cliMs),
    nodeMs: summarize(nodeMs),
    ratio: summarize(cliMs.map((ms, i) => ms / nodeMs[i]!)),
    afterChangeMs: summarize(afterChangeMs),
  };
}

function timed(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${errors.trim()}`));
    });
  });
}
