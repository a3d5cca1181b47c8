/**
 * `events redrive`: the stream batches the relay gave up on, sent through the relay again.
 *
 * When the relay's retries run out, Lambda sends an invocation record to the relay's dead-letter
 * queue: not the records themselves, but where they are in the table's stream
 * (docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html, "Example invocation record"):
 *
 *   { "requestContext": { "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1, … },
 *     "responseContext": { "statusCode": 200, "functionError": "Unhandled", … },
 *     "version": "1.0", "timestamp": "…",
 *     "DDBStreamBatchInfo": { "shardId", "startSequenceNumber", "endSequenceNumber",
 *       "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord", "batchSize", "streamArn" } }
 *
 * Each message's records are read back from the stream (GetShardIterator AT_SEQUENCE_NUMBER, then
 * GetRecords up to the end sequence number), filtered as the event source mapping filters them
 * (RELAY_FILTER), and handed to the relay's own code (`relay`, lambda/relay/relay.ts) in this
 * process, with the CLI's credentials. A message is deleted only once the relay settled every item
 * its records name. The stream keeps records 24 hours: records already gone cannot be relayed, and
 * their message is reported and kept, never dropped in silence.
 */
import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ResourceNotFoundException,
  TrimmedDataAccessException,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { Defaults, RELAY_FILTER } from '../lambda/core/contract.js';
import { isRecord } from '../lambda/core/values.js';
import { DEFAULT_RELAY_MAX_WAIT_MS } from '../lambda/relay/config.js';
import { relay, type RelayPorts } from '../lambda/relay/relay.js';
import { compileFilters, type FilterPattern } from '../local/filter-pattern.js';
import type { StreamFailureRecord } from '../local/stream-poller.js';
import { toLambdaRecord } from '../local/stream-records.js';
import { CliError, step } from './errors.js';
import { plural, positiveInteger } from './format.js';
import type { Command } from './index.js';
import { required, resolveTarget, type TargetFlags } from './target.js';
import { itemWriter } from './writer.js';


type BatchInfo = StreamFailureRecord['DDBStreamBatchInfo'];
/** Where the batch is in the stream: `DDBStreamBatchInfo` of Lambda's invocation record, of which redrive needs the place. */
export type StreamBatchInfo = Readonly<Pick<BatchInfo, 'shardId' | 'startSequenceNumber' | 'endSequenceNumber' | 'streamArn'> & Partial<BatchInfo>>;

/** The batch described by a dead-letter message body, or what is wrong with the body. */
export function readFailureRecord(body: string | undefined): StreamBatchInfo | { readonly problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(body ?? '');
  } catch {
    return { problem: 'not JSON' };
  }
  const info = isRecord(json) ? json.DDBStreamBatchInfo : undefined;
  if (!isRecord(info)) return { problem: 'not a DynamoDB stream on-failure record (no DDBStreamBatchInfo)' };
  const fields = ['shardId', 'startSequenceNumber', 'endSequenceNumber', 'streamArn'] as const;
  const missing = fields.filter((field) => typeof info[field] !== 'string' || info[field] === '');
  if (missing.length > 0) return { problem: `DDBStreamBatchInfo has no ${missing.join(', ')}` };
  if (!/^\d+$/.test(info.startSequenceNumber as string) || !/^\d+$/.test(info.endSequenceNumber as string)) return { problem: 'DDBStreamBatchInfo has sequence numbers that are not numbers' };
  return info as unknown as StreamBatchInfo;
}

export type BatchRecords =
  | { readonly found: true; readonly records: readonly DynamoDBRecord[] }
  /** The records cannot be read any more: why. */
  | { readonly found: false; readonly reason: string };

/** Pages read past the batch's start before giving up on finding its end (1,000 records a page at most). */
const MAX_PAGES = 100;
/** An open shard answers empty pages at its tip: this many in a row means the end is not there. */
const MAX_EMPTY_PAGES = 3;

