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
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sampleFiles, sniffMedia } from './cloudflare-files';

export { sampleFiles, sniffMedia } from './cloudflare-files';

/** Fine-grained token permissions, each a slice of Cloudflare's API token permission groups. */
export const Permission = {
  ImagesRead: 'images:read',
  ImagesWrite: 'images:write',
  StreamRead: 'stream:read',
  StreamWrite: 'stream:write',
  NotificationsWrite: 'notifications:write',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];
export const ALL_PERMISSIONS: readonly Permission[] = Object.values(Permission);

/** Whether `granted` covers `needed`; Cloudflare's Write permission groups include reading. */
export function allows(granted: readonly Permission[], needed: Permission): boolean {
  return granted.includes(needed) || (needed.endsWith(':read') && granted.includes(needed.replace(/:read$/, ':write') as Permission));
}

/** A webhook about to be sent, as a `dropWebhooks` rule sees it. */
export interface PlannedDelivery {
  readonly kind: 'notification' | 'stream';
  /** The image id or the video uid the webhook is about. */
  readonly subject: string;
  readonly url: string;
  readonly body: string;
}
export type DropRule = boolean | ((delivery: PlannedDelivery) => boolean);

export interface WebhookDelivery extends PlannedDelivery {
  /** Headers as sent, but `cf-webhook-auth` (the destination's secret) redacted. */
  readonly headers: Readonly<Record<string, string>>;
  readonly at: string;
  /** Lost on purpose (`dropWebhooks`): recorded here, never sent. */
  readonly dropped: boolean;
  /** The receiver's status; 0 when it could not be reached; absent when dropped. */
  readonly status?: number;
  readonly response?: string;
}

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

export interface StandInImage {
  readonly id: string;
  /** True until a creator's file is accepted; Cloudflare then removes the field. */
  draft: boolean;
  readonly requireSignedURLs: boolean;
  readonly metadata: Record<string, unknown>;
  readonly creator?: string;
  readonly expiry: string;
  readonly uploadURL: string;
  /** Set when the draft is created (Cloudflare's draft example shows one), replaced when the file arrives. */
  uploaded: string;
  readonly variants: readonly string[];
  filename?: string;
}

/** Video states: the `status.state` enum of Cloudflare's SDK (`cloudflare` on npm, resources/stream/stream.d.ts). */
export type VideoState = 'pendingupload' | 'downloading' | 'queued' | 'inprogress' | 'ready' | 'error';

export interface StandInVideo {
  readonly uid: string;
  readonly creator: string | null;
  meta: Record<string, unknown>;
  readonly requireSignedURLs: boolean;
  readonly allowedOrigins: readonly string[];
  readonly maxDurationSeconds: number;
  readonly uploadExpiry: string;
  readonly uploadURL: string;
  readonly created: string;
  modified: string;
  uploaded: string | null;
  state: VideoState;
  pctComplete: string;
  step?: 'encoding';
  error?: { readonly code: string; readonly text: string };
  size: number;
  readyToStreamAt: string | null;
}

export interface StreamWebhook {
  notificationUrl: string;
  secret: string;
  modified: string;
}

export interface WebhookDestination {
  readonly id: string;
  name: string;
  url: string;
  /** Kept, never returned by the API (as in Cloudflare): tests read it here. */
  secret?: string;
  readonly created_at: string;
  last_success?: string;
  last_failure?: string;
}

