import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DynamoDBStreamsClient, TrimmedDataAccessException } from '@aws-sdk/client-dynamodb-streams';
import { passesRelayFilter, readBatch, readFailureRecord } from '../../cli/redrive.js';
import { formatProgress } from '../../cli/replay.js';
import { couldMatch } from '../../cli/rule-match.js';
import { formatSyncResults } from '../../cli/sync.js';
import { listInput } from '../../cli/images.js';
import { resolveTarget, targetFromOutputs } from '../../cli/target.js';
import { DetailType, EVENT_SOURCE, eventBridgePattern } from '../../lib/events.js';
import { LOCAL_STATE_ENV, writeLocalState } from '../../local/state.js';
import { cli } from '../support/cli.js';

// The parts of `images sync`, `events replay` and `events redrive` that need no AWS: flags, the rule
// selection of a replay, the dead-letter record, and what each prints.

const NOW = new Date('2024-06-01T12:00:00.000Z');
const noState = { [LOCAL_STATE_ENV]: '/nonexistent/local.json' };
const run = (...argv: string[]) => cli(argv, { env: noState, now: () => NOW });

describe('eventBridgePattern names the options as its caller does', () => {
  it('uses the caller’s names in every message, the can-never-match one included', () => {
    const names = { detailTypes: '--detail-type', kinds: '--kind' };
    assert.throws(() => eventBridgePattern({ detailTypes: [DetailType.VideoReady], kinds: ['image'] }, names), {
      message: "--detail-type 'Video Ready' with --kind 'image' can never match: no event has that detail-type, kind and status",
    });
    // @ts-expect-error a misspelled detail-type, as a JavaScript caller or a command line gives it
    assert.throws(() => eventBridgePattern({ detailTypes: ['Image Uploded'] }, names), /^Error: --detail-type: no event has 'Image Uploded'/);
    assert.throws(() => eventBridgePattern({ kinds: [] }, names), { message: '--kind: empty; leave it out to match any' });
  });

  it('keeps naming eventPattern’s own options by default', () => {
    assert.throws(() => eventBridgePattern({ kinds: ['video'], statuses: ['uploaded'] }), {
      message: "eventPattern kinds 'video' with eventPattern statuses 'uploaded' can never match: no event has that detail-type, kind and status",
    });
  });

  it('events tail says --detail-type and --kind, never eventPattern', async () => {
    const { code, err } = await run('events', 'tail', '--detail-type', 'Video Ready', '--kind', 'image');
    assert.equal(code, 2);
    assert.match(err, /^error: --detail-type 'Video Ready' with --kind 'image' can never match/);
    assert.doesNotMatch(err, /eventPattern/);
  });
});

