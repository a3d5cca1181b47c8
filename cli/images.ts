/**
 * `images`: read the table the way a person debugging a delivery wants to, and create the
 * pending item an upload route would, so the flow can be tried before that route exists.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ItemKind, STATUSES, TableDesign, type ItemStatus } from '../lambda/core/contract.js';
import { recordedItem } from '../lambda/core/decide.js';
import { withOutboxAsList } from '../lambda/adapters/store.js';
import { CliError, failure, step, UsageError } from './errors.js';
import { errorText, table, transition } from './format.js';
import type { ClientConfig } from './target.js';
import type { HistoryEntry, Item } from '../lambda/core/item.js';

export function documentClient(config: ClientConfig): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
}

export async function getItem(client: DynamoDBDocumentClient, tableName: string, id: string): Promise<Item> {
  const { Item: item } = await step(`read ${id} from ${tableName}`, () =>
    client.send(new GetCommand({ TableName: tableName, Key: { [TableDesign.partitionKey]: id }, ConsistentRead: true })),
  );
  if (!item) throw new CliError(`no item ${id} in table ${tableName}`);
  // The outbox as the functions read it (a Set would print as {}).
  return withOutboxAsList(item);
}

export interface ListQuery {
  readonly statuses?: readonly ItemStatus[];
  readonly kind?: ItemKind;
  /** ISO instant; items whose last change is older are left out. */
  readonly since?: string;
  /** ISO instant; items whose last change is newer are left out (`images sync --older-than`). */
  readonly before?: string;
  readonly limit: number;
}

export interface ListResult {
  /** Newest change first. */
  readonly items: readonly Item[];
  /** `limit` was reached: more items may match. */
  readonly truncated: boolean;
}

/** Statuses to query when none is given: every status of the kind, or of both kinds. */
export function statusesOf(kind: ItemKind | undefined): ItemStatus[] {
  return kind ? [...STATUSES[kind]] : [...new Set<ItemStatus>([...STATUSES.image, ...STATUSES.video])];
}

/** `--kind`, checked (`images list`, `images sync`, `images create-pending`, `events tail`). */
export function kindFlag(kind: string | undefined): ItemKind | undefined {
  if (kind === undefined) return undefined;
  if (!Object.values(ItemKind).includes(kind as ItemKind)) throw new UsageError(`--kind is image or video, got '${kind}'`);
  return kind as ItemKind;
}

/** `--status` values, each one a status of the kind (of either kind when none is given). */
export function checkedStatuses(kind: ItemKind | undefined, statuses: readonly string[]): ItemStatus[] {
  const known = statusesOf(kind);
  const unknown = statuses.filter((status) => !known.includes(status as ItemStatus));
  if (unknown.length > 0) throw new UsageError(`no ${kind ?? 'item'} status '${unknown.join("', '")}'; one of ${known.join(', ')}`);
  return statuses as ItemStatus[];
}

/**
 * Queries the `byStatus` index once per status (never a Scan: the cost stays proportional to
 * what is shown, not to the size of the table) and merges the answers, newest first.
 */
export async function listItems(client: DynamoDBDocumentClient, tableName: string, query: ListQuery): Promise<ListResult> {
  const statuses = query.statuses ?? statusesOf(query.kind);
  const pages = await Promise.all(statuses.map((status) => queryStatus(client, tableName, status, query)));
  const items = pages
    .flatMap((page) => page.items)
    .sort((a, b) => String(b.updatedAt).localeCompare(String(a.updatedAt)));
  return { items: items.slice(0, query.limit), truncated: items.length > query.limit || pages.some((page) => page.more) };
}