export interface NotificationPolicy {
  readonly id: string;
  name: string;
  alert_type: string;
  enabled: boolean;
  description?: string;
  mechanisms: { webhooks?: { id: string }[]; email?: { id: string }[]; pagerduty?: { id: string }[] };
  filters?: Record<string, unknown>;
  readonly created: string;
  modified: string;
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
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MINUTE_MS = 60_000;
// Upload windows, for Images (src/content/docs/images/upload-images/direct-creator-upload.mdx) and
// for Stream (products/stream/src/content/uploading-videos/direct-creator-uploads.md, the earlier
// revision of src/content/docs/stream/uploading-videos/direct-creator-uploads.mdx): at least two
// minutes and at most six hours ahead, 30 minutes when not given.
const MIN_EXPIRY_MS = 2 * MINUTE_MS;
const MAX_EXPIRY_MS = 6 * 60 * MINUTE_MS;
const DEFAULT_EXPIRY_MS = 30 * MINUTE_MS;
/** Same earlier Stream page: "greater than 1 and less than 21,600"; the SDK adds -1 for "unknown". */
const MAX_DURATION_SECONDS = 21_600;
/** src/content/docs/images/upload-images/index.mdx: "Images have a 10 megabyte (MB) size limit". */
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** src/content/docs/stream/uploading-videos/direct-creator-uploads.mdx: basic POST uploads are "limited to 200 MB". */
const MAX_VIDEO_BYTES = 200 * 1024 * 1024;
const MAX_REQUEST_BYTES = MAX_VIDEO_BYTES + 1024 * 1024;
/** The formats src/content/docs/images/upload-images/index.mdx lists (it says HEIC is not supported). */
const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp', 'svg', 'avif']);
/** A stand-in decodes nothing, so every ready video reports the length and size of the docs' example. */
const SAMPLE_VIDEO = { duration: 5.5, width: 560, height: 320 } as const;
const DELIVERY_TIMEOUT_MS = 15_000;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: { code: number; message: string }[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors[0]?.message ?? `HTTP ${status}`);
  }
}
const fault = (status: number, code: number, message: string) => new ApiError(status, [{ code, message }]);
const bad = (code: number, message: string) => fault(400, code, message);

const envelope = (result: unknown) => ({ success: true, errors: [], messages: [], result });
const errorEnvelope = (errors: readonly { code: number; message: string }[]) => ({ success: false, errors, messages: [], result: null });

/**
 * Cloudflare Stream's signature (src/content/docs/stream/manage-video-library/using-webhooks.mdx,
 * "Verify webhook authenticity"): hex HMAC-SHA256, keyed with the webhook secret, of the unix
 * time, a `.`, and the body byte for byte. Written apart from the receiver's verifier on purpose.
 */
export function signStreamWebhook(secret: string, body: string | Buffer, timeSeconds: number): string {
  const sig1 = createHmac('sha256', secret).update(`${timeSeconds}.`).update(body).digest('hex');
  return `time=${timeSeconds},sig1=${sig1}`;
}

export async function startCloudflareStandIn(options: CloudflareStandInOptions = {}): Promise<CloudflareStandIn> {
  const standIn = new StandIn(options);
  await standIn.listen(options.port ?? 0);
  return standIn;
}

interface Call {
  readonly req: IncomingMessage;
  readonly raw: Buffer;
  readonly params: readonly string[];
}
interface Handled {
  readonly result: unknown;
  /** What `requests` records as the request's body (secrets redacted). */
  readonly recorded?: unknown;
}
interface Route {
  readonly method: string;
  readonly path: RegExp;
  readonly needs: Permission;
  readonly handle: (call: Call) => Handled | Promise<Handled>;
}
interface UploadAnswer {
  readonly status: number;
  readonly body?: unknown;
  /** What Cloudflare does once it has answered: process, then deliver the webhooks. */
  readonly afterwards?: () => Promise<WebhookDelivery[]>;
}
type ImageOutcome = { readonly uploaded: true } | { readonly uploaded: false; readonly code: number; readonly message: string };

const DESTINATIONS = /^\/alerting\/v3\/destinations\/webhooks$/;
const DESTINATION = /^\/alerting\/v3\/destinations\/webhooks\/([^/]+)$/;
const POLICIES = /^\/alerting\/v3\/policies$/;
const POLICY = /^\/alerting\/v3\/policies\/([^/]+)$/;

class StandIn implements CloudflareStandIn {
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

  private readonly tokens: Readonly<Record<string, readonly Permission[]>>;
  private readonly now: () => Date;
  private readonly processingDelayMs: number;
  /** Stands in for the account hash in imagedelivery.net URLs and the customer subdomain of Stream's. */
  private readonly accountHash = randomBytes(11).toString('base64url');
  private readonly streamHost = `customer-${randomBytes(8).toString('hex')}.cloudflarestream.com`;
  private readonly faults: { method?: string; path: RegExp; answer: FaultAnswer; left: number }[] = [];
  private readonly work = new Map<string, Promise<WebhookDelivery[]>>();
  private readonly sleepers = new Set<() => void>();
  private readonly closing = new AbortController();
  private readonly routes: readonly Route[] = this.defineRoutes();
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

