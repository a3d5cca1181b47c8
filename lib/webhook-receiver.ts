import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { Defaults, SecretKey, TableDesign, UnknownIdPolicy, WebhookEnv } from '../lambda/core/contract.js';
import { receiverFunction } from './bundling.js';
import { acknowledgeNagFindings } from './nag.js';
import { ExpirySweep, type ExpirySweepOptions } from './expiry-sweep.js';
import { WebhookFrontDoor, type WebhookFrontDoorOptions } from './front-door.js';
import { CloudflareUploads, type CloudflareUploadsOptions } from './uploads.js';
import { DEFAULT_METRICS_NAMESPACE, METRICS_NAMESPACE_ENV } from '../lambda/core/metrics.js';
import { checkMetricsNamespace, WebhookObservability, type WebhookAlarmOptions, type WebhookEventSchemasOptions } from './observability.js';
import { requireNumber, requireRoutePath } from './validation.js';

/** Log levels the Powertools logger understands. */
export const WEBHOOK_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type WebhookLogLevel = (typeof WEBHOOK_LOG_LEVELS)[number];

/** Steady-state and burst limits of the API stage; both apply to every route. */
export interface WebhookThrottle {
  /** Average requests per second over time. */
  readonly rateLimit: number;
  /** Requests accepted at once above the rate. */
  readonly burstLimit: number;
}

export interface CloudflareWebhookReceiverProps {
  /**
   * Path of the Images (Notifications) webhook route.
   * @default Defaults.imagesPath ('/webhooks/images')
   */
  readonly imagesPath?: string;
  /**
   * Path of the Stream webhook route.
   * @default Defaults.streamPath ('/webhooks/stream')
   */
  readonly streamPath?: string;
  /**
   * Throttling of the webhook API's stage, applied to each webhook route.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly throttle?: WebhookThrottle;
  /**
   * Puts the webhooks behind AWS WAF (lib/front-door.ts): a REST API whose stage carries a web ACL
   * that refuses requests without a signature header and per-address floods, and optionally every
   * Images request not from Cloudflare's ranges, before throttling, billing or the function. It
   * replaces the HTTP API for the webhooks (`httpApi` and `stage` are then undefined) and changes
   * the webhook URLs. Costs: README › Security (about $7–8 a month fixed plus $0.60 per million
   * requests for WAF, and REST's $3.50 instead of HTTP's $1.00 per million deliveries).
   * @default - no front door: the HTTP API, with the stage throttle as the only limit
   */
  readonly frontDoor?: WebhookFrontDoorOptions;
  /**
   * Bodies larger than this are rejected before any parsing or signature work.
   * @default Defaults.maxBodyBytes (64 KiB)
   */
  readonly maxBodyBytes?: number;
  /**
   * How far a signed timestamp may be from the current time, in seconds.
   * @default Defaults.toleranceSeconds (300)
   */
  readonly signatureToleranceSeconds?: number;
  /**
   * What to do with a webhook for an id the table has never seen: reject it, or record it
   * (which needs `dynamodb:PutItem`).
   * @default 'reject'
   */
  readonly unknownIdPolicy?: UnknownIdPolicy;
  /**
   * Memory of the webhook function in MB (CPU scales with it).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Retention of the function's and the API's log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Powertools log level of the function.
   * @default 'INFO'
   */
  readonly logLevel?: WebhookLogLevel;
  /**
   * Caps concurrent executions so a flood cannot exhaust the account's concurrency.
   * @default - no reservation; the function shares the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * `POST /uploads` on the same API: creates a Cloudflare direct creator upload and records the
   * pending image (with its window's end) so the webhook that follows finds it.
   * @default - no upload route
   */
  readonly uploads?: CloudflareUploadsOptions;
  /**
   * The scheduled sweep that expires `pending` and `draft` images whose upload window passed
   * (items with an `expiresAt`); adds the `byExpiry` index. `false` turns it off.
   * @default - every 5 minutes when `uploads` is set, otherwise none
   */
  readonly expirySweep?: ExpirySweepOptions | false;
  /**
   * CloudWatch namespace of the function's metrics. Give each receiver in one account and region
   * its own, or each one's alarms and dashboard count the other's deliveries.
   * @default 'CloudflareWebhook'
   */
  readonly metricsNamespace?: string;
  /**
   * Alarms on API 5xx rate, function errors and throttles, publish failures and signature
   * rejections (and optionally on no accepted delivery for N hours); `false` creates none.
   * What each means and what to do: docs/RUNBOOK.md.
   * @default - those alarms with their default thresholds, notifying nobody
   */
  readonly alarms?: WebhookAlarmOptions | false;
  /**
   * A CloudWatch dashboard of the receiver's metrics and alarms.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Registers the JSON Schema of each event (one per detail-type) in an EventBridge Schema
   * Registry, from which consumers in other languages download code bindings.
   * @default false
   */
  readonly eventSchemas?: boolean | WebhookEventSchemasOptions;
  /**
   * An existing images table to use instead of creating one; its partition key must be `id`
   * (String). The construct adds no index to a table it did not create: `images list` needs the
   * `byStatus` index and the expiry sweep `byExpiry` (names and keys in `TableDesign`), so the
   * sweep stays off unless `expirySweep` is given, which states that the table has `byExpiry`.
   * @default - a new table (on-demand, point-in-time recovery, deletion protection, retained on stack deletion) with both indexes
   */
  readonly table?: dynamodb.ITable;
  /**
   * The `byStatus` index of a table created here (`images list --status failed --since 1h`). Every
   * transition moves the item's entry in it: two index writes per webhook, about $1.25 per million
   * webhooks on on-demand prices (docs/PERFORMANCE.md). Without it, listing by status needs a Scan.
   * @default true
   */
  readonly statusIndex?: boolean;
  /**
   * An existing event bus to publish to instead of creating one.
   * @default - a new bus, so consumers' rules never match unrelated traffic
   */
  readonly eventBus?: events.IEventBus;
}

