import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEV_LOOP } from '../../cli/dev-loop.js';
import { CliError, UsageError } from '../../cli/errors.js';
import { formatEvent } from '../../cli/events.js';
import { parseSince, table } from '../../cli/format.js';
import { formatHistory, formatItems, listInput, statusesOf } from '../../cli/images.js';
import { Fault, formatAnswer, prepareDelivery, secretNeeded, STALE_SECONDS, type SendRequest } from '../../cli/send.js';
import { required, resolveTarget, StackOutput, targetFromOutputs } from '../../cli/target.js';
import { TableDesign } from '../../lambda/core/contract.js';
import { parseDelivery } from '../../lambda/webhook/parse.js';
import { RejectReason, verifyRequest, type SecretSet } from '../../lambda/webhook/verify.js';
import type { WebhookEvent } from '../../lib/events.js';
import { LOCAL_STATE_ENV, writeLocalState, type LocalState } from '../../local/state.js';
import { cli } from '../support/cli.js';
import type { Item } from '../../lambda/core/item.js';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const SECRETS: SecretSet = { images: ['images-secret'], stream: ['stream-secret'], toolkit: ['toolkit-secret'] };
const URLS = { images: 'http://receiver/webhooks/images', stream: 'http://receiver/webhooks/stream' };

/** What the receiver's own gate and parser make of a prepared delivery. */
function receive(request: SendRequest, secrets: SecretSet = SECRETS) {
  const prepared = prepareDelivery(request, URLS, secrets, NOW);
  const route = prepared.url === URLS.images ? 'images' : 'stream';
  const body = Buffer.from(prepared.body);
  const verdict = verifyRequest({ route, headers: prepared.headers, body, secrets, nowSeconds: NOW.getTime() / 1000, toleranceSeconds: 300 });
  return { prepared, verdict, delivery: verdict.ok ? parseDelivery(route, body, NOW) : undefined };
}

const at = new Date('2024-06-01T11:59:00.000Z');
const request = (overrides: Partial<SendRequest> & Pick<SendRequest, 'delivery'>): SendRequest => ({ id: 'img-1', at, fault: Fault.None, ...overrides });

describe('send: the deliveries it builds pass the receiver’s own gate and parser', () => {
  const cases = [
    [request({ delivery: 'image-uploaded' }), 'cf-webhook-auth', 'image', 'uploaded'],
    [request({ delivery: 'image-uploaded', format: 'seed' }), 'x-signature', 'image', 'uploaded'],
    [request({ delivery: 'image-failed' }), 'cf-webhook-auth', 'image', 'failed'],
    [request({ delivery: 'image-failed', format: 'seed' }), 'x-signature', 'image', 'failed'],
    [request({ delivery: 'video-ready', id: 'vid-1' }), 'webhook-signature', 'video', 'ready'],
    [request({ delivery: 'video-error', id: 'vid-1' }), 'webhook-signature', 'video', 'error'],
  ] as const;
  for (const [req, scheme, kind, status] of cases) {
    it(`${req.delivery}${req.format ? ` --format ${req.format}` : ''}: ${scheme}, ${kind} → ${status} at --at`, () => {
      const { verdict, delivery } = receive(req);
      assert.deepEqual(verdict, { ok: true, scheme });
      assert.equal(delivery?.type, 'observation');
      if (delivery?.type !== 'observation') return;
      assert.deepEqual([delivery.observation.kind, delivery.observation.id, delivery.observation.status], [kind, req.id, status]);
      assert.equal(delivery.observation.occurredAt, at.toISOString());
    });
  }

  it('ping is the dashboard test message, signed with cf-webhook-auth and needing no id', () => {
    const { verdict, delivery } = receive({ delivery: 'ping', at, fault: Fault.None });
    assert.deepEqual(verdict, { ok: true, scheme: 'cf-webhook-auth' });
    assert.deepEqual(delivery, { type: 'test' });
  });

  it('labels the request with the delivery, envelope, scheme and fault', () => {
    assert.equal(prepareDelivery(request({ delivery: 'image-uploaded' }), URLS, SECRETS, NOW).label, 'image-uploaded, Notifications envelope, cf-webhook-auth');
    assert.equal(prepareDelivery(request({ delivery: 'video-ready', fault: Fault.Stale }), URLS, SECRETS, NOW).label, 'video-ready, Webhook-Signature, stale');
    assert.equal(prepareDelivery(request({ delivery: 'ping', fault: Fault.Unsigned }), URLS, SECRETS, NOW).label, 'ping, unsigned');
  });
});

