/**
 * Lambda's DynamoDB event source mapping, locally: reads the table's stream from the emulator
 * (moto's DynamoDB Streams API) and invokes a handler with the events, filters, retries,
 * bisection, partial batch responses and on-failure records Lambda would, so the real relay
 * bundle runs under `npm start` and in tests as it runs in AWS.
 *
 * What it does as Lambda documents it:
 * - polls the shard (four times a second by default), reads records in order and invokes one
 *   batch at a time; a batch goes out when it holds `batchSize` records, when the batching
 *   window since its first record has passed (at once without a window), or before it would
 *   pass Lambda's 6 MB synchronous payload limit;
 * - drops records that match none of the filters before batching; they never reach the
 *   function and are not failures (local/filter-pattern.ts);
 * - on a thrown error or rejected promise: with bisection, splits the batch in two and goes on
 *   with the halves, in order (a split does not use a retry); otherwise retries the batch;
 * - with ReportBatchItemFailures, a returned `batchItemFailures` checkpoints before the failed
 *   record with the lowest sequence number and retries from it; an empty or missing list is a
 *   success; an empty, missing or wrongly named `itemIdentifier` fails the whole batch;
 *   without ReportBatchItemFailures the response is ignored;
 * - when retries run out (`RetryAttemptsExhausted`) or records pass the maximum age
 *   (`RecordAgeExceeded`, checked before every invocation, retries included), the records are
 *   discarded and the documented invocation record (no records, only where they are) goes to
 *   the on-failure queue; processing goes on with the next records.
 * Sources: docs.aws.amazon.com/lambda/latest/dg/with-ddb.html (polling, #services-dynamodb-errors
 * with the invocation record, #services-ddb-batchfailurereporting), …/invocation-eventfiltering.html,
 * …/invocation-eventsourcemapping.html (batching window, payload limit).
 *
 * Where local mode differs from AWS:
 * - moto serves one shard per table that never closes, keeps every stream record in memory for
 *   the emulator's life (no 24-hour retention: TRIM_HORIZON reaches back to the table's
 *   creation) and keeps every shard iterator it hands out: each GetRecords adds one, about
 *   2.5 KB measured on moto 5.2.5, so polling four times a second grows the emulator by some
 *   35 MB an hour of `npm start` (a longer `pollIntervalMs` shrinks that in proportion). The
 *   poller reads exactly one shard and follows no shard lineage.
 * - `ApproximateCreationDateTime` is delivered as epoch seconds rounded down, as DynamoDB
 *   Streams does; the age checks use moto's milliseconds. `SizeBytes` is moto's overestimate.
 * - `maxRecordAgeSeconds` accepts values under AWS's 60 s minimum, so tests can reach it.
 * - A retry waits one poll interval; AWS does not document its retry delay. After a partial
 *   failure the retry holds exactly the remaining records, where AWS re-reads from the
 *   checkpoint and may add newer records up to the batch size.
 * - An `itemIdentifier` that is no sequence number of the batch fails the whole batch (AWS does
 *   not say); a whole-batch failure reported in `batchItemFailures` is retried, not bisected.
 * - The function timeout is not enforced: `getRemainingTimeInMillis` counts down from
 *   `timeoutMs` but an invocation runs until it settles. One invocation at a time (AWS's
 *   default, ParallelizationFactor 1); no tumbling windows, no on-success destination, SQS
 *   only for on-failure. Sending the on-failure record is retried until the queue takes it.
 * - A record discarded for its age before any invocation gets a fresh `requestId` and an empty
 *   `responseContext` in its invocation record (AWS documents only the invoked case).
 * - Read errors are reported and retried with the same iterator (moto's never expire; AWS's
 *   expire after 15 minutes).
 */
import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { localClientConfig } from './aws.js';
import { compileFilters, type FilterPattern } from './filter-pattern.js';
import { lambdaContext, localFunctionArn } from './context.js';
import { toLambdaRecord } from './stream-records.js';
import { isRecord } from '../lambda/core/values.js';

/** Whatever the function returns; Lambda reads `batchItemFailures` out of it. */
export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => unknown;

