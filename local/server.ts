/**
 * A local stand-in for an API Gateway HTTP API with Lambda proxy integrations (payload
 * format 2.0): same event shape, same answers for unknown routes, oversized bodies and
 * failing functions, so the handler cannot tell it is not in AWS.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { lambdaContext, LOCAL_ACCOUNT_ID } from './context.js';

/** HTTP API's payload limit; larger requests never reach the function. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const FUNCTION_NAME = 'local-webhook';
const FUNCTION_TIMEOUT_MS = 30_000;

export interface LocalRequest {
  method: string;
  /** Path including the query string, as on the request line. */
  path: string;
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>;
  body: Buffer;
  sourceIp?: string;
}

export type LocalHandler = (event: APIGatewayProxyEventV2, context: Context) => unknown;

export function toApiGatewayV2Event(req: LocalRequest, routeKey: string): APIGatewayProxyEventV2 {
  const { rawPath, rawQueryString } = splitPath(req.path);
  const { headers, cookies } = gatewayHeaders(req.headers);
  const query = queryParameters(rawQueryString);
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    requestContext: requestContext(req, routeKey, rawPath, headers),
    isBase64Encoded: false,
  };
  attachBody(event, req.body, headers['content-type']);
  return event;
}

function splitPath(path: string): { rawPath: string; rawQueryString: string } {
  const queryStart = path.indexOf('?');
  if (queryStart === -1) return { rawPath: path, rawQueryString: '' };
  return { rawPath: path.slice(0, queryStart), rawQueryString: path.slice(queryStart + 1) };
}

/** HTTP API lower-cases names, joins repeated headers with ',' and moves cookies to their own field. */
function gatewayHeaders(given: LocalRequest['headers']): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const values = Array.isArray(value) ? value : [value];
    if (key === 'cookie') {
      cookies.push(...values.flatMap((line) => line.split(';')).map((c) => c.trim()).filter(Boolean));
    } else {
      headers[key] = [headers[key], ...values].filter((v) => v !== undefined).join(',');
    }
  }
  return { headers, cookies };
}

/** Repeated parameters joined with ',', as HTTP API does. */
function queryParameters(rawQueryString: string): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    query[key] = key in query ? `${query[key]},${value}` : value;
  }
  return query;
}

function requestContext(req: LocalRequest, routeKey: string, rawPath: string, headers: Record<string, string>): APIGatewayProxyEventV2['requestContext'] {
  const now = new Date();
  // API Gateway's domain names never carry a port; a local Host header does.
  const domainName = headers.host?.replace(/:\d+$/, '') || 'localhost';
  return {
    accountId: LOCAL_ACCOUNT_ID,
    apiId: 'local',
    domainName,
    domainPrefix: domainName.split('.')[0]!,
    http: {
      method: req.method.toUpperCase(),
      path: rawPath,
      protocol: 'HTTP/1.1',
      sourceIp: req.sourceIp ?? '127.0.0.1',
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: newRequestId(),
    routeKey,
    stage: '$default',
    time: formatRequestTime(now),
    timeEpoch: now.getTime(),
  };
}

function attachBody(event: APIGatewayProxyEventV2, body: Buffer, contentType: string | undefined): void {
  if (body.length === 0) return;
  if (isTextContentType(contentType)) {
    event.body = body.toString('utf8');
  } else {
    event.body = body.toString('base64');
    event.isBase64Encoded = true;
  }
}

/**
 * The content types HTTP API passes to Lambda as UTF-8 text. The AWS docs only say "binary"
 * bodies are base64-encoded; this set was observed against real HTTP APIs (ministack PR #766):
 * a missing content type and application/x-www-form-urlencoded arrive base64-encoded too.
 */
function isTextContentType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type.startsWith('text/') || ['application/json', 'application/xml', 'application/javascript'].includes(type);
}

