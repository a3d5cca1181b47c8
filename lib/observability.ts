import { Duration, Stack, Token } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as eventschemas from 'aws-cdk-lib/aws-eventschemas';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DetailType, ItemKind } from '../lambda/core/contract.js';
import {
  DEFAULT_METRICS_NAMESPACE,
  DeliveryOutcome,
  DeliveryResult,
  Confirmation,
  Dimension,
  METRICS_SERVICE,
  MetricName,
  RELAY_METRICS_SERVICE,
  Rejection,
  SWEEP_METRICS_SERVICE,
  SIGNATURE_REJECTIONS,
  type KindDimension,
} from '../lambda/core/metrics.js';
import { ApiFailure } from '../lambda/core/cloudflare.js';
import { eventJsonSchema, eventSchemaName, PUBLISHED_TRANSITIONS } from './event-schemas.js';
import type { StreamRelay } from './stream-relay.js';

/**
 * What an operator sees of the receiver: alarms (optionally sent to an SNS topic), a dashboard,
 * and the event contract in an EventBridge Schema Registry. Every custom metric comes from
 * `WebhookMetrics`, which reads its names from `lambda/core/metrics.ts`, the file the function
 * emits them from. What each alarm means and what to do: docs/RUNBOOK.md.
 */

/** The alarms, by the id each has in the construct tree and the heading it has in the runbook. */
export const WebhookAlarm = {
  Api5xxRate: 'Api5xxRate',
  FunctionErrors: 'FunctionErrors',
  FunctionThrottles: 'FunctionThrottles',
  PublishFailures: 'PublishFailures',
  SignatureRejections: 'SignatureRejections',
  NoSuccessfulDelivery: 'NoSuccessfulDelivery',
  CloudflareTokenRefused: 'CloudflareTokenRefused',
  RelayDeadLetters: 'RelayDeadLetters',
  RelayIteratorAge: 'RelayIteratorAge',
} as const;
export type WebhookAlarm = (typeof WebhookAlarm)[keyof typeof WebhookAlarm];

export interface WebhookAlarmOptions {
  /**
   * Where alarms, and their return to OK, are sent: an existing topic (or its ARN, as CDK
   * context gives it), or `true` for a new one (exposed as `alarmTopic`; subscribe to it yourself).
   * @default - no notifications: the alarms change state and show on the dashboard only
   */
  readonly topic?: sns.ITopic | string | true;
  /**
   * `Api5xxRate`: percentage of API requests answered 5xx, in two of three 5-minute periods.
   * @default 5
   */
  readonly api5xxRatePercent?: number;
  /**
   * `SignatureRejections`: deliveries rejected by the signature check (401) in 5 minutes.
   * Cloudflare never sends a bad signature, so a burst is a probe or a wrong secret.
   * @default 20
   */
  readonly signatureRejectionsPerFiveMinutes?: number;
  /**
   * `NoSuccessfulDelivery`: alarm when no delivery was accepted for this many hours (1 to 168).
   * Only useful where webhooks arrive steadily; a quiet night would otherwise page someone.
   * @default - no such alarm
   */
  readonly noDeliveryHours?: number;
}

export interface WebhookEventSchemasOptions {
  /**
   * Name of the schema registry.
   * @default - a name CloudFormation generates
   */
  readonly registryName?: string;
}

