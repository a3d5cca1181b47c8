/**
 * Keeps the deploy path true (docs/DEPLOY.md and README's Deploy section), with no network and
 * no credentials: every command the documents show is one its tool accepts (the pinned CDK CLI's
 * own help, the CLI's option parser, the AWS SDK's service models); the app synthesizes for the
 * account and region given the way the documents give them; `cdk diff --template` runs offline
 * and shows what the upgrade table says; the removal list matches the templates' removal
 * policies; and the standing-cost figures are what bench/cost.ts computes, not typed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { standingCost } from '../../bench/cost.js';
import { between, MARKERS, MEASURED_ROW, standingMarkdown, standingReport, standingSummary, STANDING_VARIANTS, synthesizedTemplate, usd } from '../../bench/standing.js';
import { runCli, USAGE } from '../../cli/index.js';
import { createApp } from '../../lib/app.js';
import { ensureEmulator } from '../../scripts/emulator.js';
import { repoRoot } from '../support/cli.js';
import { fencedBlocks, markdownSection, shellCommands } from '../support/doc-commands.js';
import { NO_BUNDLING, type TemplateResources } from '../support/template.js';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const deployDoc = read('docs/DEPLOY.md');
const readme = read('README.md');
const readmeDeploy = markdownSection(readme, 'Deploy');

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const STACK = 'CloudflareWebhook';
const VARS = { ACCOUNT, REGION, CLOUDFLARE_ACCOUNT_ID: '023e105f4ecef8ad9ca31a8372d0c353' };
const commands = [...shellCommands(deployDoc, VARS), ...shellCommands(readmeDeploy, VARS)];
const cdkCommands = commands.filter((c) => c[0] === 'npx' && c[1] === 'cdk').map((c) => c.slice(2));
const only = (sub: string) => {
  const found = cdkCommands.filter((c) => c[0] === sub);
  assert.ok(found.length > 0, `the documents show no cdk ${sub}`);
  return found;
};

/** The CDK CLI pinned in devDependencies, with nothing that could reach AWS. */
function cdk(args: readonly string[]): Promise<{ code: number; out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', CI: 'true' };
  for (const key of Object.keys(env)) {
    if (/^(AWS_(PROFILE|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|ENDPOINT_URL|REGION|DEFAULT_REGION)|CDK_DEFAULT_)/.test(key)) delete env[key];
  }
  return new Promise((resolve, reject) => {
    const child = spawn(join(repoRoot, 'node_modules/.bin/cdk'), args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** Option names (with aliases) of `cdk <sub> --help`, and which of them take no value. */
const helpCache = new Map<string, Promise<{ options: Set<string>; flags: Set<string> }>>();
function cdkOptions(sub: string) {
  if (!helpCache.has(sub)) {
    helpCache.set(
      sub,
      cdk([sub, '--help']).then(({ code, out }) => {
        assert.equal(code, 0, `cdk ${sub} --help: ${out}`);
        const options = new Set<string>();
        const flags = new Set<string>();
        const entries = out.split(/\n(?=\s{2}-)/).filter((entry) => /^\s{2}-/.test(entry));
        for (const entry of entries) {
          const names = /^\s{2}((?:-{1,2}[\w-]+)(?:,\s*-{1,2}[\w-]+)*)/.exec(entry)![1]!.split(/,\s*/);
          for (const name of names) {
            options.add(name);
            if (entry.includes('[boolean]')) flags.add(name);
          }
        }
        return { options, flags };
      }),
    );
  }
  return helpCache.get(sub)!;
}

/** The context keys lib/app.ts documents (its header comment), the ones `-c` may set. */
const CONTEXT_KEYS = new Set([...read('lib/app.ts').matchAll(/^ \*   (\w+)\s{2,}/gm)].map((m) => m[1]!));

/** `-c key=value` pairs of a cdk command line. */
function contextOf(args: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  args.forEach((arg, i) => {
    if (arg !== '-c' && arg !== '--context') return;
    const [key, value] = args[i + 1]!.split('=', 2);
    context[key!] = value!;
  });
  return context;
}

/** The doc's diff command, with the template it names replaced by `template`. */
const withTemplate = (args: readonly string[], template: string) => args.map((a, i) => (args[i - 1] === '--template' ? template : a));

describe('docs/DEPLOY.md and the README Deploy section', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-test-'));
  const assembly = join(dir, 'cdk.out');
  let synth: { code: number; out: string };

  before(async () => {
    // The app as the documents deploy it: the context of their `cdk deploy`, through the CLI.
    const [deploy] = only('deploy');
    synth = await cdk(['synth', '--quiet', '--output', assembly, ...Object.entries(contextOf(deploy!)).flatMap(([k, v]) => ['-c', `${k}=${v}`])]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('every command is one the documents may show: cdk, npm run, aws, or a plain shell step', () => {
    const known = new Set(['npx cdk', 'npm run', 'npm ci', 'npm pack', 'npm install', 'aws', 'export', 'cd', 'cp']);
    for (const command of commands) {
      const head = command[0] === 'npx' || command[0] === 'npm' ? command.slice(0, 2).join(' ') : command[0]!;
      const assignment = command.length === 1 && /^\w+=/.test(command[0]!);
      assert.ok(known.has(head) || assignment, `unexpected command in the documents: ${command.join(' ')}`);
    }
    assert.ok(cdkCommands.length >= 8 && commands.some((c) => c[0] === 'aws'), 'the parser found the commands');
  });

  test('each cdk command and option exists in the pinned CLI, and each -c key in lib/app.ts', async () => {
    for (const args of cdkCommands) {
      const [sub, ...rest] = args;
      assert.ok(['bootstrap', 'synth', 'diff', 'deploy', 'destroy'].includes(sub!), `cdk ${sub}`);
      const { options, flags } = await cdkOptions(sub!);
      for (let i = 0; i < rest.length; i++) {
        const arg = rest[i]!;
        if (!arg.startsWith('-')) {
          if (sub === 'bootstrap') assert.match(arg, /^aws:\/\/\d{12}\/[a-z]{2}(-[a-z]+)+-\d$/, `bootstrap environment ${arg}`);
          else assert.equal(arg, STACK, `cdk ${sub}: a positional argument is a stack name`);
          continue;
        }
        const name = arg.split('=')[0]!;
        assert.ok(options.has(name) || options.has(name.replace(/^--no-/, '--')), `cdk ${sub} has no option ${name}`);
        if (!flags.has(name) && !arg.includes('=')) i++; // its value
      }
      for (const key of Object.keys(contextOf(rest))) assert.ok(CONTEXT_KEYS.has(key), `-c ${key} is no context key of lib/app.ts`);
    }
  });

  test('the app synthesizes for the account and region given as the documents give them', () => {
    assert.equal(synth.code, 0, synth.out);
    const manifest = JSON.parse(readFileSync(join(assembly, 'manifest.json'), 'utf8'));
    assert.equal(manifest.artifacts[STACK].environment, `aws://${ACCOUNT}/${REGION}`);
    const template = JSON.parse(readFileSync(join(assembly, `${STACK}.template.json`), 'utf8'));
    assert.ok(JSON.stringify(template).includes(`:execute-api:${REGION}:${ACCOUNT}:`), 'the template names the account and region');
    // The bootstrap the documents ask for is the one the template checks for.
    assert.ok(template.Rules?.CheckBootstrapVersion, 'the template checks the bootstrap version');
    assert.match(JSON.stringify(template.Parameters?.BootstrapVersion), /\/cdk-bootstrap\/hnb659fds\/version/);
    for (const args of [...only('deploy'), ...only('diff'), ...only('destroy')]) {
      assert.deepEqual(contextOf(args), { account: ACCOUNT, region: REGION }, `cdk ${args.join(' ')}: the same context as the deploy`);
    }
  });

  test('createApp: explicit context pins the environment, else CDK_DEFAULT_*, else none; bad values are refused', () => {
    const saved = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
    try {
      delete process.env.CDK_DEFAULT_ACCOUNT;
      delete process.env.CDK_DEFAULT_REGION;
      const agnostic = createApp({ context: NO_BUNDLING }).stack;
      assert.equal(agnostic.environment, 'aws://unknown-account/unknown-region');
      assert.equal(createApp({ context: { ...NO_BUNDLING, account: ACCOUNT, region: REGION } }).stack.environment, `aws://${ACCOUNT}/${REGION}`);
      process.env.CDK_DEFAULT_ACCOUNT = '210987654321';
      process.env.CDK_DEFAULT_REGION = 'us-east-2';
      assert.equal(createApp({ context: NO_BUNDLING }).stack.environment, 'aws://210987654321/us-east-2');
      assert.equal(createApp({ context: { ...NO_BUNDLING, region: REGION } }).stack.environment, `aws://210987654321/${REGION}`);
      assert.throws(() => createApp({ context: { ...NO_BUNDLING, account: '1234' } }), /12-digit AWS account id, got '1234'/);
      assert.throws(() => createApp({ context: { ...NO_BUNDLING, region: 'Ireland' } }), /region code such as eu-west-1, got 'Ireland'/);
    } finally {
      for (const [key, value] of [['CDK_DEFAULT_ACCOUNT', saved.account], ['CDK_DEFAULT_REGION', saved.region]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  test('cdk bootstrap, as shown, makes the roles and bucket the documents name (--show-template, offline)', async () => {
    const [bootstrap] = only('bootstrap');
    const { code, out } = await cdk([...bootstrap!, '--show-template']);
    assert.equal(code, 0, out);
    assert.match(out, /Type: AWS::S3::Bucket/);
    const resolved = out.replaceAll('${Qualifier}', 'hnb659fds');
    const named = [...new Set([...deployDoc.matchAll(/cdk-hnb659fds-[a-z-]+-role/g)].map((m) => m[0]))];
    assert.equal(named.length, 4);
    for (const role of named) assert.ok(resolved.includes(`${role}-\${AWS::AccountId}-\${AWS::Region}`), `the bootstrap template creates ${role}`);
    assert.ok(resolved.includes('cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}') && deployDoc.includes('cdk-hnb659fds-assets-ACCOUNT-REGION'));
  });

  test('cdk diff --template, as shown, runs offline against a template and reports the change', async () => {
    const [diff] = only('diff').filter((args) => args.includes('--template'));
    const before = join(dir, 'before-no-status-index.json');
    writeFileSync(before, JSON.stringify(templateOf({ statusIndex: 'false', account: ACCOUNT, region: REGION })));
    // The command as shown, on the assembly the synthesis above made (the same app and context).
    const { code, out } = await cdk([...withTemplate(diff!, before), '--app', assembly]);
    assert.equal(code, 0, out);
    assert.match(out, /\[~\] AWS::DynamoDB::Table \S+ ReceiverTable\w+\n/, 'the index shows as an update of the table, not a replacement');
    // The sweep's byExpiry is in both templates, so the index list changes rather than appears.
    assert.match(out, /\[~\] GlobalSecondaryIndexes(\n[^\n]*)*\n\s*\[\+\]\s+"IndexName": "byStatus"/);
  });

  describe('the upgrade table, row by row (cdk diff between two templates, against the synthesized assembly)', () => {
    const diffFrom = async (name: string, template: unknown) => {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(template));
      return cdk(['diff', '--app', assembly, '--template', file, '--fail-on', 'destructive']);
    };
    const pinned = (context: Record<string, string> = {}) => templateOf({ account: ACCOUNT, region: REGION, ...context });
    const line = (out: string, type: string) => out.split('\n').filter((l) => l.includes(`] ${type} `));
    /** The synthesized assembly with its table changed, diffed against the template as synthesized. */
    const diffTableChange = async (name: string, change: (table: { Properties?: any }) => void) => {
      const changed = join(dir, name);
      cpSync(assembly, changed, { recursive: true });
      const file = join(changed, `${STACK}.template.json`);
      const template = JSON.parse(readFileSync(file, 'utf8')) as { Resources: TemplateResources };
      change(Object.values(template.Resources).find((r) => r.Type === 'AWS::DynamoDB::Table')!);
      writeFileSync(file, JSON.stringify(template));
      return cdk(['diff', '--app', changed, '--template', join(assembly, `${STACK}.template.json`), '--fail-on', 'destructive']);
    };

    test('function memory: updated in place', async () => {
      const { code, out } = await diffFrom('memory', pinned({ memorySize: '512' }));
      assert.equal(code, 0, out);
      // The relay's and the sweep's functions show too (their code: a bundled assembly against an unbundled template).
      const webhook = line(out, 'AWS::Lambda::Function').filter((l) => l.includes(' Receiver/Function '));
      assert.ok(webhook.length === 1 && webhook[0]!.startsWith('[~]') && !webhook[0]!.endsWith('replace'), out);
      assert.match(out, /\[~\] MemorySize\n[^\n]*\[-\] 512\n[^\n]*\[\+\] 256/);
      assert.ok(line(out, 'AWS::Lambda::Function').every((l) => !l.endsWith('replace')), out);
    });

    test('a route path: new route, integration and permission, the old ones deleted, the API kept', async () => {
      const { code, out } = await diffFrom('path', pinned({ imagesPath: '/hooks/images' }));
      assert.equal(code, 1, out);
      for (const type of ['AWS::ApiGatewayV2::Route', 'AWS::ApiGatewayV2::Integration', 'AWS::Lambda::Permission']) {
        assert.ok(line(out, type).some((l) => l.startsWith('[-]') && l.endsWith('destroy')), `${type} of the old path deleted:\n${out}`);
        assert.ok(line(out, type).some((l) => l.startsWith('[+]')), `${type} of the new path created:\n${out}`);
      }
      assert.ok(line(out, 'AWS::ApiGatewayV2::Api').every((l) => l.startsWith('[~]') && !l.endsWith('replace')), `the API stays:\n${out}`);
    });

    test("the table's key: a replacement, which --fail-on destructive refuses", async () => {
      const template = pinned() as { Resources: TemplateResources };
      const [tableId, table] = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::DynamoDB::Table')!;
      table.Properties.KeySchema = [{ AttributeName: 'pk', KeyType: 'HASH' }];
      table.Properties.AttributeDefinitions = [...table.Properties.AttributeDefinitions, { AttributeName: 'pk', AttributeType: 'S' }];
      const { code, out } = await diffFrom('key', template);
      assert.equal(code, 1, out);
      assert.match(out, new RegExp(`AWS::DynamoDB::Table \\S+ ${tableId} replace`));
      assert.match(out, /KeySchema \(requires replacement\)/);
      assert.match(out, /will be replaced/);
    });

    test('a stream on the table, with the relay: the stream added in place, the relay new', async () => {
      // A stack deployed before the relay: no relay (relay=false keeps the stream) and no stream.
      const template = pinned({ relay: 'false' }) as { Resources: TemplateResources };
      delete Object.values(template.Resources).find((r) => r.Type === 'AWS::DynamoDB::Table')!.Properties.StreamSpecification;
      const { code, out } = await diffFrom('stream', template);
      assert.ok(line(out, 'AWS::DynamoDB::Table').every((l) => l.startsWith('[~]') && !l.endsWith('replace')), out);
      assert.match(out, /^\[~\] AWS::DynamoDB::Table \S+ ReceiverTable\w+\n[^\n]*\[\+\] StreamSpecification/m);
      for (const type of ['AWS::Lambda::EventSourceMapping', 'AWS::SQS::Queue']) assert.ok(line(out, type).some((l) => l.startsWith('[+]') && l.includes('Relay')), `${type} of the relay created:\n${out}`);
      assert.ok(out.split('\n').every((l) => !l.endsWith(' replace') && !l.endsWith(' destroy')), out);
      assert.equal(code, 0, out);
    });

    test("an index's projection changed: cdk diff shows an ordinary update (CloudFormation refuses it at deploy time)", async () => {
      const { code, out } = await diffTableChange('projection', (table) => (table.Properties.GlobalSecondaryIndexes[0].Projection = { ProjectionType: 'ALL' }));
      assert.equal(code, 0, out);
      assert.match(out, /^\[~\] AWS::DynamoDB::Table \S+ ReceiverTable\w+\n[^\n]*\[~\] GlobalSecondaryIndexes/m);
    });

    test('pinning account and region on a stack deployed without them: only the invoke permissions are replaced', async () => {
      const { code, out } = await diffFrom('agnostic', templateOf({}));
      assert.equal(code, 1, out);
      const replaced = out.split('\n').filter((l) => /^\[~\] /.test(l) && l.endsWith(' replace'));
      assert.ok(replaced.length > 0 && replaced.every((l) => l.includes('AWS::Lambda::Permission')), replaced.join('\n'));
    });
  });

  test('npm run cli / connect commands parse with the options the CLI declares', async () => {
    const npmRuns = commands.filter((c) => c[0] === 'npm' && c[1] === 'run');
    assert.ok(npmRuns.length >= 4);
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    for (const command of npmRuns) {
      const script = command[2]!;
      assert.ok(script in scripts, `npm run ${script}`);
      assert.ok(script === 'cli' || script === 'connect', `npm run ${script} is not checked here`);
      assert.equal(command[3], '--', `npm run ${script} passes its arguments after --`);
      const argv = [...(script === 'connect' ? ['connect'] : []), ...command.slice(4)];
      const errors: string[] = [];
      // --help ends the run after the strict parse of every option, before anything reaches AWS.
      const code = await runCli([...argv, '--help'], { out: () => {}, err: (text) => errors.push(text) });
      assert.equal(code, 0, `${command.join(' ')}: ${errors.join(' ')}`);
      for (const option of argv.filter((a) => a.startsWith('--'))) assert.ok(USAGE.includes(option), `the usage text documents ${option}`);
    }
  });

  test('aws commands name real operations and parameters (the AWS SDK service models)', async () => {
    const awsCommands = commands.filter((c) => c[0] === 'aws').map((c) => c.slice(1));
    assert.ok(awsCommands.length >= 8);
    const python = join(dirname(await ensureEmulator()), 'python');
    const results = JSON.parse(await runPython(python, AWS_CHECK, JSON.stringify(awsCommands))) as { command: string[]; problems: string[] }[];
    assert.equal(results.length, awsCommands.length);
    for (const r of results) assert.deepEqual(r.problems, [], `aws ${r.command.join(' ')}`);
  });

  test('what stays after cdk destroy is what the templates retain', () => {
    const retained = new Set<string>();
    const contexts: Record<string, string>[] = [{}, { uploads: 'true' }, { uploads: 'true', alarmTopic: 'true', eventSchemas: 'true', noDeliveryHours: '6' }];
    for (const context of contexts) {
      const resources = (templateOf(context) as { Resources: TemplateResources }).Resources;
      for (const r of Object.values(resources)) {
        if (r.DeletionPolicy === 'Retain') retained.add(r.Type);
        if (r.Type === 'AWS::SecretsManager::Secret') assert.equal(r.DeletionPolicy, 'Delete', 'the documents say secrets are deleted');
      }
    }
    const listed = commands.find((c) => c[0] === 'aws' && c[2] === 'describe-stack-resources');
    assert.ok(listed, 'the removal steps list what stays');
    const queried = new Set([...listed.join(' ').matchAll(/ResourceType=='([\w:]+)'/g)].map((m) => m[1]!));
    assert.deepEqual([...queried].sort(), [...retained].sort());
    for (const type of retained) {
      const deleteCommand = type === 'AWS::DynamoDB::Table' ? 'delete-table' : type === 'AWS::Logs::LogGroup' ? 'delete-log-group' : undefined;
      assert.ok(deleteCommand && commands.some((c) => c[0] === 'aws' && c[2] === deleteCommand), `the documents delete what stays: ${type}`);
    }
  });

  test('the outputs the documents show are the stack outputs, in the order the CLI prints them', () => {
    const outputs = (options: Record<string, string>) => Object.keys((templateOf(options) as { Outputs: object }).Outputs);
    const shown = fencedBlocks(deployDoc, 'text').find((b) => b.startsWith('Outputs:'));
    assert.ok(shown, 'docs/DEPLOY.md shows the outputs');
    const keys = [...shown.matchAll(new RegExp(`^${STACK}\\.(\\w+) = `, 'gm'))].map((m) => m[1]!);
    assert.deepEqual(keys, outputs({}).sort());
    const extra = outputs({ uploads: 'true' }).filter((k) => !outputs({}).includes(k));
    assert.match(deployDoc, new RegExp(`two more: ${extra.map((k) => `\`${k}\``).join(' and ')}`));
    for (const key of [...outputs({}), ...extra]) assert.ok(readmeDeploy.includes(`\`${key}\``), `README lists ${key}`);
  });

  test('the links between the documents land on headings that exist', () => {
    const slugs = (markdown: string) =>
      new Set([...markdown.matchAll(/^#+\s+(.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const docs: Record<string, string> = { 'docs/DEPLOY.md': deployDoc, 'README.md': readme, 'docs/OBSERVABILITY.md': read('docs/OBSERVABILITY.md') };
    const links = [
      ...[...deployDoc.matchAll(/\]\(((?:\.\.\/README\.md|OBSERVABILITY\.md)?)#([\w-]+)\)/g)].map((m) => [m[1] === '../README.md' ? 'README.md' : m[1] ? `docs/${m[1]}` : 'docs/DEPLOY.md', m[2]!]),
      ...[...readmeDeploy.matchAll(/\]\((docs\/DEPLOY\.md)#([\w-]+)\)/g)].map((m) => [m[1]!, m[2]!]),
    ];
    assert.ok(links.length >= 12);
    for (const [file, anchor] of links) assert.ok(slugs(docs[file!]!).has(anchor!), `${file}#${anchor}`);
  });

  test('the standing cost in both documents is what bench/cost.ts computes from the templates', () => {
    const report = standingReport();
    assert.equal(between(deployDoc, MARKERS.table), standingMarkdown(report), 'docs/DEPLOY.md: run npx tsx bench/standing.ts --write');
    assert.equal(between(readme, MARKERS.summary), standingSummary(report), 'README.md: run npx tsx bench/standing.ts --write');
    assert.equal(MEASURED_ROW.exec(readme)?.[1]?.trim(), usd(report.standard.totalPerMonth));
    // The per-million figure beside it is the bench's latest, the one the measured table shows.
    assert.ok(report.perMillion !== undefined);
    assert.match(readme, new RegExp(`\\| \\$ per million webhooks[^|]*\\| \\${usd(report.perMillion)} \\|`));
    // Every resource type of every variant has a rule in the model (priced, or free by nature).
    const all = { uploads: 'true', alarmTopic: 'true', eventSchemas: 'true', noDeliveryHours: '6' };
    for (const cost of [report.standard, ...report.variants.map((v) => v.cost), standingCost(synthesizedTemplate(all))]) {
      assert.deepEqual(cost.unclassified, []);
    }
    for (const v of STANDING_VARIANTS) for (const key of Object.keys(v.context)) assert.ok(CONTEXT_KEYS.has(key), key);
  });

  test('the standing-cost model counts what it says it counts', () => {
    const base = standingCost(synthesizedTemplate());
    const line = (cost: ReturnType<typeof standingCost>, item: string) => cost.lines.find((l) => l.item === item);
    // Metric-math alarms pay per metric they read (the 5xx rate reads 2, signature rejections 5, …).
    const template = synthesizedTemplate() as { Resources: TemplateResources };
    const alarms = Object.values(template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    const metricsRead = alarms.reduce((n, a) => n + (a.Properties.Metrics ? a.Properties.Metrics.filter((m: any) => m.MetricStat).length : 1), 0);
    assert.equal(line(base, 'CloudWatch alarm metrics, standard resolution')?.count, metricsRead);
    assert.ok(metricsRead > alarms.length);
    // A resource the lead adds moves the figure: a second secret, an archive, a web ACL with two rules, a key.
    const grown = structuredClone(template);
    grown.Resources.ReadToken = { Type: 'AWS::SecretsManager::Secret', Properties: {} };
    grown.Resources.Archive = { Type: 'AWS::Events::Archive', Properties: {} };
    grown.Resources.Acl = { Type: 'AWS::WAFv2::WebACL', Properties: { Rules: [{}, {}] } };
    grown.Resources.Key = { Type: 'AWS::KMS::Key', Properties: {} };
    grown.Resources.Unknown = { Type: 'AWS::Example::Thing', Properties: {} };
    const after = standingCost(grown);
    assert.equal(Number((after.totalPerMonth - base.totalPerMonth).toFixed(6)), 0.4 + 0 + 5 + 2 + 1);
    assert.equal(line(after, 'EventBridge archives')?.count, (line(base, 'EventBridge archives')?.count ?? 0) + 1);
    assert.deepEqual(after.unclassified, ['AWS::Example::Thing']);
  });
});

/** A template of the app, synthesized in-process without bundling; with path metadata, as the CLI writes it. */
function templateOf(context: Record<string, string>): unknown {
  return Template.fromStack(createApp({ context: { ...NO_BUNDLING, 'aws:cdk:enable-path-metadata': true, ...context } }).stack).toJSON();
}

function runPython(python: string, script: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`python exited ${code}: ${err}`))));
    child.stdin.end(input);
  });
}

/**
 * Each `aws <service> <operation> --param value …` against botocore's model of the service (the
 * models the AWS CLI itself is built on): the operation exists, every parameter is one of its
 * input members, the required ones are given. Global options are the CLI's own.
 */
const AWS_CHECK = String.raw`
import json, sys
import botocore.session
from botocore import xform_name
GLOBAL_WITH_VALUE = {'--region', '--profile', '--output', '--query', '--endpoint-url'}
session = botocore.session.get_session()
results = []
for cmd in json.load(sys.stdin):
    service, operation, args = cmd[0], cmd[1], cmd[2:]
    problems = []
    try:
        model = session.get_service_model(service)
    except Exception:
        results.append({'command': cmd, 'problems': ['unknown service ' + service]})
        continue
    operations = {xform_name(name, '-'): name for name in model.operation_names}
    if operation not in operations:
        results.append({'command': cmd, 'problems': ['unknown operation ' + operation]})
        continue
    shape = model.operation_model(operations[operation]).input_shape
    members = {xform_name(name, '-'): name for name in (shape.members if shape else {})}
    given = set()
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in GLOBAL_WITH_VALUE:
            i += 2
        elif arg.startswith('--') and arg[2:] in members:
            given.add(members[arg[2:]])
            i += 2
        else:
            problems.append('not a parameter of ' + operation + ': ' + arg)
            i += 1
    missing = sorted(set(shape.required_members if shape else []) - given)
    if missing:
        problems.append('missing ' + ', '.join(missing))
    results.append({'command': cmd, 'problems': problems})
json.dump(results, sys.stdout)
`;