describe('the new commands refuse wrong invocations before touching AWS', () => {
  it('exits 2 with a one-line reason', async () => {
    const cases: [string[], RegExp][] = [
      [['images', 'sync'], /images sync needs an <id> or --status/],
      [['images', 'sync', 'a', 'b'], /images sync takes \[<id>\], got a b/],
      [['images', 'sync', 'img-1', '--status', 'pending'], /an <id> or a selection .*, not both/],
      [['images', 'sync', '--status', 'done'], /no item status 'done'/],
      [['images', 'sync', '--status', 'uploaded', '--kind', 'video'], /no video status 'uploaded'/],
      [['images', 'sync', '--status', 'pending', '--older-than', 'yesterday'], /--older-than takes a duration/],
      [['images', 'sync', '--status', 'pending', '--limit', '0'], /--limit takes a positive whole number/],
      [['images', 'sync', 'img-1', '--read-token', 'x'], /Unknown option '--read-token'/],
      [['events', 'replay'], /events replay needs --since/],
      [['events', 'replay', '--since', '1h', '--until', '2999-01-01T00:00:00Z'], /--until .* is in the future/],
      [['events', 'replay', '--since', '10m', '--until', '1h'], /--since 10m is not before --until/],
      [['events', 'replay', '--since', '1h', '--detail-type', 'Image Uploded'], /--detail-type: no event has 'Image Uploded'/],
      [['events', 'redrive', '--max', '0'], /--max takes a positive whole number/],
      [['events'], /events needs one of: replay, redrive, tail/],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await run(...argv);
      assert.equal(code, 2, `${argv.join(' ')}: ${err}`);
      assert.match(err, message, argv.join(' '));
    }
  });

  it('a read token comes from the environment with --account-id, never from a flag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-truth-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'local.json');
    await writeLocalState(path, {
      version: 1,
      pid: process.pid,
      startedAt: NOW.toISOString(),
      endpoint: 'http://127.0.0.1:1',
      imagesUrl: 'http://127.0.0.1:2/webhooks/images',
      streamUrl: 'http://127.0.0.1:2/webhooks/stream',
      tableName: 'T',
      eventBusName: 'B',
      eventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/B',
      secretId: 'S',
      watchQueueUrl: 'http://127.0.0.1:1/q',
    });
    const env = { [LOCAL_STATE_ENV]: path, CLOUDFLARE_READ_API_TOKEN: 'a-token' };
    const withoutAccount = await cli(['images', 'sync', 'img-1'], { env });
    assert.deepEqual([withoutAccount.code, withoutAccount.err.split('\n')[0]], [2, 'error: $CLOUDFLARE_READ_API_TOKEN needs --account-id (or $CLOUDFLARE_ACCOUNT_ID)']);
    const noToken = await cli(['images', 'sync', 'img-1'], { env: { [LOCAL_STATE_ENV]: path } });
    assert.equal(noToken.code, 1);
    assert.match(noToken.err, /^error: no Cloudflare read token from the local receiver .*: pass --read-secret ID, or set \$CLOUDFLARE_READ_API_TOKEN and --account-id/);
    const accountWithSecret = await cli(['images', 'sync', 'img-1', '--read-secret', 'X', '--account-id', 'A'], { env: { [LOCAL_STATE_ENV]: path } });
    assert.match(accountWithSecret.err, /--account-id goes with \$CLOUDFLARE_READ_API_TOKEN/);
  });
});

describe('where the new names come from', () => {
  it('a stack’s optional outputs, when it has them', () => {
    const outputs = {
      TableName: 'T',
      CloudflareReadSecretArn: 'arn:read',
      EventArchiveArn: 'arn:aws:events:us-east-1:123456789012:archive/A',
      RelayDeadLetterQueueUrl: 'https://sqs/dlq',
    };
    const found = targetFromOutputs(outputs);
    assert.deepEqual([found.readSecretId, found.eventArchiveArn, found.relayDeadLetterQueueUrl], [outputs.CloudflareReadSecretArn, outputs.EventArchiveArn, outputs.RelayDeadLetterQueueUrl]);
    assert.ok(!('readSecretId' in targetFromOutputs({ TableName: 'T' })));
  });

  it('the local state file, fields written by newer `npm start`s included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-truth-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'local.json');
    const extra = {
      readSecretId: 'local/cloudflare-read',
      eventArchiveArn: 'arn:aws:events:us-east-1:123456789012:archive/local',
      relayDeadLetterQueueUrl: 'http://127.0.0.1:1/123456789012/dlq',
      cloudflareBaseUrl: 'http://127.0.0.1:3/client/v4',
    };
    const base = {
      version: 1 as const,
      pid: process.pid,
      startedAt: NOW.toISOString(),
      endpoint: 'http://127.0.0.1:1',
      imagesUrl: 'i',
      streamUrl: 's',
      tableName: 'T',
      eventBusName: 'B',
      eventBusArn: 'arn:b',
      secretId: 'S',
      watchQueueUrl: 'q',
    };
    await writeLocalState(path, { ...base, ...extra });
    const found = await resolveTarget({}, { env: { [LOCAL_STATE_ENV]: path } });
    assert.deepEqual(
      [found.readSecretId, found.eventArchiveArn, found.relayDeadLetterQueueUrl, found.cloudflareBaseUrl],
      [extra.readSecretId, extra.eventArchiveArn, extra.relayDeadLetterQueueUrl, extra.cloudflareBaseUrl],
    );
    await writeLocalState(path, base);
    const older = await resolveTarget({}, { env: { [LOCAL_STATE_ENV]: path } });
    assert.equal(older.eventArchiveArn, undefined);
    const replay = await cli(['events', 'replay', '--since', '1h'], { env: { [LOCAL_STATE_ENV]: path } });
    assert.deepEqual([replay.code, replay.err.split('\n').at(-1)], [1, 'error: no eventArchiveArn from the local receiver (npm start, pid ' + process.pid + '): pass --archive ARN (the stack has none with archiveRetentionDays 0)']);
    const redrive = await cli(['events', 'redrive'], { env: { [LOCAL_STATE_ENV]: path } });
    assert.match(redrive.err, /no relayDeadLetterQueueUrl from the local receiver .*: pass --queue URL$/);
  });
});