/** The batch's records, start to end sequence number, read back from the stream. */
export async function readBatch(client: DynamoDBStreamsClient, batch: StreamBatchInfo): Promise<BatchRecords> {
  const end = BigInt(batch.endSequenceNumber);
  const records: DynamoDBRecord[] = [];
  try {
    let { ShardIterator: iterator } = await client.send(
      new GetShardIteratorCommand({ StreamArn: batch.streamArn, ShardId: batch.shardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: batch.startSequenceNumber }),
    );
    for (let pages = 0, empty = 0; iterator && pages < MAX_PAGES && empty < MAX_EMPTY_PAGES; pages++) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      for (const record of page.Records ?? []) {
        const sequence = BigInt(record.dynamodb?.SequenceNumber ?? '0');
        if (sequence > end) return { found: true, records };
        records.push(toLambdaRecord(record, batch.streamArn));
        if (sequence === end) return { found: true, records };
      }
      empty = (page.Records ?? []).length === 0 ? empty + 1 : 0;
      iterator = page.NextShardIterator;
    }
  } catch (error) {
    if (error instanceof TrimmedDataAccessException) return { found: false, reason: 'past the stream’s 24-hour retention' };
    if (error instanceof ResourceNotFoundException) return { found: false, reason: 'the stream or its shard no longer exists' };
    throw error;
  }
  const last = records.at(-1)?.dynamodb?.SequenceNumber;
  return { found: false, reason: `the shard ends${last ? ` at ${last}` : ''} before the batch's last record ${batch.endSequenceNumber}` };
}

const relayFilter = compileFilters([RELAY_FILTER as unknown as FilterPattern]);

/**
 * RELAY_FILTER (lambda/core/contract.ts), matched as Lambda matches it: the new image still holds an
 * outbox (a String Set) and no count of the relay's takeovers (its own writes, which never invoke it).
 */
export function passesRelayFilter(record: DynamoDBRecord): boolean {
  return relayFilter(record);
}

export const MessageStatus = {
  /** Every item its records name is settled: the message is deleted. */
  Settled: 'settled',
  /** The records are no longer in the stream: kept, and reported. */
  Gone: 'gone',
  /** The relay could not settle some item (its error is given): kept for another try. */
  Unsettled: 'unsettled',
  /** Not an invocation record of this table's stream: kept, untouched. */
  Foreign: 'foreign',
} as const;
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

export interface MessageOutcome {
  readonly messageId: string;
  readonly status: MessageStatus;
  readonly batch?: StreamBatchInfo;
  /** Records read back from the stream, and of those the ones the filter lets through to the relay. */
  readonly records: number;
  readonly relayed: number;
  readonly items: number;
  readonly published: number;
  readonly detail?: string;
}

export interface RedriveContext {
  readonly tableName: string;
  readonly streams: DynamoDBStreamsClient;
  readonly relay: RelayPorts;
}

async function redriveMessage(context: RedriveContext, message: Message): Promise<MessageOutcome> {
  const empty = { messageId: message.MessageId ?? '?', records: 0, relayed: 0, items: 0, published: 0 };
  const batch = readFailureRecord(message.Body);
  if ('problem' in batch) return { ...empty, status: MessageStatus.Foreign, detail: batch.problem };
  const table = /:table\/([^/]+)\/stream\//.exec(batch.streamArn)?.[1];
  if (table !== context.tableName) return { ...empty, batch, status: MessageStatus.Foreign, detail: `a record of table ${table ?? '?'}'s stream, not ${context.tableName}'s` };

  const read = await step(`read the stream ${batch.streamArn}`, () => readBatch(context.streams, batch));
  if (!read.found) return { ...empty, batch, status: MessageStatus.Gone, detail: `its records are no longer in the stream: ${read.reason}` };
  const relayed = read.records.filter(passesRelayFilter);
  const result = await relay(relayed, context.relay, { leaseMs: Defaults.publishLeaseMs, maxWaitMs: DEFAULT_RELAY_MAX_WAIT_MS, by: 'writer' });
  const counts = { records: read.records.length, relayed: relayed.length, items: result.items, published: result.republished };
  if (result.failures.length > 0) {
    return { ...empty, ...counts, batch, status: MessageStatus.Unsettled, detail: `${(result.firstError as Error | undefined)?.message ?? 'an item could not be settled'}` };
  }
  return { ...empty, ...counts, batch, status: MessageStatus.Settled };
}

function formatOutcome(outcome: MessageOutcome): string {
  const where = outcome.batch ? `${outcome.batch.shardId} ${outcome.batch.startSequenceNumber}…${outcome.batch.endSequenceNumber}` : `message ${outcome.messageId}`;
  const counts = `${plural(outcome.records, 'record')}, ${outcome.relayed} with an outbox, ${plural(outcome.items, 'item')}, ${plural(outcome.published, 'event')} published`;
  switch (outcome.status) {
    case MessageStatus.Settled:
      return `${where}: ${counts}; message deleted`;
    case MessageStatus.Unsettled:
      return `${where}: ${counts}; not settled (${outcome.detail}): kept in the queue`;
    default:
      return `${where}: ${outcome.detail}: kept in the queue`;
  }
}