export const DEFAULT_THROTTLE: WebhookThrottle = { rateLimit: 50, burstLimit: 100 };
const DEFAULT_MEMORY_MB = 256;
/** Lambda's synchronous invocation payload limit; a larger limit could never be reached. */
const MAX_LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024;

/**
 * Receives Cloudflare Images and Stream webhooks: HTTP API → Lambda → DynamoDB (state per
 * image or video) → EventBridge (one event per transition).
 */
export class CloudflareWebhookReceiver extends Construct {
  /** The images table: created here, or the one passed as `table`. */
  public readonly table: dynamodb.ITable;
  /** The bus every transition is published to: created here, or the one passed as `eventBus`. */
  public readonly eventBus: events.IEventBus;
  /** JSON `{images, stream, toolkit}`; each value is a string or an array of accepted strings. */
  public readonly secret: secretsmanager.Secret;
  public readonly webhookFunction: lambda.Function;
  /** The webhooks' HTTP API; undefined with `frontDoor`, whose REST API takes its place. */
  public readonly httpApi?: apigwv2.HttpApi;
  /** The HTTP API's `$default` stage (`httpApi.defaultStage` is unset, see below); undefined with `frontDoor`. */
  public readonly stage?: apigwv2.HttpStage;
  /** The REST API and AWS WAF web ACL in front of the webhooks, when `frontDoor` is set. */
  public readonly frontDoor?: WebhookFrontDoor;
  public readonly imagesWebhookUrl: string;
  public readonly streamWebhookUrl: string;
  /** The upload route, when `uploads` is set. */
  public readonly uploads?: CloudflareUploads;
  /** The expiry sweep, when enabled. */
  public readonly expirySweep?: ExpirySweep;
  /** Alarms, dashboard and schema registry. */
  public readonly observability: WebhookObservability;

