import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ApiFailure } from '../../lambda/core/cloudflare.js';
import { DetailType, ImageStatus, ItemKind, VideoStatus } from '../../lambda/core/contract.js';
import {
  Confirmation,
  DEFAULT_METRICS_NAMESPACE,
  DeliveryOutcome,
  DeliveryResult,
  Dimension,
  METRICS_NAMESPACE_ENV,
  METRICS_SERVICE,
  MetricName,
  Rejection,
  RELAY_METRICS_SERVICE,
  SIGNATURE_REJECTIONS,
  SWEEP_METRICS_SERVICE,
} from '../../lambda/core/metrics.js';
import { type DeliverySummary, metricBatches } from '../../lambda/webhook/metrics.js';
import { WebhookAlarm } from '../../lib/observability/index.js';
import type { CloudflareWebhookReceiverProps } from '../../lib/webhook-receiver.js';
import { CloudflareWebhookStack } from '../../lib/webhook-stack.js';
import { functionOf, functionsOf, NO_BUNDLING, refOf, resourcesOf, type TemplateResource as Resource, synthContext, synthReceiver } from '../support/template.js';

/** Skips esbuild: enough for template checks. */

/** Alarms by their construct id (`…Observability<Name><hash>`). */
function alarmsByName(template: Template): Record<string, any> {
  const byName: Record<string, any> = {};
  for (const [logicalId, alarm] of resourcesOf(template, 'AWS::CloudWatch::Alarm')) {
    const name = Object.values(WebhookAlarm).find((n) => logicalId.startsWith(`ReceiverObservability${n}`));
    assert.ok(name, `alarm ${logicalId} is one of WebhookAlarm`);
    byName[name] = alarm.Properties;
  }
  return byName;
}

function logicalIdOf(template: Template, type: string): string {
  const found = resourcesOf(template, type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0]![0];
}

