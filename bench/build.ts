/**
 * Bundles for the benchmark: the shipped ones exactly as `cdk synth` builds them (through
 * scripts/build.ts), and the floors and attribution variants built by esbuild with the same
 * settings (lib/bundling.ts → bench/esbuild-options.ts). A variant is the shipped entry with
 * one module swapped for an alternative under bench/variants/, so nothing in lambda/ changes.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { build, type Metafile, type Plugin } from 'esbuild';
import { webhookBundling } from '../lib/bundling.js';
import type { LocalBundles } from '../local/stack.js';
import { buildAssets, type BuiltAssets, type FunctionBundle } from '../scripts/build.js';
import { esbuildOptionsFor } from './esbuild-options.js';
import { repoRoot } from '../scripts/root.js';

export { repoRoot } from '../scripts/root.js';
const outRoot = join(repoRoot, '.build', 'bench');

export interface Bundle {
  readonly name: string;
  readonly file: string;
  /** Bytes of the module Lambda loads (index.mjs). */
  readonly bytes: number;
  /** Bytes of the whole asset directory (module + source map). */
  readonly assetBytes: number;
  /** Bytes in the output per package (`@smithy/core`, `zod`, …) and per own source file (`lambda/webhook/parse.ts`). */
  readonly composition: Record<string, number>;
}

export interface VariantSpec {
  readonly name: string;
  /** Entry file, relative to the repository root. */
  readonly entry: string;
  /**
   * Module → replacement, both as written: a package specifier (`zod/mini`) or a repository
   * path without extension (`lambda/core/json`) for the project's own modules.
   */
  readonly swap?: Readonly<Record<string, string>>;
}

export interface ShippedBundles {
  /** The webhook and relay bundles as the stack ships them, each also rebuilt here for its composition. */
  readonly webhook: Bundle;
  readonly relay: Bundle;
  /** Every function bundle the stack synthesizes, with its size. */
  readonly assets: Record<string, { readonly bytes: number; readonly assetBytes: number }>;
  /** The synthesized template(s), copied next to the bundles. */
  readonly templates: readonly string[];
  /** Each function's asset directory name in the cloud assembly (`asset.<hash>`). */
  readonly assetNames: Record<string, string>;
  /** Every function's entry file, for the local stack. */
  readonly entries: LocalBundles;
}

/** The functions the bench measures, by the name scripts/build.ts gives them, and their entries. */
const MEASURED = { webhook: 'lambda/webhook/handler.ts', relay: 'lambda/relay/handler.ts' } as const;

/**
 * The bundles `cdk synth` ships, located through the synthesized template and asset manifest
 * (scripts/build.ts), then copied with the templates into .build/bench/shipped-*: other tools
 * (npm test, npm start) rebuild .build/cdk.out from scratch and may do so while the bench runs.
 */
export async function shippedBundles(): Promise<ShippedBundles> {
  const built = await synthesizeWithRetries();
  const functions = Object.entries(built).filter((entry): entry is [string, FunctionBundle] => entry[1] !== undefined);
  const cdkOut = dirname(built.webhook.dir);
  const templatesDir = join(outRoot, 'templates');
  rmSync(templatesDir, { recursive: true, force: true });
  mkdirSync(templatesDir, { recursive: true });
  const templates = readdirSync(cdkOut).filter((name) => name.endsWith('.template.json')).map((name) => {
    cpSync(join(cdkOut, name), join(templatesDir, name));
    return join(templatesDir, name);
  });
  const shipped = async (name: keyof typeof MEASURED) => {
    const source = built[name];
    if (!source) throw new Error(`the stack synthesized no ${name} function`);
    const dir = join(outRoot, `shipped-${name}`);
    rmSync(dir, { recursive: true, force: true });
    cpSync(source.dir, dir, { recursive: true });
    return reproduced(name, join(dir, basename(source.entry)));
  };
  const [webhook, relay] = [await shipped('webhook'), await shipped('relay')];
  if (!built.uploads || !built.sweep) throw new Error('the build synthesized no uploads or sweep function');
  return {
    webhook,
    relay,
    entries: { webhook: webhook.file, relay: relay.file, uploads: built.uploads.entry, sweep: built.sweep.entry },
    assets: Object.fromEntries(functions.map(([name, b]) => [name, { bytes: statSync(b.entry).size, assetBytes: dirBytes(b.dir) }])),
    templates,
    assetNames: Object.fromEntries(functions.map(([name, b]) => [name, basename(b.dir)])),
  };
}

