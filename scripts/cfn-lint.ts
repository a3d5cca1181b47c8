/**
 * cfn-lint (PyPI) with the serverless rules (`cfn-lint-serverless`), installed into a
 * project-local virtualenv on first use, like the emulator: nobody has to set Python up.
 *
 *   npx tsx scripts/cfn-lint.ts install            # provision the venv only
 *   npx tsx scripts/cfn-lint.ts [template.json…]   # lint (default: cdk.out/*.template.json)
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureVenv, repoRoot, venvBin, type Venv } from './venv.js';

const LINT: Venv = { name: 'lint-venv', spec: 'cfn-lint==1.58.0 cfn-lint-serverless==0.3.6', label: 'cfn-lint' };

/** One finding, as `cfn-lint --format json` reports it. */
export interface LintMatch {
  readonly Filename: string;
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Location: { readonly Path?: readonly (string | number)[]; readonly Start: { readonly LineNumber: number } };
  readonly Rule: { readonly Id: string; readonly Description: string };
}

export async function ensureCfnLint(): Promise<string> {
  await ensureVenv(LINT, 'cfn-lint');
  return venvBin(LINT, 'cfn-lint');
}

/** Lints the templates with the standard and the serverless rules; every finding, any level. */
export async function cfnLint(templates: readonly string[]): Promise<LintMatch[]> {
  const bin = await ensureCfnLint();
  const { code, stdout, stderr } = await capture(bin, ['--format', 'json', '--append-rules', 'cfn_lint_serverless.rules', '--', ...templates]);
  // The exit code is a bit mask of the levels found (2 error, 4 warning, 8 informational); 1 is a crash.
  if (code === 1 || code === null) throw new Error(`cfn-lint failed (${code}):\n${stderr}${stdout}`);
  return JSON.parse(stdout || '[]') as LintMatch[];
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