  private defineRoutes(): Route[] {
    const P = Permission;
    return [
      { method: 'POST', path: /^\/images\/v2\/direct_upload$/, needs: P.ImagesWrite, handle: (c) => this.createImageUpload(c) },
      { method: 'GET', path: /^\/images\/v1\/(.+)$/, needs: P.ImagesRead, handle: (c) => ({ result: this.imageView(this.imageOr404(c.params[0]!)) }) },
      // Before /stream/{identifier}, which the same path would also match.
      { method: 'GET', path: /^\/stream\/webhook$/, needs: P.StreamRead, handle: () => ({ result: streamWebhookView(this.streamWebhookOr404()) }) },
      { method: 'PUT', path: /^\/stream\/webhook$/, needs: P.StreamWrite, handle: (c) => this.putStreamWebhook(c) },
      { method: 'DELETE', path: /^\/stream\/webhook$/, needs: P.StreamWrite, handle: () => this.deleteStreamWebhook() },
      { method: 'POST', path: /^\/stream\/direct_upload$/, needs: P.StreamWrite, handle: (c) => this.createVideoUpload(c) },
      { method: 'GET', path: /^\/stream\/([^/]+)$/, needs: P.StreamRead, handle: (c) => ({ result: this.videoView(this.videoOr404(c.params[0]!)) }) },
      { method: 'GET', path: DESTINATIONS, needs: P.NotificationsWrite, handle: () => ({ result: [...this.destinations.values()].map(destinationView) }) },
      { method: 'POST', path: DESTINATIONS, needs: P.NotificationsWrite, handle: (c) => this.createDestination(c) },
      { method: 'GET', path: DESTINATION, needs: P.NotificationsWrite, handle: (c) => ({ result: destinationView(this.destinationOr404(c.params[0]!)) }) },
      { method: 'PUT', path: DESTINATION, needs: P.NotificationsWrite, handle: (c) => this.updateDestination(c) },
      { method: 'DELETE', path: DESTINATION, needs: P.NotificationsWrite, handle: (c) => this.deleteDestination(c) },
      { method: 'GET', path: POLICIES, needs: P.NotificationsWrite, handle: () => ({ result: [...this.policies.values()] }) },
      { method: 'POST', path: POLICIES, needs: P.NotificationsWrite, handle: (c) => this.createPolicy(c) },
      { method: 'GET', path: POLICY, needs: P.NotificationsWrite, handle: (c) => ({ result: this.policyOr404(c.params[0]!) }) },
      { method: 'PUT', path: POLICY, needs: P.NotificationsWrite, handle: (c) => this.updatePolicy(c) },
      { method: 'DELETE', path: POLICY, needs: P.NotificationsWrite, handle: (c) => this.deletePolicy(c) },
    ];
  }

  // ---- Images --------------------------------------------------------------------------------

  /**
   * src/content/docs/images/upload-images/direct-creator-upload.mdx: a multipart form with
   * `requireSignedURLs`, `metadata` (JSON), `expiry`, `id` (custom, not with requireSignedURLs)
   * and `creator`; answers `{id, uploadURL}` and keeps a draft image record until the file arrives.
   */
  private async createImageUpload({ req, raw }: Call): Promise<Handled> {
    const fields = textFields(await readForm(req, raw));
    const requireSignedURLs = booleanField(fields.requireSignedURLs);
    const metadata = fields.metadata === undefined ? {} : jsonObjectField(fields.metadata, 'metadata');
    const expiry = this.expiryFrom(fields.expiry);
    const id = fields.id === undefined ? randomUUID() : this.customImageId(fields.id, requireSignedURLs);
    const uploadURL = `${this.url}/upload/${this.accountHash}/${encodeURIComponent(id)}`;
    const variants = ['public', 'thumbnail'].map((variant) => `https://imagedelivery.net/${this.accountHash}/${id}/${variant}`);
    this.images.set(id, {
      id,
      draft: true,
      requireSignedURLs,
      metadata,
      ...(fields.creator !== undefined && { creator: fields.creator }),
      expiry,
      uploadURL,
      uploaded: this.now().toISOString(),
      variants,
    });
    return { result: { id, uploadURL }, recorded: fields };
  }