export interface WebhookObservabilityProps {
  readonly webhookFunction: lambda.IFunction;
  /** The stream relay, for its dead-letter and iterator-age alarms. @default - none */
  readonly relay?: StreamRelay;
  /** A read-only Cloudflare token is in use (webhook, sweep): alarm when Cloudflare refuses it. @default false */
  readonly cloudflareTokenInUse?: boolean;
  /** The API the webhooks arrive through: the HTTP API, or the front door's REST API (same metric methods). */
  readonly httpApi: Pick<apigwv2.IHttpApi, 'metricCount' | 'metricClientError' | 'metricServerError' | 'metricLatency'>;
  /**
   * The function's log group, for the dashboard's table of recent rejected and failed deliveries.
   * @default - no such table
   */
  readonly logGroup?: logs.ILogGroup;
  /**
   * Namespace the function publishes its metrics to (it must be given the same one).
   * @default DEFAULT_METRICS_NAMESPACE ('CloudflareWebhook')
   */
  readonly metricsNamespace?: string;
  /**
   * `false` creates no alarms.
   * @default - every alarm but `NoSuccessfulDelivery`, with no notification target
   */
  readonly alarms?: WebhookAlarmOptions | false;
  /**
   * A CloudWatch dashboard of the metrics and alarms.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Registers the JSON Schema (draft-04) of each detail-type in an EventBridge Schema Registry,
   * so consumers in other languages can download code bindings.
   * @default false
   */
  readonly eventSchemas?: boolean | WebhookEventSchemasOptions;
}

const FIVE_MINUTES = Duration.minutes(5);
/** The options of an AWS metric counted per 5 minutes. */
const FIVE_MINUTE_SUM: cloudwatch.MetricOptions = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM };
const DEFAULT_API_5XX_RATE_PERCENT = 5;
const DEFAULT_SIGNATURE_REJECTIONS = 20;
/** CloudWatch's limit on an alarm's range for periods of an hour: 7 days. */
const MAX_NO_DELIVERY_HOURS = 168;
const RUNBOOK = 'docs/RUNBOOK.md';

/**
 * The receiver's custom metrics as CloudWatch `Metric`s (Sum over 5 minutes unless the options
 * say otherwise): the one place the CDK side names them. Without a label, so an alarm on one
 * renders as a plain metric alarm; the dashboard adds its labels.
 */
export class WebhookMetrics {
  constructor(readonly namespace: string = DEFAULT_METRICS_NAMESPACE) {}

  /** Deliveries by what the sender was told: accepted (2xx), rejected (4xx), error (5xx). */
  deliveriesByResult(result: DeliveryResult, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Deliveries, { [Dimension.Result]: result }, options);
  }

  deliveriesByOutcome(kind: KindDimension, outcome: DeliveryOutcome, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Deliveries, { [Dimension.Kind]: kind, [Dimension.Outcome]: outcome }, options);
  }

  rejections(reason: Rejection, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Deliveries, { [Dimension.Reason]: reason }, options);
  }

  /** Transitions this function made, by the status moved to (republished events not included). */
  transitions(status: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Deliveries, { [Dimension.Status]: status }, options);
  }

  /** Every rejection by the signature check, summed: missing, malformed, invalid, stale, not configured. */
  signatureRejections(options?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    const usingMetrics = Object.fromEntries(SIGNATURE_REJECTIONS.map((reason, i) => [`r${i}`, this.rejections(reason, { label: reason })]));
    return new cloudwatch.MathExpression({
      // FILL: a reason with no data in a period must count 0, not blank out the sum.
      expression: Object.keys(usingMetrics).map((id) => `FILL(${id}, 0)`).join(' + '),
      usingMetrics,
      label: 'signature rejections',
      period: FIVE_MINUTES,
      ...options,
    });
  }

  republishedEvents(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.RepublishedEvents, {}, options);
  }

  publishFailures(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.PublishFailures, {}, options);
  }

  /** Deliveries put to Cloudflare's API, by what came of it (`lambda/webhook/confirm.ts`). */
  confirmations(confirmation: Confirmation, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Confirmations, { [Dimension.Confirmation]: confirmation }, options);
  }

  /** Failed calls to Cloudflare's API of one class, by the webhook and the sweep together. */
  cloudflareApiErrors(failure: string, options?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    // Ids unique per class: a graph of several classes holds all their metrics at once.
    const id = failure.replace(/[^a-z]/g, '_');
    const usingMetrics = {
      [`webhook_${id}`]: this.metric(MetricName.CloudflareApiErrors, { [Dimension.Class]: failure }),
      [`sweep_${id}`]: this.metric(MetricName.CloudflareApiErrors, { [Dimension.Class]: failure, [Dimension.Service]: SWEEP_METRICS_SERVICE }),
    };
    return new cloudwatch.MathExpression({ expression: `FILL(webhook_${id}, 0) + FILL(sweep_${id}, 0)`, usingMetrics, label: `Cloudflare API ${failure}`, period: FIVE_MINUTES, ...options });
  }

  /** Items the sweep looked at, by what became of them. */
  reconciliations(outcome: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Reconciliations, { [Dimension.Reconciliation]: outcome, [Dimension.Service]: SWEEP_METRICS_SERVICE }, options);
  }

  recoveredWebhooks(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.RecoveredWebhooks, { [Dimension.Service]: SWEEP_METRICS_SERVICE }, options);
  }

  relayedEvents(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.RelayedEvents, { [Dimension.Service]: RELAY_METRICS_SERVICE }, options);
  }

  private metric(metricName: MetricName, dimensions: Record<string, string>, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      statistic: cloudwatch.Stats.SUM,
      period: FIVE_MINUTES,
      ...options,
      dimensionsMap: { [Dimension.Service]: METRICS_SERVICE, ...dimensions, ...options.dimensionsMap },
    });
  }
}

