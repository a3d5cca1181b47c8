/**
 * A small stand-in for the parts of Cloudflare's API this project uses, written from
 * Cloudflare's documented requests and answers (see shared/cloudflare-contract.md):
 *
 *   POST   /client/v4/accounts/{account_id}/images/v2/direct_upload          multipart form
 *   GET|PUT|DELETE /client/v4/accounts/{account_id}/stream/webhook
 *   GET|POST        /client/v4/accounts/{account_id}/alerting/v3/destinations/webhooks
 *   GET|PUT|DELETE  /client/v4/accounts/{account_id}/alerting/v3/destinations/webhooks/{id}
 *   GET|POST        /client/v4/accounts/{account_id}/alerting/v3/policies
 *   GET|PUT|DELETE  /client/v4/accounts/{account_id}/alerting/v3/policies/{id}
 *
 * Every answer is the `{success, errors, messages, result}` envelope; requests need
 * `Authorization: Bearer <token>` with the permission the endpoint needs. It also plays the
 * other side of an upload: `POST <uploadURL>` with a file completes the image and sends the
 * Notifications webhook of every enabled Images policy to its destinations, with the
 * destination's secret in `cf-webhook-auth`, as Cloudflare does. Error codes other than
 * 10000 (authentication) are illustrative: callers should key on the HTTP status.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Permission = 'images' | 'stream' | 'notifications';
export const ALL_PERMISSIONS: readonly Permission[] = ['images', 'stream', 'notifications'];

export interface FakeCloudflareOptions {
  /** @default a fixed 32-hex account id */
  readonly accountId?: string;
  /** Accepted API tokens and what each may do. @default one token with every permission */
  readonly tokens?: Readonly<Record<string, readonly Permission[]>>;
  /** The fake's clock (expiry windows, `modified`). @default the real one */
  readonly now?: () => Date;
}

export interface FakeImage {
  readonly id: string;
  draft: boolean;
  readonly requireSignedURLs: boolean;
  readonly metadata: Record<string, unknown>;
  readonly creator?: string;
  readonly expiry: string;
  readonly uploadURL: string;
  uploaded?: string;
  variants?: string[];
}

export interface FakeStreamWebhook {
  notificationUrl: string;
  secret: string;
  modified: string;
}

export interface FakeDestination {
  readonly id: string;
  name: string;
  url: string;
  /** Kept, never returned by the API (as in Cloudflare): tests read it here. */
  secret?: string;
  readonly created_at: string;
  last_success?: string;
  last_failure?: string;
}

export interface FakePolicy {
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

export interface NotificationDelivery {
  readonly url: string;
  readonly status: number;
  readonly body: string;
}

export interface FakeCloudflare {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** What the SDK's `baseURL` (or `CLOUDFLARE_BASE_URL`) should be: `<url>/client/v4`. */
  readonly baseURL: string;
  readonly accountId: string;
  /** The first configured token. */
  readonly token: string;
  readonly requests: RecordedRequest[];
  readonly images: Map<string, FakeImage>;
  readonly destinations: Map<string, FakeDestination>;
  readonly policies: Map<string, FakePolicy>;
  streamWebhook: FakeStreamWebhook | undefined;
  /** The next `times` requests matching `method` and `path` (a regexp on the path after /client/v4) get `answer`. */
  fail(match: { method?: string; path: RegExp }, answer: FaultAnswer): void;
  /** The browser's side: POST a file to an upload URL. Completes the image and sends the Notifications. */
  upload(uploadURL: string, file?: Buffer): Promise<{ status: number; body: unknown; notifications: NotificationDelivery[] }>;
  /** Requests to the API (not uploads) matching a path regexp. */
  calls(path?: RegExp): RecordedRequest[];
  close(): Promise<void>;
}

const DEFAULT_ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353';
const DEFAULT_TOKEN = 'fake-cloudflare-token';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MIN_EXPIRY_MS = 2 * 60_000;
const MAX_EXPIRY_MS = 6 * 60 * 60_000;
const DEFAULT_EXPIRY_MS = 30 * 60_000;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: { code: number; message: string }[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors[0]?.message ?? `HTTP ${status}`);
  }
}
const bad = (code: number, message: string) => new ApiError(400, [{ code, message }]);

