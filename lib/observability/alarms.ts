import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ApiFailure } from '../../lambda/core/cloudflare.js';
import { DeliveryResult } from '../../lambda/core/metrics.js';
import type { StreamRelay } from '../stream-relay.js';
import type { WebhookObservabilityProps } from './index.js';
import { FIVE_MINUTES, FIVE_MINUTE_SUM, WebhookMetrics } from './metrics.js';
import { requireNumber } from '../validation.js';

/** The receiver's alarms, each under the name of its section in docs/RUNBOOK.md, and where they are sent. */

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

const DEFAULT_API_5XX_RATE_PERCENT = 5;
const DEFAULT_SIGNATURE_REJECTIONS = 20;
/** CloudWatch's limit on an alarm's range for periods of an hour: 7 days. */
const MAX_NO_DELIVERY_HOURS = 168;
export const RUNBOOK = 'docs/RUNBOOK.md';

/** The alarms, by name; also the order the dashboard's alarm widget lists them in. */
export type WebhookAlarms = Partial<Record<WebhookAlarm, cloudwatch.Alarm>>;

export function createAlarms(scope: Construct, props: WebhookObservabilityProps, metrics: WebhookMetrics, options: WebhookAlarmOptions): WebhookAlarms {
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
      metric: WebhookMetrics.relayIteratorAge(relay),
      ...inAnyPeriod(10 * 60_000),
    }),
  };
}

function hoursWithoutDelivery(hours: number): number {
  requireNumber('alarms.noDeliveryHours', hours, { min: 1, max: MAX_NO_DELIVERY_HOURS, integer: true });
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
export function resolveAlarmTopic(scope: Construct, topic: WebhookAlarmOptions['topic']): sns.ITopic | undefined {
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
export function sendAlarmsTo(topic: sns.ITopic, alarms: WebhookAlarms): void {
  const action = new actions.SnsAction(topic);
  for (const alarm of Object.values(alarms)) {
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
}

function positive(name: string, value: number, max?: number): number {
  if (!Number.isFinite(value) || value <= 0 || (max !== undefined && value > max)) {
    throw new Error(`${name} must be a number above 0${max === undefined ? '' : ` and at most ${max}`}, got ${value}`);
  }
  return value;
}
