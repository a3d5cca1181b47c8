/**
 * Property-based tests of the pure layer (fast-check), 10,000 generated cases per property:
 *
 * - verifyRequest, on requests signed then mutated (support/hostile.ts) and on arbitrary
 *   headers and bodies: it never throws, and whatever it accepts is authentic, as judged by an
 *   oracle that recomputes the MAC from the bytes it was given. An untouched, correctly signed
 *   request is always accepted, so the oracle is not vacuous.
 * - parseDelivery, on real payloads with mutated fields, arbitrary JSON and bytes, truncated,
 *   empty, deeply nested and huge bodies: it returns a sane delivery or throws PayloadError,
 *   nothing else. A status report's kind matches the route, its id is bounded, its timestamp is
 *   a sortable ISO instant, and it never carries the item's bookkeeping attributes.
 *
 *   PROPERTY_RUNS=100000 PROPERTY_SEED=1 npx tsx scripts/test.ts test/property/verify-parse.test.ts
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { PayloadError } from '../../lambda/core/errors.js';
import { parseDelivery } from '../../lambda/webhook/parse.js';
import { verifyRequest, type Route, type SecretSet } from '../../lambda/webhook/verify.js';
import { authentic, bodies, build, mutatedPayload, payloadObject, plans, secretSet, SIGNATURE_HEADERS, untouched, type HostileRequest } from '../support/hostile.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 10_000);
const SEED = Number(process.env.PROPERTY_SEED ?? 424242);
const NOW = 1_700_000_000;

const figures: string[] = [];
after(() => process.stderr.write(`\nproperty tests (seed ${SEED}):\n${figures.map((f) => `  ${f}`).join('\n')}\n`));

const verify = (r: HostileRequest, secrets: SecretSet, tolerance: number) =>
  verifyRequest({ route: r.route, headers: r.headers, body: r.body, secrets, nowSeconds: NOW, toleranceSeconds: tolerance });

describe('verifyRequest under generated requests', () => {
  it(`accepts no forgery, never throws, accepts every untouched signed request: ${RUNS} signed-then-mutated requests`, () => {
    const verdicts: Record<string, number> = {};
    let accepted = 0;
    let mutated = 0;
    let live = 0;
    const tolerance = fc.constantFrom(300, 300, 60, 1);
    fc.assert(
      fc.property(
        tolerance.chain((t) => fc.tuple(fc.constant(t), plans(t))),
        secretSet,
        bodies(),
        ([tol, p], secrets, original) => {
          const request = build(p, secrets, original, NOW);
          const verdict = verify(request, secrets, tol);
          const label = verdict.ok ? `accepted (${verdict.scheme})` : verdict.reason;
          verdicts[label] = (verdicts[label] ?? 0) + 1;
          if (p.mutations.length > 0) mutated++;
          if (verdict.ok) {
            accepted++;
            assert.ok(authentic(request, verdict.scheme, secrets, NOW, tol), `accepted an inauthentic ${verdict.scheme} request`);
          }
          if (untouched(p, secrets, tol)) {
            live++;
            assert.equal(verdict.ok, true, `rejected a correctly signed ${p.scheme} request: ${!verdict.ok && verdict.reason}`);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    assert.ok(live > RUNS / 50, `enough untouched signed requests to prove acceptance (${live})`);
    figures.push(
      `verifyRequest, signed then mutated: ${RUNS} runs (${mutated} mutated); ${accepted} accepted, every one authentic; ${live} untouched signed requests, all accepted; verdicts ${JSON.stringify(verdicts)}`,
    );
  });

  it(`accepts nothing from arbitrary headers and bodies: ${RUNS} requests`, () => {
    const headerValue = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.stringMatching(/^time=\d{1,12}(,sig1=[0-9a-f]{64}){1,3}$/),
      fc.stringMatching(/^(sha256=)?[0-9a-fA-F]{64}$/),
    );
    let rejected = 0;
    fc.assert(
      fc.property(
        fc.constantFrom<Route>('images', 'stream'),
        fc.dictionary(fc.oneof(fc.constantFrom(...SIGNATURE_HEADERS), fc.string({ maxLength: 20 })), headerValue, { maxKeys: 4 }),
        bodies(),
        secretSet,
        (route, headers, body, secrets) => {
          const request: HostileRequest = { route, headers, body };
          const verdict = verify(request, secrets, 300);
          if (verdict.ok) assert.ok(authentic(request, verdict.scheme, secrets, NOW, 300), 'accepted an inauthentic request');
          else rejected++;
        },
      ),
      { numRuns: RUNS, seed: SEED + 1 },
    );
    figures.push(`verifyRequest, arbitrary headers and bodies: ${RUNS} runs, ${rejected} rejected, any other authentic by the oracle`);
  });
});

/** Attributes a delivery may copy onto an item; never its bookkeeping (status, version, history, …). */
const COPYABLE = new Set([
  'variants', 'metadata', 'requireSignedURLs', 'meta', 'creator', 'filename', 'width', 'height', 'format',
  'notification', 'thumbnail', 'preview', 'duration', 'size', 'playback', 'input', 'readyToStream',
]);
const STATUSES: Record<Route, readonly string[]> = { images: ['draft', 'uploaded', 'failed'], stream: ['ready', 'error'] };

const parserInput = fc.oneof(
  { weight: 6, arbitrary: mutatedPayload() },
  { weight: 2, arbitrary: payloadObject().map((p) => Buffer.from(JSON.stringify(p))) },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  { weight: 1, arbitrary: payloadObject().chain((p) => fc.nat().map((n) => Buffer.from(JSON.stringify(p).slice(0, n % JSON.stringify(p).length)))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.alloc(0), Buffer.from('\ufeff{}'), Buffer.from('null'), Buffer.from('['.repeat(5000) + ']'.repeat(5000))) },
);

describe('parseDelivery under generated payloads', () => {
  it(`returns a sane delivery or throws PayloadError, nothing else: ${RUNS} payloads`, () => {
    const kinds: Record<string, number> = {};
    fc.assert(
      fc.property(fc.constantFrom<Route>('images', 'stream'), parserInput, (route, bytes) => {
        let delivery: ReturnType<typeof parseDelivery>;
        try {
          delivery = parseDelivery(route, bytes, new Date(NOW * 1000));
        } catch (error) {
          assert.ok(error instanceof PayloadError, `threw ${(error as Error)?.name}: ${(error as Error)?.message}`);
          kinds['PayloadError (400)'] = (kinds['PayloadError (400)'] ?? 0) + 1;
          return;
        }
        kinds[delivery.type] = (kinds[delivery.type] ?? 0) + 1;
        if (delivery.type !== 'observation') return;
        const report = delivery.observation;
        assert.equal(report.kind, route === 'stream' ? 'video' : 'image');
        assert.ok(report.status === undefined || STATUSES[route].includes(report.status), `status ${report.status}`);
        assert.ok(typeof report.id === 'string' && report.id.length >= 1 && report.id.length <= 1024, 'id bounded');
        const at = new Date(report.occurredAt);
        assert.equal(at.toISOString(), report.occurredAt, 'occurredAt is a normalised ISO instant');
        assert.ok(at.getUTCFullYear() >= 1970 && at.getUTCFullYear() <= 9999, 'occurredAt sorts as text');
        for (const key of Object.keys(report.attributes)) assert.ok(COPYABLE.has(key), `copies ${key} onto the item`);
      }),
      { numRuns: RUNS, seed: SEED + 2 },
    );
    figures.push(`parseDelivery: ${RUNS} runs, results ${JSON.stringify(kinds)}; no other exception escaped`);
  });
});