/** CloudWatch's rules for a custom namespace; a token cannot be checked, nor set in the function's environment reliably. */
export function checkMetricsNamespace(namespace: string): string {
  if (Token.isUnresolved(namespace) || !/^[A-Za-z0-9._\-/#: ]{1,255}$/.test(namespace) || namespace.startsWith('AWS/')) {
    throw new Error(`metricsNamespace must be 1-255 letters, digits or . _ - / # : space, not starting with 'AWS/', got '${namespace}'`);
  }
  return namespace;
}

export class WebhookObservability extends Construct {
  public readonly metrics: WebhookMetrics;
  /** The alarms created, by name; `NoSuccessfulDelivery` only when `noDeliveryHours` is set. */
  public readonly alarms: Readonly<Partial<Record<WebhookAlarm, cloudwatch.Alarm>>>;
  /** Where alarms are sent, when `alarms.topic` is set. */
  public readonly alarmTopic?: sns.ITopic;
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The schema registry, when `eventSchemas` is set. */
  public readonly schemaRegistry?: eventschemas.CfnRegistry;
  /** One schema per detail-type, when `eventSchemas` is set. */
  public readonly eventSchemas?: Readonly<Record<DetailType, eventschemas.CfnSchema>>;

  constructor(scope: Construct, id: string, props: WebhookObservabilityProps) {
    super(scope, id);
    this.metrics = new WebhookMetrics(checkMetricsNamespace(props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE));

    // 1. Alarms, and where they go.
    const alarmOptions = props.alarms === false ? undefined : (props.alarms ?? {});
    this.alarms = alarmOptions ? createAlarms(this, props, this.metrics, alarmOptions) : {};
    this.alarmTopic = alarmOptions && resolveAlarmTopic(this, alarmOptions.topic);
    if (this.alarmTopic) sendAlarmsTo(this.alarmTopic, this.alarms);

    // 2. The dashboard.
    if (props.dashboard ?? true) this.dashboard = createDashboard(this, props, this.metrics, this.alarms);

    // 3. The event contract, for consumers that do not read TypeScript.
    if (props.eventSchemas) {
      ({ registry: this.schemaRegistry, schemas: this.eventSchemas } = createEventSchemas(this, props.eventSchemas === true ? {} : props.eventSchemas));
    }
  }
}

/** The alarms, by name; also the order the dashboard's alarm widget lists them in. */
type WebhookAlarms = Partial<Record<WebhookAlarm, cloudwatch.Alarm>>;

function createAlarms(scope: Construct, props: WebhookObservabilityProps, metrics: WebhookMetrics, options: WebhookAlarmOptions): WebhookAlarms {
  const ratePercent = positive('alarms.api5xxRatePercent', options.api5xxRatePercent ?? DEFAULT_API_5XX_RATE_PERCENT, 100);
  const signatureRejections = positive('alarms.signatureRejectionsPerFiveMinutes', options.signatureRejectionsPerFiveMinutes ?? DEFAULT_SIGNATURE_REJECTIONS);
  const noDeliveryHours = options.noDeliveryHours === undefined ? undefined : hoursWithoutDelivery(options.noDeliveryHours);
  return {
    [WebhookAlarm.Api5xxRate]: api5xxRateAlarm(scope, props.httpApi, ratePercent),
    ...functionAlarms(scope, props.webhookFunction),
    ...publishingAlarms(scope, metrics, signatureRejections),
    ...(props.cloudflareTokenInUse && { [WebhookAlarm.CloudflareTokenRefused]: tokenRefusedAlarm(scope, metrics) }),
    ...(props.relay && relayAlarms(scope, props.relay)),
    ...(noDeliveryHours !== undefined && { [WebhookAlarm.NoSuccessfulDelivery]: noDeliveryAlarm(scope, metrics, noDeliveryHours) }),
  };
}

/** An alarm with the id it has in the runbook, whose description ends with a link to its section. */
function runbookAlarm(scope: Construct, name: WebhookAlarm, text: string, alarmProps: Omit<cloudwatch.AlarmProps, 'alarmDescription'>): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, name, { alarmDescription: `${text} Runbook: ${RUNBOOK}#${name.toLowerCase()}`, ...alarmProps });
}

