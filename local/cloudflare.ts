/**
 * The project's local stand-in of Cloudflare's API: the parts of Images, Stream and
 * Notifications this project uses, asked and answered as Cloudflare documents them (each
 * shape cites its page in the cloudflare/cloudflare-docs repository). It also plays
 * Cloudflare's side of an upload: it takes the creator's file, processes it, and delivers the
 * webhooks, which it can also lose on purpose.
 *
 *   POST       /client/v4/accounts/{account_id}/images/v2/direct_upload        images:write
 *   GET        /client/v4/accounts/{account_id}/images/v1/{image_id}           images:read
 *   POST       /client/v4/accounts/{account_id}/stream/direct_upload           stream:write
 *   GET        /client/v4/accounts/{account_id}/stream/{identifier}            stream:read
 *   GET        /client/v4/accounts/{account_id}/stream/webhook                 stream:read
 *   PUT|DELETE /client/v4/accounts/{account_id}/stream/webhook                 stream:write
 *   GET|POST|PUT|DELETE …/alerting/v3/destinations/webhooks[/{id}]            notifications:write
 *   GET|POST|PUT|DELETE …/alerting/v3/policies[/{id}]                         notifications:write
 *   POST       {uploadURL}   the creator's file as multipart field `file` (`curl -F file=@cat.jpg <uploadURL>`), no token
 *
 * Every API answer is the `{success, errors, messages, result}` envelope; requests need
 * `Authorization: Bearer <token>` (401 for an unknown token, 403 with code 10000 for a missing
 * permission; a `:write` permission includes its `:read`). Error codes other than 10000 are
 * illustrative: callers should key on the HTTP status.
 *
 * This file is the server (tokens, injected faults, upload URLs, webhook deliveries); each family
 * of routes has its own: cloudflare-images.ts, cloudflare-stream.ts, cloudflare-notifications.ts.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sampleFiles } from './cloudflare-files.js';
import { ApiError, bad, envelope, errorEnvelope, fault, type Handled, type Route, type StandInCore, type UploadAnswer } from './cloudflare-http.js';
import { ImagesApi } from './cloudflare-images.js';
import { NotificationsApi } from './cloudflare-notifications.js';
import { MAX_VIDEO_BYTES, StreamApi } from './cloudflare-stream.js';
import { readBody } from './server.js';
import {
  ALL_PERMISSIONS,
  allows,
  type DropRule,
  type NotificationPolicy,
  type Permission,
  type PlannedDelivery,
  type StandInImage,
  type StandInVideo,
  type StreamWebhook,
  type WebhookDelivery,
  type WebhookDestination,
} from './cloudflare-types.js';

export { sampleFiles, sniffMedia } from './cloudflare-files.js';
export { signStreamWebhook } from './cloudflare-stream.js';
export {
  ALL_PERMISSIONS,
  allows,
  Permission,
  type DropRule,
  type NotificationPolicy,
  type PlannedDelivery,
  type StandInImage,
  type StandInVideo,
  type StreamWebhook,
  type VideoState,
  type WebhookDelivery,
  type WebhookDestination,
} from './cloudflare-types.js';

export interface CloudflareStandInOptions {
  /** @default a fixed 32-hex account id */
  readonly accountId?: string;
  /** Accepted API tokens and what each may do. @default one token with every permission */
  readonly tokens?: Readonly<Record<string, readonly Permission[]>>;
  /** The stand-in's clock (expiry windows, timestamps, webhook signatures). @default the real one */
  readonly now?: () => Date;
  /** Loopback port to listen on. @default 0, a free one */
  readonly port?: number;
  /** How long a video takes from arriving to ready or error. @default 200 */
  readonly processingDelayMs?: number;
  /** Lose webhooks on purpose, all of them or those the function picks. @default false */
  readonly dropWebhooks?: DropRule;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Authorization is recorded as `Bearer <redacted>` so tests can assert it was sent without keeping it. */
  readonly authorization?: string;
  readonly contentType?: string;
  /** JSON body, or the multipart form's text fields. */
  readonly body?: unknown;
  readonly status: number;
}

export interface FaultAnswer {
  readonly status: number;
  readonly errors?: readonly { code: number; message: string }[];
  readonly headers?: Readonly<Record<string, string>>;
  /** How many matching requests get it. @default 1 */
  readonly times?: number;
  /** Close the connection without answering instead. */
  readonly drop?: boolean;
  /** Answer only after this many ms. */
  readonly delayMs?: number;
}

export interface UploadFile {
  readonly name: string;
  readonly type?: string;
  readonly bytes: Buffer;
}

