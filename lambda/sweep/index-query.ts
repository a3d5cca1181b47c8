import { DynamoDBClient, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { awsClientConfig } from '../adapters/aws.js';
import { fromAttributes, toAttributes } from '../adapters/store.js';
import { ImageStatus, ItemKind, TableDesign } from '../core/contract.js';
import { DependencyError } from '../core/errors.js';
import type { SweepIndex } from './sweep.js';

interface IndexQuery {
  readonly IndexName: string;
  readonly KeyConditionExpression: string;
  readonly FilterExpression?: string;
  readonly ExpressionAttributeNames: Readonly<Record<string, string>>;
  readonly ExpressionAttributeValues: Readonly<Record<string, unknown>>;
}

/**
 * The DynamoDB adapter for the sweep's two questions, both Queries on a sparse index, oldest
 * first, so the cost of a run follows the number of items that need it, never the size of the
 * table: `byExpiry` for open uploads whose window ended, `byStatus` for videos still pending.
 */
export class DynamoSweepIndex implements SweepIndex {
  private readonly client: DynamoDBClient;

  constructor(
    private readonly tableName: string,
    client?: DynamoDBClient,
  ) {
    this.client = client ?? new DynamoDBClient(awsClientConfig);
  }

  due(status: string, until: string, limit: number): Promise<string[]> {
    const { byExpiry } = TableDesign;
    return this.ids(limit, {
      IndexName: byExpiry.indexName,
      KeyConditionExpression: '#status = :status AND #expiresAt <= :until',
      ExpressionAttributeNames: { '#status': byExpiry.partitionKey, '#expiresAt': byExpiry.sortKey },
      ExpressionAttributeValues: { ':status': status, ':until': until },
    });
  }

  pendingVideos(before: string, limit: number): Promise<string[]> {
    const { byStatus } = TableDesign;
    return this.ids(limit, {
      IndexName: byStatus.indexName,
      KeyConditionExpression: '#status = :pending AND #updatedAt <= :before',
      // Both kinds start `pending`; `kind` is projected into the index for this filter.
      FilterExpression: '#kind = :video',
      ExpressionAttributeNames: { '#status': byStatus.partitionKey, '#updatedAt': byStatus.sortKey, '#kind': 'kind' },
      ExpressionAttributeValues: { ':pending': ImageStatus.Pending, ':before': before, ':video': ItemKind.Video },
    });
  }

  private async ids(limit: number, query: IndexQuery): Promise<string[]> {
    const key = TableDesign.partitionKey;
    const ids: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    while (ids.length < limit) {
      let page;
      try {
        page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            ...query,
            ExpressionAttributeNames: { '#id': key, ...query.ExpressionAttributeNames },
            ExpressionAttributeValues: toAttributes(query.ExpressionAttributeValues),
            ProjectionExpression: '#id',
            ScanIndexForward: true,
            // A filter applies after Limit, so a filtered query reads full pages.
            ...(query.FilterExpression === undefined && { Limit: limit - ids.length }),
            ...(start && { ExclusiveStartKey: start }),
          }),
        );
      } catch (error) {
        throw new DependencyError('dynamodb', `DynamoDB query of ${query.IndexName} failed: ${(error as Error).name}`, { cause: error });
      }
      for (const item of page.Items ?? []) ids.push(String(fromAttributes(item)[key]));
      start = page.LastEvaluatedKey;
      if (!start) break;
    }
    return ids.slice(0, limit);
  }
}
