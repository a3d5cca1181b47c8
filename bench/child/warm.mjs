/**
 * Warm time per invocation, in one process that has loaded every subject (the shipped webhook and
 * relay, their floors): blocks of invocations rotate between them so all see the same
 * noise, after a warm-up that lets V8 optimise each. Each delivery is timed on its own; CPU time
 * is taken per block from process.cpuUsage().
 *
 *   node bench/child/warm.mjs <config.json>     (forked by bench/warm.ts; results over IPC)
 *
 * stdout carries the function's log lines and goes to /dev/null; its bytes are counted, since
 * CloudWatch Logs bills them.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { subjects: specs, warmup, block } = config;

let logging = 'handler';
const logBySubject = {};
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  const entry = (logBySubject[logging] ??= { bytes: 0, lines: 0, sample: undefined });
  entry.bytes += Buffer.byteLength(text);
  entry.lines += text.split('\n').length - 1;
  entry.sample ??= text.trim();
  return write(chunk, ...rest);
};

let requestSeq = 0;
const context = () => ({
  callbackWaitsForEmptyEventLoop: true,
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  awsRequestId: `00000000-0000-4000-8000-${String(++requestSeq).padStart(12, '0')}`,
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
  getRemainingTimeInMillis: () => 10_000,
});

// Each subject: the bundle, its inputs (events for the functions, ids for the floors), how many to measure.
const subjects = [];
for (const spec of specs) {
  const handler = (await import(pathToFileURL(spec.file).href)).handler;
  const outcomes = {};
  const run =
    spec.type === 'webhook'
      ? async (input) => {
          const response = await handler(input, context());
          if (response.statusCode !== 200) throw new Error(`${spec.name}: delivery answered ${response.statusCode}: ${response.body}`);
          // Every delivery must be a transition that published one event, or the comparison is void.
          const { outcome, published } = JSON.parse(response.body);
          const key = `${outcome}/${published}`;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        }
      : spec.type === 'relay'
        ? async (input) => {
            const response = await handler(input, context());
            if (response.batchItemFailures.length > 0) throw new Error(`${spec.name}: records handed back: ${JSON.stringify(response)}`);
          }
        : (input) => handler(input);
  subjects.push({ ...spec, run, outcomes, next: 0, times: [], cpuMicros: 0 });
}

async function runBlock(subject, size, record) {
  logging = subject.name;
  const cpu = process.cpuUsage();
  for (let k = 0; k < size; k++) {
    const input = subject.inputs[subject.next++];
    const started = performance.now();
    await subject.run(input);
    const elapsed = performance.now() - started;
    if (record) subject.times.push(elapsed);
  }
  if (record) {
    const used = process.cpuUsage(cpu);
    subject.cpuMicros += used.user + used.system;
  }
}

for (let done = 0; done < warmup; done += block) {
  for (const subject of subjects) await runBlock(subject, Math.min(block, warmup - done), false);
}
// Blocks rotate A B C … then … C B A, so no subject always follows the same one.
for (let cycle = 0; subjects.some((s) => s.next < s.inputs.length); cycle++) {
  const order = cycle % 2 === 0 ? subjects : [...subjects].reverse();
  for (const subject of order) {
    const size = Math.min(block, subject.inputs.length - subject.next);
    if (size > 0) await runBlock(subject, size, true);
  }
}

const { rss, heapUsed } = process.memoryUsage();
process.send(
  {
    subjects: Object.fromEntries(
      subjects.map((s) => [s.name, { times: s.times, cpuMicros: s.cpuMicros, outcomes: s.outcomes, deliveries: s.inputs.length, log: logBySubject[s.name] }]),
    ),
    rssMB: rss / 2 ** 20,
    heapMB: heapUsed / 2 ** 20,
  },
  () => process.exit(0),
);
