import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ItemKind } from '../../lambda/core/contract.js';
import { ApiFailure } from '../../lambda/core/cloudflare.js';
import { Confirmation, DeliveryOutcome, DeliveryResult, MetricName, Rejection } from '../../lambda/core/metrics.js';
import { PUBLISHED_TRANSITIONS } from '../event-schemas.js';
import type { StreamRelay } from '../stream-relay.js';
import { RUNBOOK, type WebhookAlarms } from './alarms.js';
import type { WebhookObservabilityProps } from './index.js';
import { FIVE_MINUTES, FIVE_MINUTE_SUM, WebhookMetrics } from './metrics.js';

/** The receiver's CloudWatch dashboard: one function per row, in the order the rows appear. */

/** One row per `addWidgets`; the Cloudflare, relay and log rows only where there is something to show. */
export function createDashboard(scope: Construct, props: WebhookObservabilityProps, metrics: WebhookMetrics, alarms: WebhookAlarms): cloudwatch.Dashboard {
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
    right: [WebhookMetrics.relayIteratorAge(relay, { label: 'iterator age (ms)' })],
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
