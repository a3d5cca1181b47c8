/**
 * `npm run cli` and `npm run connect`: the CLI from a bundle, not from its TypeScript sources.
 * Compiling the sources on every call (tsx) cost about a second before the first line ran, more
 * on a busy machine. esbuild bundles the CLI once into .build/cli/<fingerprint>/, the AWS SDK
 * clients inside it (loaded from node_modules file by file they start several times slower),
 * and a call whose fingerprint has a bundle just imports it.
 *
 * The fingerprint is the path, size and mtime of every file the bundle may be built from (cli/,
 * lambda/, local/, lib/), of the lock files and of this launcher: a stat per file, a few ms.
 * Any edit, added or deleted file, or `npm ci` gives a new fingerprint and one rebuild (~1 s).
 *
 * Plain JavaScript on purpose: it runs before anything could compile TypeScript.
 * $CF_WEBHOOK_CLI_BUILD_DIR puts the bundles elsewhere (the launcher's own test does).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_DIRS = ['cli', 'lambda', 'local', 'lib'];
const SOURCE_FILES = ['package-lock.json', 'node_modules/.package-lock.json', 'tsconfig.json', 'scripts/cli.mjs'];
/** Builds kept besides the current one: a CLI started on the previous build may still load its chunks. */
const KEEP_PREVIOUS = 1;
/** A partial build this old was left by a call that died mid-build. */
const ABANDONED_MS = 10 * 60_000;

const buildRoot = process.env.CF_WEBHOOK_CLI_BUILD_DIR || join(repoRoot, '.build', 'cli');
const dir = join(buildRoot, fingerprint());
const entry = join(dir, 'index.js');
if (!existsSync(entry)) await build(dir);
const { main } = await import(pathToFileURL(entry).href);
await main(process.argv.slice(2));

function fingerprint() {
  const files = SOURCE_DIRS.flatMap((name) =>
    readdirSync(join(repoRoot, name), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath ?? entry.path, entry.name)),
  );
  const lines = [...files, ...SOURCE_FILES.map((name) => join(repoRoot, name))].map((file) => {
    const info = statSync(file, { throwIfNoEntry: false });
    return `${relative(repoRoot, file)} ${info ? `${info.size} ${info.mtimeMs}` : 'missing'}`;
  });
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex').slice(0, 16);
}

async function build(target) {
  const { build: esbuild } = await import('esbuild');
  // Built aside and renamed into place: a CLI started meanwhile sees no bundle or a whole one.
  const partial = `${target}.${process.pid}.tmp`;
  try {
    await esbuild({
      entryPoints: { index: join(repoRoot, 'cli', 'index.ts') },
      outdir: partial,
      bundle: true,
      // Chunks: what `import()` loads lazily (the Cloudflare SDK for connect) stays out of the start.
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      mainFields: ['module', 'main'],
      // Names are kept, so a stack trace still reads; NODE_OPTIONS=--enable-source-maps maps it to the sources.
      minifySyntax: true,
      minifyWhitespace: true,
      sourcemap: 'linked',
      // Some dependencies are CommonJS and require() Node's modules: give the ESM bundle a require.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      plugins: [sourceLocation()],
      logLevel: 'error',
    });
    renameInto(partial, target);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    process.stderr.write(`cli: could not bundle the CLI from its sources: ${error.message.split('\n')[0]}\n`);
    process.exit(1);
  }
  prune(target);
}

/**
 * `import.meta.url` as the source file's own, not the bundle's: code that finds files next to
 * itself (local/state.ts finds .build/local.json from local/) must find the same ones bundled.
 */
function sourceLocation() {
  return {
    name: 'source-location',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.ts$/ }, ({ path }) => {
        if (/[\\/]node_modules[\\/]/.test(path)) return undefined;
        const text = readFileSync(path, 'utf8');
        return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(path).href)), loader: 'ts' };
      });
    },
  };
}

function renameInto(partial, target) {
  try {
    renameSync(partial, target);
  } catch (error) {
    // Another call built the same sources first: theirs is as good as ours.
    if (!existsSync(join(target, 'index.js'))) throw error;
    rmSync(partial, { recursive: true, force: true });
  }
}

function prune(current) {
  const entries = readdirSync(buildRoot)
    .map((name) => join(buildRoot, name))
    .filter((path) => path !== current)
    .map((path) => ({ path, at: statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.at - a.at);
  const builds = entries.filter(({ path }) => !path.endsWith('.tmp'));
  const abandoned = entries.filter(({ path, at }) => path.endsWith('.tmp') && Date.now() - at > ABANDONED_MS);
  for (const old of [...builds.slice(KEEP_PREVIOUS), ...abandoned]) rmSync(old.path, { recursive: true, force: true });
}