describe('images sync --older-than queries the byStatus index below a bound', () => {
  it('puts the bound in the key condition, alone or with --since', () => {
    const before = listInput('table', 'pending', { before: '2024-06-01T11:00:00.000Z', limit: 10 });
    assert.equal(before.IndexName, 'byStatus');
    assert.equal(before.KeyConditionExpression, '#status = :status AND #updatedAt <= :before');
    assert.equal(before.ExpressionAttributeValues?.[':before'], '2024-06-01T11:00:00.000Z');
    const both = listInput('table', 'pending', { since: '2024-06-01T10:00:00.000Z', before: '2024-06-01T11:00:00.000Z', limit: 10 });
    assert.equal(both.KeyConditionExpression, '#status = :status AND #updatedAt BETWEEN :since AND :before');
  });
});

describe('events replay --detail-type: which rules can match', () => {
  const image = DetailType.ImageUploaded;
  const cases: [string, unknown, boolean][] = [
    ['a catch-all on the source', { source: [EVENT_SOURCE] }, true],
    ['that detail-type', { 'detail-type': [image] }, true],
    ['another detail-type', { 'detail-type': [DetailType.ImageUploadFailed] }, false],
    ['another source', { source: ['aws.s3'] }, false],
    ['a prefix of it', { 'detail-type': [{ prefix: 'Image' }] }, true],
    ['a prefix of another', { 'detail-type': [{ prefix: 'Video' }] }, false],
    ['a case-folded prefix', { 'detail-type': [{ prefix: { 'equals-ignore-case': 'image up' } }] }, true],
    ['a suffix', { 'detail-type': [{ suffix: 'Uploaded' }] }, true],
    ['equals-ignore-case', { 'detail-type': [{ 'equals-ignore-case': 'image uploaded' }] }, true],
    ['a wildcard', { 'detail-type': [{ wildcard: 'Image *ed' }] }, true],
    ['anything but it', { 'detail-type': [{ 'anything-but': [image] }] }, false],
    ['anything but another', { 'detail-type': [{ 'anything-but': 'Video Ready' }] }, true],
    ['its status', { detail: { status: ['uploaded'] } }, true],
    ['a status it never has', { detail: { status: ['failed'] } }, false],
    ['its kind, with a field we cannot know', { detail: { kind: ['image'], id: [{ prefix: 'avatars/' }] } }, true],
    ['another kind', { detail: { kind: ['video'] } }, false],
    ['only live events (the archive’s own rule)', { source: [EVENT_SOURCE], 'replay-name': [{ exists: false }] }, false],
    ['only replayed events', { 'replay-name': [{ exists: true }] }, true],
    ['$or with one branch that fits', { $or: [{ 'detail-type': ['Video Ready'] }, { detail: { status: ['uploaded'] } }] }, true],
    ['$or with none', { $or: [{ 'detail-type': ['Video Ready'] }, { detail: { status: ['failed'] } }] }, false],
    ['a numeric test on a text field', { 'detail-type': [{ numeric: ['>', 0] }] }, false],
    ['an operator this code does not know', { 'detail-type': [{ 'some-future-operator': 1 }] }, true],
  ];
  for (const [what, pattern, expected] of cases) {
    it(`${expected ? 'includes' : 'leaves out'} a rule on ${what}`, () => assert.equal(couldMatch(pattern, image), expected));
  }
});