/** The dashboard body with every token (region, ids) replaced by `TOKEN`, parsed. */
function dashboardBody(template: Template): { widgets: any[] } {
  const [[, dashboard]] = resourcesOf(template, 'AWS::CloudWatch::Dashboard') as [[string, Resource]];
  const body = dashboard.Properties.DashboardBody;
  const text = typeof body === 'string' ? body : (body['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  return JSON.parse(text);
}

/** `Name=value …` of CloudWatch dimensions, sorted. */
function dimensionsOf(dimensions: { Name: string; Value: unknown }[]): string {
  return dimensions.map((d) => `${d.Name}=${d.Value}`).sort().join(' ');
}

/**
 * What each function emits: service → metric → the dimension sets (besides `service`) it is
 * published under, as sorted comma-joined names. The webhook's is read off its own metricBatches
 * over deliveries of every shape; the sweep's and the relay's are their handlers' batches written
 * out (lambda/sweep/handler.ts, lambda/relay/handler.ts), as those modules do not export them.
 */
const EMITTED: Record<string, Record<string, Set<string>>> = {
  [METRICS_SERVICE]: webhookEmissions(),
  [SWEEP_METRICS_SERVICE]: {
    [MetricName.Reconciliations]: new Set([Dimension.Reconciliation]),
    [MetricName.RecoveredWebhooks]: new Set(['']),
    [MetricName.CloudflareApiErrors]: new Set([Dimension.Class]),
  },
  [RELAY_METRICS_SERVICE]: {
    [MetricName.RelayedEvents]: new Set(['']),
    [MetricName.RelayRetries]: new Set(['']),
  },
};

function webhookEmissions(): Record<string, Set<string>> {
  const deliveries: DeliverySummary[] = [
    { result: 'accepted', kind: 'image', outcome: 'transitioned', transition: { from: 'pending', to: 'uploaded' }, republished: 1, publishFailed: false, confirmation: 'corrected', apiFailure: 'unavailable' },
    { result: 'rejected', kind: 'video', outcome: 'rejected', rejection: 'invalid-signature', republished: 0, publishFailed: false },
    { result: 'error', kind: 'image', outcome: 'error', republished: 0, publishFailed: true, apiFailure: 'auth' },
  ];
  const emitted: Record<string, Set<string>> = {};
  for (const batch of deliveries.flatMap(metricBatches)) {
    const sets = batch.dimensionSets.length > 0 ? batch.dimensionSets.map((set) => Object.keys(set).sort().join(',')) : [''];
    for (const metricName of Object.keys(batch.counts)) for (const set of sets) (emitted[metricName] ??= new Set()).add(set);
  }
  return emitted;
}

/** The values a dimension takes, by whichever function emits it. */
const DIMENSION_VALUES: Record<string, readonly string[]> = {
  [Dimension.Result]: Object.values(DeliveryResult),
  [Dimension.Kind]: [...Object.values(ItemKind), 'unknown'],
  [Dimension.Outcome]: Object.values(DeliveryOutcome),
  [Dimension.Reason]: Object.values(Rejection),
  [Dimension.Status]: [...new Set([...Object.values(ImageStatus), ...Object.values(VideoStatus)])],
  // `not-asked` is never emitted (lambda/webhook/metrics.ts).
  [Dimension.Confirmation]: Object.values(Confirmation).filter((c) => c !== Confirmation.NotAsked),
  [Dimension.Class]: Object.values(ApiFailure),
  [Dimension.Reconciliation]: ['expired', 'recovered', 'skipped', 'deferred', 'failed'],
};

/** Every custom metric (in `namespace`) the alarms and the dashboard name, with its dimensions. */
function customMetricsNamed(template: Template, namespace: string): { metricName: string; dimensions: Record<string, string> }[] {
  const named: { metricName: string; dimensions: Record<string, string> }[] = [];
  const add = (ns: unknown, metricName: string, pairs: [string, string][]) => {
    if (ns === namespace) named.push({ metricName, dimensions: Object.fromEntries(pairs) });
  };
  for (const alarm of Object.values(alarmsByName(template))) {
    if (alarm.MetricName) add(alarm.Namespace, alarm.MetricName, alarm.Dimensions.map((d: any) => [d.Name, d.Value]));
    for (const m of alarm.Metrics ?? []) {
      const metric = m.MetricStat?.Metric;
      if (metric) add(metric.Namespace, metric.MetricName, metric.Dimensions.map((d: any) => [d.Name, d.Value]));
    }
  }
  const dashboards = resourcesOf(template, 'AWS::CloudWatch::Dashboard');
  for (const widget of dashboards.length > 0 ? dashboardBody(template).widgets.filter((w) => w.type === 'metric') : []) {
    for (const m of widget.properties.metrics as unknown[][]) {
      const [ns, metricName, ...dims] = m.filter((p) => typeof p === 'string') as string[];
      const pairs: [string, string][] = [];
      for (let i = 0; i + 1 < dims.length; i += 2) pairs.push([dims[i]!, dims[i + 1]!]);
      if (metricName) add(ns, metricName, pairs);
    }
  }
  return named;
}

const SERVICE = { Name: 'service', Value: 'cloudflare-webhook' };
/** The webhook path's health. */
const HEALTH_ALARMS = [WebhookAlarm.Api5xxRate, WebhookAlarm.FunctionErrors, WebhookAlarm.FunctionThrottles, WebhookAlarm.PublishFailures, WebhookAlarm.SignatureRejections];
/** Every alarm of the default receiver: health, the read token (there is one), the relay (there is one). */
const DEFAULT_ALARMS = [...HEALTH_ALARMS, WebhookAlarm.CloudflareTokenRefused, WebhookAlarm.RelayDeadLetters, WebhookAlarm.RelayIteratorAge];

describe('alarms, by default', () => {
  const template = synthReceiver();
  const alarms = alarmsByName(template);
  const fn = functionOf(template, 'webhook')[0];
  const api = logicalIdOf(template, 'AWS::ApiGatewayV2::Api');

  test('are the health, read token and relay alarms, without NoSuccessfulDelivery, notifying nobody', () => {
    assert.deepEqual(Object.keys(alarms).sort(), [...DEFAULT_ALARMS].sort());
    for (const alarm of Object.values(alarms)) {
      assert.equal(alarm.AlarmActions, undefined);
      assert.equal(alarm.OKActions, undefined);
      assert.equal(alarm.TreatMissingData, 'notBreaching', 'a quiet period is not a failure');
    }
    assert.equal(resourcesOf(template, 'AWS::SNS::Topic').length, 0);
  });

  test('Api5xxRate: more than 5% of the API requests answered 5xx in 2 of 3 five-minute periods', () => {
    const alarm = alarms.Api5xxRate;
    assert.deepEqual([alarm.Threshold, alarm.ComparisonOperator, alarm.EvaluationPeriods, alarm.DatapointsToAlarm], [5, 'GreaterThanThreshold', 3, 2]);
    const byId = Object.fromEntries(alarm.Metrics.map((m: any) => [m.Id, m]));
    assert.equal(alarm.Metrics.find((m: any) => m.ReturnData !== false && m.Expression).Expression, '100 * FILL(errors, 0) / requests');
    for (const [id, metricName] of [['errors', '5xx'], ['requests', 'Count']] as const) {
      assert.deepEqual(byId[id].MetricStat, {
        Metric: { Namespace: 'AWS/ApiGateway', MetricName: metricName, Dimensions: [{ Name: 'ApiId', Value: { Ref: api } }] },
        Period: 300,
        Stat: 'Sum',
      });
    }
  });

  test('FunctionErrors and FunctionThrottles: any in five minutes', () => {
    for (const [name, metricName] of [['FunctionErrors', 'Errors'], ['FunctionThrottles', 'Throttles']] as const) {
      assert.deepEqual(
        [alarms[name].Namespace, alarms[name].MetricName, alarms[name].Dimensions, alarms[name].Statistic, alarms[name].Period],
        ['AWS/Lambda', metricName, [{ Name: 'FunctionName', Value: { Ref: fn } }], 'Sum', 300],
      );
      assert.deepEqual([alarms[name].Threshold, alarms[name].ComparisonOperator, alarms[name].EvaluationPeriods], [1, 'GreaterThanOrEqualToThreshold', 1]);
    }
  });

  test("PublishFailures: any in five minutes, on the function's own metric", () => {
    const alarm = alarms.PublishFailures;
    assert.deepEqual(
      [alarm.Namespace, alarm.MetricName, alarm.Dimensions, alarm.Statistic, alarm.Period],
      [DEFAULT_METRICS_NAMESPACE, MetricName.PublishFailures, [SERVICE], 'Sum', 300],
    );
    assert.deepEqual([alarm.Threshold, alarm.ComparisonOperator, alarm.EvaluationPeriods], [1, 'GreaterThanOrEqualToThreshold', 1]);
  });

  test('SignatureRejections: 20 or more in five minutes, summed over every signature reason', () => {
    const alarm = alarms.SignatureRejections;
    assert.deepEqual([alarm.Threshold, alarm.ComparisonOperator, alarm.EvaluationPeriods], [20, 'GreaterThanOrEqualToThreshold', 1]);
    const expression = alarm.Metrics.find((m: any) => m.Expression);
    const stats = alarm.Metrics.filter((m: any) => m.MetricStat);
    assert.equal(expression.Expression, stats.map((m: any) => `FILL(${m.Id}, 0)`).join(' + '));
    assert.deepEqual(
      stats.map((m: any) => m.MetricStat.Metric.Dimensions.find((d: any) => d.Name === Dimension.Reason).Value).sort(),
      [...SIGNATURE_REJECTIONS].sort(),
    );
    for (const { MetricStat } of stats) {
      assert.equal(MetricStat.Metric.Namespace, DEFAULT_METRICS_NAMESPACE);
      assert.equal(MetricStat.Metric.MetricName, MetricName.Deliveries);
      assert.deepEqual(MetricStat.Metric.Dimensions.find((d: any) => d.Name === 'service'), SERVICE);
      assert.deepEqual([MetricStat.Period, MetricStat.Stat], [300, 'Sum']);
    }
    assert.ok(!stats.some((m: any) => m.MetricStat.Metric.Dimensions.some((d: any) => d.Value === Rejection.InvalidPayload)), 'bad payloads are not probes');
  });

  test('CloudflareTokenRefused: any refusal of the read token in five minutes, by the webhook or the sweep', () => {
    const alarm = alarms.CloudflareTokenRefused;
    assert.deepEqual([alarm.Threshold, alarm.ComparisonOperator, alarm.EvaluationPeriods], [1, 'GreaterThanOrEqualToThreshold', 1]);
    const [expression] = alarm.Metrics.filter((m: any) => m.Expression);
    const stats = alarm.Metrics.filter((m: any) => m.MetricStat);
    assert.equal(expression.Expression, stats.map((m: any) => `FILL(${m.Id}, 0)`).join(' + '));
    assert.deepEqual(
      stats.map((m: any) => [m.MetricStat.Metric.Namespace, m.MetricStat.Metric.MetricName, dimensionsOf(m.MetricStat.Metric.Dimensions), m.MetricStat.Period, m.MetricStat.Stat]).sort(),
      [METRICS_SERVICE, SWEEP_METRICS_SERVICE].map((service) => [DEFAULT_METRICS_NAMESPACE, MetricName.CloudflareApiErrors, `Class=${ApiFailure.Auth} service=${service}`, 300, 'Sum']).sort(),
    );
  });

  test('RelayDeadLetters: a batch in the relay’s dead-letter queue; RelayIteratorAge: the relay 10 minutes behind the stream', () => {
    const [, mapping] = resourcesOf(template, 'AWS::Lambda::EventSourceMapping')[0]!;
    const dlq = refOf(mapping.Properties.DestinationConfig.OnFailure.Destination);
    const relay = functionOf(template, 'relay')[0];
    const shape = (a: any) => [a.Namespace, a.MetricName, a.Dimensions, a.Statistic, a.Period, a.Threshold, a.ComparisonOperator, a.EvaluationPeriods];
    assert.deepEqual(shape(alarms.RelayDeadLetters), [
      'AWS/SQS', 'ApproximateNumberOfMessagesVisible', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }], 'Maximum', 300, 1, 'GreaterThanOrEqualToThreshold', 1,
    ]);
    assert.deepEqual(shape(alarms.RelayIteratorAge), [
      'AWS/Lambda', 'IteratorAge', [{ Name: 'FunctionName', Value: { Ref: relay } }], 'Maximum', 300, 10 * 60_000, 'GreaterThanOrEqualToThreshold', 1,
    ]);
  });

  test('each names its runbook section, and the runbook has one for every alarm', () => {
    const runbook = readFileSync(new URL('../../docs/RUNBOOK.md', import.meta.url), 'utf8');
    for (const name of Object.values(WebhookAlarm)) {
      assert.match(runbook, new RegExp(`^## ${name}$`, 'm'), `docs/RUNBOOK.md has a section ${name}`);
    }
    for (const [name, alarm] of Object.entries(alarms)) {
      assert.ok(alarm.AlarmDescription.endsWith(`Runbook: docs/RUNBOOK.md#${name.toLowerCase()}`), alarm.AlarmDescription);
    }
  });

  test('no schema registry unless asked for', () => {
    assert.equal(resourcesOf(template, 'AWS::EventSchemas::Registry').length, 0);
    assert.equal(resourcesOf(template, 'AWS::EventSchemas::Schema').length, 0);
  });
});

