/**
 * cdk-nag's AwsSolutions and Serverless packs on the synthesized app (default, every option, the
 * upload route, every optional part off): zero unacknowledged findings (errors and warnings
 * alike), and every acknowledgement sits on the one resource it is about, with a specific reason
 * (lib/nag.ts), present exactly when that resource is.
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

interface Variant {
  readonly context: Record<string, string>;
  /** The optional parts the app has, each with its own acknowledgements. */
  readonly parts: { readonly readSecret: boolean; readonly relay: boolean; readonly sweep: boolean; readonly uploads: boolean };
}

const DEFAULT_PARTS = { readSecret: true, relay: true, sweep: true, uploads: false };
const VARIANTS: Record<string, Variant> = {
  'the default app': { context: {}, parts: DEFAULT_PARTS },
  'the app with every webhook option set': {
    context: {
      unknownIdPolicy: 'record',
      reservedConcurrentExecutions: '20',
      throttleRateLimit: '10',
      throttleBurstLimit: '20',
      imagesPath: '/cf/images',
      streamPath: '/cf/stream',
      confirmWithCloudflare: 'always',
      archiveRetentionDays: '7',
      videoPendingHours: '1',
    },
    parts: DEFAULT_PARTS,
  },
  'the app with the upload route': { context: { uploads: 'true' }, parts: { ...DEFAULT_PARTS, uploads: true } },
  'the app with every optional part off': {
    context: { relay: 'false', expirySweepMinutes: '0', cloudflareReadToken: 'false', archiveRetentionDays: '0' },
    parts: { readSecret: false, relay: false, sweep: false, uploads: false },
  },
};

/** `rule on path` of every acknowledgement lib/nag.ts should make for these parts. */
function expectedAcknowledgements(context: Record<string, string>, parts: Variant['parts']): string[] {
  const receiver = 'CloudflareWebhook/Receiver';
  const routeId = (path: string) => `POST${path.replaceAll('/', '--')}`;
  const fn = (path: string) => [`Serverless-LambdaDLQ on ${receiver}/${path}`, `Serverless-LambdaTracing on ${receiver}/${path}`];
  const deadLetters = (path: string) => [`AwsSolutions-SQS3 on ${receiver}/${path}`, `Serverless-SQSRedrivePolicy on ${receiver}/${path}`];
  return [
    `AwsSolutions-APIG4 on ${receiver}/HttpApi/${routeId(context.imagesPath ?? '/webhooks/images')}/Resource`,
    `AwsSolutions-APIG4 on ${receiver}/HttpApi/${routeId(context.streamPath ?? '/webhooks/stream')}/Resource`,
    `AwsSolutions-SMG4 on ${receiver}/Secret`,
    ...fn('Function'),
    ...(parts.readSecret ? [`AwsSolutions-SMG4 on ${receiver}/CloudflareReadSecret`] : []),
    // Granular: the `Resource::*` finding (ListStreams) on the relay's own policy, nothing wider.
    ...(parts.relay ? [`AwsSolutions-IAM5[Resource::*] on ${receiver}/Relay/FunctionRole/DefaultPolicy`, ...fn('Relay/Function'), ...deadLetters('Relay/DeadLetters')] : []),
    ...(parts.sweep ? [...fn('ExpirySweep/Function'), ...deadLetters('ExpirySweep/DeadLetters')] : []),
    ...(parts.uploads ? [`AwsSolutions-SMG4 on ${receiver}/Uploads/ApiSecret`, ...fn('Uploads/Function')] : []),
  ].sort();
}

for (const [name, { context, parts }] of Object.entries(VARIANTS)) {
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
      assert.deepEqual(acks.map((a) => `${a.rule} on ${a.path}`).sort(), expectedAcknowledgements(context, parts));
      for (const ack of acks) assert.ok(ack.reason.length > 150, `${ack.rule}: the reason says why, specifically`);
    });
  });
}

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

  test("the relay's acknowledgement covers its \"*\" resource only: a wildcard action on the same policy is still reported", () => {
    const outdir = mkdtempSync(join(tmpdir(), 'webhook-nag-relay-'));
    outdirs.push(outdir);
    const { app, stack } = createApp({ outdir, context: NO_BUNDLING });
    stack.receiver.relay!.relayFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: [stack.receiver.table.tableArn] }));
    const { report, failure } = nag(app, outdir);
    assert.ok(failure, 'synth fails on the finding');
    assert.deepEqual(findings(report), ['error AwsSolutions-IAM5[Action::dynamodb:*] at CloudflareWebhook/Receiver/Relay/FunctionRole/DefaultPolicy/Resource']);
  });
});
