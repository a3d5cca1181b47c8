/**
 * The standing cost of a deployment (what it costs per month while no webhook arrives), for the
 * default stack and for each option that changes it: every variant is synthesized by the app's
 * own `createApp` and priced by `standingCost` in bench/cost.ts, the model behind the
 * per-million figure. Nothing here is typed by hand, so a resource the stack gains (a secret,
 * an alarm, a schedule, an archive, a web ACL) moves the figures by itself.
 *
 *   npx tsx bench/standing.ts           print the tables
 *   npx tsx bench/standing.ts --write   rewrite the generated blocks in docs/DEPLOY.md and README.md
 *
 * test/infra/deploy.test.ts fails when the documents differ from what this computes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthContext } from '../test/support/template.js';
import { PRICES, standingCost, STANDING_ASSUMPTIONS, type CfnTemplate, type StandingCost } from './cost.js';
import { table } from './format.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Each row changes the default by the CDK context given (as `cdk deploy -c key=value`). */
export const STANDING_VARIANTS: readonly { readonly context: Readonly<Record<string, string>>; readonly what: string }[] = [
  { context: { uploads: 'true' }, what: 'the upload route: its API secret and log groups' },
  { context: { frontDoor: 'true' }, what: 'the front door: an AWS WAF web ACL with 2 rules (README › Security)' },
  { context: { frontDoor: 'true', frontDoorCloudflareIpsOnly: 'true' }, what: 'the front door with Cloudflare addresses only: 3 rules' },
  { context: { noDeliveryHours: '6' }, what: 'the "no successful delivery" alarm' },
  { context: { alarmTopic: 'true' }, what: 'an SNS topic for the alarms (billed per notification)' },
  { context: { eventSchemas: 'true' }, what: 'the event schema registry (no charge without schema discovery)' },
  { context: { statusIndex: 'false' }, what: 'no byStatus index: saves per webhook, not standing' },
  { context: { relay: 'false' }, what: 'no stream relay: its alarms and log group go; an event whose writer died then waits for a redelivery' },
  { context: { cloudflareReadToken: 'false' }, what: 'no read token: its secret and alarm go; nothing is confirmed or recovered from Cloudflare' },
  { context: { expirySweepMinutes: '0' }, what: 'no expiry sweep: its runs go; nothing expires abandoned uploads or recovers lost webhooks' },
  { context: { archiveRetentionDays: '0' }, what: 'no event archive: nothing to replay (it costs only what it stores)' },
  { context: { dashboard: 'false' }, what: 'no dashboard' },
  { context: { alarms: 'false' }, what: 'no alarms' },
  { context: { alarms: 'false', dashboard: 'false' }, what: 'neither: the secrets are what remains' },
];

/** Template of the app as `cdk synth -c …` would make it, without bundling (the cost ignores code). */
export function synthesizedTemplate(context: Readonly<Record<string, string>> = {}): CfnTemplate {
  return synthContext(context).toJSON() as CfnTemplate;
}

export interface StandingReport {
  readonly standard: StandingCost;
  readonly variants: readonly { readonly context: Readonly<Record<string, string>>; readonly what: string; readonly cost: StandingCost }[];
  /** The bench's latest per-million figure (bench/results/latest.json), printed beside the standing one. */
  readonly perMillion: number | undefined;
}

/** @param perMillion the per-million figure to print beside it; default: the latest bench run's */
export function standingReport(perMillion: number | undefined = latestPerMillion()): StandingReport {
  return {
    standard: standingCost(synthesizedTemplate()),
    variants: STANDING_VARIANTS.map((v) => ({ ...v, cost: standingCost(synthesizedTemplate(v.context)) })),
    perMillion,
  };
}

function latestPerMillion(): number | undefined {
  try {
    const latest = JSON.parse(readFileSync(join(root, 'bench/results/latest.json'), 'utf8')) as { cost?: { totalPerMillion?: number } };
    return latest.cost?.totalPerMillion;
  } catch {
    return undefined;
  }
}

/** Dollars as the documents print them: cents, or "< $0.01" for a charge that rounds to nothing. */
export function usd(value: number): string {
  return value > 0 && value < 0.005 ? '< $0.01' : `$${value.toFixed(2)}`;
}

const contextFlags = (context: Readonly<Record<string, string>>) =>
  Object.entries(context)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');

/** What a variant changes, line by line, against the default. */
function changes(from: StandingCost, to: StandingCost): string {
  const items = [...new Set([...from.lines, ...to.lines].map((l) => l.item))];
  const parts: string[] = [];
  for (const item of items) {
    const a = from.lines.find((l) => l.item === item);
    const b = to.lines.find((l) => l.item === item);
    if (a?.count === b?.count && usd(a?.perMonth ?? 0) === usd(b?.perMonth ?? 0)) continue;
    const delta = (b?.perMonth ?? 0) - (a?.perMonth ?? 0);
    const sign = delta < 0 ? '−' : '+';
    const amount = delta === 0 ? '±$0' : usd(Math.abs(delta)).replace('< $', `< ${sign}$`).replace(/^\$/, `${sign}$`);
    parts.push(`${item} ${(a?.count ?? 0).toLocaleString('en-US')} → ${(b?.count ?? 0).toLocaleString('en-US')} (${amount})`);
  }
  return parts.join('; ') || 'nothing standing';
}

/**
 * The block docs/DEPLOY.md carries between its standing-cost markers.
 * @param docs where docs/ is from the file that shows it (bench/results/latest.md: `../../docs/`)
 */
