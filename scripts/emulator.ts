/**
 * moto (PyPI `moto[server]`) as the local stand-in for DynamoDB, EventBridge, SQS and
 * Secrets Manager, installed into a project-local virtualenv so nobody has to set Python up.
 *
 *   npx tsx scripts/emulator.ts install   # provision the venv only
 *   npx tsx scripts/emulator.ts           # run one emulator until Ctrl-C
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureVenv, repoRoot, venvBin, type Venv } from './venv.js';

const MOTO: Venv = {
  name: 'emulator-venv',
  // Only the services the receiver uses: half the install time and size of `moto[server]`.
  spec: 'moto[dynamodb,events,sqs,secretsmanager,sts]==5.2.5 flask==3.1.3 flask-cors==6.0.5',
  label: 'emulator',
};
const READY_TIMEOUT_MS = 30_000;

const launcher = join(repoRoot, 'scripts', 'emulator.py');

export interface Emulator {
  endpoint: string;
  stop(): Promise<void>;
}

export async function ensureEmulator(): Promise<string> {
  await ensureVenv(MOTO, 'moto_server');
  return venvBin(MOTO, 'moto_server');
}

export async function startEmulator(): Promise<Emulator> {
  await ensureEmulator();
  // Another process can grab the port between our probe and moto's bind; retry on that race only.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(await freePort());
    } catch (error) {
      if (attempt >= 3 || !String(error).includes('Address already in use')) throw error;
    }
  }
}

async function launch(port: number): Promise<Emulator> {
  const endpoint = `http://127.0.0.1:${port}`;
  // moto_server's own entry point, wrapped by emulator.py (parent-death watchdog, atomic DynamoDB).
  const child = spawn(venvBin(MOTO, 'python'), [launcher, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });

  // moto logs every request to stderr; keep only the tail for error messages.
  let stderrTail = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
  });
  let ended: string | undefined;
  const exited = new Promise<void>((resolveExit) => {
    child.once('exit', (code, signal) => {
      ended = `exited with ${code ?? signal}`;
      resolveExit();
    });
    child.once('error', (error) => {
      ended = `failed to start: ${error.message}`;
      resolveExit();
    });
  });
  const killOnExit = () => child.kill();
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (ended) return;
    // Closing stdin trips the watchdog at once; moto's own SIGTERM handling takes ~1 s.
    child.stdin!.end();
    const force = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(force);
  };

  const failure = async (reason: string) => {
    await stop();
    return new Error(`moto_server on ${endpoint} ${reason}\n--- moto stderr ---\n${stderrTail.trim() || '(empty)'}`);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answers(endpoint))) {
    if (ended) throw await failure(`${ended} before answering`);
    if (Date.now() > deadline) throw await failure(`did not answer HTTP within ${READY_TIMEOUT_MS / 1000} s`);
    await Promise.race([sleep(100), exited]);
  }
  return { endpoint, stop };
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

async function main(command: string | undefined): Promise<void> {
  if (command === 'install') {
    process.stdout.write(`${await ensureEmulator()}\n`);
    return;
  }
  if (command !== undefined) throw new Error(`usage: npx tsx scripts/emulator.ts [install]`);

  const started = Date.now();
  const emulator = await startEmulator();
  process.stdout.write(`moto listening on ${emulator.endpoint} (ready in ${Date.now() - started} ms); Ctrl-C to stop\n`);
  const shutdown = () => void emulator.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv[2]).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