  constructor(scope: Construct, id: string, props: CloudflareWebhookReceiverProps = {}) {
    super(scope, id);

    // 1. Settle the configuration first: a bad value should fail synth, not a webhook at 3 am.
    const config = resolveConfig(props);
    const metricsNamespace = checkMetricsNamespace(props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE);

    // 2. State: one item per image or video. PITR because these items are the only record of
    //    what Cloudflare told us; RETAIN so deleting the stack never deletes that record.
    const sweepOptions =
      props.expirySweep === false ? undefined : (props.expirySweep ?? (props.uploads && !props.table ? {} : undefined));
    if (props.table && props.statusIndex !== undefined) {
      throw new Error('statusIndex applies to a table the construct creates; an existing table keeps the indexes it has');
    }
    this.table = props.table ?? this.createTable({ byStatus: props.statusIndex ?? true, byExpiry: sweepOptions !== undefined });

    // 3. A bus of our own, so consumers' rules never see or match unrelated default-bus traffic.
    this.eventBus = props.eventBus ?? new events.EventBus(this, 'EventBus');

    // 4. Shared secrets. Only the Images value can be invented here (we hand it to Cloudflare);
    //    the Stream signing secret is issued by Cloudflare and filled in by the operator.
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: 'Cloudflare webhook secrets: JSON {images, stream, toolkit}, each a string or an array of strings',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ [SecretKey.Stream]: [], [SecretKey.Toolkit]: [] }),
        generateStringKey: SecretKey.Images,
        // Cloudflare sends the value verbatim in a header; punctuation only invites quoting bugs.
        excludePunctuation: true,
        passwordLength: 48,
      },
    });

    // 5. The function, with a role that starts empty and its own log group (see receiverFunction).
    this.webhookFunction = receiverFunction(this, 'Function', 'webhook', {
      roleDescription: 'Cloudflare webhook receiver: its table, bus, secret and log group only',
      logRetention: config.logRetention,
      // Its table (PutItem only to record unknown ids), its bus and its secret.
      permissions: (role) => {
        const tableActions = ['dynamodb:UpdateItem', 'dynamodb:GetItem'];
        if (config.unknownIdPolicy === UnknownIdPolicy.Record) {
          tableActions.push('dynamodb:PutItem');
        }
        role.addToPolicy(new iam.PolicyStatement({ actions: tableActions, resources: [this.table.tableArn] }));
        role.addToPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [this.eventBus.eventBusArn] }));
        role.addToPolicy(
          new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secret.secretArn] }),
        );
      },
      architecture: lambda.Architecture.ARM_64,
      memorySize: config.memorySize,
      // Cloudflare gives up long before this; a hung downstream call should not hold concurrency.
      timeout: Duration.seconds(10),
      reservedConcurrentExecutions: config.reservedConcurrentExecutions,
      environment: {
        [WebhookEnv.TableName]: this.table.tableName,
        [WebhookEnv.EventBusName]: this.eventBus.eventBusName,
        [WebhookEnv.SecretId]: this.secret.secretArn,
        [WebhookEnv.ImagesPath]: config.imagesPath,
        [WebhookEnv.StreamPath]: config.streamPath,
        [WebhookEnv.ToleranceSeconds]: String(config.signatureToleranceSeconds),
        [WebhookEnv.MaxBodyBytes]: String(config.maxBodyBytes),
        [WebhookEnv.UnknownIdPolicy]: config.unknownIdPolicy,
        POWERTOOLS_SERVICE_NAME: 'cloudflare-webhook',
        POWERTOOLS_LOG_LEVEL: config.logLevel,
        [METRICS_NAMESPACE_ENV]: metricsNamespace,
      },
    });

    // 6. The webhook API: the HTTP API, or with `frontDoor` a REST API behind AWS WAF.
    if (props.frontDoor) {
      this.frontDoor = new WebhookFrontDoor(this, 'FrontDoor', {
        ...props.frontDoor,
        handler: this.webhookFunction,
        imagesPath: config.imagesPath,
        streamPath: config.streamPath,
        throttle: config.throttle,
        logRetention: config.logRetention,
      });
      this.imagesWebhookUrl = this.frontDoor.imagesWebhookUrl;
      this.streamWebhookUrl = this.frontDoor.streamWebhookUrl;
    } else {
      ({ httpApi: this.httpApi, stage: this.stage } = this.createHttpApi(config));
      this.imagesWebhookUrl = `${this.httpApi.apiEndpoint}${config.imagesPath}`;
      this.streamWebhookUrl = `${this.httpApi.apiEndpoint}${config.streamPath}`;
    }

    // 7. Optional: the upload route and the sweep that expires what was never uploaded.
    if (props.uploads) {
      this.uploads = new CloudflareUploads(this, 'Uploads', {
        ...props.uploads,
        table: this.table,
        logRetention: config.logRetention,
      });
    }
    if (sweepOptions) {
      this.expirySweep = new ExpirySweep(this, 'ExpirySweep', {
        ...sweepOptions,
        table: this.table,
        eventBus: this.eventBus,
        logRetention: config.logRetention,
      });
    }

    // 8. What an operator sees: alarms, a dashboard and, optionally, the event schemas.
    this.observability = new WebhookObservability(this, 'Observability', {
      webhookFunction: this.webhookFunction,
      httpApi: this.frontDoor?.restApi ?? this.httpApi!,
      logGroup: this.webhookFunction.logGroup,
      metricsNamespace,
      alarms: props.alarms,
      dashboard: props.dashboard,
      eventSchemas: props.eventSchemas,
    });

    // Last, so every optional resource above is there to be acknowledged too.
    acknowledgeNagFindings(this, [config.imagesPath, config.streamPath]);
  }

  /**
   * HttpApiProps cannot configure the stage it creates itself (no throttle, no access logs), so
   * it creates none and we add `$default` with both, instead of patching the CfnStage through an
   * escape hatch.
   */
  private createHttpApi(config: ResolvedConfig): { httpApi: apigwv2.HttpApi; stage: apigwv2.HttpStage } {
    const httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `${Stack.of(this).stackName}-cloudflare-webhooks`,
      description: 'Cloudflare Images and Stream webhooks',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: config.logRetention });
    const stage = httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: config.throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: accessLogFormat(),
      },
    });
    const integration = new integrations.HttpLambdaIntegration('WebhookIntegration', this.webhookFunction);
    for (const path of [config.imagesPath, config.streamPath]) {
      httpApi.addRoutes({ path, methods: [apigwv2.HttpMethod.POST], integration });
    }
    return { httpApi, stage };
  }

  /** Read access to the images table and its indexes, for consumers that look items up. */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }

  private createTable(indexes: { readonly byStatus: boolean; readonly byExpiry: boolean }): dynamodb.Table {
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TableDesign.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
      // RETAIN protects the items from a stack deletion; this from a DeleteTable by anyone else.
      deletionProtection: true,
    });
    const addIndex = (design: { indexName: string; partitionKey: string; sortKey: string }, projected: readonly string[]) =>
      table.addGlobalSecondaryIndex({
        indexName: design.indexName,
        partitionKey: { name: design.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: design.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...projected],
      });
    // For people and tooling (`images list --status failed --since 1h`), not the function:
    // its writes keep the index current, and its role gets no Query.
    if (indexes.byStatus) addIndex(TableDesign.byStatus, TableDesign.byStatus.projected);
    // For the expiry sweep only. Keys plus `unpublished`, so the sweep can find expiries a crashed
    // run left unpublished without reading whole items.
    if (indexes.byExpiry) addIndex(TableDesign.byExpiry, ['unpublished']);
    return table;
  }
}