// ---- The command --------------------------------------------------------------------------------

/** Long enough for one message's records to be relayed before another redrive could see it. */
const VISIBILITY_SECONDS = 300;


/** The command as `cli/index.ts` registers it (`lazy`). */
export const runEventsRedrive: Command['run'] = async ({ flags, io }) => {
  const max = positiveInteger('--max', flags.max as string | undefined, Number.MAX_SAFE_INTEGER);
  const found = await resolveTarget(flags as TargetFlags, { env: io.env });
  const queueUrl = (flags.queue as string | undefined) ?? required(found, 'relayDeadLetterQueueUrl');
  const tableName = required(found, 'tableName');
  const config = found.clientConfig;
  const sqs = new SQSClient(config);
  const streams = new DynamoDBStreamsClient(config);
  const writer = itemWriter(found, () => new Date());
  const context: RedriveContext = { tableName, streams, relay: writer };
  try {
    const outcomes = await drain(sqs, queueUrl, max, (message) => redriveMessage(context, message), (outcome) => {
      if (!flags.json) io.out(formatOutcome(outcome));
    });
    const summary = summarize(outcomes);
    io.out(flags.json ? JSON.stringify({ ...summary, messages: outcomes }, null, 2) : formatSummary(summary, queueUrl));
    if (summary.kept > 0) throw new CliError(`${plural(summary.kept, 'message')} kept in ${queueUrl}: see above`);
  } finally {
    for (const client of [sqs, streams]) client.destroy();
    writer.close();
  }
};

/**
 * Receives until the queue has nothing more to show, each message once, and deletes the settled ones.
 * The others stay hidden while it runs (so they are not taken twice) and are made visible again as
 * it ends, even when it ends on an error, so the next run can try them at once.
 */
async function drain(
  sqs: SQSClient,
  queueUrl: string,
  max: number,
  handle: (message: Message) => Promise<MessageOutcome>,
  onOutcome: (outcome: MessageOutcome) => void,
): Promise<MessageOutcome[]> {
  const held: Message[] = [];
  try {
    return await receiveAll(sqs, queueUrl, max, held, handle, onOutcome);
  } finally {
    for (const message of held) {
      // Best effort: a message left hidden comes back by itself once its visibility timeout ends.
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })).catch(() => {});
    }
  }
}

async function receiveAll(
  sqs: SQSClient,
  queueUrl: string,
  max: number,
  held: Message[],
  handle: (message: Message) => Promise<MessageOutcome>,
  onOutcome: (outcome: MessageOutcome) => void,
): Promise<MessageOutcome[]> {
  const outcomes: MessageOutcome[] = [];
  const seen = new Set<string>();
  while (outcomes.length < max) {
    const { Messages: messages = [] } = await step(`read ${queueUrl}`, () =>
      sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, max - outcomes.length),
          WaitTimeSeconds: 1,
          VisibilityTimeout: VISIBILITY_SECONDS,
        }),
      ),
    );
    const fresh = messages.filter((message) => !seen.has(message.MessageId!));
    if (fresh.length === 0) break;
    held.push(...fresh);
    for (const message of fresh) {
      seen.add(message.MessageId!);
      const outcome = await handle(message);
      if (outcome.status === MessageStatus.Settled) {
        await step(`delete message ${message.MessageId} from ${queueUrl}`, () => sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! })));
        held.splice(held.indexOf(message), 1);
      }
      outcomes.push(outcome);
      onOutcome(outcome);
    }
  }
  return outcomes;
}

interface Summary {
  readonly messages: number;
  readonly deleted: number;
  readonly kept: number;
  readonly items: number;
  readonly published: number;
}

function summarize(outcomes: readonly MessageOutcome[]): Summary {
  const deleted = outcomes.filter((o) => o.status === MessageStatus.Settled).length;
  return {
    messages: outcomes.length,
    deleted,
    kept: outcomes.length - deleted,
    items: outcomes.reduce((sum, o) => sum + o.items, 0),
    published: outcomes.reduce((sum, o) => sum + o.published, 0),
  };
}

function formatSummary(summary: Summary, queueUrl: string): string {
  if (summary.messages === 0) return `nothing to redrive: ${queueUrl} is empty`;
  return `redrove ${summary.deleted} of ${plural(summary.messages, 'message')}: ${plural(summary.items, 'item')} settled, ${plural(summary.published, 'event')} published${summary.kept > 0 ? `; ${summary.kept} kept in the queue` : ''}`;
}
