/**
 * The package as a consumer gets it: `npm pack` (which runs scripts/package.ts), the tarball
 * installed into a fresh CDK app next to aws-cdk-lib and constructs only, then that app
 * type-checked against the package's declarations and synthesized with no esbuild anywhere.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { BuiltAssets } from '../../scripts/build.js';
import { repoRoot } from '../support/cli.js';

const run = promisify(execFile);
const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version: string }>;
};
const versionOf = (name: string) => lock.packages[`node_modules/${name}`]!.version;

/** The consumer's app, in plain JavaScript: what runs must not need a TypeScript toolchain of ours. */
const APP_MJS = `
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import { CloudflareWebhookReceiver, DetailType, eventPattern } from 'cloudflare-images-webhook';

const app = new App({ outdir: process.env.FIXTURE_OUT });
const stack = new Stack(app, 'Fixture');
const receiver = new CloudflareWebhookReceiver(stack, 'Receiver', { uploads: {} });
new events.Rule(stack, 'Uploaded', {
  eventBus: receiver.eventBus,
  eventPattern: eventPattern({ detailTypes: [DetailType.ImageUploaded] }),
});

// The second way in: the consumer's own table and bus.
const own = new Stack(app, 'OwnTableAndBus');
const table = new dynamodb.Table(own, 'Images', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
const bus = new events.EventBus(own, 'Bus');
new CloudflareWebhookReceiver(own, 'Receiver', { table, eventBus: bus });
app.synth();
`;

/** A CommonJS app, as older `cdk init` templates make them: Node 20.19+ can require() an ES module. */
const APP_CJS = `
const { App, Stack } = require('aws-cdk-lib');
const { CloudflareWebhookReceiver } = require('cloudflare-images-webhook');
const app = new App({ outdir: process.env.FIXTURE_OUT });
new CloudflareWebhookReceiver(new Stack(app, 'CommonJs'), 'Receiver');
app.synth();
`;

/**
 * Type-checked, not run. Each @ts-expect-error must meet a real error: if the package's types
 * failed to resolve, everything would be \`any\`, the directives would be unused, and tsc would fail.
 */