interface ResolvedConfig {
  readonly imagesPath: string;
  readonly streamPath: string;
  readonly throttle: WebhookThrottle;
  readonly maxBodyBytes: number;
  readonly signatureToleranceSeconds: number;
  readonly unknownIdPolicy: UnknownIdPolicy;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: WebhookLogLevel;
  readonly reservedConcurrentExecutions: number | undefined;
}

/** Applies defaults and throws on any value that would synthesize a broken or useless stack. */
function resolveConfig(props: CloudflareWebhookReceiverProps): ResolvedConfig {
  const config: ResolvedConfig = {
    imagesPath: props.imagesPath ?? Defaults.imagesPath,
    streamPath: props.streamPath ?? Defaults.streamPath,
    throttle: props.throttle ?? DEFAULT_THROTTLE,
    maxBodyBytes: props.maxBodyBytes ?? Defaults.maxBodyBytes,
    signatureToleranceSeconds: props.signatureToleranceSeconds ?? Defaults.toleranceSeconds,
    unknownIdPolicy: props.unknownIdPolicy ?? Defaults.unknownIdPolicy,
    memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    logLevel: props.logLevel ?? 'INFO',
    reservedConcurrentExecutions: props.reservedConcurrentExecutions,
  };

  for (const [name, path] of [['imagesPath', config.imagesPath], ['streamPath', config.streamPath]] as const) {
    // The paths also go into the function's environment, where a token would not match a request.
    requireRoutePath(name, path);
  }
  if (config.imagesPath === config.streamPath) {
    throw new Error(`imagesPath and streamPath must differ (both are '${config.imagesPath}')`);
  }

  requireNumber('throttle.rateLimit', config.throttle.rateLimit, { min: 0 });
  requireNumber('throttle.burstLimit', config.throttle.burstLimit, { min: 0, integer: true });
  requireNumber('maxBodyBytes', config.maxBodyBytes, { min: 1, max: MAX_LAMBDA_PAYLOAD_BYTES, integer: true });
  requireNumber('signatureToleranceSeconds', config.signatureToleranceSeconds, { min: 1, integer: true });
  requireNumber('memorySize', config.memorySize, { min: 128, max: 10240, integer: true });
  if (config.reservedConcurrentExecutions !== undefined) {
    requireNumber('reservedConcurrentExecutions', config.reservedConcurrentExecutions, { min: 0, integer: true });
  }

  if (!Object.values(UnknownIdPolicy).includes(config.unknownIdPolicy)) {
    throw new Error(
      `unknownIdPolicy must be one of ${Object.values(UnknownIdPolicy).join(', ')}, got '${config.unknownIdPolicy}'`,
    );
  }
  if (!WEBHOOK_LOG_LEVELS.includes(config.logLevel)) {
    throw new Error(`logLevel must be one of ${WEBHOOK_LOG_LEVELS.join(', ')}, got '${config.logLevel}'`);
  }
  if (!(Object.values(logs.RetentionDays) as unknown[]).includes(config.logRetention)) {
    throw new Error(`logRetention must be a logs.RetentionDays value, got ${config.logRetention}`);
  }
  return config;
}

/** One JSON object per request, so Logs Insights can query fields without parsing. */
function accessLogFormat(): apigateway.AccessLogFormat {
  const field = apigateway.AccessLogField;
  return apigateway.AccessLogFormat.custom(
    JSON.stringify({
      requestId: field.contextRequestId(),
      ip: field.contextIdentitySourceIp(),
      requestTime: field.contextRequestTime(),
      httpMethod: field.contextHttpMethod(),
      routeKey: field.contextRouteKey(),
      path: field.contextPath(),
      status: field.contextStatus(),
      protocol: field.contextProtocol(),
      responseLength: field.contextResponseLength(),
      responseLatency: field.contextResponseLatency(),
      integrationLatency: field.contextIntegrationLatency(),
      integrationStatus: field.contextIntegrationStatus(),
      integrationError: field.contextIntegrationErrorMessage(),
      userAgent: field.contextIdentityUserAgent(),
    }),
  );
}