  private customImageId(id: string, requireSignedURLs: boolean): string {
    if (requireSignedURLs) throw bad(5400, 'Bad request: a custom id cannot be used with requireSignedURLs');
    // src/content/docs/images/upload-images/upload-custom-path.mdx: up to 1024 characters, no leading or trailing slash, not a UUID.
    if (id.length === 0 || id.length > 1024 || id.startsWith('/') || id.endsWith('/') || UUID.test(id)) throw bad(5400, 'Bad request: invalid custom id');
    if (this.images.has(id)) throw fault(409, 5409, 'Resource already exists');
    return id;
  }

  private imageOr404(id: string): StandInImage {
    const image = this.images.get(id);
    if (!image) throw fault(404, 5404, 'Image not found');
    return image;
  }

  /**
   * GET /images/v1/{image_id}, src/content/docs/images/upload-images/direct-creator-upload.mdx
   * ("Check the image record status"): `draft: true` until a creator uploads, removed after;
   * Cloudflare's draft example already carries `uploaded` and `variants`, so a reader must key
   * on `draft`. That example spells the metadata `metadata`; the API reference's image object
   * (and the SDK's `Image`: id, filename, creator, meta, requireSignedURLs, uploaded, variants)
   * calls it `meta`, which is what the stand-in answers.
   */
  private imageView(image: StandInImage) {
    return {
      id: image.id,
      ...(image.filename !== undefined && { filename: image.filename }),
      creator: image.creator ?? null,
      meta: image.metadata,
      requireSignedURLs: image.requireSignedURLs,
      uploaded: image.uploaded,
      variants: image.variants,
      ...(image.draft && { draft: true as const }),
    };
  }

  /** The creator's POST to the upload URL (the HTML form on the direct-creator-upload page sends field `file`). */
  private async receiveImage(req: IncomingMessage, raw: Buffer, id: string): Promise<UploadAnswer> {
    const image = this.imageOr404(id);
    if (!image.draft) throw fault(409, 5409, 'This upload URL was already used');
    if (this.now().getTime() > Date.parse(image.expiry)) throw bad(5400, 'The upload window has expired');
    const file = await fileField(req, raw);
    const refusal = imageRefusal(file.bytes);
    if (refusal) {
      // The image stays a draft; Cloudflare notifies that the upload failed.
      const outcome = { uploaded: false, ...refusal } as const;
      return { status: refusal.status, body: errorEnvelope([refusal]), afterwards: () => this.notifyImage(image, outcome) };
    }
    image.draft = false;
    image.uploaded = this.now().toISOString();
    image.filename = file.name;
    return { status: 200, body: envelope(this.imageView(image)), afterwards: () => this.notifyImage(image, { uploaded: true }) };
  }

  /** Every enabled `image_notification` policy, to each of its webhook destinations, secret in `cf-webhook-auth`. */
  private async notifyImage(image: StandInImage, outcome: ImageOutcome): Promise<WebhookDelivery[]> {
    const sent: WebhookDelivery[] = [];
    for (const policy of this.policies.values()) {
      if (!policy.enabled || policy.alert_type !== 'image_notification') continue;
      for (const { id } of policy.mechanisms.webhooks ?? []) {
        const destination = this.destinations.get(id);
        if (!destination) continue;
        const body = JSON.stringify(this.imageNotification(policy, image, outcome));
        const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Cloudflare-Notifications' };
        if (destination.secret !== undefined) headers['cf-webhook-auth'] = destination.secret;
        const delivery = await this.deliver({ kind: 'notification', subject: image.id, url: destination.url, body }, headers);
        if (!delivery.dropped) destination[delivery.status! >= 200 && delivery.status! < 300 ? 'last_success' : 'last_failure'] = delivery.at;
        sent.push(delivery);
      }
    }
    return sent;
  }

