import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Defaults, LogService, SweepEnv, TableDesign, UploadDefaults } from '../lambda/core/contract.js';
import { METRICS_NAMESPACE_ENV } from '../lambda/core/metrics.js';
import { deadLetterQueue, receiverFunction } from './bundling.js';
import { grantSecretRead } from './secrets.js';
import { requireNumber } from './validation.js';

export interface ExpirySweepOptions {
  /**
   * How often the sweep runs.
   * @default Duration.minutes(5)
   */
  readonly schedule?: Duration;
  /**
   * How long after its window ends an image is expired, so that the webhook of an upload
   * made at the last moment usually arrives first. A later one still completes the image.
   * @default Duration.minutes(5)
   */
  readonly gracePeriod?: Duration;
  /**
   * Most items one run looks at; the next run takes the rest.
   * @default 1000
   */
  readonly maxItemsPerRun?: number;
  /**
   * A video still `pending` this long is checked with Cloudflare's API (Stream uploads can take
   * hours). Needs the read token and the table's `byStatus` index; `Duration.seconds(0)` turns it off.
   * @default Duration.hours(24)
   */
  readonly videoPendingAge?: Duration;
}

export interface ExpirySweepProps extends ExpirySweepOptions {
  /** The images table, with the `byExpiry` index. */
  readonly table: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
  readonly logRetention: logs.RetentionDays;
  /** @default Defaults.publishLeaseMs */
  readonly publishLeaseMs?: number;
  /** Whether the table has the `byStatus` index, which is how pending videos are found. */
  readonly statusIndex: boolean;
  /** The read-only Cloudflare token's secret; without it images expire unasked and videos wait. */
  readonly cloudflareReadSecret?: secretsmanager.ISecret;
  /** CloudWatch namespace of the function's metrics. */
  readonly metricsNamespace: string;
}

/**
 * A scheduled sweep that sets right what a lost webhook left wrong: `pending` and `draft` images
 * whose upload window has passed become `uploaded` if Cloudflare has the file, else `expired`;
 * videos pending too long become what Cloudflare says. Through the same decide/write/publish path as
 * a webhook. It Queries the `byExpiry` and `byStatus` indexes; it cannot Scan.
 */
export class ExpirySweep extends Construct {
  public readonly sweepFunction: lambda.Function;
  public readonly rule: events.Rule;
  /** Schedule events that could not invoke the sweep, and invocations that failed. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ExpirySweepProps) {
    super(scope, id);
    const settings = resolveSettings(props);
    this.sweepFunction = this.createFunction(props, settings);
    this.deadLetterQueue = deadLetterQueue(this);
    this.rule = this.createSchedule(settings.schedule);
  }

  /** The function, with a role that starts empty and its own log group (see receiverFunction). */
  private createFunction(props: ExpirySweepProps, settings: SweepSettings): lambda.Function {
    return receiverFunction(this, 'Function', 'sweep', {
      roleDescription: 'Cloudflare sweep: Query its indexes, its table items, its bus, the read token, its log group',
      logRetention: props.logRetention,
      permissions: (role) => grantSweep(role, props, settings.findsVideos),
      timeout: Duration.minutes(2),
      environment: sweepEnvironment(props, settings),
    });
  }

  /**
   * The schedule. No retries, by EventBridge or by Lambda's async queue: the next run repeats the
   * work (the sweep is idempotent) and overlapping runs would only contend on the same items. A run
   * that could not even start lands in the dead-letter queue, so a broken sweep is visible.
   */
  private createSchedule(schedule: Duration): events.Rule {
    this.sweepFunction.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
      onFailure: new lambdaDestinations.SqsDestination(this.deadLetterQueue),
    });
    return new events.Rule(this, 'Schedule', {
      description: 'Expire abandoned Cloudflare direct creator uploads',
      schedule: events.Schedule.rate(schedule),
      targets: [
        new targets.LambdaFunction(this.sweepFunction, { retryAttempts: 0, maxEventAge: Duration.minutes(1), deadLetterQueue: this.deadLetterQueue }),
      ],
    });
  }
}

interface SweepSettings {
  readonly schedule: Duration;
  readonly graceSeconds: number;
  readonly maxItems: number;
  readonly videoSeconds: number;
  /** Pending videos are looked for: a positive age, the `byStatus` index and the read token. */
  readonly findsVideos: boolean;
}

/** Applies defaults and throws on a value the sweep cannot run with. */
function resolveSettings(props: ExpirySweepProps): SweepSettings {
  const schedule = props.schedule ?? Duration.minutes(5);
  const scheduleMinutes = schedule.toMinutes({ integral: false });
  if (!Number.isInteger(scheduleMinutes) || scheduleMinutes < 1) {
    throw new Error(`expirySweep.schedule must be whole minutes, at least 1, got ${schedule.toHumanString()}`);
  }
  const graceSeconds = props.gracePeriod?.toSeconds() ?? UploadDefaults.sweepGraceSeconds;
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0) throw new Error(`expirySweep.gracePeriod must be whole seconds >= 0, got ${graceSeconds}`);
  const maxItems = props.maxItemsPerRun ?? UploadDefaults.sweepMaxItemsPerRun;
  requireNumber('expirySweep.maxItemsPerRun', maxItems, { min: 1, max: 100_000, integer: true });
  const videoSeconds = props.videoPendingAge?.toSeconds() ?? UploadDefaults.videoPendingSeconds;
  requireNumber('expirySweep.videoPendingAge', videoSeconds, { min: 0, integer: true });
  const findsVideos = videoSeconds > 0 && props.statusIndex && props.cloudflareReadSecret !== undefined;
  return { schedule, graceSeconds, maxItems, videoSeconds, findsVideos };
}

/** Query on its indexes, the item calls of the shared write path, the bus, the read token. */
function grantSweep(role: iam.Role, props: ExpirySweepProps, findsVideos: boolean): void {
  const readSecret = props.cloudflareReadSecret;
  const indexes = [TableDesign.byExpiry.indexName, ...(findsVideos ? [TableDesign.byStatus.indexName] : [])];
  role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: indexes.map((name) => `${props.table.tableArn}/index/${name}`) }));
  if (readSecret) grantSecretRead(role, readSecret);
  role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [props.table.tableArn] }));
  role.addToPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [props.eventBus.eventBusArn] }));
}

function sweepEnvironment(props: ExpirySweepProps, settings: SweepSettings): Record<string, string> {
  const readSecret = props.cloudflareReadSecret;
  return {
    [SweepEnv.TableName]: props.table.tableName,
    [SweepEnv.EventBusName]: props.eventBus.eventBusName,
    [SweepEnv.GraceSeconds]: String(settings.graceSeconds),
    [SweepEnv.MaxItemsPerRun]: String(settings.maxItems),
    [SweepEnv.PublishLeaseMs]: String(props.publishLeaseMs ?? Defaults.publishLeaseMs),
    [SweepEnv.VideoPendingSeconds]: String(settings.findsVideos ? settings.videoSeconds : 0),
    [SweepEnv.StatusIndex]: String(props.statusIndex),
    ...(readSecret && { [SweepEnv.ReadSecretId]: readSecret.secretArn }),
    POWERTOOLS_SERVICE_NAME: LogService.Sweep,
    [METRICS_NAMESPACE_ENV]: props.metricsNamespace,
  };
}
