import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UploadDefaults } from '../../lambda/core/contract.js';
import { FetchCloudflare, type DirectUploadClient } from '../../lambda/adapters/cloudflare.js';
import { ApiFailure, CloudflareApiError, readApiSecret } from '../../lambda/core/cloudflare.js';
import { errorResponse } from '../../lambda/core/http.js';
import { readUploadsConfig } from '../../lambda/uploads/config.js';
import { createUpload, pendingItem } from '../../lambda/uploads/create.js';
import { CloudflareUploadError, UploadConflictError, UploadForbiddenError, UploadRequestError } from '../../lambda/uploads/errors.js';
import { directUploadFields, parseUploadRequest, TRIP_MARGIN_SECONDS, type Caller } from '../../lambda/uploads/request.js';
import type { Item } from '../../lambda/core/item.js';

const now = new Date('2024-01-01T12:00:00.400Z');
const nowWhole = Date.parse('2024-01-01T12:00:00.000Z');
const limits = { defaultExpirySeconds: UploadDefaults.expirySeconds };
const iam: Caller = { type: 'iam', arn: 'arn:aws:iam::123456789012:role/backend' };
const parse = (body: unknown, caller: Caller = iam) => parseUploadRequest(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), caller, now, limits);
const secondsAhead = (iso: string) => (Date.parse(iso) - nowWhole) / 1000;

function rejects(body: unknown, field: string | undefined, message: RegExp, caller: Caller = iam): void {
  assert.throws(() => parse(body, caller), (error: unknown) => {
    assert.ok(error instanceof UploadRequestError, `expected UploadRequestError, got ${(error as Error).name}`);
    assert.equal(error.field, field);
    assert.match(error.message, message);
    return true;
  });
}