  /**
   * The envelope: src/content/docs/notifications/reference/webhook-payload-schema.mdx. What
   * `data` holds for `image_notification` is documented nowhere
   * (src/content/docs/images/manage-images/configure-webhooks.mdx only says a POST is sent when an
   * image "either successfully uploads or fails to upload"): the fields below are the stand-in's
   * own choice, plain fields (`id`, `status`, `error {code, message}`) so nothing depends on prose.
   */
  private imageNotification(policy: NotificationPolicy, image: StandInImage, outcome: ImageOutcome) {
    const data = outcome.uploaded
      ? { id: image.id, status: 'uploaded', uploaded: image.uploaded, variants: image.variants, metadata: image.metadata, requireSignedURLs: image.requireSignedURLs }
      : { id: image.id, status: 'failed', error: { code: outcome.code, message: outcome.message } };
    return {
      name: policy.name,
      text: outcome.uploaded ? `Image ${image.id} was uploaded` : `Image ${image.id} failed to upload: ${outcome.message}`,
      data,
      ts: Math.floor(this.now().getTime() / 1000),
      account_id: this.accountId,
      policy_id: policy.id,
      policy_name: policy.name,
      alert_type: 'image_notification',
      alert_correlation_id: randomUUID().replaceAll('-', ''),
      alert_event: 'ALERT_STATE_EVENT_START',
    };
  }

  // ---- Stream --------------------------------------------------------------------------------

  /**
   * src/content/docs/stream/uploading-videos/direct-creator-uploads.mdx ("Basic POST request"):
   * JSON `{maxDurationSeconds, expiry?, creator?, meta?, requireSignedURLs?, allowedOrigins?}`
   * (creator also as the `Upload-Creator` header, per the SDK) → `result {uid, uploadURL}`; the
   * video then exists in state `pendingupload` until its file arrives.
   */
  private createVideoUpload({ req, raw }: Call): Handled {
    const body = jsonBody(raw);
    const created = this.now().toISOString();
    const uid = randomBytes(16).toString('hex');
    const uploadURL = `${this.url}/stream-upload/${uid}`;
    const creator = optionalString(body.creator, 'creator') ?? headerValue(req, 'upload-creator') ?? null;
    this.videos.set(uid, {
      uid,
      creator,
      meta: body.meta === undefined ? {} : objectField(body.meta, 'meta'),
      requireSignedURLs: body.requireSignedURLs === undefined ? false : booleanValue(body.requireSignedURLs, 'requireSignedURLs'),
      allowedOrigins: body.allowedOrigins === undefined ? [] : stringList(body.allowedOrigins, 'allowedOrigins'),
      maxDurationSeconds: maxDuration(body.maxDurationSeconds),
      uploadExpiry: this.expiryFrom(optionalString(body.expiry, 'expiry')),
      uploadURL,
      created,
      modified: created,
      uploaded: null,
      state: 'pendingupload',
      pctComplete: '0',
      size: 0,
      readyToStreamAt: null,
    });
    return { result: { uid, uploadURL }, recorded: body };
  }

  private videoOr404(uid: string): StandInVideo {
    const video = this.videos.get(uid);
    if (!video) throw fault(404, 10003, 'Video not found');
    return video;
  }

  /**
   * The video object, as GET /stream/{identifier} answers it and the Stream webhook carries it:
   * src/content/docs/stream/manage-video-library/using-webhooks.mdx (example body; an empty
   * `errorReasonCode`/`errorReasonText` on success; `maxSizeBytes` and `watermark` null) and the
   * SDK's `Video` (`thumbnail` and `preview` "omitted until encoding is complete", -1 while
   * `duration` and `input` are unknown). Its error example spells the reason fields
   * `errReasonCode`/`errReasonText`; the stand-in uses the SDK's spelling.
   */
  private videoView(video: StandInVideo) {
    const ready = video.state === 'ready';
    const media = `https://${this.streamHost}/${video.uid}`;
    return {
      uid: video.uid,
      creator: video.creator,
      ...(ready && { thumbnail: `${media}/thumbnails/thumbnail.jpg` }),
      thumbnailTimestampPct: 0,
      readyToStream: ready,
      readyToStreamAt: video.readyToStreamAt,
      status: {
        state: video.state,
        ...(video.step && { step: video.step }),
        pctComplete: video.pctComplete,
        errorReasonCode: video.error?.code ?? '',
        errorReasonText: video.error?.text ?? '',
      },
      meta: video.meta,
      created: video.created,
      modified: video.modified,
      scheduledDeletion: null,
      size: video.size,
      ...(ready && { preview: `${media}/watch` }),
      allowedOrigins: video.allowedOrigins,
      requireSignedURLs: video.requireSignedURLs,
      uploaded: video.uploaded,
      uploadExpiry: video.uploadExpiry,
      maxSizeBytes: null,
      maxDurationSeconds: video.maxDurationSeconds,
      duration: ready ? SAMPLE_VIDEO.duration : -1,
      input: ready ? { width: SAMPLE_VIDEO.width, height: SAMPLE_VIDEO.height } : { width: -1, height: -1 },
      ...(ready && { playback: { hls: `${media}/manifest/video.m3u8`, dash: `${media}/manifest/video.mpd` } }),
      watermark: null,
    };
  }