describe('send: the faults it injects are the ones the gate refuses', () => {
  it('--unsigned sends no signature header and needs no secret', () => {
    assert.equal(secretNeeded(request({ delivery: 'image-uploaded', fault: Fault.Unsigned })), undefined);
    const { verdict } = receive(request({ delivery: 'image-uploaded', fault: Fault.Unsigned }), { images: [], stream: [], toolkit: [] });
    assert.deepEqual(verdict, { ok: false, reason: RejectReason.Missing });
  });

  it('--tampered changes a signed body (X-Signature, Webhook-Signature) so its signature no longer matches', () => {
    for (const req of [request({ delivery: 'image-uploaded', format: 'seed', fault: Fault.Tampered }), request({ delivery: 'video-ready', fault: Fault.Tampered })]) {
      const { prepared, verdict } = receive(req);
      assert.equal(verdict.ok ? 'accepted' : verdict.reason, RejectReason.Invalid);
      assert.equal(JSON.parse(prepared.body).tampered, true);
    }
  });

  it('--tampered alters cf-webhook-auth itself, which carries the secret rather than a signature, and says so', () => {
    const { prepared, verdict } = receive(request({ delivery: 'image-uploaded', fault: Fault.Tampered }));
    assert.equal(verdict.ok ? 'accepted' : verdict.reason, RejectReason.Invalid);
    assert.notEqual(prepared.headers['cf-webhook-auth'], SECRETS.images[0]);
    assert.match(prepared.notes.join(), /not a signature of the body/);
  });

  it('--stale signs a Stream delivery a day ago, outside the tolerance', () => {
    const { prepared, verdict } = receive(request({ delivery: 'video-error', fault: Fault.Stale }));
    assert.equal(verdict.ok ? 'accepted' : verdict.reason, RejectReason.Stale);
    assert.match(prepared.headers['webhook-signature']!, new RegExp(`^time=${NOW.getTime() / 1000 - STALE_SECONDS},`));
  });

  it('refuses --stale for schemes without a timestamp instead of sending something meaningless', () => {
    assert.throws(() => receive(request({ delivery: 'image-uploaded', fault: Fault.Stale })), UsageError);
    assert.throws(() => receive(request({ delivery: 'image-failed', format: 'seed', fault: Fault.Stale })), /only Stream deliveries/);
  });
});

describe('send: what it refuses before sending', () => {
  it('needs --id for a status delivery, and says how to create one', () => {
    assert.throws(() => prepareDelivery({ delivery: 'image-uploaded', at, fault: Fault.None }, URLS, SECRETS, NOW), /images create-pending/);
  });

  it('takes --format for image deliveries only', () => {
    assert.throws(() => prepareDelivery(request({ delivery: 'video-ready', format: 'seed' }), URLS, SECRETS, NOW), UsageError);
  });

  it('names the missing secret and how to add it when the stack has none for the scheme', () => {
    const deployedDefault: SecretSet = { images: ['generated'], stream: [], toolkit: [] };
    assert.throws(() => receive(request({ delivery: 'video-ready' }), deployedDefault), (error: Error) => error instanceof CliError && /'stream'/.test(error.message) && /PUT \/accounts/.test(error.message));
    assert.throws(() => receive(request({ delivery: 'image-uploaded', format: 'seed' }), deployedDefault), /'toolkit'/);
    assert.equal(receive(request({ delivery: 'image-uploaded' }), deployedDefault).verdict.ok, true);
  });

  it('asks for the secret of the scheme it signs with', () => {
    assert.equal(secretNeeded(request({ delivery: 'image-uploaded' })), 'images');
    assert.equal(secretNeeded(request({ delivery: 'image-failed', format: 'seed' })), 'toolkit');
    assert.equal(secretNeeded(request({ delivery: 'video-error' })), 'stream');
  });

  it('prints the status and body, with a hint when the id is unknown to the receiver', () => {
    assert.equal(formatAnswer({ status: 200, body: '{"ok":true}' }), '200 {"ok":true}');
    assert.equal(
      formatAnswer({ status: 404, body: '{"error":"not found","reason":"no video with id v-9"}' }),
      '404 {"error":"not found","reason":"no video with id v-9"}\nhint: create it first: npm run cli -- images create-pending v-9 --kind video',
    );
  });
});

