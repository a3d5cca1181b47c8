import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiFailure,
  apiUrl,
  CloudflareApiError,
  imageTruth,
  readAnswer,
  readDirectUpload,
  videoTruth,
  type ApiCredentials,
  type ApiSecretReading,
  type DirectUpload,
  type ImageTruth,
  type VideoTruth,
} from '../core/cloudflare.js';

/**
 * Cloudflare's API with plain `fetch`: three calls do not justify the official SDK in a Lambda
 * bundle (it adds ~650 KB to every cold start; `connect` uses it).
 *
 *   GET  /accounts/{account_id}/images/v1/{image_id}    (Images Read: the webhook, the sweep)
 *   GET  /accounts/{account_id}/stream/{identifier}     (Stream Read: the webhook, the sweep)
 *   POST /accounts/{account_id}/images/v2/direct_upload (Images Write: the upload route)
 *
 * The API allows 1,200 requests per five minutes per user; a 429 says how long to wait
 * (`retry-after`). A read's wait that fits `maxRetryAfterMs` is waited and the read tried once
 * more; a longer one is the caller's to honour (the sweep stops asking for the rest of its run).
 * A create is never retried: a second attempt could leave a second draft.
 */

export interface CredentialSource {
  /** The credentials, or why there are none (a blank secret), never its value. */
  reading(): Promise<ApiSecretReading>;
  /** Forget a cached value, e.g. after Cloudflare refused the token (it may have been replaced). */
  invalidate(): void;
}

/** What the webhook and the sweep ask of Cloudflare. */
export interface CloudflareReader {
  /** False while there is no token: callers then act as if confirmation were off. */
  configured(): Promise<boolean>;
  image(id: string): Promise<ImageTruth>;
  video(uid: string): Promise<VideoTruth>;
}

/** What the upload route asks of Cloudflare. */
export interface DirectUploadClient {
  create(fields: Readonly<Record<string, string>>): Promise<DirectUpload>;
}

export interface FetchCloudflareOptions {
  readonly baseUrl: string;
  readonly credentials: CredentialSource;
  /** One request's limit; a timeout is `timeout`, retryable. */
  readonly timeoutMs: number;
  /** The longest `retry-after` a read waits for. @default 1000 */
  readonly maxRetryAfterMs?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Call {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: FormData;
}

export class FetchCloudflare implements CloudflareReader, DirectUploadClient {
  constructor(private readonly options: FetchCloudflareOptions) {}

  async configured(): Promise<boolean> {
    return (await this.options.credentials.reading()).ok;
  }

  async image(id: string): Promise<ImageTruth> {
    return imageTruth(await this.read(`/images/v1/${encodeURIComponent(id)}`));
  }

  async video(uid: string): Promise<VideoTruth> {
    return videoTruth(await this.read(`/stream/${encodeURIComponent(uid)}`));
  }

  async create(fields: Readonly<Record<string, string>>): Promise<DirectUpload> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    return readDirectUpload(await this.call({ method: 'POST', path: '/images/v2/direct_upload', body: form }));
  }

  /** The envelope's result, or undefined for "no such object"; a throttled read is tried once more if the wait fits. */
  private async read(path: string): Promise<unknown> {
    try {
      return await this.call({ method: 'GET', path });
    } catch (error) {
      const waitMs = error instanceof CloudflareApiError ? (error.detail.retryAfterSeconds ?? Number.POSITIVE_INFINITY) * 1000 : Number.POSITIVE_INFINITY;
      if (!(error instanceof CloudflareApiError) || error.failure !== ApiFailure.Throttled || waitMs > (this.options.maxRetryAfterMs ?? 1000)) throw error;
      await (this.options.sleep ?? sleep)(waitMs);
      return this.call({ method: 'GET', path });
    }
  }

  private async call({ method, path, body }: Call): Promise<unknown> {
    const reading = await this.options.credentials.reading();
    if (!reading.ok) throw new CloudflareApiError(reading.problem, ApiFailure.NotConfigured);
    const answer = await this.send(method, apiUrl(this.options.baseUrl, reading.credentials.accountId, path), reading.credentials, body);
    try {
      return readAnswer(answer.status, answer.body, answer.retryAfter);
    } catch (error) {
      // A refused token may have been replaced since it was cached: read the secret again next time.
      if (error instanceof CloudflareApiError && error.failure === ApiFailure.Auth) this.options.credentials.invalidate();
      throw error;
    }
  }

  private async send(method: string, url: string, credentials: ApiCredentials, body?: FormData): Promise<{ status: number; body: string; retryAfter: string | null }> {
    try {
      const response = await (this.options.fetch ?? fetch)(url, {
        method,
        headers: { authorization: `Bearer ${credentials.apiToken}`, accept: 'application/json' },
        ...(body && { body }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      return { status: response.status, body: await response.text(), retryAfter: response.headers.get('retry-after') };
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        throw new CloudflareApiError(`Cloudflare did not answer within ${this.options.timeoutMs} ms`, ApiFailure.Timeout, {}, { cause: error });
      }
      throw new CloudflareApiError(`Cloudflare could not be reached: ${(error as Error).message}`, ApiFailure.Unavailable, {}, { cause: error });
    }
  }
}