describe('events redrive: Lambda’s on-failure record and the stream', () => {
  // The example of docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html.
  const documented = {
    requestContext: { requestId: '316aa6d0-8154-xmpl-9af7-85d5f4a6bc81', functionArn: 'arn:aws:lambda:us-east-2:123456789012:function:myfunction', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 1 },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: '2019-11-14T00:13:49.717Z',
    DDBStreamBatchInfo: {
      shardId: 'shardId-00000001573689847184-864758bb',
      startSequenceNumber: '800000000003126276362',
      endSequenceNumber: '800000000003126276362',
      approximateArrivalOfFirstRecord: '2019-11-14T00:13:19Z',
      approximateArrivalOfLastRecord: '2019-11-14T00:13:19Z',
      batchSize: 1,
      streamArn: 'arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388',
    },
  };

  it('reads the documented invocation record, and says what is wrong with anything else', () => {
    assert.deepEqual(readFailureRecord(JSON.stringify(documented)), documented.DDBStreamBatchInfo);
    assert.deepEqual(readFailureRecord('{'), { problem: 'not JSON' });
    assert.deepEqual(readFailureRecord(JSON.stringify({ Records: [] })), { problem: 'not a DynamoDB stream on-failure record (no DDBStreamBatchInfo)' });
    const { streamArn: _, ...noArn } = documented.DDBStreamBatchInfo;
    assert.deepEqual(readFailureRecord(JSON.stringify({ DDBStreamBatchInfo: noArn })), { problem: 'DDBStreamBatchInfo has no streamArn' });
  });

  it('reports records past the stream’s retention instead of relaying nothing in silence', async () => {
    // The one fault moto cannot produce: its streams never trim.
    const client = {
      send: async () => {
        throw new TrimmedDataAccessException({ message: 'trimmed', $metadata: {} });
      },
    } as unknown as DynamoDBStreamsClient;
    assert.deepEqual(await readBatch(client, documented.DDBStreamBatchInfo), { found: false, reason: 'past the stream’s 24-hour retention' });
  });

  it('lets through what the relay’s filter lets through: records whose new image has an outbox, unless the relay wrote it', () => {
    assert.equal(passesRelayFilter({ dynamodb: { NewImage: { id: { S: 'a' }, unpublished: { SS: ['e1'] } } } }), true);
    assert.equal(passesRelayFilter({ dynamodb: { NewImage: { id: { S: 'a' }, unpublished: { SS: ['e1'] }, relayAttempts: { N: '2' } } } }), false);
    assert.equal(passesRelayFilter({ dynamodb: { NewImage: { id: { S: 'a' } }, OldImage: { unpublished: { SS: ['e1'] } } } }), false);
    assert.equal(passesRelayFilter({ eventName: 'REMOVE', dynamodb: { OldImage: { id: { S: 'a' } } } }), false);
  });
});

describe('what the commands print', () => {
  it('sync: one row per item, before → after, what Cloudflare said and what was published', () => {
    const text = formatSyncResults([
      { id: 'img-1', kind: 'image', before: 'pending', after: 'uploaded', outcome: 'transitioned', cloudflare: 'uploaded 2024-06-01T11:59:00.000Z', published: [{ detailType: DetailType.ImageUploaded, eventId: 'e1' }] },
      { id: 'vid-1', kind: 'video', before: 'pending', after: 'pending', outcome: 'waiting', cloudflare: 'still processing (inprogress)', published: [] },
    ]);
    assert.deepEqual(text.split('\n'), [
      'ID     KIND   STATUS               OUTCOME       CLOUDFLARE SAYS                    PUBLISHED',
      'img-1  image  pending → uploaded   transitioned  uploaded 2024-06-01T11:59:00.000Z  Image Uploaded e1',
      'vid-1  video  pending (unchanged)  waiting       still processing (inprogress)',
    ]);
  });

  it('replay: the state and how far it got', () => {
    assert.equal(formatProgress({ state: 'RUNNING', lastReplayed: NOW }), 'RUNNING    last event replayed: 2024-06-01T12:00:00.000Z');
    assert.equal(formatProgress({ state: 'FAILED', reason: 'the archive was deleted' }), 'FAILED     the archive was deleted');
  });
});
