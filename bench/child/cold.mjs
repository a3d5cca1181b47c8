/**
 * One cold start, in a fresh Node process: import a bundle and time it, then (optionally) make
 * its first delivery against the stub and time that too.
 *
 *   node bench/child/cold.mjs <module-url> <none|webhook|relay|floor>
 *
 * The event for `webhook` comes in BENCH_EVENT, the stream batch for `relay` in BENCH_STREAM_EVENT. Results go to fd 3 as one JSON line, since
 * stdout carries the function's own log lines (discarded by the parent, as CloudWatch would
 * take them off the function's hands).
 */
import { writeSync } from 'node:fs';

// Time since the process started (performance.timeOrigin): Node's own bootstrap, which Lambda's
// Init Duration includes as well.
const bootMs = performance.now();
const [url, mode = 'none'] = process.argv.slice(2);
const started = performance.now();
const cpuBefore = process.cpuUsage();
const module = await import(url);
const importMs = performance.now() - started;
// CPU time of the import as well: less sensitive than wall time to other processes on the machine.
const importCpu = process.cpuUsage(cpuBefore);
const importCpuMs = (importCpu.user + importCpu.system) / 1000;

let firstMs;
let status;
if (mode !== 'none') {
  const before = performance.now();
  if (mode === 'webhook') {
    const response = await module.handler(JSON.parse(process.env.BENCH_EVENT), lambdaContext());
    status = response.statusCode;
  } else if (mode === 'relay') {
    const response = await module.handler(JSON.parse(process.env.BENCH_STREAM_EVENT), lambdaContext());
    status = response.batchItemFailures.length === 0 ? 200 : 500;
  } else {
    await module.handler(`img-cold-${process.pid}`);
    status = 200;
  }
  firstMs = performance.now() - before;
  // BENCH_REPEAT: keep delivering to see the instance's steady-state memory (the stub answers
  // "pending" for any id, so the same event is a transition every time).
  for (let i = 0; i < Number(process.env.BENCH_REPEAT ?? 0); i++) {
    if (mode === 'webhook') await module.handler(JSON.parse(process.env.BENCH_EVENT), lambdaContext());
    else await module.handler(`img-repeat-${i}`);
  }
}

const { rss, heapUsed } = process.memoryUsage();
const maxRssMB = process.resourceUsage().maxRSS / 1024;
writeSync(3, `${JSON.stringify({ bootMs, importMs, importCpuMs, firstMs, status, rssMB: rss / 2 ** 20, maxRssMB, heapMB: heapUsed / 2 ** 20 })}\n`);
// Keep-alive sockets to the stub would hold the process open.
process.exit(0);

function lambdaContext() {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: `cold-${process.pid}`,
    logGroupName: `/aws/lambda/${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 10_000,
  };
}
