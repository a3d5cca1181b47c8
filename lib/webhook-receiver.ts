import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ConfirmMode, Defaults, EVENT_SOURCE, LogService, SecretKey, TableDesign, UnknownIdPolicy, WebhookEnv } from '../lambda/core/contract.js';
import { receiverFunction } from './bundling.js';
import { emptyTokenSecret } from './secrets.js';
import { answerLogFields, loggedHttpApi } from './http-api.js';
import { acknowledgeNagFindings } from './nag.js';
import { ExpirySweep, type ExpirySweepOptions } from './expiry-sweep.js';
import { WebhookFrontDoor, type WebhookFrontDoorOptions } from './front-door.js';
import { StreamRelay } from './stream-relay.js';
import { CloudflareUploads, type CloudflareUploadsOptions } from './uploads.js';
import { DEFAULT_METRICS_NAMESPACE, METRICS_NAMESPACE_ENV } from '../lambda/core/metrics.js';
import { checkMetricsNamespace, WebhookObservability, type WebhookAlarmOptions, type WebhookEventSchemasOptions, type WebhookObservabilityProps } from './observability/index.js';
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
   * The scheduled sweep that sets right what a lost webhook left wrong, asking Cloudflare's API:
   * `pending` and `draft` images whose upload window passed (uploaded if Cloudflare has the file,
   * else expired) and videos pending too long; adds the `byExpiry` index. `false` turns it off.
   * @default - every 5 minutes for a table created here; none for an existing table
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
  /**
   * When the webhook asks Cloudflare's API before it writes: `unconfirmed` when the delivery's
   * fields do not settle the outcome, `always` for every delivery, `never` not at all (and the webhook
   * function gets no access to the token; the sweep keeps it). Needs the read
   * token (`cloudflareReadSecret`, filled in by `npm run connect`); until it is there nothing is asked.
   * @default 'unconfirmed'
   */
  readonly confirmWithCloudflare?: ConfirmMode;
  /**
   * The secret holding a read-only Cloudflare API token (Images Read, Stream Read) as
   * `{"accountId", "apiToken"}`, read by the webhook (to confirm deliveries) and the sweep (to recover
   * lost webhooks). `false`: none, so nothing is ever confirmed or recovered from Cloudflare.
   * @default - a new secret with both values empty, to be filled in by `npm run connect`
   */
  readonly cloudflareReadSecret?: secretsmanager.ISecret | false;
  /**
   * The stream relay: publishes what a writer left in an item's outbox (it died between its write
   * and PutEvents), so no event waits for Cloudflare to deliver the same webhook again.
   * @default true when the table has a stream (a table created here always has one)
   */
  readonly relay?: boolean;
  /**
   * Days the bus's archive keeps every event, for `npm run cli -- events replay`; 0: no archive.
   * @default 30
   */
  readonly archiveRetentionDays?: number;
}