describe('alarm options', () => {
  test('a new topic receives every alarm and its return to OK, and admits only TLS', () => {
    const template = synthReceiver({ alarms: { topic: true } });
    const topic = logicalIdOf(template, 'AWS::SNS::Topic');
    for (const alarm of Object.values(alarmsByName(template))) {
      assert.deepEqual(alarm.AlarmActions, [{ Ref: topic }]);
      assert.deepEqual(alarm.OKActions, [{ Ref: topic }]);
    }
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('an existing topic is used as it is, and none is created', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:oncall';
    const app = new App({ context: NO_BUNDLING });
    const topic = sns.Topic.fromTopicArn(new Stack(app, 'Shared'), 'OnCall', arn);
    const template = Template.fromStack(new CloudflareWebhookStack(app, 'Test', { receiver: { alarms: { topic } } }));
    assert.equal(resourcesOf(template, 'AWS::SNS::Topic').length, 0);
    const alarms = Object.values(alarmsByName(template));
    assert.equal(alarms.length, DEFAULT_ALARMS.length);
    for (const alarm of alarms) assert.deepEqual(alarm.AlarmActions, [arn]);
  });

  test('thresholds are configurable', () => {
    const alarms = alarmsByName(synthReceiver({ alarms: { api5xxRatePercent: 1, signatureRejectionsPerFiveMinutes: 100 } }));
    assert.equal(alarms.Api5xxRate.Threshold, 1);
    assert.equal(alarms.SignatureRejections.Threshold, 100);
  });

  test('the token alarm exists only with a read token, the relay alarms only with the relay', () => {
    assert.deepEqual(Object.keys(alarmsByName(synthReceiver({ cloudflareReadSecret: false, relay: false }))).sort(), [...HEALTH_ALARMS].sort());
    assert.deepEqual(Object.keys(alarmsByName(synthReceiver({ relay: false }))).sort(), [...HEALTH_ALARMS, WebhookAlarm.CloudflareTokenRefused].sort());
    assert.deepEqual(Object.keys(alarmsByName(synthReceiver({ cloudflareReadSecret: false }))).sort(), [...HEALTH_ALARMS, WebhookAlarm.RelayDeadLetters, WebhookAlarm.RelayIteratorAge].sort());
  });

  test('NoSuccessfulDelivery: no accepted delivery in N hours, where an hour with no data counts as none', () => {
    const alarm = alarmsByName(synthReceiver({ alarms: { noDeliveryHours: 6 } })).NoSuccessfulDelivery;
    assert.deepEqual(
      [alarm.Namespace, alarm.MetricName, alarm.Dimensions, alarm.Statistic, alarm.Period],
      [DEFAULT_METRICS_NAMESPACE, MetricName.Deliveries, [{ Name: 'Result', Value: 'accepted' }, SERVICE], 'Sum', 3600],
    );
    assert.deepEqual(
      [alarm.Threshold, alarm.ComparisonOperator, alarm.EvaluationPeriods, alarm.DatapointsToAlarm, alarm.TreatMissingData],
      [1, 'LessThanThreshold', 6, 6, 'breaching'],
    );
  });

  test('a metrics namespace reaches every function that emits metrics and every alarm on them', () => {
    const template = synthReceiver({ metricsNamespace: 'Staging/CloudflareWebhook', alarms: { noDeliveryHours: 1 } });
    for (const kind of ['webhook', 'relay', 'sweep'] as const) {
      assert.equal(functionOf(template, kind)[1].Properties.Environment.Variables[METRICS_NAMESPACE_ENV], 'Staging/CloudflareWebhook', kind);
    }
    const alarms = alarmsByName(template);
    for (const name of [WebhookAlarm.PublishFailures, WebhookAlarm.NoSuccessfulDelivery]) assert.equal(alarms[name].Namespace, 'Staging/CloudflareWebhook');
    for (const name of [WebhookAlarm.SignatureRejections, WebhookAlarm.CloudflareTokenRefused]) {
      for (const m of alarms[name].Metrics.filter((m: any) => m.MetricStat)) assert.equal(m.MetricStat.Metric.Namespace, 'Staging/CloudflareWebhook', name);
    }
  });

  test('rejects values CloudWatch would refuse at deploy time', () => {
    const bad: [CloudflareWebhookReceiverProps, RegExp][] = [
      [{ alarms: { noDeliveryHours: 0 } }, /noDeliveryHours/],
      [{ alarms: { noDeliveryHours: 1.5 } }, /noDeliveryHours/],
      [{ alarms: { noDeliveryHours: 169 } }, /noDeliveryHours/],
      [{ alarms: { api5xxRatePercent: 0 } }, /api5xxRatePercent/],
      [{ alarms: { api5xxRatePercent: 101 } }, /api5xxRatePercent/],
      [{ alarms: { signatureRejectionsPerFiveMinutes: -1 } }, /signatureRejectionsPerFiveMinutes/],
      [{ metricsNamespace: 'AWS/Lambda' }, /metricsNamespace/],
      [{ metricsNamespace: '' }, /metricsNamespace/],
      [{ metricsNamespace: 'ünïcode' }, /metricsNamespace/],
    ];
    for (const [props, message] of bad) assert.throws(() => synthReceiver(props), message, JSON.stringify(props));
  });
});

describe('the dashboard', () => {
  const template = synthReceiver();
  const { widgets } = dashboardBody(template);
  const titled = (title: string) => {
    const widget = widgets.find((w) => w.properties.title === title);
    assert.ok(widget, `a widget titled '${title}'`);
    return widget;
  };
  /** A graph widget's metrics as `namespace metric dim=value …` strings, and its expressions as `= expression`. */
  const series = (title: string): string[] =>
    titled(title).properties.metrics.map((m: unknown[]) => {
      const expression = (m[0] as { expression?: string }).expression;
      if (expression) return `= ${expression}`;
      const parts = m.filter((p) => typeof p === 'string') as string[];
      const [namespace, metricName, ...dims] = parts;
      const pairs: string[] = [];
      for (let i = 0; i + 1 < dims.length; i += 2) pairs.push(`${dims[i]}=${dims[i + 1]}`);
      return [namespace, metricName, ...pairs.sort()].join(' ');
    });

  test('exists, one per receiver', () => {
    assert.equal(resourcesOf(template, 'AWS::CloudWatch::Dashboard').length, 1);
  });

  test('shows deliveries by result, by kind and outcome, rejections by reason and transitions by status', () => {
    assert.deepEqual(series('Deliveries by result'), ['accepted', 'rejected', 'error'].map((r) => `CloudflareWebhook Deliveries Result=${r} service=cloudflare-webhook`));
    const byOutcome = series('Deliveries by kind and outcome');
    for (const kind of ['image', 'video']) {
      for (const outcome of ['transitioned', 'refreshed', 'duplicate', 'stale', 'test', 'ignored', 'rejected', 'error']) {
        assert.ok(byOutcome.includes(`CloudflareWebhook Deliveries Kind=${kind} Outcome=${outcome} service=cloudflare-webhook`), `${kind} ${outcome}`);
      }
    }
    assert.deepEqual(
      series('Rejections by reason').sort(),
      Object.values(Rejection).map((reason) => `CloudflareWebhook Deliveries Reason=${reason} service=cloudflare-webhook`).sort(),
    );
    assert.deepEqual(series('Transitions by status').sort(), [
      'CloudflareWebhook Deliveries Status=draft service=cloudflare-webhook',
      'CloudflareWebhook Deliveries Status=expired service=cloudflare-webhook',
      'CloudflareWebhook Deliveries Status=failed service=cloudflare-webhook',
      'CloudflareWebhook Deliveries Status=uploaded service=cloudflare-webhook',
      'CloudflareWebhook Deliveries Status=error service=cloudflare-webhook',
      'CloudflareWebhook Deliveries Status=ready service=cloudflare-webhook',
    ].sort());
  });

  test('shows publishing, the API, the function and the alarms', () => {
    assert.deepEqual(series('Publishing'), [
      'CloudflareWebhook PublishFailures service=cloudflare-webhook',
      'CloudflareWebhook RepublishedEvents service=cloudflare-webhook',
    ]);
    assert.deepEqual(series('API requests and errors').map((s) => s.split(' ').slice(0, 2).join(' ')), ['AWS/ApiGateway Count', 'AWS/ApiGateway 4xx', 'AWS/ApiGateway 5xx']);
    assert.deepEqual(series('Function').map((s) => s.split(' ').slice(0, 2).join(' ')), ['AWS/Lambda Invocations', 'AWS/Lambda Errors', 'AWS/Lambda Throttles']);
    assert.equal(titled('Alarms').properties.alarms.length, DEFAULT_ALARMS.length);
  });

  test("shows confirmations and recovered webhooks, Cloudflare's API errors by class (webhook and sweep summed), and the relay", () => {
    assert.deepEqual(series('Truth from Cloudflare'), [
      ...Object.values(Confirmation)
        .filter((c) => c !== Confirmation.NotAsked)
        .map((c) => `CloudflareWebhook Confirmations Confirmation=${c} service=cloudflare-webhook`),
      'CloudflareWebhook RecoveredWebhooks service=cloudflare-sweep',
    ]);
    assert.deepEqual(
      series('Cloudflare API errors'),
      Object.values(ApiFailure).flatMap((failure) => {
        const id = failure.replace(/[^a-z]/g, '_');
        return [
          `= FILL(webhook_${id}, 0) + FILL(sweep_${id}, 0)`,
          `CloudflareWebhook CloudflareApiErrors Class=${failure} service=cloudflare-webhook`,
          `CloudflareWebhook CloudflareApiErrors Class=${failure} service=cloudflare-sweep`,
        ];
      }),
    );
    assert.deepEqual(series('Stream relay'), ['CloudflareWebhook RelayedEvents service=cloudflare-relay', 'AWS/Lambda IteratorAge FunctionName=TOKEN']);
  });

  test("lists the latest rejected and failed deliveries from the function's log group", () => {
    const widget = titled('Latest rejected and failed deliveries');
    assert.equal(widget.type, 'log');
    assert.match(widget.properties.query, /SOURCE 'TOKEN'/);
    assert.match(widget.properties.query, /filter statusCode >= 400/);
    const functionLogs = functionOf(template, 'webhook')[1].Properties.LoggingConfig.LogGroup;
    const [[, dashboard]] = resourcesOf(template, 'AWS::CloudWatch::Dashboard');
    assert.ok(JSON.stringify(dashboard!.Properties.DashboardBody).includes(JSON.stringify(functionLogs)), "the query reads the function's log group");
  });

  test('every custom metric it or an alarm names is one a function emits, under the service and dimensions it emits', () => {
    for (const receiver of [{ alarms: { noDeliveryHours: 2 } }, { relay: false, cloudflareReadSecret: false as const, metricsNamespace: 'Other' }]) {
      const named = customMetricsNamed(synthReceiver(receiver), receiver.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE);
      assert.ok(named.length > 30, 'the alarms and the dashboard name the custom metrics');
      for (const { metricName, dimensions } of named) {
        const { service, ...rest } = dimensions;
        const sets = EMITTED[service!]?.[metricName];
        assert.ok(sets, `${metricName} is emitted by service ${service}`);
        const names = Object.keys(rest).sort().join(',');
        assert.ok(sets.has(names), `${service} emits ${metricName} by [${names}] (it emits ${[...sets].map((s) => `[${s}]`).join(' ')})`);
        for (const [dimension, value] of Object.entries(rest)) {
          assert.ok(DIMENSION_VALUES[dimension]?.includes(value), `${metricName} ${dimension}=${value} is a value ${service} emits`);
        }
      }
    }
  });

  test('names the metrics of all three functions that emit them', () => {
    const services = new Set(customMetricsNamed(template, DEFAULT_METRICS_NAMESPACE).map((m) => m.dimensions.service));
    assert.deepEqual([...services].sort(), [METRICS_SERVICE, RELAY_METRICS_SERVICE, SWEEP_METRICS_SERVICE].sort());
  });
});

describe('log settings', () => {
  test("every function's and the API's log groups keep a month by default, and the log level is INFO", () => {
    const template = synthReceiver();
    const groups = resourcesOf(template, 'AWS::Logs::LogGroup');
    assert.equal(groups.length, 1 + Object.keys(functionsOf(template)).length);
    for (const [, group] of groups) assert.equal(group.Properties.RetentionInDays, 30);
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('FunctionLogs') } },
      Environment: { Variables: Match.objectLike({ POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_SERVICE_NAME: 'cloudflare-webhook', [METRICS_NAMESPACE_ENV]: DEFAULT_METRICS_NAMESPACE }) },
    });
  });

  test('retention and level follow the props', () => {
    const template = synthReceiver({ logRetention: logs.RetentionDays.ONE_WEEK, logLevel: 'WARN' });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_LOG_LEVEL: 'WARN' }) } });
  });
});

