import { ApiFailure, CloudflareApiError, type ImageTruth, type VideoTruth } from '../core/cloudflare.js';
import { ImageStatus, ItemKind } from '../core/contract.js';
import { decide } from '../core/decide.js';
import { ReportSource, type Item, type StatusReport } from '../core/item.js';
import { NOTHING, pool, settle, type OutboxPorts } from '../core/outbox.js';
import { reportFromApi } from '../core/reconcile.js';
import { isoOrUndefined } from '../core/values.js';
import type { CloudflareReader } from '../adapters/cloudflare.js';

/**
 * The sweep: what a lost webhook left wrong, set right from Cloudflare's API, on a schedule.
 *
 * - An image whose upload window ended while still `pending` or `draft`: Cloudflare is asked first.
 *   If it has the file, the image is `uploaded` (a recovered lost webhook, `Image Uploaded`); if it
 *   is still a draft, or unknown, the image is `expired` at its window's end (`Image Expired`).
 * - A video `pending` for longer than a set age (Stream can take hours): Cloudflare says `ready` or
 *   `error`; one still processing is left for the next run.
 *
 * Every change is a status report applied through the same decide → version-guarded write →
 * publish path as a webhook, so the sweep cannot lose an event, publishes each once, and never
 * overrides a completed upload. A Cloudflare outage changes nothing: the item waits for the next run.
 * Without a read token, images expire as before (the README says what that risks) and videos wait.
 */

export interface SweepIndex {
  /** Ids of images in `status` whose window ended at or before `until`, oldest window first. */
  due(status: string, until: string, limit: number): Promise<string[]>;
  /** Ids of videos `pending` since at or before `before` (the byStatus index), oldest first. */
  pendingVideos(before: string, limit: number): Promise<string[]>;
}

export interface SweepPorts extends OutboxPorts {
  readonly index: SweepIndex;
  /** Cloudflare's API, read-only; absent (or without a token) when none is configured. */
  readonly cloudflare?: CloudflareReader;
  readonly now: () => Date;
  /** Milliseconds this run may still use; the sweep stops taking items when it runs low. */
  readonly remainingMs?: () => number;
}

export interface SweepOptions {
  /** A window must have ended this long ago: lets a webhook for an upload made at the last second arrive first. */
  readonly graceSeconds: number;
  readonly maxItems: number;
  readonly leaseMs: number;
  /** A video pending this long is checked with Cloudflare; 0: never. */
  readonly videoPendingSeconds: number;
  readonly concurrency?: number;
}

/** What became of one item. `recovered`: Cloudflare had what a lost webhook should have told us. */
export type ItemOutcome = 'expired' | 'recovered' | 'skipped' | 'deferred';

export interface SweepResult {
  readonly expired: number;
  readonly recovered: number;
  /** Completed, failed or changed meanwhile, or still processing at Cloudflare: nothing to do. */
  readonly skipped: number;
  /** Cloudflare could not be asked: left as it was for the next run. */
  readonly deferred: number;
  readonly failed: number;
  /** More items were due than this run took; the next run continues. */
  readonly more: boolean;
  readonly published: number;
  /** Calls to Cloudflare that failed, by class (`auth` raises an alarm). */
  readonly apiFailures: Readonly<Partial<Record<ApiFailure, number>>>;
  /** The first item failure (DynamoDB or EventBridge trouble); the item is retried by the next run. */
  readonly firstError?: unknown;
}

/** Statuses an upload can be stuck in. */
const EXPIRABLE: readonly string[] = [ImageStatus.Pending, ImageStatus.Draft];
/** Stop taking items when less than this is left of the invocation. */
const SAFETY_MS = 5000;

export async function sweep(ports: SweepPorts, options: SweepOptions): Promise<SweepResult> {
  const now = ports.now();
  const until = new Date(now.getTime() - options.graceSeconds * 1000).toISOString();
  const asking = ports.cloudflare && (await ports.cloudflare.configured()) ? ports.cloudflare : undefined;

  // Ask for one more than we take, to know whether the next run has work left.
  const images: string[] = [];
  for (const status of EXPIRABLE) images.push(...(await ports.index.due(status, until, options.maxItems + 1 - images.length)));
  const videos =
    asking && options.videoPendingSeconds > 0
      ? await ports.index.pendingVideos(new Date(now.getTime() - options.videoPendingSeconds * 1000).toISOString(), options.maxItems + 1)
      : [];
  const work = [...images.map((id) => ({ kind: ItemKind.Image, id })), ...videos.map((id) => ({ kind: ItemKind.Video, id }))];
  const more = work.length > options.maxItems;

  const run = new Run(ports, options, asking, until);
  await pool(work.slice(0, options.maxItems), options.concurrency ?? 4, (subject) => run.item(subject.kind, subject.id));
  return run.result(more);
}