export const DEFAULT_THROTTLE: WebhookThrottle = { rateLimit: 50, burstLimit: 100 };
const DEFAULT_MEMORY_MB = 256;
const DEFAULT_ARCHIVE_RETENTION_DAYS = 30;
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
  /** The sweep (expiry and reconciliation), when enabled. */
  public readonly expirySweep?: ExpirySweep;
  /** The stream relay, when enabled. */
  public readonly relay?: StreamRelay;
  /** The bus's archive of every event, when `archiveRetentionDays` is not 0. */
  public readonly eventArchive?: events.Archive;
  /** `{"accountId", "apiToken"}`: the read-only Cloudflare token, when there is one. */
  public readonly cloudflareReadSecret?: secretsmanager.ISecret;
  /** Alarms, dashboard and schema registry. */
  public readonly observability: WebhookObservability;

  constructor(scope: Construct, id: string, props: CloudflareWebhookReceiverProps = {}) {
    super(scope, id);
    // Settle the configuration first: a bad value should fail synth, not a webhook at 3 am.
    const config = resolveConfig(props);

    // State and where it is announced.
    this.table = props.table ?? this.createTable(config);
    this.eventBus = props.eventBus ?? new events.EventBus(this, 'EventBus');
    this.eventArchive = this.createArchive(config);

    // Secrets: the webhooks' own, and the read-only Cloudflare token that confirms what they say.
    this.secret = this.createWebhookSecret();
    this.cloudflareReadSecret = props.cloudflareReadSecret === false ? undefined : (props.cloudflareReadSecret ?? this.createReadSecret());

    // The data path: API → function → table → bus. The API is the HTTP API, or with `frontDoor`
    // a REST API behind AWS WAF.
    this.webhookFunction = this.createWebhookFunction(config);
    let api: WebhookObservabilityProps['httpApi'];
    if (props.frontDoor) {
      this.frontDoor = this.createFrontDoor(props.frontDoor, config);
      ({ restApi: api, imagesWebhookUrl: this.imagesWebhookUrl, streamWebhookUrl: this.streamWebhookUrl } = this.frontDoor);
    } else {
      ({ httpApi: this.httpApi, stage: this.stage } = this.createHttpApi(config));
      api = this.httpApi;
      this.imagesWebhookUrl = `${this.httpApi.apiEndpoint}${config.imagesPath}`;
      this.streamWebhookUrl = `${this.httpApi.apiEndpoint}${config.streamPath}`;
    }

    // What keeps the table true and every event on its way: the relay, the sweep; uploads, if asked.
    this.relay = config.relay ? this.createRelay(config) : undefined;
    this.expirySweep = config.sweep ? this.createSweep(config, config.sweep) : undefined;
    this.uploads = props.uploads ? this.createUploads(props.uploads, config) : undefined;

    // What an operator sees: alarms, a dashboard and, optionally, the event schemas.
    this.observability = new WebhookObservability(this, 'Observability', {
      webhookFunction: this.webhookFunction,
      httpApi: api,
      logGroup: this.webhookFunction.logGroup,
      metricsNamespace: config.metricsNamespace,
      ...(this.relay && { relay: this.relay }),
      cloudflareTokenInUse: this.cloudflareReadSecret !== undefined,
      alarms: props.alarms,
      dashboard: props.dashboard,
      eventSchemas: props.eventSchemas,
    });

    // Last, so every optional resource above is there to be acknowledged too.
    acknowledgeNagFindings(this, [config.imagesPath, config.streamPath]);
  }

  /** Read access to the images table and its indexes, for consumers that look items up. */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }

  /**
   * One item per image or video. PITR because these items are the only record of what Cloudflare
   * told us; RETAIN so deleting the stack never deletes that record; a stream of new and old images
   * for the relay.
   */
  private createTable(config: ResolvedConfig): dynamodb.Table {
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TableDesign.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
      // RETAIN protects the items from a stack deletion; this from a DeleteTable by anyone else.
      deletionProtection: true,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    });
    const addIndex = (design: { indexName: string; partitionKey: string; sortKey: string; projected: readonly string[] }) =>
      table.addGlobalSecondaryIndex({
        indexName: design.indexName,
        partitionKey: { name: design.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: design.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...design.projected],
      });
    // For people and tooling (`images list --status failed --since 1h`) and the sweep's pending
    // videos: the webhook's writes keep the index current, and its role gets no Query.
    if (config.statusIndex) addIndex(TableDesign.byStatus);
    // For the sweep only: open uploads by the end of their window.
    if (config.sweep) addIndex(TableDesign.byExpiry);
    return table;
  }

  /** Every event, kept for `npm run cli -- events replay`: a consumer that was down gets them again. */
  private createArchive(config: ResolvedConfig): events.Archive | undefined {
    if (config.archiveRetentionDays === 0) return undefined;
    return new events.Archive(this, 'EventArchive', {
      sourceEventBus: this.eventBus,
      description: 'Events of the Cloudflare webhook receiver, for replay',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: Duration.days(config.archiveRetentionDays),
    });
  }

  /** Only the Images value can be invented here (we hand it to Cloudflare); the Stream secret is Cloudflare's. */
  private createWebhookSecret(): secretsmanager.Secret {
    return new secretsmanager.Secret(this, 'Secret', {
      description: 'Cloudflare webhook secrets: JSON {images, stream, toolkit}, each a string or an array of strings',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ [SecretKey.Stream]: [], [SecretKey.Toolkit]: [] }),
        generateStringKey: SecretKey.Images,
        // Cloudflare sends the value verbatim in a header; punctuation only invites quoting bugs.
        excludePunctuation: true,
        passwordLength: 48,
      },
    });
  }

  /** Empty until `npm run connect` stores a token with Images Read and Stream Read; until then nothing is confirmed. */
  private createReadSecret(): secretsmanager.Secret {
    return emptyTokenSecret(this, 'CloudflareReadSecret', 'Read-only Cloudflare API token (Images Read, Stream Read) that confirms webhooks: JSON {accountId, apiToken}');
  }

  /** The webhook function, with a role that starts empty and its own log group (see receiverFunction). */
  private createWebhookFunction(config: ResolvedConfig): lambda.Function {
    // With confirmation off the function never asks Cloudflare, so it gets no read token (the sweep still does).
    const readSecret = config.confirmWithCloudflare === ConfirmMode.Never ? undefined : this.cloudflareReadSecret;
    return receiverFunction(this, 'Function', 'webhook', {
      roleDescription: 'Cloudflare webhook receiver: its table, bus, secrets and log group only',
      logRetention: config.logRetention,
      // Its table (PutItem only to record unknown ids), its bus and its secrets.
      permissions: (role) => {
        const tableActions = ['dynamodb:UpdateItem', 'dynamodb:GetItem'];
        if (config.unknownIdPolicy === UnknownIdPolicy.Record) tableActions.push('dynamodb:PutItem');
        role.addToPolicy(new iam.PolicyStatement({ actions: tableActions, resources: [this.table.tableArn] }));
        role.addToPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [this.eventBus.eventBusArn] }));
        const secrets = [this.secret.secretArn, ...(readSecret ? [readSecret.secretArn] : [])];
        role.addToPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secrets }));
        readSecret?.encryptionKey?.grantDecrypt(role);
      },
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
        [WebhookEnv.ConfirmWithCloudflare]: config.confirmWithCloudflare,
        ...(readSecret && { [WebhookEnv.ReadSecretId]: readSecret.secretArn }),
        POWERTOOLS_SERVICE_NAME: LogService.Webhook,
        POWERTOOLS_LOG_LEVEL: config.logLevel,
        [METRICS_NAMESPACE_ENV]: config.metricsNamespace,
      },
    });
  }

  private createHttpApi(config: ResolvedConfig): { httpApi: apigwv2.HttpApi; stage: apigwv2.HttpStage } {
    const field = apigateway.AccessLogField;
    const { httpApi, stage } = loggedHttpApi(this, {
      apiName: `${Stack.of(this).stackName}-cloudflare-webhooks`,
      description: 'Cloudflare Images and Stream webhooks',
      throttle: config.throttle,
      logRetention: config.logRetention,
      accessLogFields: {
        httpMethod: field.contextHttpMethod(),
        routeKey: field.contextRouteKey(),
        path: field.contextPath(),
        ...answerLogFields(),
        integrationError: field.contextIntegrationErrorMessage(),
      },
    });
    const integration = new integrations.HttpLambdaIntegration('WebhookIntegration', this.webhookFunction);
    for (const path of [config.imagesPath, config.streamPath]) {
      httpApi.addRoutes({ path, methods: [apigwv2.HttpMethod.POST], integration });
    }
    return { httpApi, stage };
  }

  private createFrontDoor(options: WebhookFrontDoorOptions, config: ResolvedConfig): WebhookFrontDoor {
    return new WebhookFrontDoor(this, 'FrontDoor', {
      ...options,
      handler: this.webhookFunction,
      imagesPath: config.imagesPath,
      streamPath: config.streamPath,
      throttle: config.throttle,
      logRetention: config.logRetention,
    });
  }

  private createRelay(config: ResolvedConfig): StreamRelay {
    return new StreamRelay(this, 'Relay', { table: this.table, eventBus: this.eventBus, logRetention: config.logRetention, metricsNamespace: config.metricsNamespace });
  }

  private createSweep(config: ResolvedConfig, options: ExpirySweepOptions): ExpirySweep {
    return new ExpirySweep(this, 'ExpirySweep', {
      ...options,
      table: this.table,
      eventBus: this.eventBus,
      logRetention: config.logRetention,
      statusIndex: config.statusIndex,
      metricsNamespace: config.metricsNamespace,
      ...(this.cloudflareReadSecret && { cloudflareReadSecret: this.cloudflareReadSecret }),
    });
  }

  private createUploads(options: CloudflareUploadsOptions, config: ResolvedConfig): CloudflareUploads {
    return new CloudflareUploads(this, 'Uploads', {
      ...options,
      table: this.table,
      logRetention: config.logRetention,
    });
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
  readonly metricsNamespace: string;
  readonly confirmWithCloudflare: ConfirmMode;
  readonly statusIndex: boolean;
  /** The sweep's options, when there is one. */
  readonly sweep: ExpirySweepOptions | undefined;
  readonly relay: boolean;
  /** 0: no archive. */
  readonly archiveRetentionDays: number;
}