describe('event schemas', () => {
  test('one JSONSchemaDraft4 schema per detail-type in a registry of their own', () => {
    const template = synthReceiver({ eventSchemas: true });
    const registry = logicalIdOf(template, 'AWS::EventSchemas::Registry');
    const schemas = resourcesOf(template, 'AWS::EventSchemas::Schema').map(([, s]) => s.Properties);
    assert.equal(schemas.length, Object.values(DetailType).length);
    for (const schema of schemas) {
      assert.equal(schema.Type, 'JSONSchemaDraft4');
      assert.deepEqual(schema.RegistryName, { 'Fn::GetAtt': [registry, 'RegistryName'] });
      const content = JSON.parse(schema.Content);
      assert.equal(content.$schema, 'http://json-schema.org/draft-04/schema#');
      assert.equal(content['x-amazon-events-source'], 'cloudflare-webhook');
      assert.equal(schema.SchemaName, `cloudflare-webhook@${content['x-amazon-events-detail-type'].replaceAll(' ', '')}`);
      assert.match(schema.SchemaName, /^[A-Za-z@.\-_]+$/, 'a name the registry accepts');
    }
    assert.deepEqual(schemas.map((s) => JSON.parse(s.Content)['x-amazon-events-detail-type']).sort(), Object.values(DetailType).sort());
  });

  test('the registry can be named', () => {
    synthReceiver({ eventSchemas: { registryName: 'cloudflare-webhook-events' } }).hasResourceProperties('AWS::EventSchemas::Registry', { RegistryName: 'cloudflare-webhook-events' });
  });
});

