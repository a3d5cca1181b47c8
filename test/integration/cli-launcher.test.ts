/**
 * `npm run cli` runs scripts/cli.mjs: the CLI bundled once by esbuild and rebuilt only when a
 * source it may depend on changed. The launcher runs here from a copy of the repository's
 * sources (node_modules linked), so the test can edit them, with a build directory of its own.
 */
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LOCAL_STATE_ENV } from '../../local/state.js';
import { repoRoot, spawnCli } from '../support/cli.js';

const COPIED = ['cli', 'lambda', 'local', 'lib', 'scripts/cli.mjs', 'package.json', 'package-lock.json', 'tsconfig.json'];

describe('scripts/cli.mjs', () => {
  const root = mkdtempSync(join(tmpdir(), 'cli-launcher-'));
  const buildDir = join(root, '.build', 'cli');
  const env = { ...process.env, CF_WEBHOOK_CLI_BUILD_DIR: buildDir };
  const builds = () => readdirSync(buildDir).filter((name) => !name.endsWith('.tmp')).sort();
  const builtAt = (name: string) => statSync(join(buildDir, name, 'index.js')).mtimeMs;
  /** `npm run cli -- …` in the copy, without npm. */
  const run = (argv: readonly string[], changes: Record<string, string | undefined> = {}) => spawnCli(argv, { ...env, ...changes }, { cwd: root });

  before(() => {
    for (const path of COPIED) cpSync(join(repoRoot, path), join(root, path), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('bundles on the first call, reuses the bundle while the sources stay as they are, and rebuilds after an edit', async () => {
    const first = await run(['--help']);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /^Usage: npm run cli -- <command>/);
    const [built] = builds();
    assert.ok(built, 'a bundle in the build directory');
    const stamp = builtAt(built);

    const again = await run(['--help']);
    assert.equal(again.out, first.out);
    assert.deepEqual(builds(), [built], 'no second bundle');
    assert.equal(builtAt(built), stamp, 'the bundle was not rewritten');

    appendFileSync(join(root, 'cli', 'errors.ts'), '\n// an edit\n');
    const edited = await run(['--help']);
    assert.equal(edited.code, 0, edited.err);
    assert.equal(edited.out, first.out);
    assert.equal(builds().length, 2, 'a new bundle beside the previous one');
  });

  it('runs a command from the bundle: exit codes and errors as runCli gives them', async () => {
    const unknown = await run(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /^error: unknown command 'frobnicate'/);
    const missing = await run(['images', 'get', 'x', '--local'], { [LOCAL_STATE_ENV]: join(root, 'nope.json') });
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no local receiver is running \(.*nope\.json does not exist\)/);
  });

  it('finds .build/local.json from local/, as the sources do, not from where the bundle lies', async () => {
    const missing = await run(['images', 'get', 'x'], { [LOCAL_STATE_ENV]: undefined });
    assert.equal(missing.code, 1);
    assert.ok(missing.err.includes(`(${join(root, '.build', 'local.json')} does not exist)`), missing.err);
    const [built] = builds();
    const code = readdirSync(join(buildDir, built!)).filter((name) => name.endsWith('.js')).map((name) => readFileSync(join(buildDir, built!, name), 'utf8'));
    assert.ok(code.some((text) => text.includes(JSON.stringify(pathToFileURL(join(root, 'local', 'state.ts')).href))));
  });

  it('a source that does not compile: a clear error and exit 1, no bundle for it', async () => {
    const before = builds();
    writeFileSync(join(root, 'cli', 'errors.ts'), 'export const = ;\n');
    const broken = await run(['--help']);
    assert.equal(broken.code, 1);
    assert.match(broken.err, /cli: could not bundle the CLI from its sources/);
    assert.deepEqual(builds(), before);
  });
});