/** Applies defaults and throws on any value that would synthesize a broken or useless stack. */
function resolveConfig(props: CloudflareWebhookReceiverProps): ResolvedConfig {
  const config = withDefaults(props);
  checkTableAndTruth(props, config);
  checkRoutes(config);
  checkLimits(config);
  checkChoices(config);
  return config;
}

function withDefaults(props: CloudflareWebhookReceiverProps): ResolvedConfig {
  return {
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
    metricsNamespace: checkMetricsNamespace(props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE),
    confirmWithCloudflare: props.confirmWithCloudflare ?? ConfirmMode.Unconfirmed,
    statusIndex: props.table ? false : (props.statusIndex ?? true),
    // On for a table created here; an existing table only gets one when asked (it must have byExpiry).
    sweep: props.expirySweep === false ? undefined : (props.expirySweep ?? (props.table ? undefined : {})),
    // The relay reads the table's stream: a table created here has one; an existing one may not.
    relay: props.relay ?? (props.table ? props.table.tableStreamArn !== undefined : true),
    archiveRetentionDays: props.archiveRetentionDays ?? DEFAULT_ARCHIVE_RETENTION_DAYS,
  };
}

/** The table given or made, and the truth settings (confirmation, relay, archive) that depend on it or on each other. */
function checkTableAndTruth(props: CloudflareWebhookReceiverProps, config: ResolvedConfig): void {
  if (props.table && props.statusIndex !== undefined) {
    throw new Error('statusIndex applies to a table the construct creates; an existing table keeps the indexes it has');
  }
  if (config.relay && props.table && props.table.tableStreamArn === undefined) {
    throw new Error('relay needs the table’s stream (NEW_AND_OLD_IMAGES): import the table with its tableStreamArn, or set relay: false');
  }
  if (props.cloudflareReadSecret === false && props.confirmWithCloudflare !== undefined && props.confirmWithCloudflare !== ConfirmMode.Never) {
    throw new Error(`confirmWithCloudflare '${props.confirmWithCloudflare}' needs the read token; cloudflareReadSecret: false leaves none`);
  }
  requireNumber('archiveRetentionDays', config.archiveRetentionDays, { min: 0, integer: true });
}