const TYPES_TS = `
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  CloudflareWebhookReceiver,
  DetailType,
  EVENT_SOURCE,
  TableDesign,
  type TransitionDetail,
  type WebhookEvent,
} from 'cloudflare-images-webhook';

declare const stack: Stack;
const receiver = new CloudflareWebhookReceiver(stack, 'Receiver', { unknownIdPolicy: 'record', memorySize: 512 });
export const fn: lambda.IFunction = receiver.webhookFunction;
export const source: 'cloudflare-webhook' = EVENT_SOURCE;
export const index: 'byStatus' = TableDesign.byStatus.indexName;

export function onUploaded(event: WebhookEvent<typeof DetailType.ImageUploaded>): string {
  const detail: TransitionDetail = event.detail;
  return detail.eventId;
}

// @ts-expect-error memorySize is a number
new CloudflareWebhookReceiver(stack, 'Wrong', { memorySize: '512' });
// @ts-expect-error not a detail-type the receiver publishes
export const wrong: DetailType = 'Image Exploded';
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  },
  files: ['types.ts'],
};

describe('the npm package in a consumer app', { timeout: 240_000 }, () => {
  let work: string;
  let tarball: string;
  let tarballFiles: string[];
  let fixture: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'cf-webhook-pack-'));
    // `npm pack` runs prepack (scripts/package.ts): a synth into a directory of its own, then dist/.
    await run('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: repoRoot, maxBuffer: 32 * 1024 * 1024 });
    const [name] = readdirSync(work).filter((file) => file.endsWith('.tgz'));
    assert.ok(name, 'npm pack wrote a tarball');
    tarball = join(work, name);
    tarballFiles = (await run('tar', ['-tzf', tarball])).stdout.split('\n').filter(Boolean);

    fixture = join(work, 'consumer');
    mkdirSync(fixture);
    writeFileSync(
      join(fixture, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: {
          'cloudflare-images-webhook': `file:${tarball}`,
          'aws-cdk-lib': versionOf('aws-cdk-lib'),
          constructs: versionOf('constructs'),
        },
      }),
    );
    writeFileSync(join(fixture, 'app.mjs'), APP_MJS);
    writeFileSync(join(fixture, 'app.cjs'), APP_CJS);
    writeFileSync(join(fixture, 'types.ts'), TYPES_TS);
    writeFileSync(join(fixture, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    // From npm's cache where it can (npm ci filled it); no lock file, as a consumer starts.
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: fixture,
      maxBuffer: 32 * 1024 * 1024,
    });
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the construct, its declarations and the four bundles, and no source or tests', () => {
    for (const file of [
      'package/dist/index.js',
      'package/dist/types/lib/index.d.ts',
      'package/dist/functions/webhook/index.mjs',
      'package/dist/functions/uploads/index.mjs',
      'package/dist/functions/sweep/index.mjs',
      'package/dist/functions/relay/index.mjs',
      'package/README.md',
      'package/docs/RUNBOOK.md',
    ]) {
      assert.ok(tarballFiles.includes(file), `${file} is in the tarball`);
    }
    const unexpected = tarballFiles.filter((file) => /^package\/(lambda|lib|test|bench|scripts|cli|local)\//.test(file) || file.endsWith('.ts') && !file.endsWith('.d.ts'));
    assert.deepEqual(unexpected, []);
  });

  it('carries no directory name of the packing machine, and its source maps name repository paths only', async () => {
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    await run('tar', ['-xzf', tarball, '-C', unpacked]);
    const root = join(unpacked, 'package');
    // The checkout (absolute, and as esbuild's relative `../../../work/<checkout>/…` spelled it)
    // and the scratch directory scripts/package.ts synthesizes in.
    const machine = [repoRoot.replace(/\/+$/, ''), repoRoot.replace(/^\/+|\/+$/g, ''), join(tmpdir(), 'cf-webhook-package-')];
    const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const path of machine) assert.ok(!text.includes(path), `${relative(root, file)} mentions ${path}`);
    }
    const maps = files.filter((file) => file.endsWith('.map'));
    assert.equal(maps.length, 4, 'one map per function');
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
      assert.ok(sources.some((source) => source.endsWith('lambda/core/contract.ts')), 'our own sources are named');
      for (const source of sources) {
        assert.ok(!relative(root, resolve(dirname(map), source)).startsWith('..'), `${source} stays inside the package's tree`);
      }
    }
  });

  it('installs without esbuild, the AWS SDK or Powertools: the bundles carry what the functions need', () => {
    const installed = readdirSync(join(fixture, 'node_modules'));
    assert.ok(installed.includes('cloudflare-images-webhook'));
    for (const absent of ['esbuild', '@esbuild', '@aws-sdk', '@aws-lambda-powertools', 'cloudflare']) {
      assert.ok(!installed.includes(absent), `${absent} is not installed`);
    }
  });

  it('type-checks a consumer against the published declarations (NodeNext resolution)', async () => {
    const tsc = join(repoRoot, 'node_modules/.bin/tsc');
    const result = await run(tsc, ['-p', fixture], { cwd: fixture }).then(
      () => ({ code: 0, output: '' }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, output: error.stdout ?? '' }),
    );
    assert.equal(result.code, 0, result.output);
  });

  it('can be required from a CommonJS app', async () => {
    const out = join(work, 'cdk.out.cjs');
    await run(process.execPath, ['app.cjs'], { cwd: fixture, env: { PATH: dirname(process.execPath), FIXTURE_OUT: out, HOME: work } });
    const template = JSON.parse(readFileSync(join(out, 'CommonJs.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    assert.equal(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function').length, 3, 'a default receiver: webhook, sweep, relay');
  });

  it('synthesizes with esbuild off the PATH and deploys the very bytes this repository tested', async () => {
    const out = join(work, 'cdk.out');
    await run(process.execPath, ['app.mjs'], {
      cwd: fixture,
      env: {
        PATH: dirname(process.execPath),
        FIXTURE_OUT: out,
        HOME: work,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    });

    const functions = (stack: string) => {
      const template = JSON.parse(readFileSync(join(out, `${stack}.template.json`), 'utf8')) as {
        Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
      };
      return Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    };
    const assetDir = (s3Key: string) => join(out, `asset.${s3Key.replace(/\.zip$/, '')}`);

    const main = functions('Fixture');
    assert.equal(main.length, 4, 'webhook, uploads, sweep and relay functions');
    const built = JSON.parse(readFileSync(join(repoRoot, '.build/assets.json'), 'utf8')) as BuiltAssets;
    const tested = new Set(
      [built.webhook, built.uploads!, built.sweep!, built.relay!].map((bundle) => readFileSync(bundle.entry).toString('base64')),
    );
    const shipped = new Set<string>();
    for (const fn of main) {
      assert.equal(fn.Properties.Handler, 'index.handler');
      assert.equal(fn.Properties.Runtime, 'nodejs24.x');
      assert.equal(fn.Properties.Architectures?.[0], 'arm64');
      const dir = assetDir(fn.Properties.Code.S3Key as string);
      assert.deepEqual(readdirSync(dir).sort(), ['index.mjs', 'index.mjs.map']);
      shipped.add(readFileSync(join(dir, 'index.mjs')).toString('base64'));
    }
    assert.equal(shipped.size, 4);
    assert.deepEqual(shipped, tested, 'each bundle is byte for byte the one the test suite ran');

    // Existing table and bus: no table or bus created, the function writes to the given ones.
    const own = JSON.parse(readFileSync(join(out, 'OwnTableAndBus.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
    };
    const types = Object.values(own.Resources).map((r) => r.Type);
    assert.equal(types.filter((t) => t === 'AWS::DynamoDB::Table').length, 1, 'only the consumer’s table');
    assert.equal(types.filter((t) => t === 'AWS::Events::EventBus').length, 1, 'only the consumer’s bus');
    const [webhook] = functions('OwnTableAndBus');
    const tableId = Object.entries(own.Resources).find(([, r]) => r.Type === 'AWS::DynamoDB::Table')![0];
    assert.deepEqual(webhook!.Properties.Environment.Variables.TABLE_NAME, { Ref: tableId });
    assert.equal(existsSync(join(fixture, 'node_modules', 'esbuild')), false);
  });
});
