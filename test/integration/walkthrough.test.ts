import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { LOCAL_STATE_ENV } from '../../local/state.js';
import { repoRoot } from '../support/cli.js';

/*
 * Runs docs/walkthrough.md: every `$ npm start` and `$ npm run cli -- …` line of its `console`
 * blocks, in order, each compared with the output printed under it. `events tail` runs in the
 * background, as in its own terminal. After an intended change of output, regenerate the
 * outputs with `WALKTHROUGH_UPDATE=1 npx tsx scripts/test.ts test/integration/walkthrough.test.ts`.
 */

const DOC = join(repoRoot, 'docs', 'walkthrough.md');
const BANNER_START = 'Cloudflare webhook receiver running locally';
const BANNER_END = 'Ctrl-C to stop.';

interface Step {
  readonly command: string;
  readonly expected: readonly string[];
  /** Index in the document of the first expected line. */
  readonly at: number;
}

function stepsOf(markdown: string): Step[] {
  const lines = markdown.split('\n');
  const steps: { command: string; expected: string[]; at: number }[] = [];
  let inConsole = false;
  lines.forEach((line, index) => {
    if (line.startsWith('```')) {
      inConsole = !inConsole && line.trim() === '```console';
      return;
    }
    if (!inConsole) return;
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: [], at: index + 1 });
    else steps.at(-1)?.expected.push(line);
  });
  return steps;
}

/** What differs from run to run: times, ids, ports, secrets, bundle hashes. */
function normalize(text: string): string {
  return text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, '<time>')
    .replace(/\b[0-9a-f]{64}\b/g, '<hex64>')
    .replace(/\b[0-9a-f]{32}\b/g, '<event-id>')
    .replace(/cf-webhook-tail-[0-9a-f]{8}/g, 'cf-webhook-tail-<id>')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(/\/upload\/[A-Za-z0-9_-]+\//g, '/upload/<hash>/')
    .replace(/imagedelivery\.net\/[A-Za-z0-9_-]+\//g, 'imagedelivery.net/<hash>/')
    .replace(/\b[0-9a-f]{8}\b/g, '<hex8>')
    // Secrets Manager's random suffix of a secret's ARN.
    .replace(/(:secret:[\w/-]+)-[A-Za-z0-9]{6}\b/g, '$1-<suffix>')
    // Epoch seconds (a Notifications `ts`) and milliseconds (an outbox lease).
    .replace(/\b1\d{9}(\d{3})?\b/g, '<epoch>')
    .replace(/\(\d+ KB\)/g, '(<n> KB)');
}

/** `a "b c" 'd'` → ['a', 'b c', 'd'], as a shell would split it. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

interface Running {
  readonly child: ChildProcess;
  /** stdout and stderr interleaved in arrival order, as a terminal shows them. */
  output(): string;
  readonly exited: Promise<number>;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
}

function start(args: readonly string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters = new Set<() => void>();
  const append = (chunk: string) => {
    output += chunk;
    for (const check of waiters) check();
  };
  child.stdout!.setEncoding('utf8').on('data', append);
  child.stderr!.setEncoding('utf8').on('data', append);
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`timed out waiting for ${pattern} in:\n${output}`)), timeoutMs);
        const check = () => pattern.test(output) && done();
        const done = (error?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve();
        };
        waiters.add(check);
        void exited.then(() => done(pattern.test(output) ? undefined : new Error(`exited before ${pattern}:\n${output}`)));
        check();
      }),
  };
}

const outputLines = (text: string) => text.replace(/\n+$/, '').split('\n');