export async function startFakeCloudflare(options: FakeCloudflareOptions = {}): Promise<FakeCloudflare> {
  const accountId = options.accountId ?? DEFAULT_ACCOUNT;
  const tokens = options.tokens ?? { [DEFAULT_TOKEN]: ALL_PERMISSIONS };
  const now = options.now ?? (() => new Date());
  const accountHash = randomBytes(11).toString('base64url');
  const requests: RecordedRequest[] = [];
  const images = new Map<string, FakeImage>();
  const destinations = new Map<string, FakeDestination>();
  const policies = new Map<string, FakePolicy>();
  const faults: { method?: string; path: RegExp; answer: FaultAnswer; left: number }[] = [];
  let url = '';

  const state = {
    streamWebhook: undefined as FakeStreamWebhook | undefined,
  };

  const envelope = (result: unknown, extra: Record<string, unknown> = {}) => ({ success: true, errors: [], messages: [], result, ...extra });

  function authorize(req: IncomingMessage, permission: Permission): void {
    const header = req.headers.authorization;
    if (header === undefined) throw new ApiError(400, [{ code: 6003, message: 'Invalid request headers' }]);
    const token = /^Bearer (\S+)$/.exec(header)?.[1];
    const granted = token === undefined ? undefined : tokens[token];
    if (!granted) throw new ApiError(401, [{ code: 10000, message: 'Authentication error' }]);
    if (!granted.includes(permission)) throw new ApiError(403, [{ code: 10000, message: 'Authentication error' }]);
  }

  async function directUpload(req: IncomingMessage, raw: Buffer): Promise<{ result: unknown; fields: Record<string, string> }> {
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('multipart/form-data')) throw bad(5400, 'Bad request: the body must be multipart/form-data');
    let form: FormData;
    try {
      form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': type }, body: raw }).formData();
    } catch {
      throw bad(5400, 'Bad request: malformed multipart body');
    }
    const fields: Record<string, string> = {};
    for (const [name, value] of form.entries()) if (typeof value === 'string') fields[name] = value;

    const requireSignedURLs = fields.requireSignedURLs === undefined ? false : fields.requireSignedURLs === 'true';
    if (fields.requireSignedURLs !== undefined && !['true', 'false'].includes(fields.requireSignedURLs)) {
      throw bad(5400, 'Bad request: requireSignedURLs must be true or false');
    }
    let metadata: Record<string, unknown> = {};
    if (fields.metadata !== undefined) {
      try {
        metadata = JSON.parse(fields.metadata) as Record<string, unknown>;
      } catch {
        throw bad(5400, 'Bad request: metadata must be a JSON object');
      }
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw bad(5400, 'Bad request: metadata must be a JSON object');
    }
    const nowMs = now().getTime();
    let expiryMs = nowMs + DEFAULT_EXPIRY_MS;
    if (fields.expiry !== undefined) {
      expiryMs = Date.parse(fields.expiry);
      if (Number.isNaN(expiryMs)) throw bad(5400, 'Bad request: expiry must be an RFC 3339 date-time');
      if (expiryMs < nowMs + MIN_EXPIRY_MS || expiryMs > nowMs + MAX_EXPIRY_MS) {
        throw bad(5400, 'Bad request: expiry must be at least 2 minutes and at most 6 hours in the future');
      }
    }
    let id = fields.id;
    if (id !== undefined) {
      if (requireSignedURLs) throw bad(5400, 'Bad request: a custom id cannot be used with requireSignedURLs');
      if (id.length === 0 || id.length > 1024 || id.startsWith('/') || id.endsWith('/') || UUID.test(id)) {
        throw bad(5400, 'Bad request: invalid custom id');
      }
      if (images.has(id)) throw new ApiError(409, [{ code: 5409, message: 'Resource already exists' }]);
    } else {
      id = randomUUID();
    }
    const uploadURL = `${url}/upload/${accountHash}/${encodeURIComponent(id)}`;
    images.set(id, {
      id,
      draft: true,
      requireSignedURLs,
      metadata,
      ...(fields.creator !== undefined && { creator: fields.creator }),
      expiry: new Date(expiryMs).toISOString(),
      uploadURL,
    });
    return { result: { id, uploadURL }, fields };
  }

  function putStreamWebhook(body: Record<string, unknown>): unknown {
    const target = body.notificationUrl ?? body.notification_url;
    if (typeof target !== 'string' || !URL.canParse(target)) throw bad(10005, 'notificationUrl must be a valid URL');
    const modified = now().toISOString();
    const current = state.streamWebhook;
    // The seed's documented behaviour: changing the URL issues a new signing secret.
    const secret = current && current.notificationUrl === target ? current.secret : randomBytes(16).toString('hex');
    state.streamWebhook = { notificationUrl: target, secret, modified };
    return streamView(state.streamWebhook);
  }

  const streamView = (hook: FakeStreamWebhook) => ({
    modified: hook.modified,
    notification_url: hook.notificationUrl,
    notificationUrl: hook.notificationUrl,
    secret: hook.secret,
  });
  const destinationView = ({ secret: _secret, ...rest }: FakeDestination) => ({ ...rest, type: 'generic' });

  function checkDestination(body: Record<string, unknown>, partial: boolean): { name?: string; url?: string; secret?: string } {
    const { name, url: target, secret } = body;
    if ((!partial || name !== undefined) && (typeof name !== 'string' || name.length === 0)) throw bad(17000, 'name is required');
    if ((!partial || target !== undefined) && (typeof target !== 'string' || !URL.canParse(target))) throw bad(17000, 'url must be a valid URL');
    if (secret !== undefined && typeof secret !== 'string') throw bad(17000, 'secret must be a string');
    return { name: name as string | undefined, url: target as string | undefined, secret: secret as string | undefined };
  }

  function checkPolicy(body: Record<string, unknown>, partial: boolean): Partial<FakePolicy> {
    for (const key of ['name', 'alert_type'] as const) {
      if ((!partial || body[key] !== undefined) && (typeof body[key] !== 'string' || !body[key])) throw bad(17101, `${key} is required`);
    }
    if ((!partial || body.enabled !== undefined) && typeof body.enabled !== 'boolean') throw bad(17101, 'enabled is required');
    if (!partial && (typeof body.mechanisms !== 'object' || body.mechanisms === null)) throw bad(17101, 'mechanisms is required');
    const mechanisms = body.mechanisms as FakePolicy['mechanisms'] | undefined;
    for (const webhook of mechanisms?.webhooks ?? []) {
      if (!destinations.has(webhook.id)) throw bad(17102, `no webhook destination with id ${webhook.id}`);
    }
    const picked: Partial<FakePolicy> = {};
    for (const key of ['name', 'alert_type', 'enabled', 'description', 'mechanisms', 'filters'] as const) {
      if (body[key] !== undefined) (picked as Record<string, unknown>)[key] = body[key];
    }
    return picked;
  }

  async function route(req: IncomingMessage, raw: Buffer): Promise<{ status: number; result?: unknown; body?: unknown }> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    const api = /^\/client\/v4\/accounts\/([^/]+)(\/.*)$/.exec(path);
    if (!api) throw new ApiError(404, [{ code: 7000, message: 'No route for that URI' }]);
    if (api[1] !== accountId) {
      authorize(req, 'images'); // Cloudflare authenticates before it says the account is unknown.
      throw new ApiError(404, [{ code: 7003, message: 'Could not route to /accounts/..., perhaps your object identifier is invalid?' }]);
    }
    const rest = api[2]!;
    const json = (): Record<string, unknown> => {
      try {
        const parsed = JSON.parse(raw.toString('utf8') || '{}') as unknown;
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
      } catch {
        // fall through
      }
      throw bad(6007, 'Malformed JSON in request body');
    };

    if (rest === '/images/v2/direct_upload' && method === 'POST') {
      authorize(req, 'images');
      const { result, fields } = await directUpload(req, raw);
      return { status: 200, result, body: fields };
    }
    if (rest === '/stream/webhook') {
      authorize(req, 'stream');
      if (method === 'GET') {
        if (!state.streamWebhook) throw new ApiError(404, [{ code: 10003, message: 'Not Found' }]);
        return { status: 200, result: streamView(state.streamWebhook) };
      }
      if (method === 'PUT') {
        const body = json();
        return { status: 200, result: putStreamWebhook(body), body };
      }
      if (method === 'DELETE') {
        state.streamWebhook = undefined;
        return { status: 200, result: '' };
      }
    }
    const destination = /^\/alerting\/v3\/destinations\/webhooks(?:\/([^/]+))?$/.exec(rest);
    if (destination) {
      authorize(req, 'notifications');
      const id = destination[1];
      if (id === undefined && method === 'GET') return { status: 200, result: [...destinations.values()].map(destinationView) };
      if (id === undefined && method === 'POST') {
        const body = json();
        const given = checkDestination(body, false);
        if ([...destinations.values()].some((d) => d.name === given.name)) throw bad(17001, 'a destination with this name already exists');
        const created: FakeDestination = { id: randomUUID().replaceAll('-', ''), name: given.name!, url: given.url!, ...(given.secret !== undefined && { secret: given.secret }), created_at: now().toISOString() };
        destinations.set(created.id, created);
        return { status: 200, result: { id: created.id }, body: { ...body, secret: body.secret === undefined ? undefined : '<redacted>' } };
      }
      const existing = id === undefined ? undefined : destinations.get(id);
      if (!existing) throw new ApiError(404, [{ code: 17003, message: 'webhook destination not found' }]);
      if (method === 'GET') return { status: 200, result: destinationView(existing) };
      if (method === 'PUT') {
        const body = json();
        const given = checkDestination(body, false);
        existing.name = given.name!;
        existing.url = given.url!;
        if (given.secret !== undefined) existing.secret = given.secret;
        return { status: 200, result: { id: existing.id }, body: { ...body, secret: body.secret === undefined ? undefined : '<redacted>' } };
      }
      if (method === 'DELETE') {
        destinations.delete(existing.id);
        return { status: 200, result: null };
      }
    }
    const policy = /^\/alerting\/v3\/policies(?:\/([^/]+))?$/.exec(rest);
    if (policy) {
      authorize(req, 'notifications');
      const id = policy[1];
      if (id === undefined && method === 'GET') return { status: 200, result: [...policies.values()] };
      if (id === undefined && method === 'POST') {
        const body = json();
        const given = checkPolicy(body, false);
        const at = now().toISOString();
        const created = { ...given, id: randomUUID().replaceAll('-', ''), created: at, modified: at } as FakePolicy;
        policies.set(created.id, created);
        return { status: 200, result: { id: created.id }, body };
      }
      const existing = id === undefined ? undefined : policies.get(id);
      if (!existing) throw new ApiError(404, [{ code: 17103, message: 'policy not found' }]);
      if (method === 'GET') return { status: 200, result: existing };
      if (method === 'PUT') {
        const body = json();
        Object.assign(existing, checkPolicy(body, true), { modified: now().toISOString() });
        return { status: 200, result: { id: existing.id }, body };
      }
      if (method === 'DELETE') {
        policies.delete(existing.id);
        return { status: 200, result: null };
      }
    }
    throw new ApiError(405, [{ code: 7001, message: `Method ${method} not allowed for ${rest}` }]);
  }

  /** The upload endpoint: the browser posts the file; Cloudflare then notifies. */
  async function receiveUpload(req: IncomingMessage, raw: Buffer, path: string): Promise<{ status: number; body: unknown; notifications: NotificationDelivery[] }> {
    const match = /^\/upload\/[^/]+\/(.+)$/.exec(path);
    const image = match ? images.get(decodeURIComponent(match[1]!)) : undefined;
    if (!image) return { status: 404, body: envelopeError(404, 5404, 'Image not found'), notifications: [] };
    if (!image.draft) return { status: 409, body: envelopeError(409, 5409, 'This upload URL was already used'), notifications: [] };
    if (now().getTime() > Date.parse(image.expiry)) return { status: 400, body: envelopeError(400, 5400, 'The upload window has expired'), notifications: [] };
    if (!(req.headers['content-type'] ?? '').startsWith('multipart/form-data') || raw.length === 0) {
      return { status: 400, body: envelopeError(400, 5400, 'Bad request: send the file as multipart/form-data field "file"'), notifications: [] };
    }
    image.draft = false;
    image.uploaded = now().toISOString();
    image.variants = [`https://imagedelivery.net/${accountHash}/${image.id}/public`];
    const result = { id: image.id, filename: 'upload', uploaded: image.uploaded, requireSignedURLs: image.requireSignedURLs, variants: image.variants, meta: image.metadata };
    return { status: 200, body: envelope(result), notifications: await notifyImages(image) };
  }

  async function notifyImages(image: FakeImage): Promise<NotificationDelivery[]> {
    const deliveries: NotificationDelivery[] = [];
    for (const p of policies.values()) {
      if (!p.enabled || p.alert_type !== 'image_notification') continue;
      for (const { id } of p.mechanisms.webhooks ?? []) {
        const target = destinations.get(id);
        if (!target) continue;
        const payload = {
          name: p.name,
          text: `Image ${image.id} upload complete`,
          data: { id: image.id, status: 'uploaded', uploaded: image.uploaded, variants: image.variants, metadata: image.metadata, requireSignedURLs: image.requireSignedURLs, draft: false },
          ts: Math.floor(now().getTime() / 1000),
          account_id: accountId,
          policy_id: p.id,
          policy_name: p.name,
          alert_type: 'image_notification',
        };
        const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Cloudflare-Notifications' };
        if (target.secret !== undefined) headers['cf-webhook-auth'] = target.secret;
        try {
          const response = await fetch(target.url, { method: 'POST', headers, body: JSON.stringify(payload) });
          const body = await response.text();
          if (response.ok) target.last_success = now().toISOString();
          else target.last_failure = now().toISOString();
          deliveries.push({ url: target.url, status: response.status, body });
        } catch (error) {
          target.last_failure = now().toISOString();
          deliveries.push({ url: target.url, status: 0, body: (error as Error).message });
        }
      }
    }
    return deliveries;
  }

  const envelopeError = (_status: number, code: number, message: string) => ({ success: false, errors: [{ code, message }], messages: [], result: null });

  const uploadsInFlight = new Map<string, Promise<{ status: number; body: unknown; notifications: NotificationDelivery[] }>>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const raw = Buffer.concat(chunks);
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };

    if (path.startsWith('/upload/')) {
      const done = receiveUpload(req, raw, path);
      const key = String(req.headers['x-fake-upload-key'] ?? '');
      if (key) uploadsInFlight.set(key, done);
      const { status, body } = await done;
      return send(status, body);
    }

    const apiPath = path.replace(/^\/client\/v4\/accounts\/[^/]+/, '');
    const fault = faults.find((f) => f.left > 0 && (f.method === undefined || f.method === method) && f.path.test(apiPath));
    const record = (status: number, body?: unknown) =>
      requests.push({
        method,
        path,
        ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization.replace(/^(Bearer) .+$/, '$1 <redacted>') }),
        ...(req.headers['content-type'] !== undefined && { contentType: req.headers['content-type'] }),
        ...(body !== undefined && { body }),
        status,
      });
    if (fault) {
      fault.left -= 1;
      if (fault.answer.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.answer.delayMs));
      record(fault.answer.drop ? 0 : fault.answer.status);
      if (fault.answer.drop) return res.destroy();
      const errors = fault.answer.errors ?? [{ code: fault.answer.status >= 500 ? 10001 : 10000, message: fault.answer.status === 429 ? 'Rate limited' : `HTTP ${fault.answer.status}` }];
      return send(fault.answer.status, { success: false, errors, messages: [], result: null }, { ...fault.answer.headers });
    }
    try {
      const { status, result, body } = await route(req, raw);
      record(status, body);
      send(status, envelope(result));
    } catch (error) {
      if (!(error instanceof ApiError)) {
        record(500);
        return send(500, { success: false, errors: [{ code: 10001, message: 'Internal error' }], messages: [], result: null });
      }
      record(error.status);
      send(error.status, { success: false, errors: error.errors, messages: [], result: null }, error.headers);
    }
  };

  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    baseURL: `${url}/client/v4`,
    accountId,
    token: Object.keys(tokens)[0]!,
    requests,
    images,
    destinations,
    policies,
    get streamWebhook() {
      return state.streamWebhook;
    },
    set streamWebhook(value) {
      state.streamWebhook = value;
    },
    fail(match, answer) {
      faults.push({ ...match, answer, left: answer.times ?? 1 });
    },
    async upload(uploadURL, file = Buffer.from('\x89PNG\r\n\x1a\nfake image bytes')) {
      const form = new FormData();
      form.append('file', new Blob([file], { type: 'image/png' }), 'photo.png');
      const key = randomUUID();
      const response = await fetch(uploadURL, { method: 'POST', body: form, headers: { 'x-fake-upload-key': key } });
      const body = (await response.json()) as unknown;
      const done = await uploadsInFlight.get(key);
      uploadsInFlight.delete(key);
      return { status: response.status, body, notifications: done?.notifications ?? [] };
    },
    calls(path) {
      return requests.filter((r) => path === undefined || path.test(r.path));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
