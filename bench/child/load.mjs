/**
 * Load generator for the throughput benchmark: sends pre-signed requests to the local HTTP API
 * with a fixed number in flight, over keep-alive connections, and reports how long they took.
 * A process of its own so its CPU is not taken from the receiver it measures.
 *
 *   node bench/child/load.mjs <input.json>   → one JSON line on stdout
 *   input: { url, concurrency, requests: [{ path, headers, body }] }
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

const { url, concurrency, requests } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const statuses = {};
const outcomes = {};

function send({ path, headers, body }) {
  return new Promise((resolveSend, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        const outcome = /"outcome":"([a-z]+)"/.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? 'none';
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        resolveSend();
      });
    });
    req.once('error', reject);
    req.end(body);
  });
}

let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests.length) await send(requests[next++]);
  }),
);
const elapsedMs = performance.now() - started;
agent.destroy();
process.stdout.write(`${JSON.stringify({ elapsedMs, statuses, outcomes })}\n`);
