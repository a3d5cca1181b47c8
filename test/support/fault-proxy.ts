/**
 * A loopback proxy between the function under test and the emulator that injects the faults
 * AWS really produces: throttling and 5xx answers with AWS's own JSON error bodies, resets
 * (unreachable), delays, answers lost after the request took effect, and PutEvents answering
 * 200 with `FailedEntryCount > 0`. Every request is recorded with the AWS SDK's own
 * `amz-sdk-invocation-id` / `amz-sdk-request` headers, so a test can tell the faults the SDK
 * absorbed by retrying from the ones that reached the function.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type Service = 'dynamodb' | 'events' | 'secretsmanager' | 'other';

/** One AWS API request as the proxy sees it. */
export interface AwsCall {
  readonly service: Service;
  /** `GetItem`, `PutEvents`, … (the part of X-Amz-Target after the dot). */
  readonly operation: string;
  /** The SDK call this request is an attempt of: the same id on every retry. */
  readonly invocationId: string;
  /** 1 for the first attempt, 2 for the SDK's first retry, … */
  readonly attempt: number;
  readonly body: Buffer;
}

export type Fault =
  /** 400 ProvisionedThroughputExceededException (DynamoDB) or ThrottlingException. */
  | { readonly type: 'throttle' }
  /** 500 or 503 with the service's error body. */
  | { readonly type: 'server-error'; readonly status: 500 | 503 }
  /** The connection is reset before any answer: the endpoint is unreachable. */
  | { readonly type: 'reset' }
  /** Answered normally, but only after `ms`. */
  | { readonly type: 'slow'; readonly ms: number }
  /** Answered normally, but only once `until` settles: a hold that ends when the test says, not on a clock. */
  | { readonly type: 'held'; readonly until: Promise<unknown> }
  /** Forwarded and applied by the emulator, then the connection drops: the caller cannot know it worked. */
  | { readonly type: 'lost-response' }
  /** PutEvents only: 200 with one entry failed (InternalFailure); that entry is not delivered. */
  | { readonly type: 'failed-entry' };

export type FaultType = Fault['type'];

/** Decides per request; `undefined` forwards it untouched. */
export type FaultPolicy = (call: AwsCall) => Fault | undefined;

/** Faults after which the caller sees a failure (a slow answer is still an answer). */
const FAILING: ReadonlySet<FaultType> = new Set(['throttle', 'server-error', 'reset', 'lost-response', 'failed-entry']);

export interface RecordedCall {
  readonly service: Service;
  readonly operation: string;
  readonly invocationId: string;
  readonly attempt: number;
  readonly fault?: FaultType;
  /** Status the emulator answered when the request reached it. */
  readonly upstreamStatus?: number;
}

export interface FaultProxy {
  /** Give this to the function as AWS_ENDPOINT_URL. */
  readonly url: string;
  readonly calls: readonly RecordedCall[];
  /** Replace the policy (e.g. between phases of a test). */
  setPolicy(policy: FaultPolicy): void;
  /** Forget the recorded calls. */
  reset(): void;
  close(): Promise<void>;
}

