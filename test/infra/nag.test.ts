/**
 * cdk-nag's AwsSolutions and Serverless packs on the synthesized app: zero unacknowledged
 * findings (errors and warnings alike), and every acknowledgement sits on the one resource it is
 * about, with a specific reason (lib/nag.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { createApp } from '../../lib/app.js';
import { NO_BUNDLING } from '../support/template.js';

interface Violation {
  readonly ruleName: string;
  readonly severity: string;
  readonly description: string;
  readonly violatingConstructs?: readonly { readonly constructPath: string }[];
}
interface Report {
  readonly pluginReports: readonly { readonly pluginName: string; readonly conclusion: string; readonly violations: readonly Violation[] }[];
}

const outdirs: string[] = [];
after(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface PackResult {
  readonly name: string;
  readonly success: boolean;
  readonly violations: readonly { readonly ruleName: string; readonly violatingResources: readonly { readonly constructPath: string }[] }[];
}

/**
 * Synthesizes with both packs registered as validation plugins (what `cdk synth` does with
 * them), returning CDK's validation report and, per pack, its own verdict on the final tree
 * (CDK's report lists only failing plugins).
 */
function nag(app: App, outdir: string): { report: Report; packs: PackResult[]; failure?: Error } {
  const packs = [new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true })];
  Validations.of(app).addPlugins(...packs);
  let failure: Error | undefined;
  try {
    app.synth();
  } catch (error) {
    failure = error as Error;
  }
  return {
    report: JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as Report,
    packs: packs.map((pack) => ({ name: pack.name, ...(pack.validateScope(app) as Omit<PackResult, 'name'>) })),
    ...(failure && { failure }),
  };
}

/** `severity rule at path` for every violation in CDK's report. */
function findings(report: Report): string[] {
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((v) => (v.violatingConstructs ?? [{ constructPath: '?' }]).map((c) => `${v.severity} ${v.ruleName} at ${c.constructPath}`)),
  );
}

/** Every acknowledgement in the tree: rule → paths of the constructs it sits on, with reasons. */
function acknowledgements(root: IConstruct): { rule: string; path: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([rule, reason]) => ({ rule: rule.replace(/^annotation::/i, ''), path: construct.node.path, reason })),
      ),
  );
}

const VARIANTS: Record<string, Record<string, unknown>> = {
  'the default app': {},
  'the app with every webhook option set': {
    unknownIdPolicy: 'record',
    reservedConcurrentExecutions: '20',
    throttleRateLimit: '10',
    throttleBurstLimit: '20',
    imagesPath: '/cf/images',
    streamPath: '/cf/stream',
  },
};

for (const [name, context] of Object.entries(VARIANTS)) {
  describe(`cdk-nag on ${name}`, () => {
    const outdir = mkdtempSync(join(tmpdir(), 'webhook-nag-'));
    outdirs.push(outdir);
    const { app } = createApp({ outdir, context: { ...NO_BUNDLING, ...context } });
    const { report, packs, failure } = nag(app, outdir);

    test('runs the AwsSolutions and Serverless packs with zero unacknowledged findings', () => {
      assert.deepEqual(findings(report), []);
      assert.equal(failure, undefined, 'synth passes with the packs on');
      assert.deepEqual(
        packs.map((p) => [p.name, p.success, p.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`))]),
        [
          ['AwsSolutions', true, []],
          ['Serverless', true, []],
        ],
      );
    });

    test('acknowledges only what is intrinsic, each on its own resource with a specific reason', () => {
      const acks = acknowledgements(app);
      const receiver = 'CloudflareWebhook/Receiver';
      const images = (context.imagesPath as string | undefined) ?? '/webhooks/images';
      const stream = (context.streamPath as string | undefined) ?? '/webhooks/stream';
      const routeId = (path: string) => `POST${path.replaceAll('/', '--')}`;
      assert.deepEqual(acks.map((a) => `${a.rule} on ${a.path}`).sort(), [
        `AwsSolutions-APIG4 on ${receiver}/HttpApi/${routeId(images)}/Resource`,
        `AwsSolutions-APIG4 on ${receiver}/HttpApi/${routeId(stream)}/Resource`,
        `AwsSolutions-SMG4 on ${receiver}/Secret`,
        `Serverless-LambdaDLQ on ${receiver}/Function`,
        `Serverless-LambdaTracing on ${receiver}/Function`,
      ].sort());
      for (const ack of acks) assert.ok(ack.reason.length > 150, `${ack.rule}: the reason says why, specifically`);
    });
  });
}

describe('cdk-nag on the app with the optional upload route and expiry sweep', () => {
  test(
    'has zero unacknowledged findings',
    () => {
      const outdir = mkdtempSync(join(tmpdir(), 'webhook-nag-uploads-'));
      outdirs.push(outdir);
      const { app } = createApp({ outdir, context: { ...NO_BUNDLING, uploads: 'true' } });
      const { packs } = nag(app, outdir);
      assert.deepEqual(packs.flatMap((p) => p.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`))), []);
    },
  );
});

describe('cdk-nag on the app with the front door (AWS WAF, Cloudflare addresses only) and the upload route', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'webhook-nag-front-door-'));
  outdirs.push(outdir);
  const { app } = createApp({ outdir, context: { ...NO_BUNDLING, frontDoor: 'true', frontDoorCloudflareIpsOnly: 'true', uploads: 'true', uploadsAllowOrigins: 'https://app.example.com', uploadsJwtIssuer: 'https://issuer.example.com', uploadsJwtAudience: 'a' } });
  const { report, packs, failure } = nag(app, outdir);

  test('has zero unacknowledged findings', () => {
    assert.deepEqual(findings(report), []);
    assert.equal(failure, undefined);
    assert.deepEqual(packs.flatMap((p) => p.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`))), []);
  });

  test('acknowledges on the REST API only what a webhook route and a construct cannot avoid', () => {
    const frontDoor = 'CloudflareWebhook/Receiver/FrontDoor/Api';
    const acks = acknowledgements(app).filter((a) => a.path.startsWith(frontDoor));
    assert.deepEqual(acks.map((a) => `${a.rule} on ${a.path.slice(frontDoor.length)}`).sort(), [
      'AwsSolutions-APIG2 on ',
      'AwsSolutions-APIG4 on /Default/webhooks/images/POST/Resource',
      'AwsSolutions-APIG4 on /Default/webhooks/stream/POST/Resource',
      'AwsSolutions-APIG6 on /DeploymentStage.prod/Resource',
      'AwsSolutions-COG4 on /Default/webhooks/images/POST/Resource',
      'AwsSolutions-COG4 on /Default/webhooks/stream/POST/Resource',
      'Serverless-APIGWXrayEnabled on /DeploymentStage.prod/Resource',
    ]);
    for (const ack of acks) assert.ok(ack.reason.length > 150, `${ack.rule}: the reason says why, specifically`);
    assert.ok(!acknowledgements(app).some((a) => a.rule === 'AwsSolutions-APIG3'), 'the stage has its web ACL: nothing to acknowledge');
  });
});

describe('the packs are live', () => {
  test('a role with wildcard permissions is reported, so a clean report means something', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'webhook-nag-control-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Control');
    new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }),
    );
    const { report, packs, failure } = nag(app, outdir);
    assert.ok(failure, 'synth fails on a finding');
    assert.ok(findings(report).some((f) => f.includes('AwsSolutions-IAM5')), findings(report).join('\n'));
    assert.equal(packs[0]?.success, false);
  });
});
