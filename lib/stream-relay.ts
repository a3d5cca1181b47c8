import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Defaults, LogService, RelayEnv, RelayEventSource } from '../lambda/core/contract.js';
import { METRICS_NAMESPACE_ENV } from '../lambda/core/metrics.js';
import { deadLetterQueue, receiverFunction } from './bundling.js';

export interface StreamRelayProps {
  /** The images table, with a stream of new and old images. */
  readonly table: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
  readonly logRetention: logs.RetentionDays;
  /** CloudWatch namespace of the relay's metrics (the receiver's). */
  readonly metricsNamespace: string;
}

/**
 * No event waits for a redelivery: the table's stream plays the redelivery that Cloudflare may never
 * send. A function reads the records whose item still has events in its outbox (a filter on the
 * event source mapping keeps every other write away from it) and publishes what their writer left
 * behind, through the same decision code a redelivery runs. A batch it cannot settle is retried, paced
 * by the relay's doubling lease, until its records are 6 hours old; then its description lands in an
 * encrypted dead-letter queue (`npm run cli -- events redrive` sends it back through the relay).
 */
export class StreamRelay extends Construct {
  public readonly relayFunction: lambda.Function;
  /** Descriptions of stream batches the relay gave up on (shard and sequence numbers, not the items). */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: StreamRelayProps) {
    super(scope, id);
    this.relayFunction = this.createFunction(props);
    // Where batches go once their records are too old to retry (RelayEventSource.maxRecordAgeSeconds).
    this.deadLetterQueue = deadLetterQueue(this);
    this.relayFunction.addEventSource(this.streamSource(props.table));
  }

  /** The function: read and update the table's items, put events on the bus, nothing else. */
  private createFunction(props: StreamRelayProps): lambda.Function {
    const { table, eventBus } = props;
    return receiverFunction(this, 'Function', 'relay', {
      roleDescription: 'Cloudflare stream relay: its table items, its bus, its log group (and the stream and dead-letter queue its event source mapping needs)',
      logRetention: props.logRetention,
      permissions: (role) => {
        role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [table.tableArn] }));
        role.addToPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [eventBus.eventBusArn] }));
      },
      // Enough for a batch of reads, a wait for one live writer's lease and a publish.
      timeout: Duration.seconds(30),
      environment: {
        [RelayEnv.TableName]: table.tableName,
        [RelayEnv.EventBusName]: eventBus.eventBusName,
        [RelayEnv.PublishLeaseMs]: String(Defaults.publishLeaseMs),
        POWERTOOLS_SERVICE_NAME: LogService.Relay,
        [METRICS_NAMESPACE_ENV]: props.metricsNamespace,
      },
    });
  }

  /** The stream, filtered to records with something in the outbox, in order per item. */
  private streamSource(table: dynamodb.ITable): sources.DynamoEventSource {
    return new sources.DynamoEventSource(table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: RelayEventSource.batchSize,
      maxBatchingWindow: Duration.seconds(RelayEventSource.maxBatchingWindowSeconds),
      retryAttempts: RelayEventSource.retryAttempts,
      maxRecordAge: Duration.seconds(RelayEventSource.maxRecordAgeSeconds),
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      onFailure: new sources.SqsDlq(this.deadLetterQueue),
      filters: [lambda.FilterCriteria.filter(RelayEventSource.filter as unknown as Record<string, unknown>)],
    });
  }
}