describe('output formatting', () => {
  it('aligns table columns without trailing blanks', () => {
    assert.equal(table(['A', 'LONGER', 'C'], [['xx', 'y', ''], ['x', 'yyyyyyy', 'z']]), 'A   LONGER   C\nxx  y\nx   yyyyyyy  z');
  });

  it('prints one line per event: time, detail-type, item, transition, event id, error', () => {
    const event: WebhookEvent = {
      version: '0',
      id: 'eb-id',
      'detail-type': 'Image Upload Failed',
      source: 'cloudflare-webhook',
      account: '123456789012',
      time: '2024-06-01T12:00:01Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        eventId: 'e'.repeat(32),
        id: 'img-1',
        kind: 'image',
        status: 'failed',
        previousStatus: 'pending',
        occurredAt: '2024-06-01T12:00:00.000Z',
        recordedAt: '2024-06-01T12:00:01.000Z',
        error: { message: 'Image processing failed' },
      },
    };
    assert.equal(formatEvent(event), `2024-06-01T12:00:01Z  Image Upload Failed  image img-1  pending → failed  ${'e'.repeat(32)}  error: Image processing failed`);
    assert.equal(
      formatEvent({ ...event, 'detail-type': 'Video Ready', detail: { ...event.detail, kind: 'video', status: 'ready', error: undefined } }),
      `2024-06-01T12:00:01Z  Video Ready          video img-1  pending → ready  ${'e'.repeat(32)}`,
    );
  });

  it('lists items newest first with their last error, and says when --limit cut the list', () => {
    const items: Item[] = [
      { id: 'a', kind: 'image', status: 'failed', updatedAt: '2024-06-01T12:00:02.000Z', lastError: { message: 'Image processing failed', at: 'x' } },
      { id: 'b', kind: 'video', status: 'error', updatedAt: '2024-06-01T12:00:01.000Z', lastError: { code: 'ERR_NON_VIDEO', message: 'not a video' } },
    ];
    assert.equal(
      formatItems({ items, truncated: true }),
      [
        'UPDATED                   KIND   STATUS  ID  LAST ERROR',
        '2024-06-01T12:00:02.000Z  image  failed  a   Image processing failed',
        '2024-06-01T12:00:01.000Z  video  error   b   ERR_NON_VIDEO: not a video',
        '(stopped at --limit; more items may match)',
      ].join('\n'),
    );
    assert.equal(formatItems({ items: [], truncated: false }), 'no items');
  });

  it('shows an item’s transitions, or that it has none yet', () => {
    const item: Item = {
      id: 'img-1',
      status: 'uploaded',
      history: [{ eventId: 'f'.repeat(32), from: 'pending', to: 'uploaded', occurredAt: '2024-06-01T12:00:00.000Z', recordedAt: '2024-06-01T12:00:01.000Z' }],
    };
    assert.equal(
      formatHistory(item),
      [
        'OCCURRED                  RECORDED                  TRANSITION          EVENT ID                          ERROR',
        `2024-06-01T12:00:00.000Z  2024-06-01T12:00:01.000Z  pending → uploaded  ${'f'.repeat(32)}`,
      ].join('\n'),
    );
    assert.equal(formatHistory({ id: 'img-2', status: 'pending' }), 'img-2 has no transitions yet (status pending)');
  });

  it('reads --since as a duration back from now or as an ISO time', () => {
    assert.equal(parseSince('1h', NOW), '2024-06-01T11:00:00.000Z');
    assert.equal(parseSince('90s', NOW), '2024-06-01T11:58:30.000Z');
    assert.equal(parseSince('7d', NOW), '2024-05-25T12:00:00.000Z');
    assert.equal(parseSince('2024-05-01T10:00:00+02:00', NOW), '2024-05-01T08:00:00.000Z');
    for (const bad of ['1w', 'yesterday', '-1h', '']) assert.throws(() => parseSince(bad, NOW), UsageError, bad);
  });
});