export function startFaultProxy(upstream: string, policy: FaultPolicy = () => undefined): Promise<FaultProxy> {
  const target = new URL(upstream);
  // Keep-alive to the emulator: thousands of requests must not exhaust ephemeral ports.
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const calls: RecordedCall[] = [];
  let decide = policy;

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, 'content-length': String(body.length) };
      const upstreamReq = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      upstreamReq.on('error', reject);
      upstreamReq.end(body);
    });

  const reply = (res: ServerResponse, status: number, headers: IncomingHttpHeaders, body: Buffer) => {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined && !['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) out[name] = value;
    }
    res.writeHead(status, { ...out, 'content-length': String(body.length) });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const call = describeCall(req.headers, body);
    const fault = call.service === 'other' ? undefined : decide(call);
    const record = (upstreamStatus?: number) =>
      calls.push({
        service: call.service,
        operation: call.operation,
        invocationId: call.invocationId,
        attempt: call.attempt,
        ...(fault ? { fault: fault.type } : {}),
        ...(upstreamStatus !== undefined ? { upstreamStatus } : {}),
      });

    switch (fault?.type) {
      case undefined:
      case 'slow':
      case 'held': {
        if (fault?.type === 'slow') await sleep(fault.ms);
        if (fault?.type === 'held') await fault.until.catch(() => undefined);
        const answer = await forward(req, body);
        record(answer.status);
        return reply(res, answer.status, answer.headers, answer.body);
      }
      case 'throttle':
      case 'server-error': {
        record();
        const status = fault.type === 'throttle' ? 400 : fault.status;
        return reply(res, status, errorHeaders(call.service), Buffer.from(JSON.stringify(errorBody(call.service, fault))));
      }
      case 'reset':
        record();
        return void req.socket.destroy();
      case 'lost-response': {
        const answer = await forward(req, body);
        record(answer.status);
        return void req.socket.destroy();
      }
      case 'failed-entry': {
        if (call.operation !== 'PutEvents') throw new Error(`failed-entry applies to PutEvents only, not ${call.operation}`);
        const answer = await failOneEntry(req, body, forward);
        record(answer.upstreamStatus);
        return reply(res, 200, errorHeaders('events'), Buffer.from(JSON.stringify(answer.body)));
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  return new Promise((resolveProxy, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolveProxy({
        url: `http://127.0.0.1:${port}`,
        calls,
        setPolicy: (next) => {
          decide = next;
        },
        reset: () => {
          calls.length = 0;
        },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
            agent.destroy();
          }),
      });
    });
  });
}

function describeCall(headers: IncomingHttpHeaders, body: Buffer): AwsCall {
  const targetHeader = String(headers['x-amz-target'] ?? '');
  const [prefix = '', operation = ''] = targetHeader.split('.');
  const service: Service = prefix.startsWith('DynamoDB_')
    ? 'dynamodb'
    : prefix === 'AWSEvents'
      ? 'events'
      : prefix === 'secretsmanager'
        ? 'secretsmanager'
        : 'other';
  // `amz-sdk-request: attempt=2; max=3`, added by the SDK's retry middleware.
  const attempt = Number(/attempt=(\d+)/.exec(String(headers['amz-sdk-request'] ?? ''))?.[1] ?? 1);
  const invocationId = String(headers['amz-sdk-invocation-id'] ?? randomUUID());
  return { service, operation, invocationId, attempt, body };
}

function errorHeaders(service: Service): Record<string, string> {
  return {
    'content-type': service === 'dynamodb' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
    'x-amzn-requestid': randomUUID(),
  };
}

