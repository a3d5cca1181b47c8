/** Starts bench/child/stub.mjs (the instant loopback AWS stub) as its own process. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { benchDir } from './build.js';
import { pendingItem } from './deliveries.js';

export interface StubReport {
  readonly counts: Record<string, number>;
  readonly samples: readonly { readonly target: string; readonly body: any }[];
}

export interface Stub {
  readonly endpoint: string;
  /** Requests answered so far, per X-Amz-Target, and the DynamoDB request bodies sampled. */
  report(): Promise<StubReport>;
  stop(): Promise<void>;
}

/** `sampleIds`: a regular expression; DynamoDB requests for matching item ids are kept. */
export async function startStub(secretString: string, sampleIds?: string): Promise<Stub> {
  const child = spawn(process.execPath, [join(benchDir, 'child', 'stub.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH ?? '',
      STUB_SECRET_STRING: secretString,
      STUB_PENDING_ITEM: JSON.stringify(pendingItem('__ID__', '__KIND__' as 'image')),
      ...(sampleIds ? { STUB_SAMPLE_IDS: sampleIds } : {}),
    },
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('bench stub exited');
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const { port } = (await next()) as { port: number };
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    report: async () => {
      child.stdin!.write('report\n');
      return (await next()) as unknown as StubReport;
    },
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}
