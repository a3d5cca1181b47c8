import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * Runtime of the webhook function. The esbuild target below is derived from it, so moving
 * to a newer Node only means changing this line.
 */
export const webhookRuntime: lambda.Runtime = lambda.Runtime.NODEJS_24_X;

/** `nodejs24.x` → `node24`: esbuild may then emit syntax the runtime understands natively. */
function esbuildTargetFor(runtime: lambda.Runtime): string {
  const major = /^nodejs(\d+)\.x$/.exec(runtime.name)?.[1];
  if (!major) {
    throw new Error(`Cannot derive an esbuild target from runtime ${runtime.name}`);
  }
  return `node${major}`;
}

/**
 * The single definition of how the webhook function is bundled. The stack uses it and
 * `scripts/build.ts` ships the bundle the stack synthesizes, so tests and local runs execute
 * the very bytes that get deployed. Do not restate any of this elsewhere.
 */
export const webhookBundling: nodejs.BundlingOptions = {
  // A pinned SDK inside the bundle imports ~3x faster than the runtime's unbundled copy
  // (see toolchain-notes) and does not change under us when Lambda updates the runtime.
  bundleAwsSDK: true,
  format: nodejs.OutputFormat.ESM,
  target: esbuildTargetFor(webhookRuntime),
  // Prefer ESM entry points so esbuild can tree-shake the SDK and zod.
  mainFields: ['module', 'main'],
  // CommonJS dependencies inside an ESM bundle still call `require`, which ESM lacks.
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  minify: true,
  // The map ships for offline decoding of stack traces. NODE_OPTIONS=--enable-source-maps is
  // deliberately not set: Node then parses the map on every cold start, which costs more than
  // the readable traces are worth on a hot path this small.
  sourceMap: true,
};