function checkRoutes(config: ResolvedConfig): void {
  for (const [name, path] of [['imagesPath', config.imagesPath], ['streamPath', config.streamPath]] as const) {
    // The paths also go into the function's environment, where a token would not match a request.
    requireRoutePath(name, path);
  }
  if (config.imagesPath === config.streamPath) {
    throw new Error(`imagesPath and streamPath must differ (both are '${config.imagesPath}')`);
  }
}

function checkLimits(config: ResolvedConfig): void {
  requireNumber('throttle.rateLimit', config.throttle.rateLimit, { min: 0 });
  requireNumber('throttle.burstLimit', config.throttle.burstLimit, { min: 0, integer: true });
  requireNumber('maxBodyBytes', config.maxBodyBytes, { min: 1, max: MAX_LAMBDA_PAYLOAD_BYTES, integer: true });
  requireNumber('signatureToleranceSeconds', config.signatureToleranceSeconds, { min: 1, integer: true });
  requireNumber('memorySize', config.memorySize, { min: 128, max: 10240, integer: true });
  if (config.reservedConcurrentExecutions !== undefined) {
    requireNumber('reservedConcurrentExecutions', config.reservedConcurrentExecutions, { min: 0, integer: true });
  }
}

/** Values that must be one of a fixed set (a cast or plain JavaScript can pass anything). */
function checkChoices(config: ResolvedConfig): void {
  if (!Object.values(UnknownIdPolicy).includes(config.unknownIdPolicy)) {
    throw new Error(
      `unknownIdPolicy must be one of ${Object.values(UnknownIdPolicy).join(', ')}, got '${config.unknownIdPolicy}'`,
    );
  }
  if (!Object.values(ConfirmMode).includes(config.confirmWithCloudflare)) {
    throw new Error(`confirmWithCloudflare must be one of ${Object.values(ConfirmMode).join(', ')}, got '${config.confirmWithCloudflare}'`);
  }
  if (!WEBHOOK_LOG_LEVELS.includes(config.logLevel)) {
    throw new Error(`logLevel must be one of ${WEBHOOK_LOG_LEVELS.join(', ')}, got '${config.logLevel}'`);
  }
  if (!(Object.values(logs.RetentionDays) as unknown[]).includes(config.logRetention)) {
    throw new Error(`logRetention must be a logs.RetentionDays value, got ${config.logRetention}`);
  }
}