describe('what POST /uploads accepts', () => {
  it('needs no body: Cloudflare chooses the id, the window is Cloudflare’s default 30 minutes, URLs unsigned', () => {
    for (const body of [undefined, '', '{}']) {
      const request = parse(body);
      assert.equal(secondsAhead(request.expiresAt), 1800);
      const { expiresAt: _, ...rest } = request;
      assert.deepEqual(rest, { requireSignedURLs: false, requestedBy: 'arn:aws:iam::123456789012:role/backend' });
    }
  });

  it('keeps the window inside Cloudflare’s 2 minutes to 6 hours, padding the shortest for the trip', () => {
    assert.equal(secondsAhead(parse({ expiresInSeconds: 120 }).expiresAt), 120 + TRIP_MARGIN_SECONDS);
    assert.equal(secondsAhead(parse({ expiresInSeconds: 600 }).expiresAt), 600);
    assert.equal(secondsAhead(parse({ expiresInSeconds: 21600 }).expiresAt), 21600);
    rejects({ expiresInSeconds: 119 }, 'expiresInSeconds', /between 120 s and 21600 s/);
    rejects({ expiresInSeconds: 21601 }, 'expiresInSeconds', /between 120 s and 21600 s/);
    rejects({ expiresInSeconds: 90.5 }, 'expiresInSeconds', /an integer/);
    assert.equal(parse({ expiry: '2024-01-01T13:00:00Z' }).expiresAt, '2024-01-01T13:00:00.000Z');
    assert.equal(parse({ expiry: '2024-01-01T14:00:00+01:00' }).expiresAt, '2024-01-01T13:00:00.000Z');
    rejects({ expiry: '2024-01-01T12:01:00Z' }, 'expiry', /between/);
    rejects({ expiry: '2024-01-01T18:00:01Z' }, 'expiry', /between/);
    rejects({ expiry: 'tomorrow' }, 'expiry', /RFC 3339/);
    rejects({ expiry: '2024-01-01T13:00:00Z', expiresInSeconds: 600 }, 'expiry', /not both/);
  });

  it('checks a custom id against Cloudflare’s documented rules before calling it', () => {
    assert.equal(parse({ id: 'users/42/avatar' }).id, 'users/42/avatar');
    rejects({ id: '/leading' }, 'id', /start or end with \//);
    rejects({ id: 'trailing/' }, 'id', /start or end with \//);
    rejects({ id: '2cdc28f0-017a-49c4-9ed7-87056c839011' }, 'id', /UUID/);
    rejects({ id: 'x'.repeat(1025) }, 'id', /1 to 1024/);
    rejects({ id: '' }, 'id', /1 to 1024/);
    rejects({ id: 'a\nb' }, 'id', /control characters/);
    rejects({ id: 'photo', requireSignedURLs: true }, 'id', /requireSignedURLs/);
  });

  it('takes metadata as an object and refuses unknown fields, wrong types and non-objects', () => {
    assert.deepEqual(parse({ metadata: { album: 'x', n: 1 } }).metadata, { album: 'x', n: 1 });
    rejects({ metadata: 'x' }, 'metadata', /JSON object/);
    rejects({ metadata: [1] }, 'metadata', /JSON object/);
    rejects({ requireSignedUrls: true }, 'requireSignedUrls', /unknown field requireSignedUrls/);
    rejects({ requireSignedURLs: 'yes' }, 'requireSignedURLs', /a boolean/);
    rejects('{"id":', undefined, /not valid JSON/);
    rejects('[1]', undefined, /JSON object/);
  });

  it('records the JWT subject as the creator and refuses a creator in the body from a browser', () => {
    const jwt: Caller = { type: 'jwt', subject: 'user-7' };
    assert.equal(parse({}, jwt).creator, 'user-7');
    assert.equal(parse({}, jwt).requestedBy, undefined);
    rejects({ creator: 'someone-else' }, 'creator', /taken from your token/, jwt);
    assert.throws(() => parse({}, { type: 'jwt' }), UploadForbiddenError);
  });

  it('lets an IAM caller (the backend) name the creator itself', () => {
    assert.equal(parse({ creator: 'user-9' }).creator, 'user-9');
    assert.equal(parse({}).creator, undefined);
    rejects({ creator: '' }, 'creator', /printable/);
  });

  it('sends Cloudflare the documented multipart fields, every value a string', () => {
    assert.deepEqual(directUploadFields(parse({ id: 'a/b', metadata: { k: 'v' }, creator: 'c', expiresInSeconds: 600 })), {
      requireSignedURLs: 'false',
      expiry: '2024-01-01T12:10:00.000Z',
      metadata: '{"k":"v"}',
      id: 'a/b',
      creator: 'c',
    });
    assert.deepEqual(Object.keys(directUploadFields(parse({ requireSignedURLs: true }))), ['requireSignedURLs', 'expiry']);
  });
});

describe('Cloudflare’s answer to direct_upload, and what the route answers', () => {
  const envelope = (result: unknown, success = true, errors: unknown[] = []) => JSON.stringify({ success, errors, messages: [], result });
  const token = { reading: async () => ({ ok: true as const, credentials: { accountId: 'a', apiToken: 't' } }), invalidate: () => {} };
  /** The real adapter, with Cloudflare's answer given instead of fetched. */
  const client = (status: number, body: string, headers: Record<string, string> = {}, credentials = token) =>
    new FetchCloudflare({ baseUrl: 'http://x', credentials, timeoutMs: 1000, fetch: (async () => new Response(body, { status, headers })) as typeof fetch });
  const answerTo = async (status: number, body: string, headers: Record<string, string> = {}) => {
    const upload = createUpload(parse({}), { cloudflare: client(status, body, headers), store: { create: async () => true }, now: () => now });
    const error = await upload.then(() => assert.fail('Cloudflare refused, so must the route'), (e: unknown) => e);
    assert.ok(error instanceof CloudflareUploadError, `got ${(error as Error).name}`);
    return errorResponse(error);
  };
  const fails = async (status: number, body: string, expect: { status: number; retryable: boolean; codes?: number[] }) => {
    const response = await answerTo(status, body);
    const answer = JSON.parse(response.body!) as { retryable: boolean; cloudflareErrors?: { code: number }[] };
    assert.equal(response.statusCode, expect.status, `Cloudflare ${status}`);
    assert.equal(answer.retryable, expect.retryable);
    if (expect.codes) assert.deepEqual(answer.cloudflareErrors?.map((e) => e.code), expect.codes);
  };

  it('takes id and uploadURL from a successful envelope', async () => {
    assert.deepEqual(await client(200, envelope({ id: 'i', uploadURL: 'https://upload.imagedelivery.net/h/i' })).create({}), { id: 'i', uploadURL: 'https://upload.imagedelivery.net/h/i' });
  });

  it('never mistakes a malformed 2xx for success', async () => {
    await fails(200, envelope({ id: 'i' }), { status: 502, retryable: true });
    await fails(200, envelope({ id: 'i', uploadURL: 'u' }, false), { status: 502, retryable: true });
    await fails(200, '<html>', { status: 502, retryable: true });
  });

  it('passes the caller’s own mistakes on as 4xx with Cloudflare’s codes, and Cloudflare’s or our trouble as 502', async () => {
    const error = (code: number, message: string) => envelope(null, false, [{ code, message, documentation_url: 'x' }]);
    await fails(400, error(5400, 'Bad request'), { status: 400, retryable: false, codes: [5400] });
    await fails(409, error(5409, 'Resource already exists'), { status: 409, retryable: false, codes: [5409] });
    await fails(401, error(10000, 'Authentication error'), { status: 502, retryable: false, codes: [10000] });
    await fails(403, error(10000, 'Authentication error'), { status: 502, retryable: false });
    await fails(404, error(7003, 'Could not route'), { status: 502, retryable: false });
    await fails(500, error(10001, 'Internal'), { status: 502, retryable: true });
    await fails(503, 'upstream connect error', { status: 502, retryable: true });
  });

  it('answers 429 with Cloudflare’s retry-after, and does not retry a create', async () => {
    let calls = 0;
    const throttled = new FetchCloudflare({ baseUrl: 'http://x', credentials: token, timeoutMs: 1000, fetch: (async () => (calls++, new Response(envelope(null, false, [{ code: 10429, message: 'Rate limited' }]), { status: 429, headers: { 'retry-after': '0' } }))) as typeof fetch });
    await assert.rejects(throttled.create({}), (error: CloudflareApiError) => error.failure === ApiFailure.Throttled);
    assert.equal(calls, 1, 'a second create could leave a second draft');
    const response = await answerTo(429, envelope(null, false, [{ code: 10429, message: 'Rate limited' }]), { 'retry-after': '7' });
    assert.equal(response.statusCode, 429);
    assert.equal(response.headers?.['retry-after'], '7');
  });

  it('turns a timeout into 504 and an unreachable Cloudflare into 502, both retryable', async () => {
    const failing = (error: Error) => new FetchCloudflare({ baseUrl: 'http://x', credentials: token, timeoutMs: 5, fetch: (async () => { throw error; }) as typeof fetch });
    const answer = (error: unknown) => errorResponse(new CloudflareUploadError(error as CloudflareApiError));
    const timeout = await failing(Object.assign(new Error('timed out'), { name: 'TimeoutError' })).create({}).catch((e: unknown) => e);
    assert.deepEqual([answer(timeout).statusCode, (timeout as CloudflareApiError).retryable], [504, true]);
    const refused = await failing(new TypeError('fetch failed')).create({}).catch((e: unknown) => e);
    assert.deepEqual([answer(refused).statusCode, (refused as CloudflareApiError).retryable], [502, true]);
  });

  it('answers 503 naming what is missing while the API secret is blank, and calls nobody', async () => {
    let calls = 0;
    const blank = { reading: async () => readApiSecret('{"accountId":"","apiToken":""}'), invalidate: () => {} };
    const cloudflare = new FetchCloudflare({ baseUrl: 'http://x', credentials: blank, timeoutMs: 5, fetch: (async () => (calls++, new Response(''))) as typeof fetch });
    const error = await createUpload(parse({}), { cloudflare, store: { create: async () => true }, now: () => now }).catch((e: unknown) => e);
    const response = errorResponse(error);
    assert.equal(response.statusCode, 503);
    assert.match(response.body!, /no accountId and no apiToken/);
    assert.equal(calls, 0);
  });

  it('forgets a cached token Cloudflare refused, so a rotated one is read on the next request', async () => {
    let invalidated = 0;
    const credentials = { ...token, invalidate: () => void invalidated++ };
    await assert.rejects(client(403, envelope(null, false, [{ code: 10000, message: 'Authentication error' }]), {}, credentials).create({}), CloudflareApiError);
    assert.equal(invalidated, 1);
  });
});

describe('creating an upload', () => {
  const request = parse({ id: 'users/1/a', metadata: { k: 'v' }, expiresInSeconds: 600 });
  const stores = () => {
    const created: Item[] = [];
    return { created, store: { create: async (item: Item) => (created.push(item), true) } };
  };

  it('asks Cloudflare first and records the pending item with its window end', async () => {
    const { created, store } = stores();
    const cloudflare: DirectUploadClient = { create: async () => ({ id: 'users/1/a', uploadURL: 'https://upload/x' }) };
    const answer = await createUpload(request, { cloudflare, store, now: () => now });
    assert.deepEqual(answer, { id: 'users/1/a', uploadURL: 'https://upload/x', expiresAt: '2024-01-01T12:10:00.000Z' });
    assert.deepEqual(created, [pendingItem(request, { id: 'users/1/a', uploadURL: 'https://upload/x' }, now)]);
    assert.equal(created[0]!.status, 'pending');
    assert.equal(created[0]!.expiresAt, '2024-01-01T12:10:00.000Z');
    assert.equal(created[0]!.version, 0);
    assert.equal(created[0]!.precedence, '0##0');
    assert.equal('uploadURL' in created[0]!, false, 'the upload URL is a credential; it is not stored');
  });

  it('leaves no item behind when Cloudflare fails', async () => {
    const { created, store } = stores();
    const cloudflare: DirectUploadClient = { create: async () => { throw new CloudflareApiError('down', ApiFailure.Unavailable); } };
    await assert.rejects(createUpload(request, { cloudflare, store, now: () => now }), CloudflareUploadError);
    assert.deepEqual(created, []);
  });

  it('answers 409 when the table already holds the id', async () => {
    const cloudflare: DirectUploadClient = { create: async () => ({ id: 'users/1/a', uploadURL: 'u' }) };
    await assert.rejects(createUpload(request, { cloudflare, store: { create: async () => false }, now: () => now }), UploadConflictError);
  });

  it('maps every error to one status, and says nothing about internals on a 500', () => {
    const status = (error: unknown) => errorResponse(error).statusCode;
    assert.equal(status(new UploadRequestError('x', 'id')), 400);
    assert.equal(status(new UploadForbiddenError('x')), 403);
    assert.equal(status(new UploadConflictError('x')), 409);
    assert.equal(status(new CloudflareUploadError(new CloudflareApiError('x', ApiFailure.NotConfigured))), 503);
    assert.equal(status(new CloudflareUploadError(new CloudflareApiError('x', ApiFailure.Timeout))), 504);
    const internal = errorResponse(new Error('secret table name'));
    assert.equal(internal.statusCode, 500);
    assert.doesNotMatch(String(internal.body), /secret table name/);
  });
});

describe('the upload function’s configuration', () => {
  it('reads the API secret as {accountId, apiToken} and names what is missing, never the value', () => {
    assert.deepEqual(readApiSecret('{"accountId":" acc ","apiToken":"tok"}'), { ok: true, credentials: { accountId: 'acc', apiToken: 'tok' } });
    assert.deepEqual(readApiSecret('{"accountId":"","apiToken":""}'), { ok: false, problem: 'the Cloudflare API secret has no accountId and no apiToken' });
    assert.match(JSON.stringify(readApiSecret('{"accountId":"a"}')), /no apiToken/);
    assert.doesNotMatch(JSON.stringify(readApiSecret('tok-123')), /tok-123/);
  });

  it('fails fast on a bad variable, naming it', () => {
    const env = { TABLE_NAME: 't', CLOUDFLARE_API_SECRET_ID: 's' };
    assert.equal(readUploadsConfig(env).baseUrl, 'https://api.cloudflare.com/client/v4');
    assert.equal(readUploadsConfig({ ...env, CLOUDFLARE_BASE_URL: 'http://127.0.0.1:1/client/v4' }).baseUrl, 'http://127.0.0.1:1/client/v4');
    assert.throws(() => readUploadsConfig({ TABLE_NAME: 't' }), /CLOUDFLARE_API_SECRET_ID is required/);
    assert.throws(() => readUploadsConfig({ ...env, DEFAULT_EXPIRY_SECONDS: '60' }), /DEFAULT_EXPIRY_SECONDS must be between 120 and 21600/);
  });
});