export function standingMarkdown(r: StandingReport, docs = ''): string {
  const s = r.standard;
  const rows = [
    '| standing charge, default deployment | count | $ / month | basis |',
    '|---|---:|---:|---|',
    ...s.lines.map((l) => `| ${l.item} | ${l.count.toLocaleString('en-US')} | ${usd(l.perMonth)} | ${l.basis} |`),
    `| ${s.unchargedResources} other resources (API, functions, roles, bus, …) | ${s.unchargedResources} | $0.00 | billed per request or per GB only |`,
    `| **total** | | **${usd(s.totalPerMonth)}** | at list prices; ${usd(s.totalPerMonth - s.freeTierPerMonth)} where the account's free tier (${PRICES.freeDashboards} dashboards, ${PRICES.freeAlarmMetrics} alarm metrics) is not used by anything else |`,
  ];
  const variants = [
    '| deploy with | $ / month | what it adds or removes | lines that change |',
    '|---|---:|---|---|',
    ...r.variants.map((v) => `| \`${contextFlags(v.context)}\` | ${usd(v.cost.totalPerMonth)} | ${v.what} | ${changes(s, v.cost)} |`),
  ];
  const perMillion = r.perMillion === undefined ? 'the per-million figure of `npm run bench`' : `**${usd(r.perMillion)} per million webhooks** (the same model, \`bench/results/latest.json\`)`;
  return [
    ...rows,
    '',
    `What grows from there: each million items kept adds ${usd(s.perMillionItems.pitr)} a month of point-in-time recovery and, beyond the free ${PRICES.dynamodbFreeStorageGB} GB, ${usd(s.perMillionItems.storageBeyondFreeTier)} of storage (items of about ${STANDING_ASSUMPTIONS.itemKB} KB with their index entries); traffic adds ${perMillion}; and each custom metric series (EMF) costs ${usd(PRICES.customMetricPerMonth)} in a month it receives data ([at most about 37](${docs}OBSERVABILITY.md#metrics)).`,
    '',
    ...variants,
  ].join('\n');
}

/** The sentence README.md's Deploy section carries between its markers. */
export function standingSummary(r: StandingReport): string {
  const s = r.standard;
  const perMillion = r.perMillion === undefined ? '' : `, and every million webhooks adds ${usd(r.perMillion)}`;
  return `Standing still, a default deployment costs **${usd(s.totalPerMonth)} a month** at us-east-1 list prices (${usd(s.totalPerMonth - s.freeTierPerMonth)} while the account's free tier covers the dashboard and alarms)${perMillion}: itemised, with what each option adds, in [docs/DEPLOY.md](docs/DEPLOY.md#what-it-costs-standing-still).`;
}

export const MARKERS = {
  table: ['<!-- standing-cost:begin (generated by `npx tsx bench/standing.ts --write`; test/infra/deploy.test.ts checks it) -->', '<!-- standing-cost:end -->'],
  summary: ['<!-- standing-cost-summary:begin (generated by `npx tsx bench/standing.ts --write`) -->', '<!-- standing-cost-summary:end -->'],
} as const;

/** The text between a document's markers, or undefined when it has none. */
export function between(text: string, [begin, end]: readonly [string, string]): string | undefined {
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) return undefined;
  return text.slice(start + begin.length, stop).trim();
}

function replaceBetween(text: string, markers: readonly [string, string], body: string, file: string): string {
  if (between(text, markers) === undefined) throw new Error(`${file}: markers ${markers[0]} … ${markers[1]} not found`);
  const start = text.indexOf(markers[0]) + markers[0].length;
  return `${text.slice(0, start)}\n${body}\n${text.slice(text.indexOf(markers[1]))}`;
}

/** README's "Measured figures" row of the standing cost. */
export const MEASURED_ROW = /^\| standing \$ per month, no webhook arriving[^|]*\| ([^|]+) \|/m;

function write(r: StandingReport): void {
  const deploy = join(root, 'docs/DEPLOY.md');
  writeFileSync(deploy, replaceBetween(readFileSync(deploy, 'utf8'), MARKERS.table, standingMarkdown(r), 'docs/DEPLOY.md'));
  const readme = join(root, 'README.md');
  let text = replaceBetween(readFileSync(readme, 'utf8'), MARKERS.summary, standingSummary(r), 'README.md');
  if (!MEASURED_ROW.test(text)) throw new Error('README.md: no "standing $ per month" row in Measured figures');
  text = text.replace(MEASURED_ROW, (row, value: string) => row.replace(`| ${value} |`, `| ${usd(r.standard.totalPerMonth)} |`));
  writeFileSync(readme, text);
}

/** Plain-text tables for `npm run bench` and this script. */
export function standingText(r: StandingReport): string {
  const s = r.standard;
  const rows = [
    ['standing charge (default deployment, no webhook)', 'count', '$ / month', 'basis'],
    ...s.lines.map((l) => [l.item, l.count.toLocaleString('en-US'), usd(l.perMonth), l.basis]),
    ['total', '', usd(s.totalPerMonth), `${usd(s.totalPerMonth - s.freeTierPerMonth)} within the account's free tier`],
  ];
  const variants = [['deploy with', '$ / month', 'lines that change'], ...r.variants.map((v) => [contextFlags(v.context), usd(v.cost.totalPerMonth), changes(s, v.cost)])];
  return [table(rows), '', table(variants)].join('\n');
}


if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const report = standingReport();
  const unclassified = [report.standard, ...report.variants.map((v) => v.cost)].flatMap((c) => c.unclassified);
  if (unclassified.length > 0) throw new Error(`standing cost: no rule for ${[...new Set(unclassified)].join(', ')} in bench/cost.ts`);
  process.stdout.write(`${standingText(report)}\n`);
  if (process.argv.includes('--write')) {
    write(report);
    process.stdout.write('wrote docs/DEPLOY.md and README.md\n');
  }
}
