/**
 * `send`: a Cloudflare-format delivery, signed the way its sender signs it, POSTed to the
 * receiver. Options break the signature in the ways the gate must catch.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecrets } from '../lambda/adapters/secrets.js';
import { Scheme, type Route } from '../lambda/core/contract.js';
import type { SecretSet } from '../lambda/core/secret-format.js';
import { payloads, signedHeaders } from '../local/payloads.js';
import { CliError, UsageError } from './errors.js';
import { required, type Target } from './target.js';

type Payload = Record<string, unknown>;

/** Each scheme's header as Cloudflare's docs (and the seed) spell it, for what a user reads. */
const HEADER_AS_DOCUMENTED: Readonly<Record<Scheme, string>> = {
  [Scheme.NotificationSecret]: 'cf-webhook-auth',
  [Scheme.StreamSignature]: 'Webhook-Signature',
  [Scheme.ToolkitSignature]: 'X-Signature',
};

export const Format = { Notification: 'notification', Seed: 'seed' } as const;
export type Format = (typeof Format)[keyof typeof Format];

interface DeliveryDefinition {
  readonly route: Route;
  readonly needsId: boolean;
  /** Image deliveries come as Cloudflare Notifications or as the seed toolkit's bare payloads. */
  readonly formats: readonly Format[];
  readonly scheme: (format: Format) => Scheme;
  readonly payload: (id: string, at: string, nowSeconds: number, format: Format) => Payload;
}

/** An Images delivery: the seed's payload, bare (X-Signature) or in a Notifications envelope with `text`. */
const imageDelivery = (seed: (id: string, at: string) => Payload, text: string) =>
  ({
    route: 'images',
    needsId: true,
    formats: [Format.Notification, Format.Seed],
    scheme: (format) => (format === Format.Seed ? Scheme.ToolkitSignature : Scheme.NotificationSecret),
    payload: (id, at, nowSeconds, format) => (format === Format.Seed ? seed(id, at) : payloads.notification(seed(id, at), nowSeconds, text)),
  }) as const satisfies DeliveryDefinition;

export const Deliveries = {
  'image-uploaded': imageDelivery(payloads.imageUploaded, 'Image upload complete'),
  'image-failed': imageDelivery(payloads.imageFailed, 'Image upload failed'),
  'video-ready': {
    route: 'stream',
    needsId: true,
    formats: [],
    scheme: () => Scheme.StreamSignature,
    payload: (id, at) => payloads.videoReady(id, at),
  },
  'video-error': {
    route: 'stream',
    needsId: true,
    formats: [],
    scheme: () => Scheme.StreamSignature,
    payload: (id, at) => payloads.videoError(id, at),
  },
  /** The dashboard's "Save and Test". */
  ping: {
    route: 'images',
    needsId: false,
    formats: [],
    scheme: () => Scheme.NotificationSecret,
    payload: () => payloads.testPing(),
  },
} as const satisfies Record<string, DeliveryDefinition>;
export type DeliveryName = keyof typeof Deliveries;

export const Fault = { None: 'none', Stale: 'stale', Tampered: 'tampered', Unsigned: 'unsigned' } as const;
export type Fault = (typeof Fault)[keyof typeof Fault];

/** How old a `--stale` signature is: far outside any sensible tolerance. */
export const STALE_SECONDS = 24 * 60 * 60;

export interface SendRequest {
  readonly delivery: DeliveryName;
  readonly id?: string;
  /** When Cloudflare says it happened. */
  readonly at: Date;
  readonly format?: Format;
  readonly fault: Fault;
}

export interface PreparedDelivery {
  readonly url: string;
  /** `image-uploaded, Notifications envelope, cf-webhook-auth` */
  readonly label: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly notes: readonly string[];
}

export function isDeliveryName(name: string): name is DeliveryName {
  return Object.hasOwn(Deliveries, name);
}

const SECRET_OF: Readonly<Record<Scheme, keyof SecretSet>> = {
  [Scheme.NotificationSecret]: 'images',
  [Scheme.StreamSignature]: 'stream',
  [Scheme.ToolkitSignature]: 'toolkit',
};

/** Which secret a request is signed with; none when it goes unsigned, so no secret is read. */
export function secretNeeded(request: SendRequest): keyof SecretSet | undefined {
  if (request.fault === Fault.Unsigned) return undefined;
  const definition: DeliveryDefinition = Deliveries[request.delivery];
  return SECRET_OF[definition.scheme(request.format ?? Format.Notification)];
}

/** Builds the exact request; pure, so what each option does is tested without a network. */
export function prepareDelivery(request: SendRequest, urls: { images: string; stream: string }, secrets: SecretSet, now: Date): PreparedDelivery {
  const definition: DeliveryDefinition = Deliveries[request.delivery];
  const format = checkedFormat(request, definition);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const scheme = definition.scheme(format);
  const payload = definition.payload(request.id ?? '', request.at.toISOString(), nowSeconds, format);
  if (request.fault === Fault.Stale && scheme !== Scheme.StreamSignature) {
    throw new UsageError(`--stale needs a signed timestamp, which only Stream deliveries carry (Webhook-Signature); ${HEADER_AS_DOCUMENTED[scheme]} has none`);
  }

  const body = JSON.stringify(payload);
  const label = deliveryLabel(request, scheme);
  const url = definition.route === 'images' ? urls.images : urls.stream;
  if (request.fault === Fault.Unsigned) return { url, label, headers: { 'content-type': 'application/json' }, body, notes: [] };
  return { url, label, ...signed({ scheme, fault: request.fault, secret: firstSecret(secrets, scheme), payload, body, nowSeconds }) };
}