  /** The creator's POST to a Stream upload URL; its page documents a bare 200, so the answer has no body. */
  private async receiveVideo(req: IncomingMessage, raw: Buffer, uid: string): Promise<UploadAnswer> {
    const video = this.videoOr404(uid);
    if (video.state !== 'pendingupload') throw fault(409, 10009, 'This upload URL was already used');
    if (this.now().getTime() > Date.parse(video.uploadExpiry)) throw bad(10010, 'The upload window has expired');
    const file = await fileField(req, raw);
    if (file.bytes.length > MAX_VIDEO_BYTES) throw fault(413, 10011, 'A basic POST upload is limited to 200 MB');
    const at = this.now().toISOString();
    // using-webhooks.mdx's example keeps the uploaded file's name in `meta.name`.
    Object.assign(video, { state: 'queued', uploaded: at, modified: at, size: file.bytes.length, meta: { name: file.name, ...video.meta } });
    return { status: 200, afterwards: () => this.processVideo(video, file.bytes) };
  }

  /** queued → inprogress → ready, or error for a file whose bytes are not an MP4, MOV or WebM; then the webhook. */
  private async processVideo(video: StandInVideo, bytes: Buffer): Promise<WebhookDelivery[]> {
    if (!(await this.sleep(this.processingDelayMs / 2))) return [];
    this.advance(video, { state: 'inprogress', step: 'encoding', pctComplete: '50.000000' });
    if (!(await this.sleep(this.processingDelayMs / 2))) return [];
    if (sniffMedia(bytes)?.kind === 'video') {
      this.advance(video, { state: 'ready', step: undefined, pctComplete: '100.000000', readyToStreamAt: this.now().toISOString() });
    } else {
      // using-webhooks.mdx, "Error codes": ERR_NON_VIDEO, "The upload is not a video."
      this.advance(video, { state: 'error', error: { code: 'ERR_NON_VIDEO', text: 'The upload is not a video.' } });
    }
    return this.notifyStream(video);
  }

  private advance(video: StandInVideo, change: Partial<StandInVideo>): void {
    Object.assign(video, change, { modified: this.now().toISOString() });
  }

  /** using-webhooks.mdx: once processing ends, POST the whole video object to the one Stream webhook, signed. */
  private async notifyStream(video: StandInVideo): Promise<WebhookDelivery[]> {
    const hook = this.streamWebhook;
    if (!hook) return [];
    const body = JSON.stringify(this.videoView(video));
    const time = Math.floor(this.now().getTime() / 1000);
    const headers = { 'content-type': 'application/json', 'webhook-signature': signStreamWebhook(hook.secret, body, time) };
    return [await this.deliver({ kind: 'stream', subject: video.uid, url: hook.notificationUrl, body }, headers)];
  }

  /** src/content/docs/stream/manage-video-library/using-webhooks.mdx: `{notificationUrl, modified, secret}`. */
  private putStreamWebhook({ raw }: Call): Handled {
    const body = jsonBody(raw);
    const target = body.notificationUrl ?? body.notification_url;
    if (typeof target !== 'string' || !URL.canParse(target)) throw bad(10005, 'notificationUrl must be a valid URL');
    const current = this.streamWebhook;
    // The seed's documented behaviour: changing the URL issues a new signing secret.
    const secret = current && current.notificationUrl === target ? current.secret : randomBytes(16).toString('hex');
    this.streamWebhook = { notificationUrl: target, secret, modified: this.now().toISOString() };
    return { result: streamWebhookView(this.streamWebhook), recorded: body };
  }

