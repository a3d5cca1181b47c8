/**
 * Lambda's execution model, for local mode. In AWS each concurrent request runs in an execution
 * environment of its own, which serves one request at a time and is then reused, warm, for the
 * next; its module state is its own: SDK clients, their socket pools and retry quotas, caches.
 * Locally one process runs every delivery, so an instance here is a module instance of the
 * bundle: imported again under its own query string, with the function's environment set while
 * it loads (`importBundle`). Instances start on demand (a cold start), up to a cap, and a free
 * one is reused before another starts.
 *
 * One shared module instance would be the wrong model: a burst then puts every delivery's AWS
 * calls on one client, whose socket pool (50) makes the rest wait, and the SDK counts that wait
 * against its 1 s connection timeout; the timeouts then spend the client's retry quota at once,
 * so most calls fail after one attempt and the burst gets 500s that AWS would not give.
 *
 * The cap plays the part of a reserved concurrency, with one difference: a request over it waits
 * for a free instance instead of being throttled. It exists because the emulator answers one
 * DynamoDB call at a time: more instances add no throughput, only a longer queue in front of moto,
 * and a call that waits there longer than the SDK's 2 s request timeout fails as if AWS were down.
 */
import { pathToFileURL } from 'node:url';

export const LOCAL_CONCURRENCY_ENV = 'LOCAL_CONCURRENCY';
/**
 * At most this many deliveries run at once. With one DynamoDB call in moto at a time (a few ms
 * each), a call waits behind at most 7 others: well inside the SDK's timeouts, even on a busy
 * machine; and moto's throughput is reached with fewer (bench: 0.9× its ceiling at 8).
 */
export const DEFAULT_LOCAL_CONCURRENCY = 8;

export function localConcurrency(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const text = env[LOCAL_CONCURRENCY_ENV];
  if (text === undefined || text === '') return DEFAULT_LOCAL_CONCURRENCY;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${LOCAL_CONCURRENCY_ENV} must be a positive integer, got '${text}'`);
  return value;
}

export interface InstanceStats {
  /** Instances started so far (cold starts). */
  readonly started: number;
  readonly busy: number;
  /** Requests waiting for a free instance now. */
  readonly waiting: number;
  /** Most instances busy at once. */
  readonly peakBusy: number;
  /** Requests that had to wait for a free instance, in all. */
  readonly waited: number;
}

export interface Instances<A extends unknown[], R> {
  /** Runs one invocation on an instance of its own for its duration. */
  readonly invoke: (...args: A) => Promise<Awaited<R>>;
  /** Starts one instance now, so a bundle that cannot load fails here rather than on the first request. */
  warm(): Promise<void>;
  stats(): InstanceStats;
}

export interface InstancesOptions<A extends unknown[], R> {
  /** Starts an instance: a fresh module instance of the function (`importBundle`). */
  readonly create: () => Promise<(...args: A) => R>;
  /** Most instances at once; more requests wait for one to be free. */
  readonly concurrency: number;
}

export function lambdaInstances<A extends unknown[], R>({ create, concurrency }: InstancesOptions<A, R>): Instances<A, R> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  const pool = new InstancePool(create, concurrency);
  return {
    invoke: (...args: A) => pool.invoke(...args),
    warm: () => pool.warm(),
    stats: () => pool.stats(),
  };
}

type Handler<A extends unknown[], R> = (...args: A) => R;

/** The instances of one function, and how many are starting, busy or waited for. */
class InstancePool<A extends unknown[], R> {
  private readonly idle: Handler<A, R>[] = [];
  /** Resolved with a freed instance, or with nothing when a start failed and its place is free again. */
  private readonly waiters: ((handler: Handler<A, R> | undefined) => void)[] = [];
  private starting = 0;
  private started = 0;
  private busy = 0;
  private peakBusy = 0;
  private waited = 0;

  constructor(
    private readonly create: () => Promise<Handler<A, R>>,
    private readonly concurrency: number,
  ) {}

  async invoke(...args: A): Promise<Awaited<R>> {
    const handler = await this.acquire();
    this.busy++;
    this.peakBusy = Math.max(this.peakBusy, this.busy);
    try {
      return await handler(...args);
    } finally {
      this.busy--;
      this.release(handler);
    }
  }

  async warm(): Promise<void> {
    if (this.started + this.starting >= this.concurrency) return;
    this.release(await this.start());
  }

  stats(): InstanceStats {
    return { started: this.started, busy: this.busy, waiting: this.waiters.length, peakBusy: this.peakBusy, waited: this.waited };
  }

  private async start(): Promise<Handler<A, R>> {
    this.starting++;
    try {
      const handler = await this.create();
      this.started++;
      return handler;
    } catch (error) {
      this.waiters.shift()?.(undefined);
      throw error;
    } finally {
      this.starting--;
    }
  }

  private async acquire(): Promise<Handler<A, R>> {
    let counted = false;
    for (;;) {
      // The most recently freed instance first, as Lambda tends to: the others can go cold.
      const warm = this.idle.pop();
      if (warm) return warm;
      if (this.started + this.starting < this.concurrency) return this.start();
      if (!counted) this.waited++;
      counted = true;
      const handed = await new Promise<Handler<A, R> | undefined>((resolve) => this.waiters.push(resolve));
      if (handed) return handed;
    }
  }

  private release(handler: Handler<A, R>): void {
    const next = this.waiters.shift();
    if (next) next(handler);
    else this.idle.push(handler);
  }
}

let loads: Promise<unknown> = Promise.resolve();
let applied: string[] = [];
let loaded = 0;

/**
 * A module instance of its own of the bundle at `entry`, with `env` in process.env while it
 * loads: bundles read their configuration as they load. Loads run one at a time in the process,
 * so none sees another's variables. `entry` may be looked up inside the queue (tests build the
 * bundles on first use, and two loads must not build them at once).
 *
 * What the SDK reads from the environment later, on its first call (AWS_ENDPOINT_URL, the region
 * and credentials), comes from the process.env of that moment: every bundle loaded in one process
 * must agree on those.
 */
export function importBundle<T>(entry: string | (() => Promise<string>), env: Readonly<Record<string, string>>): Promise<T> {
  const load = loads.then(async () => {
    const file = typeof entry === 'string' ? entry : await entry();
    // Drop what an earlier load set, so an override of `undefined` really unsets it.
    for (const name of applied) delete process.env[name];
    Object.assign(process.env, env);
    applied = Object.keys(env);
    const module = (await import(`${pathToFileURL(file).href}?instance=${++loaded}`)) as { handler: T };
    return module.handler;
  });
  loads = load.catch(() => {});
  return load;
}
