/**
 * Attribution: the shipped webhook entry with one module swapped for an alternative under
 * bench/variants/, built with the same settings and measured beside it (bundle, cold import).
 * One question is open: lossless-json (6 kB, lambda/core/json.ts) against a hand-written pass.
 * The questions settled earlier (zod/mini, Powertools, lazy schemas) were retired with their
 * variants; their figures stay in docs/PERFORMANCE.md.
 */
import assert from 'node:assert/strict';
import { parseJsonExactly as shipped } from '../lambda/core/json.js';
import type { VariantSpec } from './build.js';
import { parseJsonExactly as scan } from './variants/json-scan.js';

export const VARIANTS: readonly (VariantSpec & { readonly label: string })[] = [
  { name: 'json-scan', label: 'lossless-json → a hand-written pass that quotes inexact numbers (bench/variants/json-scan.ts)', entry: 'lambda/webhook/handler.ts', swap: { 'lambda/core/json': 'bench/variants/json-scan.ts' } },
];

/** Bodies both parsers must read alike: exact and inexact numbers, in and out of strings, broken JSON. */
function jsonCorpus(): string[] {
  const numbers = ['9007199254740993', '-9007199254740993', '9007199254740992.0', '12345678901234567890', '0.1e17', '1e400', '1e-400', '0.30000000000000004',
    '0.3000000000000000444', '1.2300e5', '-0', '123.4560000000000001', '1234567890123456', '0.000001234567890123456789', '42', '3.14'];
  const bodies = numbers.flatMap((n) => [`{"order": ${n}}`, `[${n}, "${n}", {"k\\"${n}": ${n}}]`, `{"a": "x\\\\", "b": ${n}}`]);
  bodies.push('{"a": 1, "a": 9007199254740993}', '{"s": "\\"9007199254740993\\""}', '{"bad": 01234567890123456789}', '{"x": 9007199254740993', '"12345678901234567"', '{"n": 1.5e+300}');
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 300; i++) {
    const digits = Array.from({ length: 1 + Math.floor(random() * 22) }, () => Math.floor(random() * 10)).join('').replace(/^0+(?=\d)/, '');
    const n = `${random() < 0.3 ? '-' : ''}${digits}${random() < 0.4 ? `.${Math.floor(random() * 1e9)}` : ''}${random() < 0.2 ? `e${Math.floor(random() * 40) - 20}` : ''}`;
    bodies.push(`{"id": "img-${i}", "meta": {"n": ${n}, "s": "${n}"}, "list": [${n}, 1]}`);
  }
  return bodies;
}

/** Throws unless the variant reads every body of the corpus as the shipped module does. */
export function checkJsonScan(): number {
  const outcome = (parse: (text: string) => unknown, text: string) => {
    try {
      return { value: parse(text) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
  const corpus = jsonCorpus();
  for (const text of corpus) assert.deepStrictEqual(outcome(scan, text), outcome(shipped, text), `json-scan differs from lambda/core/json.ts on ${text}`);
  return corpus.length;
}

/** Microseconds per parse of a ~1 KB Notifications body that holds one inexact number, both parsers. */
export function parseMicros(rounds = 3000): { shipped: number; scan: number; native: number } {
  const data = { id: 'img-1', uploaded: '2026-01-01T00:00:00.000Z', variants: ['https://imagedelivery.net/h/img-1/public'], meta: { order: 0, note: 'x'.repeat(600) } };
  const body = JSON.stringify({ name: 'p', text: 't', data, ts: 1767225600, account_id: 'a', policy_id: 'p', alert_type: 'image_notification' }).replace('"order":0', '"order":9007199254740993');
  const time = (parse: (text: string) => unknown) => {
    for (let i = 0; i < 300; i++) parse(body);
    const started = performance.now();
    for (let i = 0; i < rounds; i++) parse(body);
    return ((performance.now() - started) * 1000) / rounds;
  };
  return { shipped: time(shipped), scan: time(scan), native: time(JSON.parse) };
}
