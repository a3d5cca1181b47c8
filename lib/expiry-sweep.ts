import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Defaults, SweepEnv, TableDesign, UploadDefaults } from '../lambda/core/contract.js';
import { receiverFunction } from './bundling.js';
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
   * Most images one run expires; the next run takes the rest.
   * @default 1000
   */
  readonly maxItemsPerRun?: number;
}

export interface ExpirySweepProps extends ExpirySweepOptions {
  /** The images table, with the `byExpiry` index. */
  readonly table: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
  readonly logRetention: logs.RetentionDays;
  /** @default Defaults.publishLeaseMs */
  readonly publishLeaseMs?: number;
}

/**
 * A scheduled sweep that marks `pending` and `draft` images whose upload window has passed
 * `expired` and publishes `Image Expired`, through the same decide/write/publish path as a
 * webhook. It Queries the `byExpiry` index; it cannot Scan.
 */
export class ExpirySweep extends Construct {
  public readonly sweepFunction: lambda.Function;
  public readonly rule: events.Rule;
  /** Schedule events that could not invoke the sweep, and invocations that failed. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ExpirySweepProps) {
    super(scope, id);

    // 1. Configuration.
    const schedule = props.schedule ?? Duration.minutes(5);
    const scheduleMinutes = schedule.toMinutes({ integral: false });
    if (!Number.isInteger(scheduleMinutes) || scheduleMinutes < 1) {
      throw new Error(`expirySweep.schedule must be whole minutes, at least 1, got ${schedule.toHumanString()}`);
    }
    const graceSeconds = props.gracePeriod?.toSeconds() ?? UploadDefaults.sweepGraceSeconds;
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0) throw new Error(`expirySweep.gracePeriod must be whole seconds >= 0, got ${graceSeconds}`);
    const maxItems = props.maxItemsPerRun ?? UploadDefaults.sweepMaxItemsPerRun;
    requireNumber('expirySweep.maxItemsPerRun', maxItems, { min: 1, max: 100_000, integer: true });

    // 2. The function, with a role that starts empty and its own log group (see receiverFunction).
    this.sweepFunction = receiverFunction(this, 'Function', 'sweep', {
      roleDescription: 'Cloudflare upload expiry sweep: Query byExpiry, its table items, its bus, its log group',
      logRetention: props.logRetention,
      // Query on the one index, the item calls of the shared write path, the bus.
      permissions: (role) => {
        role.addToPolicy(
          new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.table.tableArn}/index/${TableDesign.byExpiry.indexName}`] }),
        );
        role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [props.table.tableArn] }));
        role.addToPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [props.eventBus.eventBusArn] }));
      },
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(2),
      environment: {
        [SweepEnv.TableName]: props.table.tableName,
        [SweepEnv.EventBusName]: props.eventBus.eventBusName,
        [SweepEnv.GraceSeconds]: String(graceSeconds),
        [SweepEnv.MaxItemsPerRun]: String(maxItems),
        [SweepEnv.PublishLeaseMs]: String(props.publishLeaseMs ?? Defaults.publishLeaseMs),
        POWERTOOLS_SERVICE_NAME: 'cloudflare-expiry-sweep',
      },
    });

    // 3. The schedule. No retries, by EventBridge or by Lambda's async queue: the next run repeats
    //    the work (the sweep is idempotent) and overlapping runs would only contend on the same items.
    //    A run that could not even start lands in a dead-letter queue, so a broken sweep is visible.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    this.sweepFunction.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
      onFailure: new lambdaDestinations.SqsDestination(this.deadLetterQueue),
    });
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Expire abandoned Cloudflare direct creator uploads',
      schedule: events.Schedule.rate(schedule),
      targets: [
        new targets.LambdaFunction(this.sweepFunction, { retryAttempts: 0, maxEventAge: Duration.minutes(1), deadLetterQueue: this.deadLetterQueue }),
      ],
    });
  }
}