export interface UploadOutcome {
  readonly status: number;
  /** The upload's JSON answer; undefined when Cloudflare answers with an empty body (Stream). */
  readonly body: unknown;
  /** The webhooks this upload caused, once processing ended: sent, failed to arrive, or dropped. */
  readonly deliveries: WebhookDelivery[];
}

/** What a banner needs to point a person or a client at the stand-in. */
export interface StandInDescription {
  readonly url: string;
  /** What the SDK's `baseURL` (or `CLOUDFLARE_BASE_URL`) should be: `<url>/client/v4`. */
  readonly baseURL: string;
  readonly accountId: string;
  readonly token: string;
  readonly permissions: readonly Permission[];
}

export interface CloudflareStandIn {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly baseURL: string;
  readonly accountId: string;
  /** The first configured token. */
  readonly token: string;
  readonly requests: RecordedRequest[];
  /** Every webhook sent or dropped, in order. */
  readonly deliveries: WebhookDelivery[];
  readonly images: Map<string, StandInImage>;
  readonly videos: Map<string, StandInVideo>;
  readonly destinations: Map<string, WebhookDestination>;
  readonly policies: Map<string, NotificationPolicy>;
  streamWebhook: StreamWebhook | undefined;
  /** Changeable at any time; applies to deliveries not yet sent. */
  dropWebhooks: DropRule;
  describe(): StandInDescription;
  /** The next `times` requests matching `method` and `path` (a regexp on the path after /client/v4/accounts/{id}) get `answer`. */
  fail(match: { method?: string; path: RegExp }, answer: FaultAnswer): void;
  /** The creator's side: POST a file to an upload URL, then wait for the webhooks it causes. */
  upload(uploadURL: string, file?: UploadFile): Promise<UploadOutcome>;
  /** The webhooks of the latest upload of this image or video, once its processing ended. */
  settled(id: string): Promise<WebhookDelivery[]>;
  /** Requests to the API (not uploads) matching a path regexp. */
  calls(path?: RegExp): RecordedRequest[];
  close(): Promise<void>;
}

const DEFAULT_ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353';
const DEFAULT_TOKEN = 'cloudflare-standin-token';
const DEFAULT_PROCESSING_MS = 200;
const MINUTE_MS = 60_000;
// Upload windows, for Images (src/content/docs/images/upload-images/direct-creator-upload.mdx) and
// for Stream (products/stream/src/content/uploading-videos/direct-creator-uploads.md, the earlier
// revision of src/content/docs/stream/uploading-videos/direct-creator-uploads.mdx): at least two
// minutes and at most six hours ahead, 30 minutes when not given.
const MIN_EXPIRY_MS = 2 * MINUTE_MS;
const MAX_EXPIRY_MS = 6 * 60 * MINUTE_MS;
const DEFAULT_EXPIRY_MS = 30 * MINUTE_MS;
const MAX_REQUEST_BYTES = MAX_VIDEO_BYTES + 1024 * 1024;
const DELIVERY_TIMEOUT_MS = 15_000;

export async function startCloudflareStandIn(options: CloudflareStandInOptions = {}): Promise<CloudflareStandIn> {
  const standIn = new StandIn(options);
  await standIn.listen(options.port ?? 0);
  return standIn;
}