/** Fires on one 5-minute period at or above the threshold; no data is no trouble. */
function inAnyPeriod(threshold: number) {
  return {
    threshold,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  };
}

function api5xxRateAlarm(scope: Construct, httpApi: WebhookObservabilityProps['httpApi'], ratePercent: number): cloudwatch.Alarm {
  return runbookAlarm(scope, WebhookAlarm.Api5xxRate, `More than ${ratePercent}% of webhook requests were answered 5xx in 2 of the last 3 5-minute periods; their transitions reach consumers late, if at all.`, {
    metric: new cloudwatch.MathExpression({
      expression: '100 * FILL(errors, 0) / requests',
      usingMetrics: {
        errors: httpApi.metricServerError(FIVE_MINUTE_SUM),
        requests: httpApi.metricCount(FIVE_MINUTE_SUM),
      },
      label: '5xx %',
      period: FIVE_MINUTES,
    }),
    threshold: ratePercent,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

function functionAlarms(scope: Construct, fn: lambda.IFunction): WebhookAlarms {
  return {
    [WebhookAlarm.FunctionErrors]: runbookAlarm(scope, WebhookAlarm.FunctionErrors, 'The webhook function crashed, timed out or failed to start (its handled failures are 5xx answers, not errors).', {
      metric: fn.metricErrors(FIVE_MINUTE_SUM),
      ...inAnyPeriod(1),
    }),
    [WebhookAlarm.FunctionThrottles]: runbookAlarm(scope, WebhookAlarm.FunctionThrottles, 'Invocations of the webhook function were throttled: deliveries were answered 5xx without running.', {
      metric: fn.metricThrottles(FIVE_MINUTE_SUM),
      ...inAnyPeriod(1),
    }),
  };
}

function publishingAlarms(scope: Construct, metrics: WebhookMetrics, signatureRejections: number): WebhookAlarms {
  return {
    [WebhookAlarm.PublishFailures]: runbookAlarm(scope, WebhookAlarm.PublishFailures, 'EventBridge failed or dropped an event; the transition is stored and waits for the next delivery for its item to publish it.', {
      metric: metrics.publishFailures(),
      ...inAnyPeriod(1),
    }),
    [WebhookAlarm.SignatureRejections]: runbookAlarm(scope, WebhookAlarm.SignatureRejections, `At least ${signatureRejections} deliveries failed the signature check in 5 minutes: a probe, or a secret that no longer matches Cloudflare's.`, {
      metric: metrics.signatureRejections(),
      ...inAnyPeriod(signatureRejections),
    }),
  };
}

function tokenRefusedAlarm(scope: Construct, metrics: WebhookMetrics): cloudwatch.Alarm {
  return runbookAlarm(scope, WebhookAlarm.CloudflareTokenRefused, 'Cloudflare refused the read-only API token (401/403): deliveries are not confirmed and lost webhooks are not recovered until it is replaced.', {
    metric: metrics.cloudflareApiErrors(ApiFailure.Auth),
    ...inAnyPeriod(1),
  });
}

function relayAlarms(scope: Construct, relay: StreamRelay): WebhookAlarms {
  return {
    [WebhookAlarm.RelayDeadLetters]: runbookAlarm(scope, WebhookAlarm.RelayDeadLetters, 'The stream relay gave up on a batch of records after its retries: events in those items’ outboxes may not have reached the bus. Run npm run cli -- events redrive.', {
      metric: relay.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM }),
      ...inAnyPeriod(1),
    }),
    [WebhookAlarm.RelayIteratorAge]: runbookAlarm(scope, WebhookAlarm.RelayIteratorAge, 'The stream relay is more than 10 minutes behind the table’s stream: events whose writer died wait that long.', {
      metric: relay.relayFunction.metric('IteratorAge', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM }),
      ...inAnyPeriod(10 * 60_000),
    }),
  };
}

