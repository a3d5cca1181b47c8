/**
 * `npm pack` runs this first (`prepack`): it writes `dist/`, which is all the package ships.
 *
 *   dist/index.js             lib/index.ts bundled into one ES module; aws-cdk-lib, constructs
 *                             and zod stay imports (the consumer's copies)
 *   dist/types/               declarations of the same surface
 *   dist/functions/<name>/    each function's index.mjs and source map, copied from a synth of
 *                             this repository's stack: the bytes our tests ran, not a rebuild
 *
 * With the bundles next to it, the packaged construct never calls esbuild (lib/bundling.ts).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import { FunctionSources, PREBUILT_DIR, type FunctionName } from '../lib/bundling.js';
import { buildAssets } from './build.js';
import { repoRoot } from './root.js';

const dist = join(repoRoot, 'dist');

/** What the synth-time code may import: the consumer provides the first two, the package depends on zod. */
const ALLOWED_IMPORTS = [/^aws-cdk-lib(\/|$)/, /^constructs$/, /^zod(\/|$)/];

export async function packageDist(): Promise<void> {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  await copyFunctionBundles();
  await bundleConstruct();
  writeDeclarations();
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  console.log(`dist/ ready for cloudflare-images-webhook ${version}`);
}

/** The function bundles, from a synth in a directory of its own (tests may be using .build/). */
async function copyFunctionBundles(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'cf-webhook-package-'));
  try {
    const assets = await buildAssets(scratch);
    for (const name of Object.keys(FunctionSources) as FunctionName[]) {
      const bundle = assets[name];
      if (!bundle) throw new Error(`the synth produced no ${name} function`);
      const target = join(dist, PREBUILT_DIR, name);
      mkdirSync(target, { recursive: true });
      copyFileSync(join(bundle.dir, 'index.mjs'), join(target, 'index.mjs'));
      writeFileSync(join(target, 'index.mjs.map'), portableSourceMap(join(bundle.dir, 'index.mjs.map'), target));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The construct and the pure core it shares with the functions (contract, decide, metrics) as
 * one file, readable rather than minified: stack traces at synth point at real names.
 */
async function bundleConstruct(): Promise<void> {
  const result = await build({
    entryPoints: [join(repoRoot, 'lib/index.ts')],
    outfile: join(dist, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    metafile: true,
    logLevel: 'warning',
  });
  const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
  const stray = imports.filter(
    (path) => !builtinModules.includes(path.replace(/^node:/, '')) && !ALLOWED_IMPORTS.some((allowed) => allowed.test(path)),
  );
  if (stray.length > 0) {
    throw new Error(`dist/index.js would import ${[...new Set(stray)].join(', ')} at synth time; only aws-cdk-lib, constructs and zod are dependencies of the package`);
  }
}

function writeDeclarations(): void {
  const tsc = spawnSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', join(repoRoot, 'tsconfig.package.json')], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) throw new Error(`tsc (declarations) exited with ${tsc.status ?? tsc.signal}`);
  pruneDeclarations(join(dist, 'types'), 'lib/index.d.ts');
}

/**
 * esbuild names each source relative to where it wrote the map, and that was a scratch
 * directory of this machine: `../../../work/<checkout>/node_modules/…` would ship the packing
 * machine's directory names (issue 15). Each source is re-expressed relative to the map's place
 * in the package as if the package sat at the repository root (`../../../lambda/webhook/handler.ts`),
 * so it names repository paths only; the code itself stays in `sourcesContent`.
 */
function portableSourceMap(mapFile: string, shippedDir: string): string {
  const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[]; sourceRoot?: string };
  const base = resolve(dirname(mapFile), map.sourceRoot ?? '');
  const toRoot = relative(shippedDir, repoRoot);
  map.sources = map.sources.map((source) => {
    const absolute = resolve(base, source);
    const inRepo = relative(repoRoot, absolute);
    // A dependency's own maps may name sources it does not ship (lossless-json's `src/*.ts`): still under node_modules.
    const shipped = existsSync(absolute) || inRepo.startsWith(`node_modules${sep}`);
    if (inRepo.startsWith('..') || isAbsolute(inRepo) || !shipped) {
      throw new Error(`${mapFile}: source ${source} is not a file of this repository`);
    }
    return join(toRoot, inRepo).split(sep).join('/');
  });
  delete map.sourceRoot;
  return JSON.stringify(map);
}

/**
 * tsc declares every file of the program, including function internals (the store, the
 * publisher) whose types name SDK clients a consumer does not have. Only what the entry point
 * reaches through relative imports ships.
 */
function pruneDeclarations(root: string, entry: string): void {
  const reached = new Set<string>();
  const pending = [join(root, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (reached.has(file)) continue;
    reached.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
      pending.push(resolve(dirname(file), `${specifier}.d.ts`));
    }
  }
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const file = join(entry.parentPath, entry.name);
    if (entry.isFile() && !reached.has(file)) rmSync(file);
  }
}

await packageDist();