describe('images list: a query on the byStatus index, never a scan', () => {
  it('queries one status, newest change first, bounded by --since on the sort key', () => {
    const input = listInput('table', 'failed', { since: '2024-06-01T11:00:00.000Z', limit: 20 });
    assert.equal(input.IndexName, TableDesign.byStatus.indexName);
    assert.equal(input.KeyConditionExpression, '#status = :status AND #updatedAt >= :since');
    assert.deepEqual(input.ExpressionAttributeNames, { '#status': 'status', '#updatedAt': 'updatedAt' });
    assert.deepEqual(input.ExpressionAttributeValues, { ':status': 'failed', ':since': '2024-06-01T11:00:00.000Z' });
    assert.equal(input.ScanIndexForward, false);
    assert.equal(input.Limit, 20);
    assert.equal(input.FilterExpression, undefined);
  });

  it('filters by kind, since both kinds share statuses such as pending', () => {
    const input = listInput('table', 'pending', { kind: 'video', limit: 5 });
    assert.equal(input.KeyConditionExpression, '#status = :status');
    assert.equal(input.FilterExpression, '#kind = :kind');
    assert.equal(input.ExpressionAttributeValues?.[':kind'], 'video');
  });

  it('without --status queries every status of the kind', () => {
    assert.deepEqual(statusesOf('image'), ['pending', 'draft', 'uploaded', 'failed', 'expired']);
    assert.deepEqual(statusesOf('video'), ['pending', 'ready', 'error']);
    assert.deepEqual(statusesOf(undefined), ['pending', 'draft', 'uploaded', 'failed', 'expired', 'ready', 'error']);
  });
});