function hoursWithoutDelivery(hours: number): number {
  if (!Number.isInteger(hours) || hours < 1 || hours > MAX_NO_DELIVERY_HOURS) {
    throw new Error(`alarms.noDeliveryHours must be an integer between 1 and ${MAX_NO_DELIVERY_HOURS}, got ${hours}`);
  }
  return hours;
}

function noDeliveryAlarm(scope: Construct, metrics: WebhookMetrics, hours: number): cloudwatch.Alarm {
  return runbookAlarm(scope, WebhookAlarm.NoSuccessfulDelivery, `No delivery was accepted in ${hours} hour(s): Cloudflare stopped sending, or every delivery is rejected.`, {
    metric: metrics.deliveriesByResult(DeliveryResult.Accepted, { period: Duration.hours(1) }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: hours,
    datapointsToAlarm: hours,
    // No datapoint is exactly the condition: an hour without deliveries publishes nothing.
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
}

/** The topic of `alarms.topic`: a new one, an existing one, or one by its ARN. */
function resolveAlarmTopic(scope: Construct, topic: WebhookAlarmOptions['topic']): sns.ITopic | undefined {
  return topic === true ? createTopic(scope) : typeof topic === 'string' ? sns.Topic.fromTopicArn(scope, 'AlarmTopic', topic) : topic;
}

/**
 * TLS only. Not encrypted: it carries alarm state changes (names, metrics, thresholds), nothing
 * about images or secrets, and CloudWatch cannot publish to a topic under the AWS managed key.
 * Pass an existing topic with a customer managed key as `alarms.topic` to have one.
 */
function createTopic(scope: Construct): sns.Topic {
  return new sns.Topic(scope, 'AlarmTopic', { displayName: 'Cloudflare webhook receiver alarms', enforceSSL: true });
}

/** Each alarm, and its return to OK, is sent to the topic. */
function sendAlarmsTo(topic: sns.ITopic, alarms: WebhookAlarms): void {
  const action = new actions.SnsAction(topic);
  for (const alarm of Object.values(alarms)) {
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
}

/** One row per `addWidgets`; the Cloudflare, relay and log rows only where there is something to show. */
function createDashboard(scope: Construct, props: WebhookObservabilityProps, metrics: WebhookMetrics, alarms: WebhookAlarms): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', { defaultInterval: Duration.days(1) });
  dashboard.addWidgets(headingWidget(metrics));
  dashboard.addWidgets(...overviewWidgets(metrics, props.httpApi, alarms));
  dashboard.addWidgets(...deliveryWidgets(metrics));
  dashboard.addWidgets(...functionWidgets(metrics, props));
  const truth = [
    ...(props.cloudflareTokenInUse ? cloudflareWidgets(metrics) : []),
    ...(props.relay ? [relayWidget(metrics, props.relay)] : []),
  ];
  if (truth.length > 0) dashboard.addWidgets(...truth);
  if (props.logGroup) dashboard.addWidgets(recentFailuresWidget(props.logGroup));
  return dashboard;
}

function headingWidget(m: WebhookMetrics): cloudwatch.IWidget {
  return new cloudwatch.TextWidget({
    markdown:
      `# Cloudflare webhook receiver\nEvery delivery is counted once in \`${m.namespace}\` › \`${MetricName.Deliveries}\`, under each view below. ` +
      `What an alarm means and what to do: \`${RUNBOOK}\`. Log fields and metric catalog: \`docs/OBSERVABILITY.md\`.`,
    width: 24,
    height: 2,
  });
}

/** Deliveries by result, the API's requests and errors, and the alarms' state. */
function overviewWidgets(m: WebhookMetrics, httpApi: WebhookObservabilityProps['httpApi'], alarms: WebhookAlarms): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Deliveries by result',
      left: Object.values(DeliveryResult).map((result) => m.deliveriesByResult(result, { label: result })),
      stacked: true,
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'API requests and errors',
      left: [
        httpApi.metricCount({ ...FIVE_MINUTE_SUM, label: 'requests' }),
        httpApi.metricClientError({ ...FIVE_MINUTE_SUM, label: '4xx' }),
        httpApi.metricServerError({ ...FIVE_MINUTE_SUM, label: '5xx' }),
      ],
      width: 8,
    }),
    Object.keys(alarms).length > 0
      ? new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(alarms), width: 8, height: 6 })
      : new cloudwatch.TextWidget({ markdown: 'No alarms: `alarms: false`.', width: 8, height: 6 }),
  ];
}

