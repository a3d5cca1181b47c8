import { DynamoDBClient, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { awsClientConfig } from '../adapters/aws.js';
import { ImageStatus, TableDesign } from '../core/contract.js';
import { DependencyError } from '../core/errors.js';
import { fromAttributes, toAttributes } from '../adapters/store.js';
import type { ExpiryIndex } from './sweep.js';

interface ExpiryQuery {
  readonly KeyConditionExpression: string;
  readonly FilterExpression?: string;
  readonly ExpressionAttributeNames?: Readonly<Record<string, string>>;
  readonly ExpressionAttributeValues: Readonly<Record<string, unknown>>;
}

/**
 * The DynamoDB adapter for the `byExpiry` index: Queries only, oldest window first, so the
 * cost of a run follows the number of abandoned uploads, never the size of the table.
 */
export class DynamoExpiryIndex implements ExpiryIndex {
  private readonly client: DynamoDBClient;

  constructor(
    private readonly tableName: string,
    client?: DynamoDBClient,
  ) {
    this.client = client ?? new DynamoDBClient(awsClientConfig);
  }

  due(status: string, until: string, limit: number): Promise<string[]> {
    return this.ids(limit, {
      KeyConditionExpression: '#status = :status AND #expiresAt <= :until',
      ExpressionAttributeValues: { ':status': status, ':until': until },
    });
  }

  unpublished(from: string, until: string, limit: number): Promise<string[]> {
    return this.ids(limit, {
      KeyConditionExpression: '#status = :status AND #expiresAt BETWEEN :from AND :until',
      // `unpublished` is projected into the index for this filter; `{}` once every event is out.
      FilterExpression: 'size(#unpublished) > :zero',
      ExpressionAttributeNames: { '#unpublished': 'unpublished' },
      ExpressionAttributeValues: { ':status': ImageStatus.Expired, ':from': from, ':until': until, ':zero': 0 },
    });
  }

  private async ids(limit: number, query: ExpiryQuery): Promise<string[]> {
    const { byExpiry, partitionKey } = TableDesign;
    const ids: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    while (ids.length < limit) {
      let page;
      try {
        page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: byExpiry.indexName,
            KeyConditionExpression: query.KeyConditionExpression,
            ...(query.FilterExpression !== undefined && { FilterExpression: query.FilterExpression }),
            ExpressionAttributeValues: toAttributes(query.ExpressionAttributeValues),
            ExpressionAttributeNames: { '#status': byExpiry.partitionKey, '#expiresAt': byExpiry.sortKey, '#id': partitionKey, ...query.ExpressionAttributeNames },
            ProjectionExpression: '#id',
            ScanIndexForward: true,
            // A filter applies after Limit, so a filtered query reads full pages.
            ...(query.FilterExpression === undefined && { Limit: limit - ids.length }),
            ...(start && { ExclusiveStartKey: start }),
          }),
        );
      } catch (error) {
        throw new DependencyError('dynamodb', `DynamoDB query of ${byExpiry.indexName} failed: ${(error as Error).name}`, { cause: error });
      }
      for (const item of page.Items ?? []) ids.push(String(fromAttributes(item)[partitionKey]));
      start = page.LastEvaluatedKey;
      if (!start) break;
    }
    return ids.slice(0, limit);
  }
}