export interface StreamPollerOptions {
  /** The emulator; clients use local/aws.ts's settings. */
  endpoint: string;
  /** The stream to read, or the table whose `LatestStreamArn` to read. */
  streamArn?: string;
  tableName?: string;
  handler: StreamHandler;
  /** Patterns as given to CDK's `FilterCriteria.filter()`; a record matching any is delivered. */
  filters?: readonly FilterPattern[];
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** 100 by default, as for Lambda's DynamoDB mappings. */
  batchSize?: number;
  /** 0 (the default) invokes as soon as records are read. */
  maxBatchingWindowMs?: number;
  /** -1 (the default) retries until the records are too old. */
  retryAttempts?: number;
  /** -1 (the default) never discards records for their age. */
  maxRecordAgeSeconds?: number;
  bisectBatchOnFunctionError?: boolean;
  reportBatchItemFailures?: boolean;
  onFailure?: { queueUrl: string };
  /** 250 ms by default: Lambda polls a shard four times a second. */
  pollIntervalMs?: number;
  functionName?: string;
  /** What `getRemainingTimeInMillis` counts down from; not enforced. */
  timeoutMs?: number;
  /** Function errors, read errors and failed on-failure sends; console.error by default. */
  onError?: (error: unknown, source: 'function' | 'read' | 'on-failure') => void;
}

export interface StreamPollerStats {
  /** Handler calls, retries and halves included. */
  invocations: number;
  /** Records the function processed successfully, each counted once. */
  delivered: number;
  /** Records that matched no filter and were dropped without an invocation. */
  filteredOut: number;
  /** Invocations that threw or rejected. */
  functionErrors: number;
  /** Invocations whose `batchItemFailures` reported failed records. */
  partialFailures: number;
  retries: number;
  bisections: number;
  /** Records given up on (retries exhausted or too old), with or without an on-failure queue. */
  discarded: number;
  /** Invocation records sent to the on-failure queue. */
  sentToOnFailure: number;
}

export interface StreamPoller {
  streamArn: string;
  shardId: string;
  readonly stats: StreamPollerStats;
  /**
   * Resolves once every record written before the call has been delivered, filtered out or
   * discarded; rejects after `timeoutMs` (30 s by default) or when the poller stops.
   */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Stops polling, waits for an invocation in flight, and closes the clients. */
  stop(): Promise<void>;
}

/** The document Lambda sends to the on-failure destination of a DynamoDB stream mapping. */
export interface StreamFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    approximateInvokeCount: number;
  };
  responseContext: { statusCode?: number; executedVersion?: string; functionError?: string };
  version: '1.0';
  timestamp: string;
  DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/** Lambda's limit for a synchronous invocation's payload. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** The most GetRecords returns in one call. */
const MAX_RECORDS_PER_READ = 1000;

export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const settings = withDefaults(options);
  const config = localClientConfig(options.endpoint);
  const streams = new DynamoDBStreamsClient(config);
  const sqs = new SQSClient(config);
  try {
    const streamArn = options.streamArn ?? (await latestStreamArn(config, options.tableName));
    const shardId = await onlyShard(streams, streamArn);
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: settings.startingPosition }),
    );
    const poller = new ShardPoller(settings, { streams, sqs, streamArn, shardId, iterator: ShardIterator! });
    return poller.start();
  } catch (error) {
    streams.destroy();
    sqs.destroy();
    throw error;
  }
}

type Settings = Required<Omit<StreamPollerOptions, 'streamArn' | 'tableName' | 'onFailure' | 'filters'>> &
  Pick<StreamPollerOptions, 'onFailure'> & { matches: (record: unknown) => boolean; functionArn: string };

function withDefaults(options: StreamPollerOptions): Settings {
  if (!options.streamArn && !options.tableName) throw new Error('stream poller: give streamArn or tableName');
  const functionName = options.functionName ?? 'local-relay';
  const settings: Settings = {
    endpoint: options.endpoint,
    handler: options.handler,
    startingPosition: options.startingPosition,
    batchSize: options.batchSize ?? 100,
    maxBatchingWindowMs: options.maxBatchingWindowMs ?? 0,
    retryAttempts: options.retryAttempts ?? -1,
    maxRecordAgeSeconds: options.maxRecordAgeSeconds ?? -1,
    bisectBatchOnFunctionError: options.bisectBatchOnFunctionError ?? false,
    reportBatchItemFailures: options.reportBatchItemFailures ?? false,
    onFailure: options.onFailure,
    pollIntervalMs: options.pollIntervalMs ?? 250,
    functionName,
    functionArn: localFunctionArn(functionName),
    timeoutMs: options.timeoutMs ?? 30_000,
    onError: options.onError ?? ((error, source) => console.error(`stream-poller: ${source} failed:`, error)),
    matches: compileFilters(options.filters ?? []),
  };
  check(Number.isInteger(settings.batchSize) && settings.batchSize >= 1 && settings.batchSize <= 10_000, 'batchSize must be 1 to 10000');
  check(settings.maxBatchingWindowMs >= 0 && settings.maxBatchingWindowMs <= 300_000, 'maxBatchingWindowMs must be 0 to 300000');
  check(Number.isInteger(settings.retryAttempts) && settings.retryAttempts >= -1, 'retryAttempts must be -1 or more');
  check(settings.maxRecordAgeSeconds === -1 || settings.maxRecordAgeSeconds > 0, 'maxRecordAgeSeconds must be -1 or positive');
  check(settings.pollIntervalMs > 0, 'pollIntervalMs must be positive');
  return settings;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`stream poller: ${message}`);
}