  private streamWebhookOr404(): StreamWebhook {
    if (!this.streamWebhook) throw fault(404, 10003, 'Not Found');
    return this.streamWebhook;
  }

  private deleteStreamWebhook(): Handled {
    this.streamWebhook = undefined;
    return { result: '' };
  }

  // ---- Notifications: webhook destinations and policies ----------------------------------------
  // Shapes as the SDK's alerting resources (`cloudflare` on npm) and
  // src/content/docs/notifications/get-started/configure-webhooks.mdx (name, url, secret) give them.

  private createDestination({ raw }: Call): Handled {
    const body = jsonBody(raw);
    const given = checkDestination(body);
    if ([...this.destinations.values()].some((d) => d.name === given.name)) throw bad(17001, 'a destination with this name already exists');
    const created: WebhookDestination = { id: randomUUID().replaceAll('-', ''), ...given, created_at: this.now().toISOString() };
    this.destinations.set(created.id, created);
    return { result: { id: created.id }, recorded: redactSecret(body) };
  }

  private updateDestination({ raw, params }: Call): Handled {
    const existing = this.destinationOr404(params[0]!);
    const body = jsonBody(raw);
    const given = checkDestination(body);
    existing.name = given.name;
    existing.url = given.url;
    if (given.secret !== undefined) existing.secret = given.secret;
    return { result: { id: existing.id }, recorded: redactSecret(body) };
  }

  private deleteDestination({ params }: Call): Handled {
    this.destinations.delete(this.destinationOr404(params[0]!).id);
    return { result: null };
  }

  private destinationOr404(id: string): WebhookDestination {
    const destination = this.destinations.get(id);
    if (!destination) throw fault(404, 17003, 'webhook destination not found');
    return destination;
  }

  private createPolicy({ raw }: Call): Handled {
    const body = jsonBody(raw);
    const given = this.checkPolicy(body, false);
    const at = this.now().toISOString();
    const created = { ...given, id: randomUUID().replaceAll('-', ''), created: at, modified: at } as NotificationPolicy;
    this.policies.set(created.id, created);
    return { result: { id: created.id }, recorded: body };
  }

  private updatePolicy({ raw, params }: Call): Handled {
    const existing = this.policyOr404(params[0]!);
    const body = jsonBody(raw);
    Object.assign(existing, this.checkPolicy(body, true), { modified: this.now().toISOString() });
    return { result: { id: existing.id }, recorded: body };
  }

  private deletePolicy({ params }: Call): Handled {
    this.policies.delete(this.policyOr404(params[0]!).id);
    return { result: null };
  }

  private policyOr404(id: string): NotificationPolicy {
    const policy = this.policies.get(id);
    if (!policy) throw fault(404, 17103, 'policy not found');
    return policy;
  }

  private checkPolicy(body: Record<string, unknown>, partial: boolean): Partial<NotificationPolicy> {
    for (const key of ['name', 'alert_type'] as const) {
      if ((!partial || body[key] !== undefined) && (typeof body[key] !== 'string' || !body[key])) throw bad(17101, `${key} is required`);
    }
    if ((!partial || body.enabled !== undefined) && typeof body.enabled !== 'boolean') throw bad(17101, 'enabled is required');
    if (!partial && (typeof body.mechanisms !== 'object' || body.mechanisms === null)) throw bad(17101, 'mechanisms is required');
    const mechanisms = body.mechanisms as NotificationPolicy['mechanisms'] | undefined;
    for (const webhook of mechanisms?.webhooks ?? []) {
      if (!this.destinations.has(webhook.id)) throw bad(17102, `no webhook destination with id ${webhook.id}`);
    }
    const picked: Record<string, unknown> = {};
    for (const key of ['name', 'alert_type', 'enabled', 'description', 'mechanisms', 'filters'] as const) {
      if (body[key] !== undefined) picked[key] = body[key];
    }
    return picked as Partial<NotificationPolicy>;
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
      answer = await (target.kind === 'image' ? this.receiveImage(req, raw, target.id) : this.receiveVideo(req, raw, target.id));
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
  private sleep(ms: number): Promise<boolean> {
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

  private async deliver(planned: PlannedDelivery, headers: Record<string, string>): Promise<WebhookDelivery> {
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

  private expiryFrom(given: string | undefined): string {
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

// ---- Request reading and validation ------------------------------------------------------------

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even past the limit, so the client is still there to be told 413.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size <= limit ? Buffer.concat(chunks) : undefined;
}

async function readForm(req: IncomingMessage, raw: Buffer): Promise<FormData> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) throw bad(5400, 'Bad request: the body must be multipart/form-data');
  try {
    return await new Request('http://stand-in/', { method: 'POST', headers: { 'content-type': type }, body: raw }).formData();
  } catch {
    throw bad(5400, 'Bad request: malformed multipart body');
  }
}

function textFields(form: FormData): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of form.entries()) if (typeof value === 'string') fields[name] = value;
  return fields;
}

