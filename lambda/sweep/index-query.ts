import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ImageStatus, TableDesign } from '../contract.js';
import { DependencyError } from '../errors.js';
import type { ExpiryIndex } from './sweep.js';

/**
 * The DynamoDB adapter for the `byExpiry` index: Queries only, oldest window first, so the
 * cost of a run follows the number of abandoned uploads, never the size of the table.
 */
export class DynamoExpiryIndex implements ExpiryIndex {
  private readonly client: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    client?: DynamoDBDocumentClient,
  ) {
    this.client = client ?? DynamoDBDocumentClient.from(new DynamoDBClient({}));
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

  private async ids(limit: number, query: Pick<QueryCommandInput, 'KeyConditionExpression' | 'FilterExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>): Promise<string[]> {
    const { byExpiry, partitionKey } = TableDesign;
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    while (ids.length < limit) {
      let page;
      try {
        page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: byExpiry.indexName,
            ...query,
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
      for (const item of page.Items ?? []) ids.push(String(item[partitionKey]));
      start = page.LastEvaluatedKey;
      if (!start) break;
    }
    return ids.slice(0, limit);
  }
}