/** Every delivery again, by kind and outcome, by rejection reason, and by the transition it made. */
function deliveryWidgets(m: WebhookMetrics): cloudwatch.IWidget[] {
  const kinds = Object.values(ItemKind);
  const rejectionWidgetHeight = 6;
  return [
    new cloudwatch.GraphWidget({
      title: 'Deliveries by kind and outcome',
      left: [
        ...kinds.flatMap((kind) => Object.values(DeliveryOutcome).map((outcome) => m.deliveriesByOutcome(kind, outcome, { label: `${kind} ${outcome}` }))),
        m.deliveriesByOutcome('unknown', DeliveryOutcome.Rejected, { label: 'no route' }),
      ],
      stacked: true,
      width: 8,
      height: rejectionWidgetHeight,
    }),
    new cloudwatch.GraphWidget({
      title: 'Rejections by reason',
      left: Object.values(Rejection).map((reason) => m.rejections(reason, { label: reason })),
      stacked: true,
      width: 8,
      height: rejectionWidgetHeight,
    }),
    new cloudwatch.GraphWidget({
      title: 'Transitions by status',
      left: Object.values(PUBLISHED_TRANSITIONS).flatMap(({ kind, statuses }) => statuses.map((status) => m.transitions(status, { label: `${kind} → ${status}` }))),
      stacked: true,
      width: 8,
      height: rejectionWidgetHeight,
    }),
  ];
}