async function fileField(req: IncomingMessage, raw: Buffer): Promise<{ name: string; bytes: Buffer }> {
  const file = (await readForm(req, raw)).get('file');
  if (file === null || typeof file === 'string') throw bad(5400, 'Bad request: send the file as multipart/form-data field "file"');
  return { name: file.name, bytes: Buffer.from(await file.arrayBuffer()) };
}

/** Why Cloudflare Images would refuse these bytes, if it would. */
function imageRefusal(bytes: Buffer): { status: number; code: number; message: string } | undefined {
  if (bytes.length === 0) return { status: 400, code: 5400, message: 'The uploaded file is empty' };
  if (bytes.length > MAX_IMAGE_BYTES) return { status: 413, code: 5413, message: 'Images have a 10 MB size limit' };
  const format = sniffMedia(bytes);
  if (format?.kind !== 'image' || !IMAGE_FORMATS.has(format.format)) {
    return { status: 415, code: 5415, message: 'The file is not a supported image (PNG, GIF, JPEG, WebP, SVG or AVIF)' };
  }
  return undefined;
}

function jsonBody(raw: Buffer): Record<string, unknown> {
  try {
    const parsed = JSON.parse(raw.toString('utf8') || '{}') as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw bad(6007, 'Malformed JSON in request body');
}

function booleanField(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value !== 'true' && value !== 'false') throw bad(5400, 'Bad request: requireSignedURLs must be true or false');
  return value === 'true';
}

function booleanValue(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw bad(10005, `${name} must be a boolean`);
  return value;
}

function jsonObjectField(value: string, name: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw bad(5400, `Bad request: ${name} must be a JSON object`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad(5400, `Bad request: ${name} must be a JSON object`);
  return parsed as Record<string, unknown>;
}

function objectField(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(10005, `${name} must be an object`);
  return value as Record<string, unknown>;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value !== undefined && typeof value !== 'string') throw bad(10005, `${name} must be a string`);
  return value;
}

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw bad(10005, `${name} must be a list of strings`);
  return value;
}

function maxDuration(value: unknown): number {
  const valid = Number.isInteger(value) && (value === -1 || ((value as number) >= 1 && (value as number) <= MAX_DURATION_SECONDS));
  if (!valid) throw bad(10005, `maxDurationSeconds is required: a whole number of seconds from 1 to ${MAX_DURATION_SECONDS}, or -1`);
  return value as number;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function checkDestination(body: Record<string, unknown>): { name: string; url: string; secret?: string } {
  const { name, url, secret } = body;
  if (typeof name !== 'string' || name.length === 0) throw bad(17000, 'name is required');
  if (typeof url !== 'string' || !URL.canParse(url)) throw bad(17000, 'url must be a valid URL');
  if (secret !== undefined && typeof secret !== 'string') throw bad(17000, 'secret must be a string');
  return { name, url, ...(secret !== undefined && { secret }) };
}

// ---- Answers -------------------------------------------------------------------------------------

const streamWebhookView = (hook: StreamWebhook) => ({
  modified: hook.modified,
  // The docs' example answers `notificationUrl`; the seed's recorded answer has `notification_url`.
  notification_url: hook.notificationUrl,
  notificationUrl: hook.notificationUrl,
  secret: hook.secret,
});

const destinationView = ({ secret: _secret, ...rest }: WebhookDestination) => ({ ...rest, type: 'generic' });

const redactSecret = (body: Record<string, unknown>) => ({ ...body, secret: body.secret === undefined ? undefined : '<redacted>' });

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
