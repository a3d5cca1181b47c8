/**
 * moto (PyPI `moto[server]`) as the local stand-in for DynamoDB, EventBridge, SQS and
 * Secrets Manager, installed into a project-local virtualenv so nobody has to set Python up.
 *
 *   npx tsx scripts/emulator.ts install   # provision the venv only
 *   npx tsx scripts/emulator.ts           # run one emulator until Ctrl-C
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Only the services the receiver uses: half the install time and size of `moto[server]`.
const MOTO_SPEC = 'moto[dynamodb,events,sqs,secretsmanager,sts]==5.2.5 flask==3.1.3 flask-cors==6.0.5';
const READY_TIMEOUT_MS = 30_000;
// A lock older than this belongs to an install that died without cleaning up.
const STALE_LOCK_MS = 10 * 60_000;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const venvDir = join(repoRoot, '.cache', 'emulator-venv');
const binDir = join(venvDir, 'bin');
const stampFile = join(venvDir, '.installed');
const launcher = join(repoRoot, 'scripts', 'emulator.py');
const lockFile = `${venvDir}.lock`;

export interface Emulator {
  endpoint: string;
  stop(): Promise<void>;
}

export async function ensureEmulator(): Promise<string> {
  const motoServer = join(binDir, 'moto_server');
  if (await isInstalled(motoServer)) return motoServer;

  const release = await acquireLock();
  try {
    // Another process may have finished the install while we waited for the lock.
    if (await isInstalled(motoServer)) return motoServer;

    const started = Date.now();
    process.stderr.write(`emulator: installing ${MOTO_SPEC} into ${relative(process.cwd(), venvDir)} (first run only)\n`);
    // A venv from another pin or a half-finished install is cheaper to rebuild than to repair.
    await rm(venvDir, { recursive: true, force: true });
    await run(process.env.PYTHON ?? 'python3', ['-m', 'venv', venvDir]);
    await run(join(binDir, 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...MOTO_SPEC.split(' ')]);
    await writeFile(stampFile, MOTO_SPEC);
    process.stderr.write(`emulator: installed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return motoServer;
  } finally {
    await release();
  }
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
  const child = spawn(join(binDir, 'python'), [launcher, '-H', '127.0.0.1', '-p', String(port)], {
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

async function isInstalled(motoServer: string): Promise<boolean> {
  const stamp = await readFile(stampFile, 'utf8').catch(() => '');
  return stamp === MOTO_SPEC && existsSync(motoServer);
}

async function acquireLock(): Promise<() => Promise<void>> {
  await mkdir(dirname(lockFile), { recursive: true });
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(lockFile).catch(() => {});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await lockIsStale()) {
      await unlink(lockFile).catch(() => {});
      continue;
    }
    await sleep(250);
  }
}

async function lockIsStale(): Promise<boolean> {
  try {
    const [pid, info] = await Promise.all([readFile(lockFile, 'utf8'), stat(lockFile)]);
    if (Date.now() - info.mtimeMs > STALE_LOCK_MS) return true;
    if (!pid) return false; // The owner has created the file but not written its pid yet.
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    // ESRCH: the owner is gone. ENOENT: released meanwhile, so just retry.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Runs a command with its output on our stderr, so stdout stays clean for callers that parse it. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 2, 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolveRun() : reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal})`)),
    );
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
