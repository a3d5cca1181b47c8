/**
 * The stand-in's requests and answers, shared by local/cloudflare.ts and its route families
 * (cloudflare-images.ts, cloudflare-stream.ts, cloudflare-notifications.ts): Cloudflare's
 * `{success, errors, messages, result}` envelope and its errors, the shape of a route, what of
 * the stand-in a route family uses, and reading a request's body and fields.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NotificationPolicy, Permission, PlannedDelivery, StandInImage, StandInVideo, StreamWebhook, WebhookDelivery, WebhookDestination } from './cloudflare-types.js';
import { isRecord } from '../lambda/core/values.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: { code: number; message: string }[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors[0]?.message ?? `HTTP ${status}`);
  }
}
export const fault = (status: number, code: number, message: string) => new ApiError(status, [{ code, message }]);
export const bad = (code: number, message: string) => fault(400, code, message);

/** The map's entry for `id`, or Cloudflare's 404 with the resource's own error code and message. */
export function found<T>(map: ReadonlyMap<string, T>, id: string, code: number, message: string): T {
  const value = map.get(id);
  if (value === undefined) throw fault(404, code, message);
  return value;
}

/** A fresh id as Cloudflare spells many of its own: 32 hex digits. */
export const hexId = () => randomUUID().replaceAll('-', '');

export const envelope = (result: unknown) => ({ success: true, errors: [], messages: [], result });
export const errorEnvelope = (errors: readonly { code: number; message: string }[]) => ({ success: false, errors, messages: [], result: null });

export interface Call {
  readonly req: IncomingMessage;
  readonly raw: Buffer;
  readonly params: readonly string[];
}
export interface Handled {
  readonly result: unknown;
  /** What `requests` records as the request's body (secrets redacted). */
  readonly recorded?: unknown;
}
export interface Route {
  readonly method: string;
  readonly path: RegExp;
  readonly needs: Permission;
  readonly handle: (call: Call) => Handled | Promise<Handled>;
}
export interface UploadAnswer {
  readonly status: number;
  readonly body?: unknown;
  /** What Cloudflare does once it has answered: process, then deliver the webhooks. */
  readonly afterwards?: () => Promise<WebhookDelivery[]>;
}

/** What a route family reads and uses of the stand-in. */
export interface StandInCore {
  /** `http://127.0.0.1:<port>`, once it listens. */
  readonly url: string;
  readonly accountId: string;
  /** Stands in for the account hash in imagedelivery.net URLs. */
  readonly accountHash: string;
  /** Stands in for the customer subdomain of Stream's URLs. */
  readonly streamHost: string;
  readonly processingDelayMs: number;
  readonly images: Map<string, StandInImage>;
  readonly videos: Map<string, StandInVideo>;
  readonly destinations: Map<string, WebhookDestination>;
  readonly policies: Map<string, NotificationPolicy>;
  streamWebhook: StreamWebhook | undefined;
  readonly now: () => Date;
  /** The end of an upload window from the `expiry` asked for, within Cloudflare's limits. */
  expiryFrom(given: string | undefined): string;
  /** Resolves true after `ms`, or false at once when the stand-in closes meanwhile. */
  sleep(ms: number): Promise<boolean>;
  /** Sends a webhook, or loses it as `dropWebhooks` says, and records it. */
  deliver(planned: PlannedDelivery, headers: Record<string, string>): Promise<WebhookDelivery>;
}

// ---- Request reading and validation ------------------------------------------------------------

export async function readForm(req: IncomingMessage, raw: Buffer): Promise<FormData> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) throw bad(5400, 'Bad request: the body must be multipart/form-data');
  try {
    return await new Request('http://stand-in/', { method: 'POST', headers: { 'content-type': type }, body: raw }).formData();
  } catch {
    throw bad(5400, 'Bad request: malformed multipart body');
  }
}

export function textFields(form: FormData): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of form.entries()) if (typeof value === 'string') fields[name] = value;
  return fields;
}

export async function fileField(req: IncomingMessage, raw: Buffer): Promise<{ name: string; bytes: Buffer }> {
  const file = (await readForm(req, raw)).get('file');
  if (file === null || typeof file === 'string') throw bad(5400, 'Bad request: send the file as multipart/form-data field "file"');
  return { name: file.name, bytes: Buffer.from(await file.arrayBuffer()) };
}

export function jsonBody(raw: Buffer): Record<string, unknown> {
  try {
    const parsed = JSON.parse(raw.toString('utf8') || '{}') as unknown;
    if (isRecord(parsed)) return parsed;
  } catch {
    // answered below
  }
  throw bad(6007, 'Malformed JSON in request body');
}

export function booleanField(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value !== 'true' && value !== 'false') throw bad(5400, 'Bad request: requireSignedURLs must be true or false');
  return value === 'true';
}

export function booleanValue(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw bad(10005, `${name} must be a boolean`);
  return value;
}

export function jsonObjectField(value: string, name: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw bad(5400, `Bad request: ${name} must be a JSON object`);
  }
  if (!isRecord(parsed)) throw bad(5400, `Bad request: ${name} must be a JSON object`);
  return parsed;
}

export function objectField(value: unknown, name: string): Record<string, unknown> {
  if (!isRecord(value)) throw bad(10005, `${name} must be an object`);
  return value;
}

export function optionalString(value: unknown, name: string): string | undefined {
  if (value !== undefined && typeof value !== 'string') throw bad(10005, `${name} must be a string`);
  return value;
}

export function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw bad(10005, `${name} must be a list of strings`);
  return value;
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