/** The format the request asks for (Notifications by default), once the delivery is known to take it. */
function checkedFormat(request: SendRequest, definition: DeliveryDefinition): Format {
  if (definition.needsId && !request.id) {
    throw new UsageError(`send ${request.delivery} needs --id (create one with: npm run cli -- images create-pending <id>)`);
  }
  if (request.format !== undefined && !definition.formats.includes(request.format)) {
    throw new UsageError(`--format applies to image-uploaded and image-failed only`);
  }
  return request.format ?? Format.Notification;
}

/** `image-uploaded, Notifications envelope, cf-webhook-auth`, plus the fault. */
function deliveryLabel(request: SendRequest, scheme: Scheme): string {
  const notification = scheme === Scheme.NotificationSecret && request.delivery !== 'ping';
  return [
    request.delivery,
    ...(notification ? ['Notifications envelope'] : []),
    request.fault === Fault.Unsigned ? 'unsigned' : HEADER_AS_DOCUMENTED[scheme],
    ...(request.fault === Fault.Stale || request.fault === Fault.Tampered ? [request.fault] : []),
  ].join(', ');
}

interface Signing {
  readonly scheme: Scheme;
  readonly fault: Fault;
  readonly secret: string;
  readonly payload: Payload;
  /** The payload as signed. */
  readonly body: string;
  readonly nowSeconds: number;
}

/** Headers as the scheme's sender signs the body, then broken the way `fault` asks. */
function signed({ scheme, fault, secret, payload, body, nowSeconds }: Signing): Pick<PreparedDelivery, 'headers' | 'body' | 'notes'> {
  const tampered = fault === Fault.Tampered;
  switch (scheme) {
    case Scheme.NotificationSecret:
      // cf-webhook-auth is the shared secret itself, not a signature of the body: only a wrong value fails it.
      return tampered
        ? { headers: signedHeaders.notification(alter(secret)), body, notes: ['cf-webhook-auth carries the secret, not a signature of the body, so --tampered alters the secret'] }
        : { headers: signedHeaders.notification(secret), body, notes: [] };
    case Scheme.ToolkitSignature:
      return tampered
        ? { headers: signedHeaders.toolkit(secret, body), body: tamper(payload), notes: ['body changed after signing'] }
        : { headers: signedHeaders.toolkit(secret, body), body, notes: [] };
    case Scheme.StreamSignature: {
      const stale = fault === Fault.Stale;
      const headers = signedHeaders.stream(secret, body, stale ? nowSeconds - STALE_SECONDS : nowSeconds);
      if (stale) return { headers, body, notes: [`signed ${STALE_SECONDS / 3600} h ago`] };
      return tampered ? { headers, body: tamper(payload), notes: ['body changed after signing'] } : { headers, body, notes: [] };
    }
  }
}

function firstSecret(secrets: SecretSet, scheme: Scheme): string {
  const key = SECRET_OF[scheme];
  const secret = secrets[key][0];
  if (secret !== undefined) return secret;
  const fix = {
    images: 'the stack generates it; is this the right secret?',
    stream: "put the signing secret Cloudflare returned from PUT /accounts/{account_id}/stream/webhook into its 'stream' list",
    toolkit: "add one to its 'toolkit' list, or send the Notifications format (leave out --format seed)",
  }[key];
  throw new CliError(`the webhook secret has no '${key}' value, so the receiver refuses ${HEADER_AS_DOCUMENTED[scheme]} deliveries: ${fix}`);
}

/** A different body that still parses, so the answer is about the signature and nothing else. */
const tamper = (payload: Payload) => JSON.stringify({ ...payload, tampered: true });

const alter = (secret: string) => secret.slice(0, -1) + (secret.endsWith('x') ? 'y' : 'x');

/** API Gateway gives up on an integration after 30 s; waiting longer only hides that. */
const POST_TIMEOUT_MS = 35_000;

export interface Answer {
  readonly status: number;
  readonly body: string;
}

export async function post(delivery: PreparedDelivery): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(delivery.url, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(POST_TIMEOUT_MS) });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${POST_TIMEOUT_MS / 1000} s` : String((error as Error).cause ?? (error as Error).message);
    throw new CliError(`POST ${delivery.url} failed: ${reason}`, 1, { cause: error });
  }
  return { status: response.status, body: await response.text() };
}

export async function readSecrets(target: Target): Promise<SecretSet> {
  const secretId = required(target, 'secretId');
  const client = new SecretsManagerClient(target.clientConfig);
  try {
    return await new SecretsManagerSecrets(secretId, client).get();
  } catch (error) {
    const cause = (error as Error).cause as Error | undefined;
    const detail = cause ? `${(error as Error).message}: ${cause.message}` : (error as Error).message;
    throw new CliError(`could not read the webhook secret ${secretId}: ${detail}`, 1, { cause: error });
  } finally {
    client.destroy();
  }
}

export function formatRequest(delivery: PreparedDelivery): string {
  return [`POST ${delivery.url}  (${delivery.label})`, ...delivery.notes.map((note) => `note: ${note}`)].join('\n');
}

export function formatAnswer(answer: Answer): string {
  const line = `${answer.status} ${answer.body}`;
  // The receiver's default policy refuses ids nobody created; say how to create one.
  const unknown = answer.status === 404 ? /"no (image|video) with id (.+?)"/.exec(answer.body) : null;
  if (!unknown) return line;
  const [, kind, id] = unknown;
  return `${line}\nhint: create it first: npm run cli -- images create-pending ${id}${kind === 'video' ? ' --kind video' : ''}`;
}