class StandIn implements CloudflareStandIn, StandInCore {
  url = '';
  readonly accountId: string;
  readonly token: string;
  readonly requests: RecordedRequest[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  readonly images = new Map<string, StandInImage>();
  readonly videos = new Map<string, StandInVideo>();
  readonly destinations = new Map<string, WebhookDestination>();
  readonly policies = new Map<string, NotificationPolicy>();
  streamWebhook: StreamWebhook | undefined;
  dropWebhooks: DropRule;
  // Besides the above, what the route families read (StandInCore).
  readonly now: () => Date;
  readonly processingDelayMs: number;
  /** Stands in for the account hash in imagedelivery.net URLs and the customer subdomain of Stream's. */
  readonly accountHash = randomBytes(11).toString('base64url');
  readonly streamHost = `customer-${randomBytes(8).toString('hex')}.cloudflarestream.com`;

  private readonly tokens: Readonly<Record<string, readonly Permission[]>>;
  private readonly faults: { method?: string; path: RegExp; answer: FaultAnswer; left: number }[] = [];
  private readonly work = new Map<string, Promise<WebhookDelivery[]>>();
  private readonly sleepers = new Set<() => void>();
  private readonly closing = new AbortController();
  private readonly imagesApi = new ImagesApi(this);
  private readonly streamApi = new StreamApi(this);
  private readonly notificationsApi = new NotificationsApi(this);
  private readonly routes: readonly Route[] = [...this.imagesApi.routes(), ...this.streamApi.routes(), ...this.notificationsApi.routes()];
  private readonly server: Server;

  constructor(options: CloudflareStandInOptions) {
    this.accountId = options.accountId ?? DEFAULT_ACCOUNT;
    this.tokens = options.tokens ?? { [DEFAULT_TOKEN]: ALL_PERMISSIONS };
    this.token = Object.keys(this.tokens)[0]!;
    this.now = options.now ?? (() => new Date());
    this.processingDelayMs = options.processingDelayMs ?? DEFAULT_PROCESSING_MS;
    this.dropWebhooks = options.dropWebhooks ?? false;
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
  }

  get baseURL(): string {
    return `${this.url}/client/v4`;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  describe(): StandInDescription {
    return { url: this.url, baseURL: this.baseURL, accountId: this.accountId, token: this.token, permissions: this.tokens[this.token]! };
  }

  fail(match: { method?: string; path: RegExp }, answer: FaultAnswer): void {
    this.faults.push({ ...match, answer, left: answer.times ?? 1 });
  }

  calls(path?: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => path === undefined || path.test(r.path));
  }

  settled(id: string): Promise<WebhookDelivery[]> {
    return this.work.get(id) ?? Promise.reject(new Error(`no upload of ${id} has reached the Cloudflare stand-in`));
  }

  async upload(uploadURL: string, file?: UploadFile): Promise<UploadOutcome> {
    const target = this.uploadTarget(new URL(uploadURL).pathname);
    const sent = file ?? (target?.kind === 'video' ? sampleFiles.mp4 : sampleFiles.png);
    const before = target && this.work.get(target.id);
    const form = new FormData();
    form.append('file', new Blob([sent.bytes], sent.type ? { type: sent.type } : {}), sent.name);
    const response = await fetch(uploadURL, { method: 'POST', body: form });
    const text = await response.text();
    const after = target && this.work.get(target.id);
    const deliveries = after && after !== before ? await after : [];
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined, deliveries };
  }

