import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

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

/** The Lambda functions of the construct and their source entries (from the repository root). */
export const FunctionSources = {
  webhook: 'lambda/webhook/handler.ts',
  uploads: 'lambda/uploads/handler.ts',
  sweep: 'lambda/sweep/handler.ts',
  relay: 'lambda/relay/handler.ts',
} as const;
export type FunctionName = keyof typeof FunctionSources;

/** Where the packaged construct keeps each function's pre-built bundle, next to its own code. */
export const PREBUILT_DIR = 'functions';

export interface ReceiverFunctionOptions extends Omit<lambda.FunctionOptions, 'runtime' | 'role' | 'logGroup'> {
  /** What the function's role may touch, as IAM shows it. */
  readonly roleDescription: string;
  /** Retention of the function's own log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * States the function's permissions on its role, action by action (the grant* helpers add
   * actions the handlers never use). Log access to its own group is added after them.
   */
  readonly permissions: (role: iam.Role) => void;
}

/**
 * A function of the construct (`<id>`) with its own log group (`<id>Logs`) and a role
 * (`<id>Role`) that starts empty: the managed basic-execution policy would allow writing to
 * every log group in the account, so log access is granted to the function's own group only.
 */
export function receiverFunction(scope: Construct, id: string, name: FunctionName, options: ReceiverFunctionOptions): lambda.Function {
  const { roleDescription, logRetention, permissions, ...functionOptions } = options;
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: logRetention });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: roleDescription,
  });
  // Every function runs on Graviton (cheaper per GB-second; the bundles are plain JavaScript), at 256 MB unless it says otherwise.
  const fn = functionFromCode(scope, id, name, { architecture: lambda.Architecture.ARM_64, memorySize: 256, ...functionOptions, role, logGroup });
  permissions(role);
  role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
  return fn;
}

/**
 * A function of the construct, from whichever code is there:
 *
 * - installed from the npm package, `dist/functions/<name>/` holds the bundle our own synth
 *   produced (`scripts/package.ts` copies it), so a consumer's `cdk synth` needs neither esbuild
 *   nor our lock file: the "Cannot find entry file" trap of shipping NodejsFunction entries;
 * - in this repository there is no such folder, and NodejsFunction bundles the TypeScript source
 *   with `webhookBundling`, exactly as the package's bundles were made.
 *
 * Both give a ZIP asset with `index.mjs` and its map, and the same asset hash for the same bytes.
 */
function functionFromCode(
  scope: Construct,
  id: string,
  name: FunctionName,
  options: Omit<lambda.FunctionOptions, 'runtime'>,
): lambda.Function {
  const prebuilt = fileURLToPath(new URL(`./${PREBUILT_DIR}/${name}/`, import.meta.url));
  if (existsSync(join(prebuilt, 'index.mjs'))) {
    return new lambda.Function(scope, id, {
      ...options,
      runtime: webhookRuntime,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(prebuilt),
    });
  }
  const root = fileURLToPath(new URL('..', import.meta.url));
  const entry = join(root, FunctionSources[name]);
  if (!existsSync(entry)) {
    throw new Error(`The ${name} function's code is missing: neither ${prebuilt}index.mjs nor ${entry} exists. Reinstall the package.`);
  }
  return new nodejs.NodejsFunction(scope, id, {
    ...options,
    entry,
    handler: 'handler',
    // Explicit, so bundling does not depend on the directory synth was started from.
    projectRoot: root,
    depsLockFilePath: join(root, 'package-lock.json'),
    runtime: webhookRuntime,
    bundling: webhookBundling,
  });
}

/** Where a function's failures wait to be looked at (`<scope>/DeadLetters`): TLS only, encrypted, kept the longest SQS allows. */
export function deadLetterQueue(scope: Construct): sqs.Queue {
  return new sqs.Queue(scope, 'DeadLetters', {
    enforceSSL: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    retentionPeriod: Duration.days(14),
  });
}