/** npm test and npm start rebuild .build/cdk.out too; one of them at the same time can pull it from under us. */
async function synthesizeWithRetries(): Promise<BuiltAssets> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await buildAssets(join(outRoot, 'synth'));
    } catch (error) {
      if (attempt >= 3) throw error;
      process.stderr.write(`bench: synth interrupted (${(error as Error).message.split('\n')[0]}); retrying\n`);
      await sleep(2000 * attempt);
    }
  }
}

/** The shipped file, with the composition of a rebuild through the bench's mapping: the bytes must match. */
async function reproduced(name: keyof typeof MEASURED, file: string): Promise<Bundle> {
  const rebuilt = await buildVariant({ name: `${name}-rebuilt`, entry: MEASURED[name] });
  const bytes = readFileSync(file);
  if (!bytes.equals(readFileSync(rebuilt.file))) {
    throw new Error(
      `bench/esbuild-options.ts no longer reproduces the synthesized ${name} bundle (${bytes.length} vs ${rebuilt.bytes} bytes): ` +
        'webhookBundling gained a setting the mapping does not mirror',
    );
  }
  return { ...rebuilt, name, file, bytes: bytes.length, assetBytes: dirBytes(dirname(file)) };
}

export async function buildVariant(spec: VariantSpec): Promise<Bundle> {
  const dir = join(outRoot, spec.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.mjs');
  const result = await build({
    ...esbuildOptionsFor(webhookBundling, { entryPoint: join(repoRoot, spec.entry), outfile: file }),
    metafile: true,
    plugins: spec.swap ? [swapModules(spec.swap)] : [],
  });
  return { name: spec.name, file, bytes: statSync(file).size, assetBytes: dirBytes(dir), composition: composition(result.metafile) };
}

function swapModules(swap: Readonly<Record<string, string>>): Plugin {
  const target = (replacement: string) => resolve(repoRoot, replacement);
  return {
    name: 'bench-swap',
    setup(build) {
      const replacements = new Set(Object.values(swap).map(target));
      build.onResolve({ filter: /.*/ }, (args) => {
        // A replacement may wrap the module it replaces: its own imports are left alone.
        if (args.kind === 'entry-point' || replacements.has(args.importer)) return undefined;
        const direct = swap[args.path];
        if (direct !== undefined) return { path: target(direct) };
        if (!args.path.startsWith('.')) return undefined;
        // A relative import of one of our own modules: compare by repository path, extension-less.
        const own = resolve(args.resolveDir, args.path).replace(/\.[cm]?[jt]s$/, '');
        const key = Object.keys(swap).find((k) => !k.startsWith('@') && resolve(repoRoot, k) === own);
        return key === undefined ? undefined : { path: target(swap[key]!) };
      });
    },
  };
}

function composition(meta: Metafile): Record<string, number> {
  const output = Object.values(meta.outputs).find((o) => o.entryPoint !== undefined);
  const sizes: Record<string, number> = {};
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
    const key = pkg ?? input.replace(/^(\.\.\/)+/, '');
    sizes[key] = (sizes[key] ?? 0) + bytesInOutput;
  }
  return Object.fromEntries(Object.entries(sizes).sort(([, a], [, b]) => b - a));
}

function dirBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((total, entry) => total + statSync(join(dir, entry.name)).size, 0);
}

export const benchDir = dirname(fileURLToPath(import.meta.url));
