/**
 * `webhookBundling` (CDK's NodejsFunction BundlingOptions) → esbuild's build options, the way
 * aws-cdk-lib's local bundler turns them into an esbuild command line (`--bundle <entry>
 * --target … --platform=node --format … --outfile …`). The bench builds its floors and
 * variants through this so they share every setting with the shipped bundle; the settings
 * themselves live only in lib/bundling.ts.
 *
 * Options that change what gets built outside esbuild (command hooks, nodeModules installs,
 * preCompilation, Docker) have no esbuild equivalent: they are refused rather than ignored,
 * so a change to webhookBundling that the bench cannot mirror fails loudly.
 */
import type { BuildOptions } from 'esbuild';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

const UNSUPPORTED = ['commandHooks', 'nodeModules', 'preCompilation', 'esbuildArgs', 'dockerImage', 'forceDockerBundling'] as const;

export function esbuildOptionsFor(bundling: BundlingOptions, build: { entryPoint: string; outfile: string }): BuildOptions {
  for (const key of UNSUPPORTED) {
    if (bundling[key] !== undefined && bundling[key] !== false) {
      throw new Error(`bench/esbuild-options.ts cannot mirror webhookBundling.${key}; teach it before benchmarking`);
    }
  }
  if (!bundling.target) throw new Error('webhookBundling.target is unset; the bench needs the same target as the stack');
  const sourcemap = bundling.sourceMapMode ?? (bundling.sourceMap ? 'default' : undefined);
  // CDK: no externals when the SDK is bundled, `@aws-sdk/*` otherwise (Node 18+ runtimes).
  const external = bundling.externalModules ?? (bundling.bundleAwsSDK ? [] : ['@aws-sdk/*']);
  return {
    entryPoints: [build.entryPoint],
    outfile: build.outfile,
    bundle: true,
    platform: 'node',
    target: bundling.target,
    ...(bundling.format ? { format: bundling.format as BuildOptions['format'] } : {}),
    minify: bundling.minify ?? false,
    ...(sourcemap ? { sourcemap: sourcemap === 'default' ? true : (sourcemap as BuildOptions['sourcemap']) } : {}),
    ...(bundling.sourcesContent === false ? { sourcesContent: false } : {}),
    external,
    ...(bundling.loader ? { loader: bundling.loader as BuildOptions['loader'] } : {}),
    ...(bundling.define ? { define: bundling.define } : {}),
    ...(bundling.keepNames ? { keepNames: true } : {}),
    ...(bundling.tsconfig ? { tsconfig: bundling.tsconfig } : {}),
    ...(bundling.banner ? { banner: { js: bundling.banner } } : {}),
    ...(bundling.footer ? { footer: { js: bundling.footer } } : {}),
    ...(bundling.charset ? { charset: bundling.charset as BuildOptions['charset'] } : {}),
    ...(bundling.mainFields ? { mainFields: bundling.mainFields } : {}),
    ...(bundling.inject ? { inject: bundling.inject } : {}),
    logLevel: 'silent',
  };
}