export function listInput(tableName: string, status: ItemStatus, query: ListQuery): QueryCommandInput {
  const { byStatus } = TableDesign;
  const names: Record<string, string> = { '#status': byStatus.partitionKey };
  const values: Record<string, unknown> = { ':status': status };
  let condition = '#status = :status';
  if (query.since !== undefined || query.before !== undefined) names['#updatedAt'] = byStatus.sortKey;
  if (query.since !== undefined) values[':since'] = query.since;
  if (query.before !== undefined) values[':before'] = query.before;
  // A key condition takes one range test on the sort key: both bounds make it a BETWEEN.
  if (query.since !== undefined && query.before !== undefined) condition += ' AND #updatedAt BETWEEN :since AND :before';
  else if (query.since !== undefined) condition += ' AND #updatedAt >= :since';
  else if (query.before !== undefined) condition += ' AND #updatedAt <= :before';
  // Statuses are shared by kinds (both have `pending`), so the kind is a filter, not a key.
  if (query.kind !== undefined) {
    names['#kind'] = 'kind';
    values[':kind'] = query.kind;
  }
  return {
    TableName: tableName,
    IndexName: byStatus.indexName,
    KeyConditionExpression: condition,
    ...(query.kind !== undefined && { FilterExpression: '#kind = :kind' }),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ScanIndexForward: false,
    Limit: query.limit,
  };
}

async function queryStatus(client: DynamoDBDocumentClient, tableName: string, status: ItemStatus, query: ListQuery) {
  const input = listInput(tableName, status, query);
  const items: Item[] = [];
  let startKey: Record<string, unknown> | undefined;
  // A filter applies after Limit, so a page can come back short with more behind it.
  do {
    const page = await step(`query ${TableDesign.byStatus.indexName} of ${tableName}`, () =>
      client.send(new QueryCommand({ ...input, ...(startKey && { ExclusiveStartKey: startKey }) })),
    );
    items.push(...((page.Items ?? []) as Item[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey && items.length < query.limit);
  return { items: items.slice(0, query.limit), more: startKey !== undefined || items.length > query.limit };
}

/**
 * What the upload route writes before sending the user to Cloudflare: the item the receiver
 * records itself (`recordedItem`: `pending` at the lowest precedence, version 0), so every report
 * applies to it exactly as to an upload's. `updatedAt` puts it in `images list` straight away.
 */
export async function createPending(client: DynamoDBDocumentClient, tableName: string, id: string, kind: ItemKind, now: Date): Promise<Item> {
  const item: Item = { ...recordedItem(kind, id, now), recordedFrom: 'cli' };
  try {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#key)',
        ExpressionAttributeNames: { '#key': TableDesign.partitionKey },
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw failure(`create ${id} in ${tableName}`, error);
    const existing = await getItem(client, tableName, id);
    throw new CliError(`${id} already exists (${existing.kind ?? 'kind unknown'}, ${existing.status ?? 'no status'})`);
  }
  return item;
}

const LEADING = ['id', 'kind', 'status', 'statusAt', 'createdAt', 'updatedAt', 'version'];
const TRAILING = ['history', 'unpublished'];

/** The item with the fields a person looks for first on top, the bookkeeping last, the rest sorted. */
export function orderedItem(item: Item): Item {
  const rank = (key: string) => (LEADING.includes(key) ? LEADING.indexOf(key) - LEADING.length : TRAILING.includes(key) ? 1 + TRAILING.indexOf(key) : 0);
  const keys = Object.keys(item).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return Object.fromEntries(keys.map((key) => [key, item[key]])) as Item;
}

export function formatItems(result: ListResult): string {
  if (result.items.length === 0) return 'no items';
  const rows = result.items.map((item) => [
    String(item.updatedAt ?? ''),
    String(item.kind ?? ''),
    String(item.status ?? ''),
    item.id,
    errorText(item.lastError),
  ]);
  const more = result.truncated ? `\n(stopped at --limit; more items may match)` : '';
  return table(['UPDATED', 'KIND', 'STATUS', 'ID', 'LAST ERROR'], rows) + more;
}

export function formatHistory(item: Item): string {
  const history: readonly HistoryEntry[] = item.history ?? [];
  if (history.length === 0) return `${item.id} has no transitions yet (status ${item.status ?? 'unknown'})`;
  const rows = history.map((entry) => [entry.occurredAt, entry.recordedAt, transition(entry.from, entry.to), entry.eventId, errorText(entry.error)]);
  return table(['OCCURRED', 'RECORDED', 'TRANSITION', 'EVENT ID', 'ERROR'], rows);
}