/** Publishing to the bus, the function's invocations and the latency of both the function and the API. */
function functionWidgets(m: WebhookMetrics, { webhookFunction: fn, httpApi }: WebhookObservabilityProps): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Publishing',
      left: [m.publishFailures({ label: 'publish failures' }), m.republishedEvents({ label: 'republished events' })],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Function',
      left: [
        fn.metricInvocations({ ...FIVE_MINUTE_SUM, label: 'invocations' }),
        fn.metricErrors({ ...FIVE_MINUTE_SUM, label: 'errors' }),
        fn.metricThrottles({ ...FIVE_MINUTE_SUM, label: 'throttles' }),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Latency (ms)',
      left: [
        fn.metricDuration({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.p(50), label: 'function p50' }),
        fn.metricDuration({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.p(99), label: 'function p99' }),
        httpApi.metricLatency({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.p(99), label: 'API p99' }),
      ],
      width: 8,
    }),
  ];
}

/** What Cloudflare's API answered: confirmations and recoveries, and its errors by class. */
function cloudflareWidgets(m: WebhookMetrics): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Truth from Cloudflare',
      left: [
        ...Object.values(Confirmation).filter((c) => c !== Confirmation.NotAsked).map((c) => m.confirmations(c, { label: `confirmation ${c}` })),
        m.recoveredWebhooks({ label: 'recovered lost webhooks' }),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Cloudflare API errors',
      left: Object.values(ApiFailure).map((failure) => m.cloudflareApiErrors(failure, { label: failure })),
      stacked: true,
      width: 8,
    }),
  ];
}

function relayWidget(m: WebhookMetrics, relay: StreamRelay): cloudwatch.IWidget {
  return new cloudwatch.GraphWidget({
    title: 'Stream relay',
    left: [m.relayedEvents({ label: 'events a writer left behind' })],
    right: [relay.relayFunction.metric('IteratorAge', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM, label: 'iterator age (ms)' })],
    width: 8,
  });
}

function recentFailuresWidget(logGroup: logs.ILogGroup): cloudwatch.IWidget {
  return new cloudwatch.LogQueryWidget({
    title: 'Latest rejected and failed deliveries',
    logGroupNames: [logGroup.logGroupName],
    queryLines: [
      'fields @timestamp, statusCode, outcome, rejection, reason, kind, id, requestId, durationMs',
      'filter statusCode >= 400',
      'sort @timestamp desc',
      'limit 50',
    ],
    view: cloudwatch.LogQueryVisualizationType.TABLE,
    width: 24,
    height: 6,
  });
}

/** The registry and one schema per detail-type, each the JSON Schema consumers generate code from. */
function createEventSchemas(
  scope: Construct,
  options: WebhookEventSchemasOptions,
): { registry: eventschemas.CfnRegistry; schemas: Record<DetailType, eventschemas.CfnSchema> } {
  const registry = new eventschemas.CfnRegistry(scope, 'SchemaRegistry', {
    registryName: options.registryName,
    description: `Events of the Cloudflare webhook receiver in ${Stack.of(scope).stackName}`,
  });
  const schemas = Object.fromEntries(
    Object.values(DetailType).map((detailType) => [
      detailType,
      new eventschemas.CfnSchema(scope, `Schema${detailType.replace(/[^A-Za-z]/g, '')}`, {
        registryName: registry.attrRegistryName,
        schemaName: eventSchemaName(detailType),
        type: 'JSONSchemaDraft4',
        content: JSON.stringify(eventJsonSchema(detailType)),
        description: `'${detailType}' events`,
      }),
    ]),
  ) as Record<DetailType, eventschemas.CfnSchema>;
  return { registry, schemas };
}

function positive(name: string, value: number, max?: number): number {
  if (!Number.isFinite(value) || value <= 0 || (max !== undefined && value > max)) {
    throw new Error(`${name} must be a number above 0${max === undefined ? '' : ` and at most ${max}`}, got ${value}`);
  }
  return value;
}
