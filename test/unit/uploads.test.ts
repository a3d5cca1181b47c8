import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UploadDefaults } from '../../lambda/core/contract';
import { FetchDirectUploads, readDirectUploadAnswer, type DirectUploadClient } from '../../lambda/uploads/cloudflare';
import { readUploadsConfig } from '../../lambda/uploads/config';
import { createUpload, pendingItem } from '../../lambda/uploads/create';
import { parseApiSecret } from '../../lambda/uploads/credentials';
import { CloudflareApiError, UploadConflictError, UploadForbiddenError, UploadRequestError, UploadsNotConfiguredError } from '../../lambda/uploads/errors';
import { uploadErrorResponse } from '../../lambda/uploads/http';
import { directUploadFields, parseUploadRequest, TRIP_MARGIN_SECONDS, type Caller } from '../../lambda/uploads/request';
import type { Item } from '../../lambda/core/item';

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

describe('reading Cloudflare’s answer to direct_upload', () => {
  const envelope = (result: unknown, success = true, errors: unknown[] = []) => JSON.stringify({ success, errors, messages: [], result });
  const fails = (status: number, body: string, expect: { status: number; retryable: boolean; codes?: number[] }, retryAfter?: string) => {
    assert.throws(() => readDirectUploadAnswer(status, body, retryAfter), (error: unknown) => {
      assert.ok(error instanceof CloudflareApiError);
      assert.equal(error.status, expect.status, `Cloudflare ${status}`);
      assert.equal(error.detail.retryable, expect.retryable);
      if (expect.codes) assert.deepEqual(error.detail.errors?.map((e) => e.code), expect.codes);
      return true;
    });
  };

  it('takes id and uploadURL from a successful envelope', () => {
    assert.deepEqual(readDirectUploadAnswer(200, envelope({ id: 'i', uploadURL: 'https://upload.imagedelivery.net/h/i' })), { id: 'i', uploadURL: 'https://upload.imagedelivery.net/h/i' });
  });

  it('never mistakes a malformed 2xx for success', () => {
    fails(200, envelope({ id: 'i' }), { status: 502, retryable: true });
    fails(200, envelope({ id: 'i', uploadURL: 'u' }, false), { status: 502, retryable: true });
    fails(200, '<html>', { status: 502, retryable: true });
  });

  it('passes the caller’s own mistakes on as 4xx with Cloudflare’s codes, and Cloudflare’s or our trouble as 502', () => {
    const error = (code: number, message: string) => envelope(null, false, [{ code, message, documentation_url: 'x' }]);
    fails(400, error(5400, 'Bad request'), { status: 400, retryable: false, codes: [5400] });
    fails(409, error(5409, 'Resource already exists'), { status: 409, retryable: false, codes: [5409] });
    fails(401, error(10000, 'Authentication error'), { status: 502, retryable: false, codes: [10000] });
    fails(403, error(10000, 'Authentication error'), { status: 502, retryable: false });
    fails(404, error(7003, 'Could not route'), { status: 502, retryable: false });
    fails(500, error(10001, 'Internal'), { status: 502, retryable: true });
    fails(503, 'upstream connect error', { status: 502, retryable: true });
  });

  it('answers 429 with Cloudflare’s retry-after', () => {
    assert.throws(() => readDirectUploadAnswer(429, envelope(null, false, [{ code: 10429, message: 'Rate limited' }]), '7'), (error: CloudflareApiError) => {
      assert.equal(error.status, 429);
      assert.equal(error.detail.retryAfter, 7);
      const response = uploadErrorResponse(error);
      assert.equal(response.headers?.['retry-after'], '7');
      return true;
    });
  });

  it('turns a timeout into 504 and an unreachable Cloudflare into 502, both retryable', async () => {
    const credentials = { get: async () => ({ accountId: 'a', apiToken: 't' }), invalidate: () => {} };
    const timeout = new FetchDirectUploads({ baseUrl: 'http://x', credentials, timeoutMs: 5, fetch: (async () => { throw Object.assign(new Error('timed out'), { name: 'TimeoutError' }); }) as typeof fetch });
    await assert.rejects(timeout.create({}), (error: CloudflareApiError) => error.status === 504 && error.detail.retryable);
    const refused = new FetchDirectUploads({ baseUrl: 'http://x', credentials, timeoutMs: 5, fetch: (async () => { throw new TypeError('fetch failed'); }) as typeof fetch });
    await assert.rejects(refused.create({}), (error: CloudflareApiError) => error.status === 502 && error.detail.retryable);
  });

  it('forgets a cached token Cloudflare refused, so a rotated one is read on the next request', async () => {
    let invalidated = 0;
    const credentials = { get: async () => ({ accountId: 'a', apiToken: 't' }), invalidate: () => void invalidated++ };
    const client = new FetchDirectUploads({ baseUrl: 'http://x', credentials, timeoutMs: 1000, fetch: (async () => new Response(envelope(null, false, [{ code: 10000, message: 'Authentication error' }]), { status: 403 })) as typeof fetch });
    await assert.rejects(client.create({}), CloudflareApiError);
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
    const cloudflare: DirectUploadClient = { create: async () => { throw new CloudflareApiError('down', 502, { retryable: true }); } };
    await assert.rejects(createUpload(request, { cloudflare, store, now: () => now }), CloudflareApiError);
    assert.deepEqual(created, []);
  });

  it('answers 409 when the table already holds the id', async () => {
    const cloudflare: DirectUploadClient = { create: async () => ({ id: 'users/1/a', uploadURL: 'u' }) };
    await assert.rejects(createUpload(request, { cloudflare, store: { create: async () => false }, now: () => now }), UploadConflictError);
  });

  it('maps every error to one status, and says nothing about internals on a 500', () => {
    const status = (error: unknown) => uploadErrorResponse(error).statusCode;
    assert.equal(status(new UploadRequestError('x', 'id')), 400);
    assert.equal(status(new UploadForbiddenError('x')), 403);
    assert.equal(status(new UploadConflictError('x')), 409);
    assert.equal(status(new UploadsNotConfiguredError('x')), 503);
    assert.equal(status(new CloudflareApiError('x', 504, { retryable: true })), 504);
    const internal = uploadErrorResponse(new Error('secret table name'));
    assert.equal(internal.statusCode, 500);
    assert.doesNotMatch(String(internal.body), /secret table name/);
  });
});