describe('docs/walkthrough.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'walkthrough-'));
  const statePath = join(dir, 'local.json');
  const env = { ...process.env, [LOCAL_STATE_ENV]: statePath, PORT: '0', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  let receiver: Running | undefined;

  after(async () => {
    if (receiver && receiver.child.exitCode === null) {
      receiver.child.kill('SIGINT');
      await receiver.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs as written, from npm start to the events arriving in the tail’s queue', { timeout: 240_000 }, async () => {
    const markdown = readFileSync(DOC, 'utf8');
    const steps = stepsOf(markdown);
    assert.ok(steps.some((step) => step.command.startsWith('npm start')), 'the walkthrough starts the receiver');
    const results: { step: Step; actual: string[] }[] = [];
    const background: { step: Step; run: Running }[] = [];

    for (const step of steps) {
      if (step.command === 'npm ci') continue;
      const npmStart = /^npm start(?: -- (.*))?$/.exec(step.command);
      if (npmStart) {
        // Restarted (terminal 1, Ctrl-C, then the new command): the state file moves to the new one.
        if (receiver) {
          receiver.child.kill('SIGINT');
          assert.equal(await receiver.exited, 0);
        }
        // The bundle `npm test` just built: building again would delete it under the other test files.
        receiver = start(['scripts/start.ts', '--no-build', ...shellWords(npmStart[1] ?? '')], env);
        await receiver.waitFor(new RegExp(`^${BANNER_END.replace('.', '\\.')}$`, 'm'), 60_000);
        const shown = outputLines(receiver.output());
        const banner = shown.slice(shown.indexOf(BANNER_START), shown.indexOf(BANNER_END) + 1);
        // The test's state file stands in for .build/local.json, which a developer's npm start may own.
        results.push({ step, actual: banner.map((line) => line.replace(relative(repoRoot, statePath), '.build/local.json')) });
        continue;
      }
      const cli = /^npm run cli -- (.*)$/.exec(step.command);
      assert.ok(cli, `line ${step.at}: the walkthrough may only use npm ci, npm start [-- options] and npm run cli, not: ${step.command}`);
      const args = shellWords(cli[1]!);
      const run = start(['scripts/cli.mjs', ...args], env);
      if (args[0] === 'events' && args[1] === 'tail') {
        await run.waitFor(/^listening on /m, 30_000);
        background.push({ step, run });
        continue;
      }
      await run.exited;
      results.push({ step, actual: outputLines(run.output()) });
    }
    for (const { step, run } of background) {
      await run.exited;
      results.push({ step, actual: outputLines(run.output()) });
    }

    if (process.env.WALKTHROUGH_UPDATE === '1') {
      const lines = markdown.split('\n');
      for (const { step, actual } of [...results].sort((a, b) => b.step.at - a.step.at)) lines.splice(step.at, step.expected.length, ...actual);
      writeFileSync(DOC, lines.join('\n'));
    }

    const compare = (pick: (result: { step: Step; actual: readonly string[] }) => readonly string[]) =>
      results.map((result) => ({ command: result.step.command, output: pick(result).map(normalize) }));
    assert.deepEqual(compare((r) => r.actual), compare((r) => r.step.expected));

    // Ctrl-C in terminal 1: the receiver stops and withdraws its state file.
    assert.ok(existsSync(statePath));
    receiver!.child.kill('SIGINT');
    assert.equal(await receiver!.exited, 0);
    assert.equal(existsSync(statePath), false);
  });

  it('normalizes only what changes between runs', () => {
    assert.equal(
      normalize('2026-11-22T15:08:48Z  x 371046975333b2e19158ffa3baad5d05 http://127.0.0.1:8787/webhooks (432 KB) cf-webhook-tail-162449fc'),
      '<time>  x <event-id> http://127.0.0.1:<port>/webhooks (<n> KB) cf-webhook-tail-<id>',
    );
    assert.equal(normalize('img-1 pending → uploaded 200'), 'img-1 pending → uploaded 200');
    assert.equal(normalize('http://127.0.0.1:1/upload/eRsir8LWQYRx0aI/cat-1 secret 46e5fee2'), 'http://127.0.0.1:<port>/upload/<hash>/cat-1 secret <hex8>');
    assert.deepEqual(shellWords(`events tail --detail-type "Image Uploaded" --kind 'image'`), ['events', 'tail', '--detail-type', 'Image Uploaded', '--kind', 'image']);
  });
});