/** One run's state: its counts, and whether Cloudflare may still be asked (a 429 or a refused token stops that). */
class Run {
  private readonly counts = { expired: 0, recovered: 0, skipped: 0, deferred: 0, failed: 0, published: 0 };
  private readonly apiFailures: Partial<Record<ApiFailure, number>> = {};
  private firstError: unknown;
  private cloudflareStopped = false;

  constructor(
    private readonly ports: SweepPorts,
    private readonly options: SweepOptions,
    private readonly cloudflare: CloudflareReader | undefined,
    private readonly until: string,
  ) {}

  async item(kind: ItemKind, id: string): Promise<void> {
    if (this.ports.remainingMs && this.ports.remainingMs() < SAFETY_MS) return;
    try {
      const { outcome, published } = kind === ItemKind.Image ? await this.image(id) : await this.video(id);
      this.counts[outcome] += 1;
      this.counts.published += published;
    } catch (error) {
      this.counts.failed += 1;
      this.firstError ??= error;
    }
  }

  result(more: boolean): SweepResult {
    return { ...this.counts, more, apiFailures: this.apiFailures, ...(this.firstError !== undefined && { firstError: this.firstError }) };
  }

  /** An open upload whose window ended: uploaded if Cloudflare has the file, expired otherwise. */
  private async image(id: string): Promise<{ outcome: ItemOutcome; published: number }> {
    // What Cloudflare says, asked only about an item still due (read first); without a token the
    // consistent read in `apply` is the only one, and the expiry is decided on it.
    let uploaded: StatusReport | undefined;
    if (this.cloudflare) {
      const item = await this.ports.store.get(id);
      if (!item || !expiryReport(item, this.until)) return { outcome: 'skipped', published: 0 };
      const truth = await this.ask(() => this.cloudflare!.image(id));
      if (!truth) return { outcome: 'deferred', published: 0 };
      if (truth.state === 'uploaded') uploaded = reportFromApi({ kind: ItemKind.Image, id }, truth, this.ports.now())!;
    }
    const published = await this.apply(id, (current) => {
      const expiry = expiryReport(current, this.until);
      return expiry && (uploaded ?? expiry);
    });
    if (published === undefined) return { outcome: 'skipped', published: 0 };
    return { outcome: uploaded ? 'recovered' : 'expired', published };
  }

  /** A video pending past the age: whatever Cloudflare says it became. */
  private async video(id: string): Promise<{ outcome: ItemOutcome; published: number }> {
    const truth = await this.ask(() => this.cloudflare!.video(id));
    if (!truth) return { outcome: 'deferred', published: 0 };
    const report = reportFromApi({ kind: ItemKind.Video, id }, truth, this.ports.now());
    if (!report) return { outcome: 'skipped', published: 0 };
    const published = await this.apply(id, (current) => ((current.status ?? ImageStatus.Pending) === ImageStatus.Pending ? report : undefined));
    return published === undefined ? { outcome: 'skipped', published: 0 } : { outcome: 'recovered', published };
  }

  /** Cloudflare's answer, or undefined when it could not be had (the item is deferred). */
  private async ask<T extends ImageTruth | VideoTruth>(call: () => Promise<T>): Promise<T | undefined> {
    if (this.cloudflareStopped) return undefined;
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof CloudflareApiError)) throw error;
      this.apiFailures[error.failure] = (this.apiFailures[error.failure] ?? 0) + 1;
      // Honour a rate limit and a refused token for the rest of the run: every further call would fail alike.
      if (error.failure === ApiFailure.Throttled || error.failure === ApiFailure.Auth) this.cloudflareStopped = true;
      return undefined;
    }
  }

  /**
   * Applies the report `reportFor` gives the item (read consistently) through the shared path; none:
   * it no longer needs one. Undefined: it made no transition. A live writer's lease is not waited
   * for: the next run comes.
   */
  private async apply(id: string, reportFor: (item: Item) => StatusReport | undefined): Promise<number | undefined> {
    const decision = await settle(
      this.ports,
      id,
      (item) => {
        const report = item && reportFor(item);
        return report ? decide(item, report, { now: this.ports.now(), leaseMs: this.options.leaseMs }) : NOTHING;
      },
      async () => false,
    );
    return decision.type === 'write' && decision.outcome === 'transitioned' ? decision.publish.length : undefined;
  }
}

/**
 * The expiry an item is due, decided on the item as just read (consistently): only an image still
 * waiting for its upload, whose window ended at or before `until`, expires, at the window's end.
 */
export function expiryReport(item: Item, until: string): StatusReport | undefined {
  const expiresAt = isoOrUndefined(item.expiresAt);
  if (expiresAt === undefined || expiresAt > until || (item.kind ?? ItemKind.Image) !== ItemKind.Image) return undefined;
  if (!EXPIRABLE.includes(item.status ?? ImageStatus.Pending)) return undefined;
  return { kind: ItemKind.Image, id: item.id, status: ImageStatus.Expired, occurredAt: expiresAt, source: ReportSource.Expiry, attributes: {} };
}