describe('the upload function’s configuration', () => {
  it('reads the API secret as {accountId, apiToken} and names what is missing, never the value', () => {
    assert.deepEqual(parseApiSecret('{"accountId":" acc ","apiToken":"tok"}'), { accountId: 'acc', apiToken: 'tok' });
    assert.throws(() => parseApiSecret('{"accountId":"","apiToken":""}'), /no accountId and no apiToken/);
    assert.throws(() => parseApiSecret('{"accountId":"a"}'), /no apiToken/);
    assert.throws(() => parseApiSecret('tok-123'), (error: Error) => error instanceof UploadsNotConfiguredError && !error.message.includes('tok-123'));
  });

  it('fails fast on a bad variable, naming it', () => {
    const env = { TABLE_NAME: 't', CLOUDFLARE_API_SECRET_ID: 's' };
    assert.equal(readUploadsConfig(env).baseUrl, 'https://api.cloudflare.com/client/v4');
    assert.equal(readUploadsConfig({ ...env, CLOUDFLARE_BASE_URL: 'http://127.0.0.1:1/client/v4' }).baseUrl, 'http://127.0.0.1:1/client/v4');
    assert.throws(() => readUploadsConfig({ TABLE_NAME: 't' }), /CLOUDFLARE_API_SECRET_ID is required/);
    assert.throws(() => readUploadsConfig({ ...env, DEFAULT_EXPIRY_SECONDS: '60' }), /DEFAULT_EXPIRY_SECONDS must be between 120 and 21600/);
  });
});