describe('finding the receiver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-target-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const state = (pid: number): LocalState => ({
    version: 1,
    pid,
    startedAt: NOW.toISOString(),
    endpoint: 'http://127.0.0.1:5000',
    imagesUrl: 'http://127.0.0.1:8787/webhooks/images',
    streamUrl: 'http://127.0.0.1:8787/webhooks/stream',
    tableName: 'local-table',
    eventBusName: 'local-bus',
    eventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/local-bus',
    secretId: 'local-secret',
    watchQueueUrl: 'http://127.0.0.1:5000/123456789012/watch',
  });
  const noState = { [LOCAL_STATE_ENV]: join(dir, 'absent.json') };
  const neverCalled = async () => assert.fail('DescribeStacks must not be called');

  it('uses the running local receiver by default, with the emulator’s endpoint and credentials', async () => {
    const path = join(dir, 'live.json');
    await writeLocalState(path, state(process.pid));
    const target = await resolveTarget({}, { env: { [LOCAL_STATE_ENV]: path }, describeStackOutputs: neverCalled });
    assert.equal(target.tableName, 'local-table');
    assert.equal(target.eventBusName, 'local-bus');
    assert.equal(target.imagesUrl, 'http://127.0.0.1:8787/webhooks/images');
    assert.equal(target.clientConfig.endpoint, 'http://127.0.0.1:5000');
    assert.ok(target.clientConfig.credentials, 'moto needs some credentials; the user has none set');
  });

  it('ignores a state file whose npm start is gone, and says so', async () => {
    const path = join(dir, 'dead.json');
    const { pid } = spawnSync(process.execPath, ['-e', '']);
    await writeLocalState(path, state(pid!));
    await assert.rejects(resolveTarget({}, { env: { [LOCAL_STATE_ENV]: path } }), /no longer running: start one with `npm start`/);
  });

  it('without a local receiver or any names, says how to get one', async () => {
    await assert.rejects(resolveTarget({}, { env: noState }), (error: Error) => error instanceof CliError && /npm start/.test(error.message) && /--stack/.test(error.message));
  });

  it('--stack reads the names from the stack’s outputs, with the default AWS credentials', async () => {
    const outputs = {
      [StackOutput.ImagesWebhookUrl]: 'https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/images',
      [StackOutput.StreamWebhookUrl]: 'https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/stream',
      [StackOutput.TableName]: 'Stack-Table',
      [StackOutput.EventBusName]: 'Stack-Bus',
      [StackOutput.SecretArn]: 'arn:aws:secretsmanager:eu-west-1:1:secret:s',
      EventBusArn: 'arn:aws:events:eu-west-1:1:event-bus/Stack-Bus',
    };
    const asked: unknown[] = [];
    const target = await resolveTarget(
      { stack: 'CloudflareWebhook', region: 'eu-west-1' },
      { env: noState, describeStackOutputs: async (...args) => (asked.push(args), outputs) },
    );
    assert.deepEqual(asked, [['CloudflareWebhook', { region: 'eu-west-1' }]]);
    assert.deepEqual(target.clientConfig, { region: 'eu-west-1' });
    assert.deepEqual(
      [target.imagesUrl, target.streamUrl, target.tableName, target.eventBusName, target.secretId],
      [outputs.ImagesWebhookUrl, outputs.StreamWebhookUrl, 'Stack-Table', 'Stack-Bus', outputs.SecretArn],
    );
  });

  it('explicit names override what was found, and alone need neither a stack nor npm start', async () => {
    const target = await resolveTarget({ table: 'T', url: 'https://api.example.com/' }, { env: noState, describeStackOutputs: neverCalled });
    assert.equal(target.tableName, 'T');
    assert.equal(target.imagesUrl, 'https://api.example.com/webhooks/images');
    assert.equal(target.streamUrl, 'https://api.example.com/webhooks/stream');
    assert.throws(() => required(target, 'eventBusName'), /no eventBusName from the names given: pass --bus/);
    const partial = targetFromOutputs({ TableName: 'only' });
    assert.deepEqual(partial, { imagesUrl: undefined, streamUrl: undefined, tableName: 'only', eventBusName: undefined, secretId: undefined });
  });

  it('refuses --local together with --stack', async () => {
    await assert.rejects(resolveTarget({ local: true, stack: 'S' }), UsageError);
  });
});

describe('the command line', () => {
  const run = (...argv: string[]) => cli(argv, { env: { [LOCAL_STATE_ENV]: '/nonexistent/local.json' } });

  it('accepts every command npm start suggests', async () => {
    for (const [command] of DEV_LOOP) {
      const { code, err } = await run(...command.split(' '), '--help');
      assert.equal(code, 0, `${command}: ${err}`);
    }
  });

  it('exits 2 with a one-line reason for a wrong invocation', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['images'], /images needs one of: get, list, history, create-pending/],
      [['images', 'get'], /images get takes <id>, got none/],
      [['send', 'image-uploaded', '--colour', 'red'], /Unknown option '--colour'/],
      [['send', 'image-done', '--id', 'x'], /unknown delivery 'image-done'/],
      [['send', 'video-ready', '--id', 'x', '--stale', '--unsigned'], /--stale and --unsigned exclude each other/],
      [['images', 'list', '--status', 'done'], /no item status 'done'/],
      [['images', 'list', '--kind', 'video', '--status', 'uploaded'], /no video status 'uploaded'/],
      [['images', 'list', '--limit', '0'], /--limit takes a positive whole number/],
      [['events', 'tail', '--detail-type', 'Image Uploded'], /--detail-type: no event has 'Image Uploded'/],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await run(...argv);
      assert.equal(code, 2, argv.join(' '));
      assert.match(err, message);
    }
  });

  it('exits 1 when there is no receiver to talk to', async () => {
    const { code, err } = await run('images', 'get', 'img-1');
    assert.equal(code, 1);
    assert.match(err, /^error: no local receiver is running/);
  });

  it('prints its usage for --help, naming every command', async () => {
    const { code, out } = await run('--help');
    assert.equal(code, 0);
    for (const command of ['send', 'images get', 'images list', 'images history', 'images create-pending', 'events tail', '--stack']) {
      assert.ok(out.includes(command), command);
    }
  });
});
