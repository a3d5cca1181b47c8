import { CloudflareApiError, type CloudflareMessage } from './errors.js';

/**
 * Step 2: Cloudflare's direct-creator-upload call. The request and the reading of the answer
 * are pure functions; `FetchDirectUploads` only moves bytes. One multipart POST does not
 * justify the official SDK here: bundled, it adds ~650 KB to the function and to every cold
 * start (the `connect` command, which uses many endpoints, does use it).
 */

/** Cloudflare's API root; `CLOUDFLARE_BASE_URL` overrides it, as in the official SDK. */
export const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4';

export interface ApiCredentials {
  readonly accountId: string;
  readonly apiToken: string;
}

export interface DirectUpload {
  readonly id: string;
  readonly uploadURL: string;
}

export interface DirectUploadClient {
  create(fields: Readonly<Record<string, string>>): Promise<DirectUpload>;
}

export interface CredentialSource {
  get(): Promise<ApiCredentials>;
  /** Forget a cached value, e.g. after Cloudflare refused the token. */
  invalidate(): void;
}

export function directUploadUrl(baseUrl: string, accountId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/accounts/${encodeURIComponent(accountId)}/images/v2/direct_upload`;
}

/**
 * Turns Cloudflare's answer into the upload or an error whose status we can answer with.
 * Every Cloudflare answer is `{success, errors, messages, result}`; one that is not is
 * treated as Cloudflare being broken, never as success.
 */
export function readDirectUploadAnswer(status: number, body: string, retryAfter?: string | null): DirectUpload {
  const envelope = parseEnvelope(body);
  const errors = envelope?.errors ?? [];
  const detail = { cloudflareStatus: status, errors };
  if (status >= 200 && status < 300) {
    const result = envelope?.result as { id?: unknown; uploadURL?: unknown } | null | undefined;
    if (envelope?.success === true && typeof result?.id === 'string' && typeof result.uploadURL === 'string') {
      return { id: result.id, uploadURL: result.uploadURL };
    }
    throw new CloudflareApiError('Cloudflare answered without an upload id and URL', 502, { ...detail, retryable: true });
  }
  const summary = errors.map((e) => (e.code !== undefined ? `${e.code} ${e.message}` : e.message)).join('; ') || `HTTP ${status}`;
  if (status === 400 || status === 409 || status === 413 || status === 422) {
    // Our request passed our own checks, so what Cloudflare refused is the caller's input (a taken custom id, metadata too large).
    return fail(`Cloudflare refused the upload: ${summary}`, status === 409 ? 409 : 400, { ...detail, retryable: false });
  }
  if (status === 401 || status === 403) {
    return fail(`Cloudflare refused the API token (check the uploads API secret and the token's Images permission): ${summary}`, 502, { ...detail, retryable: false });
  }
  if (status === 404) return fail(`Cloudflare does not know the account (check accountId in the uploads API secret): ${summary}`, 502, { ...detail, retryable: false });
  if (status === 429) {
    const seconds = retryAfter ? Number(retryAfter) : Number.NaN;
    return fail(`Cloudflare is rate limiting the account: ${summary}`, 429, {
      ...detail,
      retryable: true,
      ...(Number.isFinite(seconds) && seconds >= 0 && { retryAfter: seconds }),
    });
  }
  return fail(`Cloudflare failed: ${summary}`, 502, { ...detail, retryable: status >= 500 });
}

function fail(message: string, status: number, detail: CloudflareApiError['detail']): never {
  throw new CloudflareApiError(message, status, detail);
}

interface Envelope {
  readonly success?: unknown;
  readonly errors: CloudflareMessage[];
  readonly result?: unknown;
}

function parseEnvelope(body: string): Envelope | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const record = json as Record<string, unknown>;
  const errors = Array.isArray(record.errors)
    ? record.errors.flatMap((e): CloudflareMessage[] => {
        if (typeof e !== 'object' || e === null) return [];
        const { code, message } = e as { code?: unknown; message?: unknown };
        // Only code and message: they are Cloudflare's words about our request, safe to pass on.
        return [{ ...(typeof code === 'number' && { code }), message: typeof message === 'string' ? message.slice(0, 500) : 'unknown error' }];
      })
    : [];
  return { success: record.success, errors, result: record.result };
}

export interface FetchDirectUploadsOptions {
  readonly baseUrl: string;
  readonly credentials: CredentialSource;
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
}

/** No retries: a retried create could leave a second draft; the caller sees `retryable` and decides. */
export class FetchDirectUploads implements DirectUploadClient {
  constructor(private readonly options: FetchDirectUploadsOptions) {}

  async create(fields: Readonly<Record<string, string>>): Promise<DirectUpload> {
    const { accountId, apiToken } = await this.options.credentials.get();
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    let response: Response;
    let body: string;
    try {
      response = await (this.options.fetch ?? fetch)(directUploadUrl(this.options.baseUrl, accountId), {
        method: 'POST',
        headers: { authorization: `Bearer ${apiToken}`, accept: 'application/json' },
        body: form,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      body = await response.text();
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new CloudflareApiError(
        timedOut ? `Cloudflare did not answer within ${this.options.timeoutMs} ms` : `Cloudflare could not be reached: ${(error as Error).message}`,
        timedOut ? 504 : 502,
        { retryable: true },
        { cause: error },
      );
    }
    if (response.status === 401 || response.status === 403) this.options.credentials.invalidate();
    return readDirectUploadAnswer(response.status, body, response.headers.get('retry-after'));
  }
}
