/**
 * Running the CLI from tests: in-process (fast, for most checks) or as the child process a
 * user starts (for the walkthrough and the AWS path, where the environment is the point).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../../cli/index.js';
import { LOCAL_STATE_ENV, writeLocalState, type LocalState } from '../../local/state.js';
import type { Receiver } from './receiver.js';
import { repoRoot } from '../../scripts/root.js';

export { repoRoot } from '../../scripts/root.js';

/** An item id of the CLI suites: `prefix` and 8 random hex digits. */
export const newId = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export interface InProcessOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  /** The CLI's clock (e.g. `connect`'s grace periods). @default the real one */
  readonly now?: () => Date;
  /** Called with every stderr line as it is written, e.g. to wait for `events tail` to listen. */
  readonly onErr?: (line: string) => void;
  /** What standard input holds (`connect --token-stdin`). @default empty: a test never reads the runner's own stdin */
  readonly stdin?: string;
}

export async function cli(argv: readonly string[], { env, signal, now, onErr, stdin = '' }: InProcessOptions): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    out: (text) => out.push(text),
    err: (text) => {
      err.push(text);
      onErr?.(text);
    },
    env,
    readInput: async () => stdin,
    ...(signal && { signal }),
    ...(now && { now }),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** `events tail` started in the background; resolves `listening` once its rule is in place. */
export function backgroundTail(argv: readonly string[], env: InProcessOptions['env']) {
  let ready!: (line: string) => void;
  const listening = new Promise<string>((resolve) => (ready = resolve));
  const done = cli(['events', 'tail', ...argv], { env, onErr: (line) => line.startsWith('listening') && ready(line) });
  // A tail that fails before listening must fail the test instead of leaving it waiting.
  return { listening: Promise.race([listening, done.then((run) => Promise.reject(new Error(`tail ended: ${run.err}`)))]), done };
}

/**
 * A state file for a test receiver (or an uploads stack), as `npm start` writes one for its
 * own, so the CLI's `--local` finds it.
 */
export async function stateFor(
  r: Pick<Receiver, 'endpoint' | 'imagesUrl' | 'streamUrl'> & { resources: Pick<Receiver['resources'], 'tableName' | 'eventBusName' | 'eventBusArn' | 'secretArn' | 'watchQueueUrl'> },
  path: string,
  extra: Partial<LocalState> = {},
): Promise<Record<string, string>> {
  await writeLocalState(path, {
    version: 1,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    endpoint: r.endpoint,
    imagesUrl: r.imagesUrl,
    streamUrl: r.streamUrl,
    tableName: r.resources.tableName,
    eventBusName: r.resources.eventBusName,
    eventBusArn: r.resources.eventBusArn,
    secretId: r.resources.secretArn,
    watchQueueUrl: r.resources.watchQueueUrl,
    ...extra,
  });
  return { [LOCAL_STATE_ENV]: path };
}

export interface SpawnOptions {
  /** @default the repository */
  readonly cwd?: string;
  /** What standard input holds; @default none (closed) */
  readonly stdin?: string;
  /** How the CLI is started; @default the launcher, `scripts/cli.mjs` (the bundled CLI) */
  readonly entry?: readonly string[];
}

/**
 * `npm run cli -- …` without npm, in a process of its own: the same launcher, or `entry`. Variables
 * whose value is undefined are left out of the child's environment.
 */
export function spawnCli(argv: readonly string[], env: Record<string, string | undefined>, { cwd = repoRoot, stdin, entry = ['scripts/cli.mjs'] }: SpawnOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const childEnv = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined));
    const child = spawn(process.execPath, [...entry, ...argv], { cwd, env: childEnv, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? 1, out: out.trimEnd(), err: err.trimEnd() }));
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

/** The CLI from its TypeScript sources rather than the launcher's bundle. */
export const FROM_SOURCES = ['--import', 'tsx', 'cli/index.ts'] as const;

/**
 * A child process's environment for the AWS SDK against the emulator at `endpoint`: fixed keys and
 * region, no profile or config file of the machine's, the SDK's Node 20 notice off.
 */
export function emulatorEnv(endpoint: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_ENDPOINT_URL: endpoint,
    ...extra,
  };
}

/**
 * Answers CloudFormation's DescribeStacks (AWS query protocol) with the given outputs, so the
 * CLI's `--stack` path runs unchanged against the emulator's resources.
 */
export async function fakeCloudFormation(stacks: Readonly<Record<string, Readonly<Record<string, string>>>>) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const params = new URLSearchParams(body);
      const name = params.get('StackName') ?? '';
      requests.push(`${params.get('Action')} ${name}`);
      const outputs = stacks[name];
      res.setHeader('content-type', 'text/xml');
      if (params.get('Action') !== 'DescribeStacks' || !outputs) {
        res.statusCode = 400;
        res.end(
          `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
            `<Message>Stack with id ${name} does not exist</Message></Error><RequestId>fake</RequestId></ErrorResponse>`,
        );
        return;
      }
      const members = Object.entries(outputs)
        .map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`)
        .join('');
      res.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
          `<StackName>${name}</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/1</StackId>` +
          `<CreationTime>2024-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>` +
          `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
