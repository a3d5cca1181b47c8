/**
 * Generators of hostile webhook requests (fast-check) and the oracle that judges them, shared
 * by the pure property tests and the end-to-end ones.
 *
 * A request is first signed the way a sender signs (with an active secret, a secret of another
 * scheme, or a stranger's; a timestamp at, inside or beyond the window), then mutated: body bit
 * flips, truncation, appended bytes, the body base64-encoded, signature headers truncated,
 * altered, duplicated (as HTTP API joins a repeated header), reordered, padded, upper-cased or
 * dropped, other schemes' headers added, the timestamp shifted.
 */
import fc from 'fast-check';
import { hmacSha256, type Route, type SecretSet, type Verification } from '../../lambda/webhook/verify.js';
import { payloads } from '../../local/payloads.js';

export const SIGNATURE_HEADERS = ['cf-webhook-auth', 'x-signature', 'x-cloudflare-signature', 'webhook-signature'] as const;
export type SignatureHeader = (typeof SIGNATURE_HEADERS)[number];

export interface HostileRequest {
  readonly route: Route;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/**
 * The oracle: is `request` authentic for the scheme the verifier named? It recomputes the MAC
 * from the exact bytes; lenient about formatting, strict about cryptographic material: only
 * someone holding an active secret of that scheme can make it say yes.
 */
export function authentic(
  request: HostileRequest,
  scheme: Extract<Verification, { ok: true }>['scheme'],
  secrets: SecretSet,
  nowSeconds: number,
  toleranceSeconds: number,
): boolean {
  const { headers, body } = request;
  if (scheme === 'cf-webhook-auth') {
    return request.route === 'images' && secrets.images.includes(headers['cf-webhook-auth']!);
  }
  if (scheme === 'x-signature') {
    const header = (headers['x-signature'] ?? headers['x-cloudflare-signature'] ?? '').toLowerCase();
    return (
      request.route === 'images' &&
      headers['cf-webhook-auth'] === undefined &&
      secrets.toolkit.some((secret) => header.includes(hmacSha256(secret, body).toString('hex')))
    );
  }
  const header = (headers['webhook-signature'] ?? '').toLowerCase();
  const times = [...header.matchAll(/time\s*=\s*(\d+)/g)].map((m) => Number(m[1]));
  const signatures = [...header.matchAll(/sig1\s*=\s*([0-9a-f]{64})/g)].map((m) => m[1]!);
  return (
    request.route === 'stream' &&
    times.some(
      (time) =>
        Math.abs(nowSeconds - time) <= toleranceSeconds &&
        secrets.stream.some((secret) => signatures.includes(hmacSha256(secret, Buffer.concat([Buffer.from(`${time}.`), body])).toString('hex'))),
    )
  );
}

export const secret = fc.oneof(fc.stringMatching(/^[A-Za-z0-9]{8,48}$/), fc.string({ minLength: 1, maxLength: 40 }));
// Mostly one or two active values per scheme (rotation), sometimes none configured.
const secretList = fc.oneof({ weight: 5, arbitrary: fc.array(secret, { minLength: 1, maxLength: 2 }) }, { weight: 1, arbitrary: fc.constant([]) });
export const secretSet: fc.Arbitrary<SecretSet> = fc.record({ images: secretList, stream: secretList, toolkit: secretList });

const iso = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }).map((ms) => new Date(ms).toISOString());
const randomIds = fc.oneof(fc.uuid(), fc.stringMatching(/^[0-9a-f]{32}$/));

/** Real payloads of every shape the receiver knows, for ids drawn from `ids`. */
export function payloadObject(ids: fc.Arbitrary<string> = randomIds): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    fc.tuple(ids, iso, fc.boolean()).map(([id, at, draft]) => payloads.imageUploaded(id, at, draft ? { draft } : {})),
    fc.tuple(ids, iso).map(([id, at]) => payloads.imageFailed(id, at)),
    fc.tuple(ids, fc.nat()).map(([id, ts]) => payloads.notification({ id, status: 'complete' }, ts)),
    fc.tuple(ids, iso).map(([id, at]) => payloads.videoReady(id, at)),
    fc.tuple(ids, iso).map(([id, at]) => payloads.videoError(id, at)),
    fc.constant(payloads.testPing()),
  );
}