  async close(): Promise<void> {
    this.closing.abort();
    for (const wake of this.sleepers) wake();
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req, MAX_REQUEST_BYTES);
    if (raw === undefined) return send(res, 413, errorEnvelope([{ code: 10413, message: 'Request body too large' }]));
    const path = (req.url ?? '/').split('?')[0]!;
    const target = this.uploadTarget(path);
    if (target) return this.answerUpload(req, res, raw, target);
    return this.answerApi(req, res, raw, path);
  }

  private async answerApi(req: IncomingMessage, res: ServerResponse, raw: Buffer, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const record = (status: number, body?: unknown) => this.requests.push(recordOf(req, method, path, status, body));
    const injected = this.takeFault(method, path);
    if (injected) {
      if (injected.delayMs) await new Promise((resolve) => setTimeout(resolve, injected.delayMs));
      record(injected.drop ? 0 : injected.status);
      if (injected.drop) return void res.destroy();
      return send(res, injected.status, errorEnvelope(injected.errors ?? [defaultFaultError(injected.status)]), { ...injected.headers });
    }
    try {
      const { result, recorded } = await this.route(req, raw, method, path);
      record(200, recorded);
      send(res, 200, envelope(result));
    } catch (error) {
      const known = error instanceof ApiError ? error : fault(500, 10001, 'Internal error');
      record(known.status);
      send(res, known.status, errorEnvelope(known.errors), known.headers);
    }
  }

  private takeFault(method: string, path: string): FaultAnswer | undefined {
    const apiPath = path.replace(/^\/client\/v4\/accounts\/[^/]+/, '');
    const found = this.faults.find((f) => f.left > 0 && (f.method === undefined || f.method === method) && f.path.test(apiPath));
    if (found) found.left -= 1;
    return found?.answer;
  }

  private async route(req: IncomingMessage, raw: Buffer, method: string, path: string): Promise<Handled> {
    const api = /^\/client\/v4\/accounts\/([^/]+)(\/.*)$/.exec(path);
    const matching = api ? this.routes.filter((r) => r.path.test(api[2]!)) : [];
    if (!api || matching.length === 0) throw fault(404, 7000, 'No route for that URI');
    const route = matching.find((r) => r.method === method);
    if (!route) throw fault(405, 7001, `Method ${method} not allowed for ${api[2]}`);
    const granted = this.authenticate(req);
    // Cloudflare authenticates before it says the account is unknown.
    if (api[1] !== this.accountId) throw fault(404, 7003, 'Could not route to /accounts/..., perhaps your object identifier is invalid?');
    if (!allows(granted, route.needs)) throw fault(403, 10000, 'Authentication error');
    const params = route.path.exec(api[2]!)!.slice(1).map((p) => decodeURIComponent(p));
    return route.handle({ req, raw, params });
  }

  private authenticate(req: IncomingMessage): readonly Permission[] {
    const header = req.headers.authorization;
    if (header === undefined) throw bad(6003, 'Invalid request headers');
    const token = /^Bearer (\S+)$/.exec(header)?.[1];
    const granted = token === undefined ? undefined : this.tokens[token];
    if (!granted) throw fault(401, 10000, 'Authentication error');
    return granted;
  }

  // ---- Uploads, processing and deliveries -------------------------------------------------------

  private uploadTarget(path: string): { kind: 'image' | 'video'; id: string } | undefined {
    const image = /^\/upload\/([^/]+)\/(.+)$/.exec(path);
    if (image && image[1] === this.accountHash) return { kind: 'image', id: decodeURIComponent(image[2]!) };
    const video = /^\/stream-upload\/([0-9a-f]{32})$/.exec(path);
    if (video) return { kind: 'video', id: video[1]! };
    return undefined;
  }

  private async answerUpload(req: IncomingMessage, res: ServerResponse, raw: Buffer, target: { kind: 'image' | 'video'; id: string }): Promise<void> {
    let answer: UploadAnswer;
    try {
      answer = await (target.kind === 'image' ? this.imagesApi.receiveImage(req, raw, target.id) : this.streamApi.receiveVideo(req, raw, target.id));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      answer = { status: error.status, body: errorEnvelope(error.errors) };
    }
    // Registered before answering, so whoever gets the answer can already await what follows.
    if (answer.afterwards) this.startWork(target.id, answer.afterwards);
    if (answer.body === undefined) {
      res.writeHead(answer.status, { 'content-length': 0 });
      return void res.end();
    }
    send(res, answer.status, answer.body);
  }

  private startWork(subject: string, work: () => Promise<WebhookDelivery[]>): void {
    const done = Promise.resolve().then(work);
    // Observed through settled(); a rule that throws must not take the whole process down.
    done.catch(() => undefined);
    this.work.set(subject, done);
  }

  /** Resolves true after `ms`, or false at once when the stand-in closes meanwhile. */
  sleep(ms: number): Promise<boolean> {
    if (this.closing.signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (slept: boolean) => {
        clearTimeout(timer);
        this.sleepers.delete(early);
        resolve(slept);
      };
      const early = () => wake(false);
      const timer = setTimeout(() => wake(true), ms);
      this.sleepers.add(early);
    });
  }

  async deliver(planned: PlannedDelivery, headers: Record<string, string>): Promise<WebhookDelivery> {
    const shown = { ...headers, ...(headers['cf-webhook-auth'] !== undefined && { 'cf-webhook-auth': '<redacted>' }) };
    const base = { ...planned, headers: shown, at: this.now().toISOString() };
    const rule = this.dropWebhooks;
    const drop = typeof rule === 'function' ? rule(planned) : rule;
    const delivery: WebhookDelivery = drop ? { ...base, dropped: true } : { ...base, dropped: false, ...(await this.post(planned, headers)) };
    this.deliveries.push(delivery);
    return delivery;
  }

  private async post(planned: PlannedDelivery, headers: Record<string, string>): Promise<{ status: number; response: string }> {
    try {
      const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]);
      const response = await fetch(planned.url, { method: 'POST', headers, body: planned.body, signal });
      return { status: response.status, response: await response.text() };
    } catch (error) {
      return { status: 0, response: (error as Error).message };
    }
  }

  expiryFrom(given: string | undefined): string {
    const nowMs = this.now().getTime();
    if (given === undefined) return new Date(nowMs + DEFAULT_EXPIRY_MS).toISOString();
    const expiryMs = Date.parse(given);
    if (Number.isNaN(expiryMs)) throw bad(5400, 'Bad request: expiry must be an RFC 3339 date-time');
    if (expiryMs < nowMs + MIN_EXPIRY_MS || expiryMs > nowMs + MAX_EXPIRY_MS) {
      throw bad(5400, 'Bad request: expiry must be at least 2 minutes and at most 6 hours in the future');
    }
    return new Date(expiryMs).toISOString();
  }
}

function defaultFaultError(status: number): { code: number; message: string } {
  return { code: status >= 500 ? 10001 : 10000, message: status === 429 ? 'Rate limited' : `HTTP ${status}` };
}

function recordOf(req: IncomingMessage, method: string, path: string, status: number, body: unknown): RecordedRequest {
  return {
    method,
    path,
    ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization.replace(/^(Bearer) .+$/, '$1 <redacted>') }),
    ...(req.headers['content-type'] !== undefined && { contentType: req.headers['content-type'] }),
    ...(body !== undefined && { body }),
    status,
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