/** Shaped like HTTP API's ids (`JKJaXmPLvHcESHA=`), which also appear as `apigw-requestid`. */
const newRequestId = () => randomBytes(11).toString('base64');

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the CLF-style timestamp of `requestContext.time`. */
function formatRequestTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}

export interface LocalServerOptions {
  handler: LocalHandler;
  /** Route keys such as `POST /webhooks/images`; anything else gets API Gateway's 404. */
  routes: string[];
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Where a throwing handler is reported; Lambda would log it to CloudWatch. */
  onError?: (error: unknown) => void;
}

export interface LocalServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export function startLocalServer({
  handler,
  routes,
  port = 0,
  host = '127.0.0.1',
  onError = (error) => console.error('local-webhook: handler failed:', error),
}: LocalServerOptions): Promise<LocalServer> {
  const answer = gateway(new Set(routes), handler, onError);
  // A client that disconnects mid-request must not take the whole server down.
  const server = createServer((req, res) => void answer(req, res).catch(() => res.destroy()));
  return listen(server, port, host);
}

/** What HTTP API does with one request: route it, check its size, invoke the function, answer. */
function gateway(routeKeys: ReadonlySet<string>, handler: LocalHandler, onError: (error: unknown) => void) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const routeKey = `${method} ${path.split('?')[0]}`;
    if (!routeKeys.has(routeKey)) {
      req.resume();
      return reply(res, gatewayError(404, 'Not Found'));
    }
    const body = await readBody(req);
    if (body === undefined) return reply(res, gatewayError(413, 'Request Entity Too Large'));
    const event = toApiGatewayV2Event({ method, path, headers: req.headersDistinct, body, sourceIp: req.socket.remoteAddress }, routeKey);
    reply(res, await invoke(handler, event, onError), event.requestContext.requestId);
  };
}

/**
 * A request's body, read to the end even past `limit` (so the client is still there to be told
 * 413); undefined when it was larger.
 */
export async function readBody(req: IncomingMessage, limit = MAX_REQUEST_BYTES): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

async function invoke(handler: LocalHandler, event: APIGatewayProxyEventV2, onError: (error: unknown) => void): Promise<HttpResponse> {
  try {
    return toHttpResponse(await handler(event, lambdaContext(FUNCTION_NAME, FUNCTION_TIMEOUT_MS)));
  } catch (error) {
    onError(error);
    return gatewayError(500, 'Internal Server Error');
  }
}

function reply(res: ServerResponse, { statusCode, headers, body }: HttpResponse, requestId = newRequestId()): void {
  res.writeHead(statusCode, { ...headers, 'apigw-requestid': requestId, 'content-length': body.length });
  res.end(body);
}

function listen(server: Server, port: number, host: string): Promise<LocalServer> {
  return new Promise((resolveServer, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { port: boundPort } = server.address() as AddressInfo;
      resolveServer({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
        port: boundPort,
        close: () =>
          new Promise<void>((resolveClose, rejectClose) => {
            server.close((error) => (error ? rejectClose(error) : resolveClose()));
            // Keep-alive sockets from clients would otherwise hold close() open.
            server.closeAllConnections();
          }),
      });
    });
  });
}

function gatewayError(statusCode: number, message: string): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ message })),
  };
}

/**
 * Turns a function result into the HTTP response the way HTTP API does for payload 2.0:
 * a result with `statusCode` is used as is, anything else becomes a 200 JSON response.
 */
function toHttpResponse(result: unknown): HttpResponse {
  if (!isStructured(result)) {
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null')),
    };
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
  headers['content-type'] ??= 'application/json';
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const body = result.body ?? '';
  return {
    statusCode: result.statusCode,
    headers,
    body: Buffer.from(body, result.isBase64Encoded ? 'base64' : 'utf8'),
  };
}

interface StructuredResult {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
}

function isStructured(result: unknown): result is StructuredResult {
  return typeof result === 'object' && result !== null && 'statusCode' in result;
}