/**
 * Field values that break validators: empty and huge strings, impossible and out-of-range
 * dates, wrong types, prototype keys. `unsafeNumbers` adds numbers beyond 2^53 (see the
 * test in hostile-http.test.ts: such values are stored as text).
 */
function specialValue(unsafeNumbers: boolean): fc.Arbitrary<unknown> {
  const values: unknown[] = [
    '', ' ', 'x'.repeat(2000), -1, 0, 0.5, null, true, [], {}, '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z',
    '2024-02-30T00:00:00Z', '2024-01-01T12:00:00.123456789Z', '1969-12-31T23:59:59Z', 'ready', 'error', 'inprogress',
    { __proto__: { status: 'uploaded' } }, '__proto__', 'constructor',
  ];
  if (unsafeNumbers) values.push(1e308, -1e308, 2 ** 53 + 2);
  const json = fc.jsonValue({ maxDepth: 3 }).filter((v) => unsafeNumbers || !hasUnsafeNumber(v));
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...values) }, { weight: 2, arbitrary: json });
}

function hasUnsafeNumber(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isSafeInteger(Math.trunc(value));
  if (value && typeof value === 'object') return Object.values(value).some(hasUnsafeNumber);
  return false;
}

/** A real payload with fields replaced, deleted or added, at the top level and one level down. */
export function mutatedPayload(ids: fc.Arbitrary<string> = randomIds, unsafeNumbers = true): fc.Arbitrary<Buffer> {
  return fc
    .tuple(payloadObject(ids), fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constant(undefined), specialValue(unsafeNumbers)), fc.boolean()), { maxLength: 4 }))
    .map(([base, edits]) => {
      const object = structuredClone(base);
      for (const [index, replacement, nested] of edits) {
        const keys = Object.keys(object);
        if (keys.length === 0) continue;
        const key = keys[index % keys.length]!;
        const child = object[key];
        const parent = nested && typeof child === 'object' && child !== null && !Array.isArray(child) ? (child as Record<string, unknown>) : object;
        const parentKeys = Object.keys(parent);
        const target = parentKeys.length > 0 ? parentKeys[index % parentKeys.length]! : key;
        if (replacement === undefined) delete parent[target];
        else parent[target] = replacement;
      }
      return Buffer.from(JSON.stringify(object));
    });
}

/** Bodies: real payloads, mutated ones, arbitrary bytes and text, empty, and far too large. */
export interface BodyOptions {
  /** Let numbers beyond 2^53 into mutated payloads. */
  readonly unsafeNumbers?: boolean;
  /** Size range of the far-too-large bodies. */
  readonly hugeBytes?: readonly [number, number];
}

export function bodies(ids: fc.Arbitrary<string> = randomIds, { unsafeNumbers = true, hugeBytes = [65_000, 300_000] }: BodyOptions = {}): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 4, arbitrary: payloadObject(ids).map((p) => Buffer.from(JSON.stringify(p))) },
    { weight: 3, arbitrary: mutatedPayload(ids, unsafeNumbers) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
    { weight: 1, arbitrary: fc.integer({ min: hugeBytes[0], max: hugeBytes[1] }).map((n) => Buffer.alloc(n, '{')) },
  );
}