async function latestStreamArn(config: ReturnType<typeof localClientConfig>, tableName: string | undefined): Promise<string> {
  const dynamodb = new DynamoDBClient(config);
  try {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    if (!Table?.LatestStreamArn) throw new Error(`stream poller: table ${tableName} has no stream (create it with a StreamSpecification)`);
    return Table.LatestStreamArn;
  } finally {
    dynamodb.destroy();
  }
}

async function onlyShard(streams: DynamoDBStreamsClient, streamArn: string): Promise<string> {
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const shards = StreamDescription?.Shards ?? [];
  if (StreamDescription?.StreamStatus !== 'ENABLED' || shards.length !== 1) {
    throw new Error(`stream poller: expected one shard of an enabled stream (moto's), got ${shards.length} (${StreamDescription?.StreamStatus})`);
  }
  return shards[0]!.ShardId!;
}

/** A record read from the stream, as Lambda will deliver it. */
interface Pending {
  record: DynamoDBRecord;
  sequenceNumber: string;
  created: Date;
  bytes: number;
}

/** A batch on its way through invocations, retries and halves. */
interface Attempt {
  records: Pending[];
  retries: number;
  invokes: number;
  last?: Outcome;
}

type Outcome = { requestId: string } & (
  | { kind: 'success' }
  /** Records before `from` succeeded; 0 when the response failed the whole batch. */
  | { kind: 'partial'; from: number }
  | { kind: 'error' }
);

interface Waiter {
  afterPoll: number;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface Connection {
  streams: DynamoDBStreamsClient;
  sqs: SQSClient;
  streamArn: string;
  shardId: string;
  iterator: string;
}

class ShardPoller {
  private running = true;
  private readonly reads = new AbortController();
  private buffer: Pending[] = [];
  private bufferSince = 0;
  private polls = 0;
  private ended = false;
  private waiters: Waiter[] = [];
  private wake: (() => void) | undefined;
  /** Whether the current pause is only the wait for the next poll, which caughtUp() may cut short. */
  private idle = false;
  private loop: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private readonly stats: StreamPollerStats = {
    invocations: 0,
    delivered: 0,
    filteredOut: 0,
    functionErrors: 0,
    partialFailures: 0,
    retries: 0,
    bisections: 0,
    discarded: 0,
    sentToOnFailure: 0,
  };

  constructor(
    private readonly settings: Settings,
    private readonly connection: Connection,
  ) {}

  start(): StreamPoller {
    this.loop = this.run();
    const { streamArn, shardId } = this.connection;
    const stats = this.stats;
    return {
      streamArn,
      shardId,
      get stats() {
        return { ...stats };
      },
      caughtUp: (timeoutMs = 30_000) => this.caughtUp(timeoutMs),
      stop: () => (this.stopping ??= this.stop()),
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.step();
      } catch (error) {
        if (!this.running) break;
        this.settings.onError(error, 'read');
        await this.sleep(this.settings.pollIntervalMs);
      }
    }
  }

  /**
   * One turn: read if the batch has room, invoke if it is due, otherwise wait a poll interval
   * (unless the read was full: then the shard has more to give at once).
   */
  private async step(): Promise<void> {
    let full = false;
    if (this.buffer.length < this.settings.batchSize && !this.ended) {
      const poll = ++this.polls;
      const read = await this.read();
      full = read === MAX_RECORDS_PER_READ;
      if (read === 0 && this.buffer.length === 0) this.settleWaiters(poll);
    } else if (this.ended && this.buffer.length === 0) {
      this.settleWaiters(Number.POSITIVE_INFINITY);
    }
    const due = this.dueInMs();
    if (due === 0) return this.deliver(this.takeBatch());
    // A caller of caughtUp() who arrived during this read still needs a read that starts after it:
    // with nothing buffered, make it now rather than after the poll interval.
    const owedRead = this.waiters.length > 0 && this.buffer.length === 0;
    if (!full && !owedRead) await this.sleep(Math.min(due, this.settings.pollIntervalMs), true);
  }

