/**
 * Bundles for the benchmark: the shipped one exactly as `cdk synth` builds it (through
 * scripts/build.ts), and the floor and attribution variants built by esbuild with the same
 * settings (lib/bundling.ts → bench/esbuild-options.ts). A variant is the shipped entry with
 * one module swapped for an alternative under bench/variants/, so nothing in lambda/ changes.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { webhookBundling } from '../lib/bundling';
import { buildAssets } from '../scripts/build';
import { esbuildOptionsFor } from './esbuild-options';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const outRoot = join(repoRoot, '.build', 'bench');

export interface Bundle {
  readonly name: string;
  readonly file: string;
  /** Bytes of the module Lambda loads (index.mjs). */
  readonly bytes: number;
  /** Bytes of the whole asset directory (module + source map). */
  readonly assetBytes: number;
  /** Bytes in the output per package (`@smithy/core`, `zod`, …) and per own source file (`lambda/parse.ts`). */
  readonly composition: Record<string, number>;
}

export interface VariantSpec {
  readonly name: string;
  /** Entry file, relative to the repository root. */
  readonly entry: string;
  /**
   * Module → replacement, both as written: a package specifier (`zod/mini`) or a repository
   * path without extension (`lambda/store`) for the project's own modules.
   */
  readonly swap?: Readonly<Record<string, string>>;
}

export interface ShippedBundle extends Bundle {
  /** Every function bundle the stack synthesizes (`webhook`, and any other), with its size. */
  readonly assets: Record<string, { readonly bytes: number; readonly assetBytes: number }>;
  /** The synthesized template(s), copied next to the bundle. */
  readonly templates: readonly string[];
  /** The asset directory's name in the cloud assembly (`asset.<hash>`). */
  readonly assetName: string;
}

/**
 * The bundle `cdk synth` ships, located through the synthesized template and asset manifest
 * (scripts/build.ts), then copied with the templates into .build/bench/shipped: other tools
 * (npm test, npm start) rebuild .build/cdk.out from scratch and may do so while the bench runs.
 */
export async function shippedBundle(): Promise<ShippedBundle> {
  const dir = join(outRoot, 'shipped');
  let webhook: Awaited<ReturnType<typeof buildAssets>>['webhook'];
  let templates: string[];
  let assets: ShippedBundle['assets'];
  for (let attempt = 1; ; attempt++) {
    try {
      const built = await buildAssets();
      webhook = built.webhook;
      assets = Object.fromEntries(
        Object.entries(built)
          .filter((entry): entry is [string, typeof webhook] => entry[1] !== undefined)
          .map(([name, bundle]) => [name, { bytes: statSync(bundle.entry).size, assetBytes: dirBytes(bundle.dir) }]),
      );
      rmSync(dir, { recursive: true, force: true });
      cpSync(webhook.dir, dir, { recursive: true });
      const cdkOut = dirname(webhook.dir);
      templates = readdirSync(cdkOut).filter((name) => name.endsWith('.template.json'));
      for (const name of templates) cpSync(join(cdkOut, name), join(dir, name));
      break;
    } catch (error) {
      // npm test and npm start rebuild .build/cdk.out from scratch too; one of them running at the
      // same time can pull the directory from under our synth or our copy. Synthesize again.
      if (attempt >= 3) throw error;
      process.stderr.write(`bench: synth interrupted (${(error as Error).message.split('\n')[0]}); retrying\n`);
      await new Promise((done) => setTimeout(done, 2000 * attempt));
    }
  }
  const file = join(dir, basename(webhook.entry));

  // Rebuilt with the bench's mapping and the shipped entry, for its metafile; the bytes must match.
  const rebuilt = await buildVariant({ name: 'shipped-rebuilt', entry: 'lambda/webhook/handler.ts' });
  const shipped = readFileSync(file);
  if (!shipped.equals(readFileSync(rebuilt.file))) {
    throw new Error(
      `bench/esbuild-options.ts no longer reproduces the synthesized bundle (${shipped.length} vs ${rebuilt.bytes} bytes): ` +
        'webhookBundling gained a setting the mapping does not mirror',
    );
  }
  return {
    ...rebuilt,
    name: 'shipped',
    file,
    bytes: shipped.length,
    assetBytes: assets.webhook?.assetBytes ?? dirBytes(dir),
    assets,
    templates: templates.map((name) => join(dir, name)),
    assetName: basename(webhook.dir),
  };
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
