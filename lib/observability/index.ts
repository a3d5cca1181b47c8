import { Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as eventschemas from 'aws-cdk-lib/aws-eventschemas';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DetailType } from '../../lambda/core/contract.js';
import { DEFAULT_METRICS_NAMESPACE } from '../../lambda/core/metrics.js';
import { eventJsonSchema, eventSchemaName } from '../event-schemas.js';
import type { StreamRelay } from '../stream-relay.js';
import { createAlarms, resolveAlarmTopic, sendAlarmsTo, WebhookAlarm, type WebhookAlarmOptions } from './alarms.js';
import { createDashboard } from './dashboard.js';
import { checkMetricsNamespace, WebhookMetrics } from './metrics.js';

/**
 * What an operator sees of the receiver: alarms (optionally sent to an SNS topic), a dashboard,
 * and the event contract in an EventBridge Schema Registry. Every custom metric comes from
 * `WebhookMetrics`, which reads its names from `lambda/core/metrics.ts`, the file the function
 * emits them from. What each alarm means and what to do: docs/RUNBOOK.md.
 */

export { WebhookAlarm, type WebhookAlarmOptions } from './alarms.js';
export { checkMetricsNamespace, WebhookMetrics } from './metrics.js';

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