/** The bodies AWS answers with (`__type` is how the SDK names the error). */
function errorBody(service: Service, fault: Extract<Fault, { type: 'throttle' | 'server-error' }>): { __type: string; message: string } {
  if (service === 'dynamodb') {
    if (fault.type === 'throttle') {
      return {
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      };
    }
    return fault.status === 500
      ? { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' }
      : { __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailable', message: 'Service unavailable' };
  }
  if (fault.type === 'throttle') return { __type: 'ThrottlingException', message: 'Rate exceeded' };
  return fault.status === 500
    ? { __type: 'InternalException', message: 'An internal error occurred' }
    : { __type: 'ServiceUnavailable', message: 'Service is unavailable' };
}

/**
 * PutEvents' partial failure: the first entry fails with InternalFailure and is NOT delivered
 * (AWS does not deliver a failed entry); the others are forwarded and delivered.
 */
async function failOneEntry(
  req: IncomingMessage,
  body: Buffer,
  forward: (req: IncomingMessage, body: Buffer) => Promise<{ status: number; body: Buffer }>,
): Promise<{ body: { FailedEntryCount: number; Entries: unknown[] }; upstreamStatus?: number }> {
  const request = JSON.parse(body.toString('utf8')) as { Entries: unknown[] };
  const failed = { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal Failure' };
  if (request.Entries.length <= 1) return { body: { FailedEntryCount: 1, Entries: [failed] } };
  const rest = await forward(req, Buffer.from(JSON.stringify({ ...request, Entries: request.Entries.slice(1) })));
  const answered = JSON.parse(rest.body.toString('utf8')) as { FailedEntryCount?: number; Entries?: unknown[] };
  return {
    body: { FailedEntryCount: 1 + (answered.FailedEntryCount ?? 0), Entries: [failed, ...(answered.Entries ?? [])] },
    upstreamStatus: rest.status,
  };
}

/** What the recorded calls say about who dealt with each injected fault. */
export interface FaultTally {
  /** Requests the proxy saw, per `service:operation`. */
  readonly requests: Record<string, number>;
  /** Injected faults per type (each faulted attempt counts). */
  readonly injected: Record<string, number>;
  /** SDK calls that met at least one fault (of any type, slow included). */
  readonly faultedCalls: number;
  /** SDK calls with at least one failing fault whose last attempt got a real answer: the SDK's retries absorbed them. */
  readonly absorbedBySdk: number;
  /** SDK calls whose last attempt failed: the failure reached the function's code. */
  readonly surfacedToFunction: number;
  /** SDK retries (attempts after the first). */
  readonly sdkRetries: number;
}

export function tally(calls: readonly RecordedCall[]): FaultTally {
  const requests: Record<string, number> = {};
  const injected: Record<string, number> = {};
  const invocations = new Map<string, RecordedCall[]>();
  let sdkRetries = 0;
  for (const call of calls) {
    const key = `${call.service}:${call.operation}`;
    requests[key] = (requests[key] ?? 0) + 1;
    if (call.fault) injected[call.fault] = (injected[call.fault] ?? 0) + 1;
    if (call.attempt > 1) sdkRetries++;
    const attempts = invocations.get(call.invocationId) ?? [];
    attempts.push(call);
    invocations.set(call.invocationId, attempts);
  }
  let absorbedBySdk = 0;
  let surfacedToFunction = 0;
  let faultedCalls = 0;
  for (const attempts of invocations.values()) {
    if (attempts.some((a) => a.fault)) faultedCalls++;
    if (!attempts.some((a) => a.fault && FAILING.has(a.fault))) continue;
    const last = attempts.reduce((a, b) => (b.attempt >= a.attempt ? b : a));
    if (last.fault && FAILING.has(last.fault)) surfacedToFunction++;
    else absorbedBySdk++;
  }
  return { requests, injected, faultedCalls, absorbedBySdk, surfacedToFunction, sdkRetries };
}

/** Small, fast, seedable PRNG (mulberry32): the same seed replays the same faults and scripts. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomFaultOptions {
  readonly seed: number;
  /** Probability that an SDK call (all its attempts) is faulted. */
  readonly rate: number;
  /** Which services to fault. */
  readonly services: readonly Service[];
  /**
   * Probability that a faulted call stays faulted on every retry (an outage longer than the
   * SDK's backoff), rather than only on its first attempt (a blip the SDK rides out).
   */
  readonly persistence: number;
  /** Relative weights of the fault types; `failed-entry` is only drawn for PutEvents. */
  readonly weights: Partial<Record<FaultType, number>>;
  readonly slowMs?: readonly [number, number];
}

/** A seeded random policy: each SDK call is drawn once, and its retries follow that draw. */
export function randomFaults(options: RandomFaultOptions): FaultPolicy {
  const random = seededRandom(options.seed);
  const drawn = new Map<string, { fault: Fault; persistent: boolean } | null>();
  const [slowMin, slowMax] = options.slowMs ?? [100, 800];
  return (call) => {
    if (!options.services.includes(call.service)) return undefined;
    let plan = drawn.get(call.invocationId);
    if (plan === undefined) {
      plan = null;
      if (random() < options.rate) {
        const type = pick(random, options.weights, call.operation === 'PutEvents');
        const fault: Fault =
          type === 'server-error'
            ? { type, status: random() < 0.5 ? 500 : 503 }
            : type === 'slow'
              ? { type, ms: Math.round(slowMin + random() * (slowMax - slowMin)) }
              : ({ type } as Fault);
        plan = { fault, persistent: random() < options.persistence };
      }
      drawn.set(call.invocationId, plan);
    }
    if (!plan) return undefined;
    return call.attempt === 1 || plan.persistent ? plan.fault : undefined;
  };
}

function pick(random: () => number, weights: Partial<Record<FaultType, number>>, putEvents: boolean): FaultType {
  const entries = Object.entries(weights).filter(([type, weight]) => weight! > 0 && (putEvents || type !== 'failed-entry')) as [FaultType, number][];
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [type, weight] of entries) {
    roll -= weight;
    if (roll < 0) return type;
  }
  return entries.at(-1)![0];
}