  /** 0 when a batch should go now; otherwise how long until the batching window closes. */
  private dueInMs(): number {
    if (this.buffer.length === 0) return Number.POSITIVE_INFINITY;
    if (this.buffer.length >= this.settings.batchSize || this.ended) return 0;
    return Math.max(0, this.bufferSince + this.settings.maxBatchingWindowMs - Date.now());
  }

  private async read(): Promise<number> {
    const { streams, streamArn } = this.connection;
    const { Records = [], NextShardIterator } = await streams.send(
      new GetRecordsCommand({ ShardIterator: this.connection.iterator, Limit: MAX_RECORDS_PER_READ }),
      { abortSignal: this.reads.signal },
    );
    if (NextShardIterator) {
      this.connection.iterator = NextShardIterator;
    } else {
      this.ended = true;
      this.settings.onError(new Error('the shard closed; this poller does not follow child shards'), 'read');
    }
    for (const raw of Records) {
      const record = toLambdaRecord(raw, streamArn);
      if (!this.settings.matches(record)) {
        this.stats.filteredOut++;
        continue;
      }
      if (this.buffer.length === 0) this.bufferSince = Date.now();
      this.buffer.push({
        record,
        sequenceNumber: raw.dynamodb!.SequenceNumber!,
        created: raw.dynamodb?.ApproximateCreationDateTime ?? new Date(),
        bytes: Buffer.byteLength(JSON.stringify(record)),
      });
    }
    return Records.length;
  }

  /** Up to the batch size, and never past the payload limit (but always at least one record). */
  private takeBatch(): Pending[] {
    let bytes = 0;
    let count = 0;
    while (count < Math.min(this.settings.batchSize, this.buffer.length)) {
      bytes += this.buffer[count]!.bytes;
      if (count > 0 && bytes > MAX_PAYLOAD_BYTES) break;
      count++;
    }
    const batch = this.buffer.splice(0, count);
    this.bufferSince = Date.now();
    return batch;
  }

  /** Works the batch through invocations until every record succeeded or was discarded. */
  private async deliver(batch: Pending[]): Promise<void> {
    const queue: Attempt[] = [{ records: batch, retries: 0, invokes: 0 }];
    while (queue.length > 0 && this.running) {
      const attempt = queue[0]!;
      const fresh = await this.discardExpired(attempt);
      if (fresh.length === 0) {
        queue.shift();
        continue;
      }
      attempt.records = fresh;
      const outcome = await this.invoke(fresh);
      attempt.invokes++;
      attempt.last = outcome;
      queue.splice(0, 1, ...(await this.next(attempt, outcome)));
    }
  }

  /** What follows an invocation: nothing, the two halves, or a retry. */
  private async next(attempt: Attempt, outcome: Outcome): Promise<Attempt[]> {
    const { records } = attempt;
    if (outcome.kind === 'success') {
      this.stats.delivered += records.length;
      return [];
    }
    if (outcome.kind === 'partial') {
      this.stats.partialFailures++;
      this.stats.delivered += outcome.from;
      return this.retryOrDiscard({ ...attempt, records: records.slice(outcome.from) });
    }
    this.stats.functionErrors++;
    if (this.settings.bisectBatchOnFunctionError && records.length > 1) {
      this.stats.bisections++;
      const middle = Math.ceil(records.length / 2);
      return [records.slice(0, middle), records.slice(middle)].map((half) => ({ records: half, retries: attempt.retries, invokes: 0 }));
    }
    return this.retryOrDiscard(attempt);
  }

  private async retryOrDiscard(attempt: Attempt): Promise<Attempt[]> {
    const { retryAttempts, pollIntervalMs } = this.settings;
    if (retryAttempts !== -1 && attempt.retries >= retryAttempts) {
      await this.discard(attempt, attempt.records, 'RetryAttemptsExhausted');
      return [];
    }
    this.stats.retries++;
    await this.sleep(pollIntervalMs);
    return [{ ...attempt, retries: attempt.retries + 1 }];
  }

  /** Discards the records past the maximum age (the oldest come first) and returns the rest. */
  private async discardExpired(attempt: Attempt): Promise<Pending[]> {
    const { maxRecordAgeSeconds } = this.settings;
    if (maxRecordAgeSeconds === -1) return attempt.records;
    const oldestAllowed = Date.now() - maxRecordAgeSeconds * 1000;
    const expired = attempt.records.filter((pending) => pending.created.getTime() < oldestAllowed);
    if (expired.length > 0) await this.discard(attempt, expired, 'RecordAgeExceeded');
    return attempt.records.filter((pending) => pending.created.getTime() >= oldestAllowed);
  }