export type Mutation =
  | { type: 'flip-body-bit'; index: number; bit: number }
  | { type: 'truncate-body'; keep: number }
  | { type: 'append-body'; bytes: Uint8Array }
  | { type: 'base64-body' }
  | { type: 'truncate-header'; keep: number }
  | { type: 'flip-header-char'; index: number }
  | { type: 'duplicate-header' }
  | { type: 'reorder-header' }
  | { type: 'drop-header' }
  | { type: 'pad-header' }
  | { type: 'upper-case-header' }
  | { type: 'other-scheme-header'; name: SignatureHeader; valid: boolean }
  | { type: 'shift-time'; by: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ type: fc.constant('flip-body-bit' as const), index: fc.nat(), bit: fc.nat(7) }),
  fc.record({ type: fc.constant('truncate-body' as const), keep: fc.nat() }),
  fc.record({ type: fc.constant('append-body' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ type: fc.constant('base64-body' as const) }),
  fc.record({ type: fc.constant('truncate-header' as const), keep: fc.nat() }),
  fc.record({ type: fc.constant('flip-header-char' as const), index: fc.nat() }),
  fc.record({ type: fc.constant('duplicate-header' as const) }),
  fc.record({ type: fc.constant('reorder-header' as const) }),
  fc.record({ type: fc.constant('drop-header' as const) }),
  fc.record({ type: fc.constant('pad-header' as const) }),
  fc.record({ type: fc.constant('upper-case-header' as const) }),
  fc.record({ type: fc.constant('other-scheme-header' as const), name: fc.constantFrom(...SIGNATURE_HEADERS), valid: fc.boolean() }),
  fc.record({ type: fc.constant('shift-time' as const), by: fc.oneof(fc.constantFrom(1, -1, 300, -300), fc.integer({ min: -1000, max: 1000 })) }),
);

export interface Plan {
  readonly route: Route;
  readonly scheme: SignatureHeader | 'none';
  /** Which secret signs: an active one of the scheme's kind, one of another kind, or a stranger's. */
  readonly signer: 'active' | 'other-kind' | 'wrong';
  readonly pick: number;
  readonly wrongSecret: string;
  /** Seconds between the signed timestamp and now. */
  readonly offset: number;
  readonly prefix: boolean;
  readonly mutations: readonly Mutation[];
  /** Other headers; now and then a signature header with arbitrary content. */
  readonly noise: Record<string, string>;
}

export function plans(tolerance: number): fc.Arbitrary<Plan> {
  return fc
    .record({
      scheme: fc.constantFrom(...SIGNATURE_HEADERS, 'none' as const),
      // One in eight sends a scheme to the other route.
      wrongRoute: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()).map(([a, b, c]) => a && b && c),
      signer: fc.constantFrom('active' as const, 'active' as const, 'other-kind' as const, 'wrong' as const),
      pick: fc.nat(3),
      wrongSecret: secret,
      // At the edge of the window, one second beyond, far away, and anywhere near.
      offset: fc.oneof(
        fc.constantFrom(0, tolerance, -tolerance, tolerance + 1, -(tolerance + 1), 10 ** 9, -(10 ** 9)),
        fc.integer({ min: -2 * tolerance, max: 2 * tolerance }),
      ),
      prefix: fc.boolean(),
      mutations: fc.array(mutation, { maxLength: 3 }),
      noise: fc.dictionary(
        fc.oneof(fc.constantFrom('content-type', 'user-agent', 'x-forwarded-for'), fc.constantFrom(...SIGNATURE_HEADERS)),
        fc.string({ maxLength: 120 }),
        { maxKeys: 2 },
      ),
    })
    .map(({ wrongRoute, ...p }) => {
      const home: Route = p.scheme === 'webhook-signature' ? 'stream' : 'images';
      return { ...p, route: wrongRoute ? (home === 'images' ? 'stream' : 'images') : home };
    });
}

export const KIND_OF: Record<SignatureHeader, keyof SecretSet> = {
  'cf-webhook-auth': 'images',
  'x-signature': 'toolkit',
  'x-cloudflare-signature': 'toolkit',
  'webhook-signature': 'stream',
};

/** What a sender of `scheme` puts in its header, signed with `key`. */
export function signatureFor(scheme: SignatureHeader, key: string, body: Buffer, time: number, prefix: boolean): string {
  if (scheme === 'cf-webhook-auth') return key;
  if (scheme === 'webhook-signature') return `time=${time},sig1=${hmacSha256(key, Buffer.concat([Buffer.from(`${time}.`), body])).toString('hex')}`;
  return `${prefix ? 'sha256=' : ''}${hmacSha256(key, body).toString('hex')}`;
}

