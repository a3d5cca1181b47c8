/**
 * Synthesizes the stack in-process and reports where the webhook function's bundle landed,
 * so tests and `npm start` run exactly the code the stack ships rather than a second build
 * with options that may drift.
 *
 *   npx tsx scripts/build.ts    → writes .build/assets.json and prints it
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Stack } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { createApp } from '../lib/app.js';
import { repoRoot } from './root.js';

/** Where `npm run build`, `npm test` and `npm start` put `cdk.out/` and `assets.json`. */
export const buildDir = join(repoRoot, '.build');

export interface FunctionBundle {
  /** Absolute path of the unzipped asset directory. */
  readonly dir: string;
  /** Absolute path of the module the Lambda handler lives in (`index.mjs`). */
  readonly entry: string;
  /** Size of `entry` in bytes. */
  readonly bytes: number;
}

export interface BuiltAssets {
  readonly webhook: FunctionBundle;
  /** The upload route's function (`lambda/uploads/`); absent in assets.json files written before it existed. */
  readonly uploads?: FunctionBundle;
  /** The expiry sweep's function (`lambda/sweep/`); likewise. */
  readonly sweep?: FunctionBundle;
  /** The stream relay's function (`lambda/relay/`); likewise. */
  readonly relay?: FunctionBundle;
}

/**
 * The upload route and the sweep are opt-in; the build turns them on so their bundles exist.
 * It changes nothing about the webhook function, whose bundle is the same either way.
 */
const BUILD_CONTEXT = { uploads: 'true' } as const;

/**
 * @param dir where `cdk.out/` and `assets.json` go: `.build/` for tests and `npm start`, a
 *   directory of its own for a build that must not replace the bundles a running test uses.
 */
export async function buildAssets(dir: string = buildDir): Promise<BuiltAssets> {
  const outdir = join(dir, 'cdk.out');
  // Asset directories are named by hash; without a clean slate stale bundles pile up.
  rmSync(outdir, { recursive: true, force: true });

  const { app, stack } = createApp({ outdir, context: BUILD_CONTEXT });
  const assembly = app.synth();
  const { uploads, expirySweep, relay } = stack.receiver;
  const assets: BuiltAssets = {
    webhook: locateFunctionBundle(assembly, stack, stack.receiver.webhookFunction),
    ...(uploads && { uploads: locateFunctionBundle(assembly, stack, uploads.uploadsFunction) }),
    ...(expirySweep && { sweep: locateFunctionBundle(assembly, stack, expirySweep.sweepFunction) }),
    ...(relay && { relay: locateFunctionBundle(assembly, stack, relay.relayFunction) }),
  };

  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'assets.json'), `${JSON.stringify(assets, null, 2)}\n`);
  return assets;
}

/**
 * Finds a function's code in a synthesized cloud assembly the way deployment does: the
 * template's `Code.S3Key` names an object, and the stack's asset manifest says which
 * directory is uploaded as that object.
 */
export function locateFunctionBundle(
  assembly: cxapi.CloudAssembly,
  stack: Stack,
  fn: lambda.IFunction,
): FunctionBundle {
  const artifact = assembly.getStackArtifact(stack.artifactId);
  const logicalId = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
  const resource = (artifact.template as Template).Resources?.[logicalId];
  if (resource?.Type !== 'AWS::Lambda::Function') {
    throw new Error(`${logicalId} is not an AWS::Lambda::Function in ${artifact.templateFile}`);
  }
  const objectKey = resource.Properties?.Code?.S3Key;
  const handler = resource.Properties?.Handler;
  if (typeof objectKey !== 'string' || typeof handler !== 'string') {
    throw new Error(`${logicalId} has no asset-based Code.S3Key and Handler; was bundling skipped?`);
  }

  const manifests = artifact.dependencies.filter(cxapi.AssetManifestArtifact.isAssetManifestArtifact);
  const matches = manifests.flatMap((manifest) =>
    Object.values(manifest.contents.files ?? {})
      .filter((file) => Object.values(file.destinations).some((d) => d.objectKey === objectKey))
      .map((file) => resolve(dirname(manifest.file), file.source.path ?? '')),
  );
  const dir = matches[0];
  if (dir === undefined || matches.some((m) => m !== dir)) {
    throw new Error(`Expected one asset for ${objectKey} in the asset manifests, found ${matches.length}`);
  }

  // Handler is `<module>.<export>`; an ESM bundle's module file ends in .mjs.
  const moduleName = handler.slice(0, handler.lastIndexOf('.'));
  const entry = join(dir, `${moduleName}.mjs`);
  if (!existsSync(entry)) {
    throw new Error(`Bundle entry ${entry} does not exist`);
  }
  return { dir, entry, bytes: statSync(entry).size };
}

interface Template {
  readonly Resources?: Record<
    string,
    { readonly Type: string; readonly Properties?: { readonly Code?: { readonly S3Key?: unknown }; readonly Handler?: unknown } }
  >;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const assets = await buildAssets();
  console.log(JSON.stringify(assets, null, 2));
}
