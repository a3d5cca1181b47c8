/**
 * cfn-lint (PyPI) with the serverless rules (`cfn-lint-serverless`), installed into a
 * project-local virtualenv on first use, like the emulator: nobody has to set Python up.
 *
 *   npx tsx scripts/cfn-lint.ts install            # provision the venv only
 *   npx tsx scripts/cfn-lint.ts [template.json…]   # lint (default: cdk.out/*.template.json)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const LINT_SPEC = 'cfn-lint==1.58.0 cfn-lint-serverless==0.3.6';
/** A lock older than this belongs to an install that died without cleaning up. */
const STALE_LOCK_MS = 10 * 60_000;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const venvDir = join(repoRoot, '.cache', 'lint-venv');
const cfnLintBin = join(venvDir, 'bin', 'cfn-lint');
const stampFile = join(venvDir, '.installed');
const lockFile = `${venvDir}.lock`;

/** One finding, as `cfn-lint --format json` reports it. */
export interface LintMatch {
  readonly Filename: string;
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Location: { readonly Path?: readonly (string | number)[]; readonly Start: { readonly LineNumber: number } };
  readonly Rule: { readonly Id: string; readonly Description: string };
}

export async function ensureCfnLint(): Promise<string> {
  if (await isInstalled()) return cfnLintBin;
  const release = await acquireLock();
  try {
    if (await isInstalled()) return cfnLintBin;
    const started = Date.now();
    process.stderr.write(`cfn-lint: installing ${LINT_SPEC} into ${relative(process.cwd(), venvDir)} (first run only)\n`);
    await rm(venvDir, { recursive: true, force: true });
    await run(process.env.PYTHON ?? 'python3', ['-m', 'venv', venvDir]);
    await run(join(venvDir, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...LINT_SPEC.split(' ')]);
    await writeFile(stampFile, LINT_SPEC);
    process.stderr.write(`cfn-lint: installed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return cfnLintBin;
  } finally {
    await release();
  }
}

/** Lints the templates with the standard and the serverless rules; every finding, any level. */
export async function cfnLint(templates: readonly string[]): Promise<LintMatch[]> {
  const bin = await ensureCfnLint();
  const { code, stdout, stderr } = await capture(bin, ['--format', 'json', '--append-rules', 'cfn_lint_serverless.rules', '--', ...templates]);
  // The exit code is a bit mask of the levels found (2 error, 4 warning, 8 informational); 1 is a crash.
  if (code === 1 || code === null) throw new Error(`cfn-lint failed (${code}):\n${stderr}${stdout}`);
  return JSON.parse(stdout || '[]') as LintMatch[];
}

async function isInstalled(): Promise<boolean> {
  const stamp = await readFile(stampFile, 'utf8').catch(() => '');
  return stamp === LINT_SPEC && existsSync(cfnLintBin);
}

async function acquireLock(): Promise<() => Promise<void>> {
  await mkdir(dirname(lockFile), { recursive: true });
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(lockFile).catch(() => {});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const info = await stat(lockFile).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_LOCK_MS) await unlink(lockFile).catch(() => {});
    await new Promise((done) => setTimeout(done, 250));
  }
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 2, 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolveRun() : reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal})`))));
  });
}

function capture(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

async function main(args: string[]): Promise<number> {
  if (args[0] === 'install') {
    process.stdout.write(`${await ensureCfnLint()}\n`);
    return 0;
  }
  const templates = args.length
    ? args
    : (await readdir(join(repoRoot, 'cdk.out'))).filter((name) => name.endsWith('.template.json')).map((name) => join(repoRoot, 'cdk.out', name));
  const matches = await cfnLint(templates);
  for (const m of matches) process.stdout.write(`${m.Level} ${m.Rule.Id} ${m.Location.Path?.slice(0, 2).join('/') ?? ''}: ${m.Message}\n`);
  process.stdout.write(`cfn-lint: ${templates.length} template(s), ${matches.filter((m) => m.Level === 'Error').length} errors, ${matches.filter((m) => m.Level !== 'Error').length} warnings\n`);
  return matches.some((m) => m.Level === 'Error') ? 2 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
