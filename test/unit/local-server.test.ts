import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MAX_REQUEST_BYTES, startLocalServer, toApiGatewayV2Event, type LocalServer } from '../../local/server.js';

const ROUTE = 'POST /webhooks/images';

function eventFor(headers: Record<string, string | string[]>, body = '', path = '/webhooks/images') {
  return toApiGatewayV2Event({ method: 'POST', path, headers, body: Buffer.from(body) }, ROUTE);
}

describe('toApiGatewayV2Event', () => {
  test('lower-cases header names and joins repeated headers with a comma', () => {
    const event = eventFor({ 'X-Trace': ['a', 'b'], Accept: 'application/json' });
    assert.equal(event.headers['x-trace'], 'a,b');
    assert.equal(event.headers.accept, 'application/json');
  });

  test('moves cookies out of the headers into their own array', () => {
    const event = eventFor({ cookie: ['a=1; b=2', 'c=3'], host: 'example.com' });
    assert.deepEqual(event.cookies, ['a=1', 'b=2', 'c=3']);
    assert.equal(event.headers.cookie, undefined);
  });

  test('leaves cookies out when there are none', () => {
    assert.equal('cookies' in eventFor({}), false);
  });

  test('splits the query string off the path and joins repeated parameters', () => {
    const event = eventFor({}, '', '/webhooks/images?a=1&a=2&b=x%20y');
    assert.equal(event.rawPath, '/webhooks/images');
    assert.equal(event.requestContext.http.path, '/webhooks/images');
    assert.equal(event.rawQueryString, 'a=1&a=2&b=x%20y');
    assert.deepEqual(event.queryStringParameters, { a: '1,2', b: 'x y' });
  });

  test('has no queryStringParameters without a query string', () => {
    const event = eventFor({});
    assert.equal(event.rawQueryString, '');
    assert.equal('queryStringParameters' in event, false);
  });

  for (const contentType of ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml']) {
    test(`passes a ${contentType} body as UTF-8 text`, () => {
      const event = eventFor({ 'content-type': contentType }, '{"é":1}');
      assert.equal(event.isBase64Encoded, false);
      assert.equal(event.body, '{"é":1}');
    });
  }

  for (const contentType of ['application/octet-stream', 'application/x-www-form-urlencoded', undefined]) {
    test(`base64-encodes a body with content type ${contentType ?? '(none)'}`, () => {
      const event = eventFor(contentType ? { 'content-type': contentType } : {}, 'a=1');
      assert.equal(event.isBase64Encoded, true);
      assert.equal(Buffer.from(event.body!, 'base64').toString(), 'a=1');
    });
  }

  test('leaves the body out when the request has none', () => {
    const event = eventFor({ 'content-type': 'application/json' });
    assert.equal('body' in event, false);
    assert.equal(event.isBase64Encoded, false);
  });

  test('fills the request context like HTTP API on the $default stage', () => {
    const event = toApiGatewayV2Event(
      {
        method: 'post',
        path: '/webhooks/images',
        headers: { host: 'hooks.example.com:8443', 'user-agent': 'curl/8' },
        body: Buffer.alloc(0),
        sourceIp: '10.0.0.1',
      },
      ROUTE,
    );
    assert.equal(event.version, '2.0');
    assert.equal(event.routeKey, ROUTE);
    const context = event.requestContext;
    assert.equal(context.routeKey, ROUTE);
    assert.equal(context.stage, '$default');
    assert.equal(context.apiId, 'local');
    assert.equal(context.domainName, 'hooks.example.com');
    assert.equal(context.domainPrefix, 'hooks');
    assert.deepEqual(context.http, {
      method: 'POST',
      path: '/webhooks/images',
      protocol: 'HTTP/1.1',
      sourceIp: '10.0.0.1',
      userAgent: 'curl/8',
    });
    assert.match(context.time, /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    assert.ok(Math.abs(context.timeEpoch - Date.now()) < 5000);
    assert.notEqual(context.requestId, eventFor({}).requestContext.requestId);
  });
});

describe('startLocalServer', () => {
  let server: LocalServer;
  let result: unknown;
  let invocations: APIGatewayProxyEventV2[] = [];
  const errors: unknown[] = [];

  before(async () => {
    server = await startLocalServer({
      routes: [ROUTE],
      handler: async (event) => {
        invocations.push(event);
        if (result instanceof Error) throw result;
        return result;
      },
      onError: (error) => errors.push(error),
    });
  });
  after(() => server.close());

  const post = (path: string, body: string | Uint8Array = '{}', method = 'POST') => {
    invocations = [];
    return fetch(server.url + path, { method, body, headers: { 'content-type': 'application/json' } });
  };

  test('answers an unknown route with API Gateway 404 without invoking the handler', async () => {
    const response = await post('/webhooks/unknown');
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { message: 'Not Found' });
    assert.equal(invocations.length, 0);
  });

  test('matches the method as well as the path', async () => {
    const response = await post('/webhooks/images', '{}', 'PUT');
    assert.equal(response.status, 404);
    assert.equal(invocations.length, 0);
  });

  test('rejects a body over 10 MB with 413 without invoking the handler', async () => {
    const response = await post('/webhooks/images', new Uint8Array(MAX_REQUEST_BYTES + 1));
    assert.equal(response.status, 413);
    assert.deepEqual(await response.json(), { message: 'Request Entity Too Large' });
    assert.equal(invocations.length, 0);
  });

  test('passes the request to the handler as a v2 event, query string included', async () => {
    result = { statusCode: 204 };
    await post('/webhooks/images?x=1', '{"a":1}');
    assert.equal(invocations.length, 1);
    const [event] = invocations;
    assert.equal(event!.routeKey, ROUTE);
    assert.equal(event!.rawQueryString, 'x=1');
    assert.equal(event!.body, '{"a":1}');
    assert.equal(event!.headers['content-type'], 'application/json');
  });

  test('joins headers the client sent more than once', async () => {
    result = { statusCode: 204 };
    invocations = [];
    const url = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: '/webhooks/images', method: 'POST', headers: { 'x-multi': ['a', 'b'] } },
        (res) => res.resume().on('end', resolve),
      );
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(invocations[0]!.headers['x-multi'], 'a,b');
  });

  test('writes a structured result: status, headers, cookies and a base64 body', async () => {
    result = {
      statusCode: 202,
      headers: { 'Content-Type': 'application/octet-stream', 'X-Count': 3 },
      cookies: ['a=1', 'b=2'],
      body: Buffer.from([0, 1, 2]).toString('base64'),
      isBase64Encoded: true,
    };
    const response = await post('/webhooks/images');
    assert.equal(response.status, 202);
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    assert.equal(response.headers.get('x-count'), '3');
    assert.deepEqual(response.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.ok(response.headers.get('apigw-requestid'));
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), new Uint8Array([0, 1, 2]));
  });

  test('infers a 200 JSON response from a result without statusCode', async () => {
    result = { received: true };
    const response = await post('/webhooks/images');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.equal(await response.text(), '{"received":true}');
  });

  test('sends a plain string result as the body unchanged', async () => {
    result = 'hello';
    const response = await post('/webhooks/images');
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'hello');
  });

  test('answers 500 like HTTP API when the handler throws, and reports the error', async () => {
    result = new Error('boom');
    errors.length = 0;
    const response = await post('/webhooks/images');
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), { message: 'Internal Server Error' });
    assert.deepEqual(errors, [result]);
  });
});