describe('everything off', () => {
  test('no alarms, dashboard, topic or registry', () => {
    const template = synthReceiver({ alarms: false, dashboard: false, eventSchemas: false });
    for (const type of ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::Dashboard', 'AWS::SNS::Topic', 'AWS::EventSchemas::Registry', 'AWS::EventSchemas::Schema']) {
      assert.equal(resourcesOf(template, type).length, 0, type);
    }
  });

  test('a dashboard without alarms says so instead of an empty alarm widget', () => {
    const { widgets } = dashboardBody(synthReceiver({ alarms: false }));
    assert.equal(widgets.filter((w) => w.type === 'alarm').length, 0);
    assert.ok(widgets.some((w) => w.type === 'text' && /alarms: false/.test(w.properties.markdown)));
  });
});

describe('cdk-nag', () => {
  test('the topic, alarms, dashboard and registry add no unacknowledged finding', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'observability-nag-'));
    try {
      const app = new App({ outdir, context: NO_BUNDLING });
      new CloudflareWebhookStack(app, 'Test', { receiver: { alarms: { topic: true, noDeliveryHours: 3 }, eventSchemas: true } });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
      try {
        app.synth();
      } catch {
        // Findings elsewhere fail synth; the report says where they are.
      }
      const reportFile = join(outdir, 'validation-report.json');
      const report = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
      const ours = (report.pluginReports as any[])
        .flatMap((plugin) => plugin.violations as any[])
        .flatMap((v) => (v.violatingConstructs ?? []).map((c: any) => `${v.ruleName} at ${c.constructPath}`))
        .filter((finding: string) => finding.includes('/Observability/'));
      assert.deepEqual(ours, []);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('alarm, dashboard and schema settings from CDK context', () => {
  test('reach the construct as strings, the way `cdk synth -c key=value` passes them', () => {
    const topicArn = 'arn:aws:sns:us-east-1:123456789012:ops-alarms';
    const template = synthContext({
      alarmTopicArn: topicArn,
      api5xxRatePercent: '2',
      signatureRejections: '7',
      noDeliveryHours: '6',
      metricsNamespace: 'Shop/Webhooks',
      dashboard: 'false',
      eventSchemas: 'true',
    });
    const alarms = alarmsByName(template);
    assert.deepEqual(Object.keys(alarms).sort(), [...DEFAULT_ALARMS, WebhookAlarm.NoSuccessfulDelivery].sort());
    for (const alarm of Object.values(alarms)) assert.deepEqual(alarm.AlarmActions, [topicArn]);
    assert.equal(alarms.Api5xxRate.Threshold, 2);
    assert.equal(alarms.SignatureRejections.Threshold, 7);
    assert.equal(alarms.NoSuccessfulDelivery.EvaluationPeriods, 6);
    assert.equal(alarms.PublishFailures.Namespace, 'Shop/Webhooks');
    assert.equal(resourcesOf(template, 'AWS::CloudWatch::Dashboard').length, 0);
    assert.equal(resourcesOf(template, 'AWS::EventSchemas::Schema').length, Object.keys(DetailType).length);
  });

  test('alarms=false creates none; alarmTopic=true creates the topic they notify', () => {
    assert.equal(resourcesOf(synthContext({ alarms: 'false' }), 'AWS::CloudWatch::Alarm').length, 0);
    const withTopic = synthContext({ alarmTopic: 'true' });
    const topic = logicalIdOf(withTopic, 'AWS::SNS::Topic');
    for (const alarm of Object.values(alarmsByName(withTopic))) assert.deepEqual(alarm.AlarmActions, [{ Ref: topic }]);
  });

  test('settings that contradict each other, or booleans that are not, fail synth', () => {
    assert.throws(() => synthContext({ alarms: 'false', noDeliveryHours: '3' }), /alarms=false/);
    assert.throws(() => synthContext({ alarmTopic: 'true', alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:x' }), /exclude each other/);
    assert.throws(() => synthContext({ dashboard: 'nope' }), /dashboard must be true or false/);
  });
});
