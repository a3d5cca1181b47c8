import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { payloads, signedHeaders } from '../../local/payloads.js';
import { provisionLocal, type LocalResources } from '../../local/provision.js';
import { webhookEnvironment } from '../../local/environments.js';
import { importBundle } from '../../local/instances.js';
import { at, readItem, seedPending } from '../support/deliver.js';
import { builtBundles, connectEmulator } from '../support/receiver.js';

// Behind the front door, the REST API invokes the very bundle `cdk synth` builds with payload
// format 1.0, every body base64 (binaryMediaTypes */*). Against the emulator: it must answer
// exactly what it answers the HTTP API.

type Handler = (event: APIGatewayProxyEvent | APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** What API Gateway's REST API hands a Lambda proxy integration, for a POST on `resource` of stage prod. */
function restEvent(resource: string, body: string | Buffer, headers: Record<string, string | string[]>): APIGatewayProxyEvent {
  const multiValueHeaders = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value : [value]]));
  return {
    resource,
    path: resource,
    httpMethod: 'POST',
    // 1.0 keeps the last of repeated values here, and all of them in multiValueHeaders.
    headers: Object.fromEntries(Object.entries(multiValueHeaders).map(([name, values]) => [name, values.at(-1)!])),
    multiValueHeaders,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
    requestContext: {
      requestId: randomUUID(),
      stage: 'prod',
      path: `/prod${resource}`,
      resourcePath: resource,
      httpMethod: 'POST',
      identity: { sourceIp: '198.51.100.7' },
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

/** The same request as the HTTP API (payload 2.0) sends it, to compare answers. */
function httpEvent(path: string, body: string | Buffer, headers: Record<string, string | string[]>): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(',') : value])),
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
    requestContext: { requestId: randomUUID() } as APIGatewayProxyEventV2['requestContext'],
  };
}

const parsed = (answer: APIGatewayProxyStructuredResultV2) => ({ status: answer.statusCode, body: JSON.parse(String(answer.body)) as Record<string, unknown> });

describe('the webhook function behind the front door (REST API, payload 1.0)', () => {
  let resources: LocalResources;
  let handler: Handler;
  let stopEmulator: () => Promise<void>;
  before(async () => {
    const emulator = await connectEmulator();
    stopEmulator = emulator.stop;
    resources = await provisionLocal({ endpoint: emulator.endpoint, prefix: `fd${process.pid}-${randomBytes(3).toString('hex')}` });
    handler = await importBundle<Handler>(async () => (await builtBundles()).webhook.entry, webhookEnvironment(resources));
  });
  after(() => stopEmulator?.());

  it('applies a signed Stream delivery, whatever the case of the sender\'s header names', async () => {
    const id = await seedPending(resources, 'video');
    const body = JSON.stringify(payloads.videoReady(id, at(1)));
    const { 'webhook-signature': signature } = signedHeaders.stream(resources.secrets.stream[0]!, body);
    const answer = parsed(await handler(restEvent('/webhooks/stream', body, { 'Content-Type': 'application/json', 'Webhook-Signature': signature! })));
    assert.deepEqual([answer.status, answer.body.outcome, answer.body.status], [200, 'transitioned', 'ready']);
    assert.equal((await readItem(resources, id))?.status, 'ready');
  });

  it('verifies the exact bytes: a Notifications delivery with non-ASCII metadata', async () => {
    const id = await seedPending(resources, 'image');
    const body = JSON.stringify(payloads.notification({ id, status: 'uploaded', metadata: { title: 'Été à Zürich ✓' } }, Math.floor(Date.parse(at(2)) / 1000)));
    const answer = parsed(await handler(restEvent('/webhooks/images', body, { 'CF-Webhook-Auth': resources.secrets.images[0]!, 'Content-Type': 'application/json' })));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });

  it('answers refusals exactly as on the HTTP API: missing, repeated and wrong signature headers', async () => {
    const id = await seedPending(resources, 'image');
    const body = JSON.stringify(payloads.imageUploaded(id, at(1)));
    const secret = resources.secrets.images[0]!;
    const cases: Record<string, Record<string, string | string[]>> = {
      missing: { 'Content-Type': 'application/json' },
      // Two values joined with a comma, as HTTP API joins them: not the secret, even though one is.
      repeated: { 'cf-webhook-auth': [secret, 'not-the-secret'] },
      wrong: { 'cf-webhook-auth': 'not-the-secret' },
    };
    for (const [name, headers] of Object.entries(cases)) {
      const rest = parsed(await handler(restEvent('/webhooks/images', body, headers)));
      const http = parsed(await handler(httpEvent('/webhooks/images', body, headers)));
      assert.equal(rest.status, 401, name);
      assert.deepEqual(rest, http, name);
    }
    assert.equal((await readItem(resources, id))?.status, 'pending');
  });

  it('routes by the resource API Gateway matched, never by the path the client sent', async () => {
    const event = { ...restEvent('/webhooks/unknown', '{}', {}), path: '/webhooks/images' };
    const answer = parsed(await handler(event));
    assert.deepEqual(answer, { status: 404, body: { error: 'not found', reason: 'no webhook at this route' } });
  });
});