/** Signs `original` as `p` says, then applies its mutations. */
export function build(p: Plan, secrets: SecretSet, original: Buffer, nowSeconds: number): HostileRequest {
  let payload = original;
  const headers: Record<string, string> = { ...p.noise };
  const time = nowSeconds + p.offset;
  if (p.scheme !== 'none') {
    const kind = KIND_OF[p.scheme];
    const own = secrets[kind];
    const others = (Object.keys(secrets) as (keyof SecretSet)[]).filter((k) => k !== kind).flatMap((k) => secrets[k]);
    const key =
      p.signer === 'active' && own.length > 0
        ? own[p.pick % own.length]!
        : p.signer === 'other-kind' && others.length > 0
          ? others[p.pick % others.length]!
          : p.wrongSecret;
    headers[p.scheme] = signatureFor(p.scheme, key, payload, time, p.prefix);
  }
  const target = p.scheme === 'none' ? undefined : p.scheme;
  for (const m of p.mutations) {
    const value = target ? headers[target] : undefined;
    switch (m.type) {
      case 'flip-body-bit':
        if (payload.length > 0) {
          payload = Buffer.from(payload);
          payload[m.index % payload.length]! ^= 1 << m.bit;
        }
        break;
      case 'truncate-body':
        payload = payload.subarray(0, payload.length === 0 ? 0 : m.keep % payload.length);
        break;
      case 'append-body':
        payload = Buffer.concat([payload, m.bytes]);
        break;
      case 'base64-body':
        payload = Buffer.from(payload.toString('base64'));
        break;
      case 'truncate-header':
        if (target && value) headers[target] = value.slice(0, m.keep % value.length);
        break;
      case 'flip-header-char':
        if (target && value) {
          const i = m.index % value.length;
          const c = value[i]!;
          headers[target] = value.slice(0, i) + (c === 'a' ? 'b' : c === '0' ? '1' : 'a') + value.slice(i + 1);
        }
        break;
      case 'duplicate-header':
        // How HTTP API presents a header sent twice.
        if (target && value !== undefined) headers[target] = `${value},${value}`;
        break;
      case 'reorder-header':
        if (target && value !== undefined) headers[target] = value.split(',').reverse().join(',');
        break;
      case 'drop-header':
        if (target) delete headers[target];
        break;
      case 'pad-header':
        if (target && value !== undefined) headers[target] = ` ${value.replaceAll(',', ' , ')} `;
        break;
      case 'upper-case-header':
        if (target && value !== undefined) headers[target] = value.toUpperCase();
        break;
      case 'other-scheme-header': {
        const kind = secrets[KIND_OF[m.name]];
        const key = m.valid && kind.length > 0 ? kind[0]! : 'not-a-secret';
        headers[m.name] = signatureFor(m.name, key, payload, time, false);
        break;
      }
      case 'shift-time':
        if (target && value !== undefined) headers[target] = value.replace(/time=(\d+)/, (_, t: string) => `time=${Number(t) + m.by}`);
        break;
    }
  }
  return { route: p.route, headers, body: payload };
}

/** True when `p` signs as documented and nothing disturbs it: such a request must be accepted. */
export function untouched(p: Plan, secrets: SecretSet, tolerance: number): boolean {
  const routeAllows = p.route === 'stream' ? p.scheme === 'webhook-signature' : p.scheme !== 'webhook-signature' && p.scheme !== 'none';
  return (
    p.mutations.length === 0 &&
    Object.keys(p.noise).every((name) => !(SIGNATURE_HEADERS as readonly string[]).includes(name)) &&
    p.signer === 'active' &&
    p.scheme !== 'none' &&
    secrets[KIND_OF[p.scheme]].length > 0 &&
    routeAllows &&
    (p.scheme !== 'webhook-signature' || Math.abs(p.offset) <= tolerance)
  );
}
