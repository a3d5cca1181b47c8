/**
 * How many attempts an AWS call gets under the functions' client settings (lambda/adapters/aws.ts)
 * when every attempt times out, counted at a loopback server that takes requests and never
 * answers (each request carries the SDK's invocation id, the same for every attempt of a call).
 *
 * The SDK's standard retry mode keeps one retry quota per client: 500 tokens, 14 spent per
 * retried timeout or 5xx (5 per throttle), 1 earned back per call that succeeds first time.
 * Spent by many calls failing together, it leaves most of them a single attempt. That is what
 * `npm start` met when one module instance ran every delivery of a burst on one client; the
 * cases below show why a Lambda instance (one delivery at a time, its calls one after another)
 * and the local instances that now stand in for it do not.
 *
 * The request timeout is shortened so the file runs in seconds; nothing else differs from the
 * shipped settings. Attempt counts do not depend on timing: the server never answers, so every
 * attempt fails. Where a case also counts the attempts that reached the server, the timeout is a
 * second, so a busy machine cannot end an attempt before its request is written.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { awsClientConfig } from '../../lambda/adapters/aws.js';
import { localClientConfig } from '../../local/aws.js';

/** The SDK's standard-mode quota and the cost of retrying a timeout (@smithy/core retry, "retries 2026" settings). */
const QUOTA = 500;
const RETRY_COST = 14;
const MAX_ATTEMPTS = awsClientConfig.maxAttempts;

describe('attempts per AWS call when every attempt times out', () => {
  let server: Server;
  let endpoint: string;
  const figures: string[] = [];
  /** Requests the server received, per call (the SDK's invocation id, the same for each attempt of a call). */
  const seen = new Map<string, number>();
  /**
   * Which `count` a request belongs to (a header every client adds): a request of an earlier case that
   * waited for a socket may reach the server only after that case ended, and must not count in the next.
   */
  let batch = 0;

  before(async () => {
    server = createServer((req: IncomingMessage) => {
      // Never answered: the client's request timeout ends each attempt.
      const id = String(req.headers['amz-sdk-invocation-id']);
      if (req.headers['x-test-batch'] === String(batch)) seen.set(id, (seen.get(id) ?? 0) + 1);
      req.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    process.stderr.write(`\nSDK attempts when every attempt times out:\n${figures.map((line) => `  ${line}`).join('\n')}\n`);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A client as a function instance creates one, pointed at the silent server. */
  const client = (requestTimeout = 100) => {
    const made = new DynamoDBClient({
      ...awsClientConfig,
      requestHandler: { ...awsClientConfig.requestHandler, requestTimeout },
      ...localClientConfig(endpoint),
    });
    // Stamped when the call is built (retries repeat later steps only), so every attempt of a call carries the batch it was made in.
    made.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-test-batch'] = String(batch);
        return next(args);
      },
      { step: 'build' },
    );
    return made;
  };

  /**
   * Runs `calls`; each fails with the SDK's TimeoutError, which says how many attempts it made.
   * `reached`: attempts the server saw (an attempt that timed out waiting for one of the
   * client's sockets never reaches it).
   */
  const count = async (calls: (() => Promise<unknown>)[]): Promise<{ attempts: number[]; reached: number }> => {
    seen.clear();
    batch += 1;
    const results = await Promise.allSettled(calls.map((call) => call()));
    server.closeAllConnections();
    const attempts = results.map((result) => {
      assert.equal(result.status, 'rejected');
      const error = (result as PromiseRejectedResult).reason as Error & { $metadata?: { attempts?: number } };
      assert.equal(error.name, 'TimeoutError');
      return error.$metadata!.attempts!;
    });
    return { attempts, reached: [...seen.values()].reduce((sum, n) => sum + n, 0) };
  };
  const getItem = (on: DynamoDBClient) => () => on.send(new GetItemCommand({ TableName: 't', Key: { id: { S: 'x' } } }));
  const tally = (counts: number[]) => counts.reduce<Record<number, number>>((all, n) => ({ ...all, [n]: (all[n] ?? 0) + 1 }), {});

  it(`100 calls at once on one client (npm start before): the quota pays ${Math.floor(QUOTA / RETRY_COST)} retries in all, so most calls get one attempt`, async () => {
    const shared = client();
    try {
      const { attempts, reached } = await count(Array.from({ length: 100 }, () => getItem(shared)));
      const retries = attempts.reduce((sum, n) => sum + n - 1, 0);
      assert.equal(retries, Math.floor(QUOTA / RETRY_COST), `attempts per call: ${JSON.stringify(tally(attempts))}`);
      assert.ok(attempts.filter((n) => n === 1).length >= 100 - retries);
      figures.push(`100 at once, one client: attempts per call ${JSON.stringify(tally(attempts))}; ${reached} of ${100 + retries} attempts reached the server (the rest timed out waiting for a socket)`);
    } finally {
      shared.destroy();
    }
  });

  it(`100 calls at once, each on an instance of its own (Lambda; npm start now): ${MAX_ATTEMPTS} attempts each`, async () => {
    const own = Array.from({ length: 100 }, () => client(1000));
    try {
      const { attempts, reached } = await count(own.map(getItem));
      assert.deepEqual(tally(attempts), { [MAX_ATTEMPTS]: 100 });
      assert.equal(reached, 100 * MAX_ATTEMPTS, 'every attempt reached the server');
      figures.push(`100 at once, a client each: attempts per call ${JSON.stringify(tally(attempts))}`);
    } finally {
      own.forEach((c) => c.destroy());
    }
  });

  it(`the expiry sweep's 4 items at a time on one client: ${MAX_ATTEMPTS} attempts each`, async () => {
    const shared = client(1000);
    try {
      const { attempts, reached } = await count(Array.from({ length: 4 }, () => getItem(shared)));
      assert.deepEqual(tally(attempts), { [MAX_ATTEMPTS]: 4 });
      assert.equal(reached, 4 * MAX_ATTEMPTS);
    } finally {
      shared.destroy();
    }
  });

  it(`one call at a time on one client (a warm instance in an outage): ${MAX_ATTEMPTS} attempts for ${Math.floor(QUOTA / ((MAX_ATTEMPTS - 1) * RETRY_COST))} calls in a row, then the quota is spent`, async () => {
    const warm = client();
    try {
      const counts: number[] = [];
      for (let i = 0; i < 20; i++) counts.push(...(await count([getItem(warm)])).attempts);
      // Each fully retried call spends (attempts - 1) × 14; what is left pays one more retry, then none.
      const full = Math.floor(QUOTA / ((MAX_ATTEMPTS - 1) * RETRY_COST));
      const left = QUOTA - full * (MAX_ATTEMPTS - 1) * RETRY_COST;
      const partial = 1 + Math.floor(left / RETRY_COST);
      assert.deepEqual(counts, [...Array(full).fill(MAX_ATTEMPTS), partial, ...Array(20 - full - 1).fill(1)]);
      figures.push(`one at a time, one client: attempts of 20 calls in a row ${counts.join(' ')}`);
    } finally {
      warm.destroy();
    }
  });
});
