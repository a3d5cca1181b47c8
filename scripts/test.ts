/**
 * `npm test [-- paths...]`: builds the bundle once, starts one emulator for every test
 * process to share, and runs node's test runner over test files (all of test/ by default).
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { buildAssets } from './build.js';
import { ensureEmulator, startEmulator } from './emulator.js';
import { repoRoot } from './root.js';


async function main(paths: string[]): Promise<number> {
  const roots = paths.length ? paths.map((path) => resolve(path)) : [join(repoRoot, 'test')];
  const files = (await Promise.all(roots.map(testFiles))).flat();
  if (files.length === 0) throw new Error(`no *.test.ts files in ${roots.join(' ')}`);
  const unique = [...new Set(files)].sort().map((file) => relative(repoRoot, file));

  await ensureEmulator();
  const [emulator, built] = await Promise.allSettled([startEmulator(), buildAssets()]);
  if (emulator.status === 'rejected' || built.status === 'rejected') {
    if (emulator.status === 'fulfilled') await emulator.value.stop();
    throw emulator.status === 'rejected' ? emulator.reason : (built as PromiseRejectedResult).reason;
  }

  try {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...unique], {
      cwd: repoRoot,
      stdio: 'inherit',
      env: {
        ...process.env,
        AWS_ENDPOINT_URL: emulator.value.endpoint,
        // The SDK's reminder that releases after early 2027 need Node 22 repeats in every test process.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    // Ctrl-C reaches the child through the terminal, so we just outlive it to stop the
    // emulator; a SIGTERM sent to us alone has to be passed on.
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => child.kill('SIGTERM'));
    return await new Promise<number>((done, fail) => {
      child.once('error', fail);
      child.once('exit', (code, signal) => done(code ?? 128 + constants.signals[signal!]));
    });
  } finally {
    await emulator.value.stop();
  }
}

async function testFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (info.isFile()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
