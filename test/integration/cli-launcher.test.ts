/**
 * `npm run cli` runs scripts/cli.mjs: the CLI bundled once by esbuild and rebuilt only when a
 * source it may depend on changed. Each check runs the launcher as npm does, with a build
 * directory of its own, and reads what it left there.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot, spawnCli } from '../support/cli';

describe('scripts/cli.mjs', () => {
  const buildDir = mkdtempSync(join(tmpdir(), 'cli-build-'));
  const env = { ...process.env, CF_WEBHOOK_CLI_BUILD_DIR: buildDir };
  const builds = () => readdirSync(buildDir).filter((name) => !name.endsWith('.tmp')).sort();
  const builtAt = (name: string) => statSync(join(buildDir, name, 'index.js')).mtimeMs;

  after(() => rmSync(buildDir, { recursive: true, force: true }));

  it('bundles on the first call, reuses the bundle while the sources stay as they are, and rebuilds after a change', async () => {
    const first = await spawnCli(['--help'], env);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /^Usage: npm run cli -- <command>/);
    const [built] = builds();
    assert.ok(built, 'a bundle in the build directory');
    const stamp = builtAt(built);

    const again = await spawnCli(['--help'], env);
    assert.equal(again.out, first.out);
    assert.deepEqual(builds(), [built], 'no second bundle');
    assert.equal(builtAt(built), stamp, 'the bundle was not rewritten');

    // A source edited (here only its mtime: the fingerprint is path, size and mtime).
    const source = join(repoRoot, 'cli', 'errors.ts');
    const { atime, mtime } = statSync(source);
    try {
      utimesSync(source, atime, new Date(mtime.getTime() + 1000));
      const changed = await spawnCli(['--help'], env);
      assert.equal(changed.code, 0, changed.err);
      assert.equal(builds().length, 2, 'a new bundle beside the previous one');
    } finally {
      utimesSync(source, atime, mtime);
    }
    // Back to the first sources: the kept bundle serves them again.
    await spawnCli(['--help'], env);
    assert.equal(builds().length, 2);
    assert.equal(builtAt(built), stamp);
  });

  it('runs a command from the bundle: exit codes and errors as runCli gives them', async () => {
    const unknown = await spawnCli(['frobnicate'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /^error: unknown command 'frobnicate'/);
    const missing = await spawnCli(['images', 'get', 'x', '--local'], { ...env, CF_WEBHOOK_LOCAL_STATE: join(buildDir, 'nope.json') });
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no local receiver is running \(.*nope\.json does not exist\)/);
  });

  it('keeps import.meta.url of each source, so local/state.ts finds .build/local.json from local/, not from the bundle', () => {
    const [built] = builds();
    const code = readdirSync(join(buildDir, built!)).filter((name) => name.endsWith('.js')).map((name) => readFileSync(join(buildDir, built!, name), 'utf8'));
    const stateUrl = JSON.stringify(pathToFileURL(join(repoRoot, 'local', 'state.ts')).href);
    assert.ok(code.some((text) => text.includes(stateUrl)), `${stateUrl} in the bundle`);
  });
});
