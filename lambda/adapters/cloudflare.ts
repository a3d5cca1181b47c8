import { ApiFailure, apiUrl, CloudflareApiError, imageTruth, readAnswer, videoTruth, type ApiCredentials, type ImageTruth, type VideoTruth } from '../core/cloudflare.js';

/**
 * Cloudflare's API, read-only, with plain `fetch`: two GETs do not justify the official SDK in a
 * Lambda bundle (it adds ~650 KB to every cold start; `connect` uses it).
 *
 *   GET /accounts/{account_id}/images/v1/{image_id}   (Images Read)
 *   GET /accounts/{account_id}/stream/{identifier}    (Stream Read)
 *
 * The API allows 1,200 requests per five minutes per user; a 429 says how long to wait
 * (`retry-after`). A wait that fits the caller's budget is waited and the call tried once more;
 * a longer one is the caller's to honour (the sweep stops asking for the rest of its run).
 */

export interface CredentialSource {
  /** Undefined while the secret is blank: nothing is asked of Cloudflare then. */
  get(): Promise<ApiCredentials | undefined>;
  /** Forget a cached value, e.g. after Cloudflare refused the token (it may have been replaced). */
  invalidate(): void;
}

/** What the functions ask of Cloudflare. */
export interface CloudflareReader {
  /** False while there is no token: callers then act as if confirmation were off. */
  configured(): Promise<boolean>;
  image(id: string): Promise<ImageTruth>;
  video(uid: string): Promise<VideoTruth>;
}

export interface FetchCloudflareOptions {
  readonly baseUrl: string;
  readonly credentials: CredentialSource;
  /** One request's limit; a timeout is `unavailable`, retryable. */
  readonly timeoutMs: number;
  /** The longest `retry-after` waited within a call. @default 1000 */
  readonly maxRetryAfterMs?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class FetchCloudflareReader implements CloudflareReader {
  constructor(private readonly options: FetchCloudflareOptions) {}

  async configured(): Promise<boolean> {
    return (await this.options.credentials.get()) !== undefined;
  }

  async image(id: string): Promise<ImageTruth> {
    return imageTruth(await this.read(`/images/v1/${encodeURIComponent(id)}`));
  }

  async video(uid: string): Promise<VideoTruth> {
    return videoTruth(await this.read(`/stream/${encodeURIComponent(uid)}`));
  }

  /** The envelope's result, or undefined for "no such object". */
  private async read(path: string, attempt = 1): Promise<unknown> {
    const credentials = await this.options.credentials.get();
    if (!credentials) throw new CloudflareApiError('no Cloudflare read token is configured', ApiFailure.Auth);
    const { status, body, retryAfter } = await this.get(apiUrl(this.options.baseUrl, credentials.accountId, path), credentials.apiToken);
    try {
      return readAnswer(status, body, retryAfter);
    } catch (error) {
      if (!(error instanceof CloudflareApiError)) throw error;
      if (error.failure === ApiFailure.Auth) this.options.credentials.invalidate();
      const waitMs = (error.detail.retryAfterSeconds ?? Number.POSITIVE_INFINITY) * 1000;
      if (error.failure === ApiFailure.Throttled && attempt === 1 && waitMs <= (this.options.maxRetryAfterMs ?? 1000)) {
        await (this.options.sleep ?? sleep)(waitMs);
        return this.read(path, attempt + 1);
      }
      throw error;
    }
  }

  private async get(url: string, token: string): Promise<{ status: number; body: string; retryAfter: string | null }> {
    try {
      const response = await (this.options.fetch ?? fetch)(url, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      return { status: response.status, body: await response.text(), retryAfter: response.headers.get('retry-after') };
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      const why = timedOut ? `did not answer within ${this.options.timeoutMs} ms` : `could not be reached: ${(error as Error).message}`;
      throw new CloudflareApiError(`Cloudflare ${why}`, ApiFailure.Unavailable, {}, { cause: error });
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