  private async invoke(records: Pending[]): Promise<Outcome> {
    const requestId = randomUUID();
    // A copy per invocation, so a handler that edits its event cannot change what a retry sees.
    const event: DynamoDBStreamEvent = { Records: records.map((pending) => structuredClone(pending.record)) };
    this.stats.invocations++;
    try {
      const response = await this.settings.handler(event, this.context(requestId));
      return { requestId, ...this.readResponse(response, records) };
    } catch (error) {
      this.settings.onError(error, 'function');
      return { requestId, kind: 'error' };
    }
  }

  /** The documented reading of a partial batch response. */
  private readResponse(response: unknown, records: Pending[]): { kind: 'success' } | { kind: 'partial'; from: number } {
    if (!this.settings.reportBatchItemFailures || !isRecord(response)) return { kind: 'success' };
    const failures = response.batchItemFailures;
    if (failures === undefined || failures === null || (Array.isArray(failures) && failures.length === 0)) return { kind: 'success' };
    if (!Array.isArray(failures)) return { kind: 'partial', from: 0 };
    let from = records.length;
    for (const failure of failures) {
      const id = isRecord(failure) ? failure.itemIdentifier : undefined;
      const index = typeof id === 'string' && id !== '' ? records.findIndex((pending) => pending.sequenceNumber === id) : -1;
      if (index === -1) return { kind: 'partial', from: 0 };
      // The batch is in sequence order, so the lowest index is the lowest sequence number.
      from = Math.min(from, index);
    }
    return { kind: 'partial', from };
  }

  private async discard(attempt: Attempt, records: Pending[], condition: StreamFailureRecord['requestContext']['condition']) {
    this.stats.discarded += records.length;
    const { onFailure } = this.settings;
    if (!onFailure) return;
    const body = JSON.stringify(this.failureRecord(attempt, records, condition));
    while (this.running) {
      try {
        await this.connection.sqs.send(new SendMessageCommand({ QueueUrl: onFailure.queueUrl, MessageBody: body }));
        this.stats.sentToOnFailure++;
        return;
      } catch (error) {
        this.settings.onError(error, 'on-failure');
        await this.sleep(this.settings.pollIntervalMs);
      }
    }
  }

  private failureRecord(attempt: Attempt, records: Pending[], condition: StreamFailureRecord['requestContext']['condition']): StreamFailureRecord {
    const first = records[0]!;
    const last = records.at(-1)!;
    const { last: outcome } = attempt;
    return {
      requestContext: {
        requestId: outcome?.requestId ?? randomUUID(),
        functionArn: this.settings.functionArn,
        condition,
        approximateInvokeCount: attempt.invokes,
      },
      responseContext: outcome
        ? { statusCode: 200, executedVersion: '$LATEST', ...(outcome.kind === 'error' && { functionError: 'Unhandled' }) }
        : {},
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: this.connection.shardId,
        startSequenceNumber: first.sequenceNumber,
        endSequenceNumber: last.sequenceNumber,
        approximateArrivalOfFirstRecord: toSecondsIso(first.created),
        approximateArrivalOfLastRecord: toSecondsIso(last.created),
        batchSize: records.length,
        streamArn: this.connection.streamArn,
      },
    };
  }

  private context(requestId: string): Context {
    const { functionName, functionArn, timeoutMs } = this.settings;
    return lambdaContext(functionName, timeoutMs, { functionArn, requestId });
  }

  private caughtUp(timeoutMs: number): Promise<void> {
    if (!this.running) return Promise.reject(new Error('stream poller: stopped'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        afterPoll: this.polls,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((other) => other !== waiter);
          reject(new Error(`stream poller: not caught up after ${timeoutMs} ms; ${JSON.stringify(this.stats)}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
      // Poll now rather than after the interval: the answer needs a read that starts after this call.
      if (this.idle) this.wake?.();
    });
  }

  /** An empty read that began after a waiter arrived, with nothing left to deliver, settles it. */
  private settleWaiters(poll: number): void {
    const settled = this.waiters.filter((waiter) => waiter.afterPoll < poll);
    this.waiters = this.waiters.filter((waiter) => waiter.afterPoll >= poll);
    for (const waiter of settled) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
  }

  private async stop(): Promise<void> {
    this.running = false;
    this.reads.abort();
    this.wake?.();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('stream poller: stopped'));
    }
    this.waiters = [];
    await this.loop;
    this.connection.streams.destroy();
    this.connection.sqs.destroy();
  }

  /** A pause that stop() cuts short, and caughtUp() too when it only waits for the next poll. */
  private sleep(ms: number, idle = false): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.idle = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      this.idle = idle;
    });
  }
}

/** `2019-11-14T00:13:19Z`, the invocation record's arrival times. */
const toSecondsIso = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;
