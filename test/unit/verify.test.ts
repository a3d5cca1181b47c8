import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignatureError } from '../../lambda/core/errors.js';
import { errorResponse } from '../../lambda/core/http.js';
import { RejectReason, Scheme, hmacSha256, parseStreamSignature, sign, verifyRequest, type SecretSet, type VerifyInput } from '../../lambda/webhook/verify.js';

const secrets: SecretSet = { images: ['img-secret', 'img-next'], stream: ['stream-secret'], toolkit: ['toolkit-secret'] };
const body = Buffer.from('{"uid":"dd5d531a12de0c724bd1275a3b2bc9c6","readyToStream":true,"status":{"state":"ready"}}');
const now = 1_700_000_000;
const input = (over: Partial<VerifyInput>): VerifyInput => ({ route: 'images', headers: {}, body, secrets, nowSeconds: now, toleranceSeconds: 300, ...over });

describe('Stream Webhook-Signature', () => {
  it('parses the header format of Cloudflare\'s documentation', () => {
    const parsed = parseStreamSignature('time=1230811200,sig1=60493ec9388b44585a29543bcf0de62e377d4da393246a8b1c901d0e3e672404');
    assert.equal(parsed?.time, 1230811200);
    assert.equal(parsed?.signatures[0]?.toString('hex'), '60493ec9388b44585a29543bcf0de62e377d4da393246a8b1c901d0e3e672404');
  });

  it('rejects the documented example header for another body: old and not signed by our secret', () => {
    const verdict = verifyRequest(input({ route: 'stream', headers: { 'webhook-signature': 'time=1230811200,sig1=60493ec9388b44585a29543bcf0de62e377d4da393246a8b1c901d0e3e672404' } }));
    assert.deepEqual(verdict, { ok: false, scheme: Scheme.StreamSignature, reason: RejectReason.Invalid });
  });

  it('accepts an HMAC-SHA256 over "<time>.<raw body>" computed independently', () => {
    const sig = hmacSha256('stream-secret', `${now}.${body.toString()}`).toString('hex');
    const verdict = verifyRequest(input({ route: 'stream', headers: { 'webhook-signature': `time=${now},sig1=${sig}` } }));
    assert.deepEqual(verdict, { ok: true, scheme: Scheme.StreamSignature });
  });

  it('rejects a signature over the body alone (the time is part of the message)', () => {
    const sig = hmacSha256('stream-secret', body).toString('hex');
    const verdict = verifyRequest(input({ route: 'stream', headers: { 'webhook-signature': `time=${now},sig1=${sig}` } }));
    assert.equal(verdict.ok, false);
  });

  it('accepts timestamps at the edge of the window and rejects one second beyond, in both directions', () => {
    for (const [offset, ok] of [[300, true], [-300, true], [301, false], [-301, false]] as const) {
      const header = sign.stream('stream-secret', body, now + offset);
      const verdict = verifyRequest(input({ route: 'stream', headers: { 'webhook-signature': header } }));
      assert.equal(verdict.ok, ok, `offset ${offset}`);
      if (!ok) assert.equal(verdict.ok === false && verdict.reason, RejectReason.Stale);
    }
  });

  it('rejects a tampered body, a wrong secret and a flipped signature bit', () => {
    const header = sign.stream('stream-secret', body, now);
    assert.equal(verifyRequest(input({ route: 'stream', headers: { 'webhook-signature': header }, body: Buffer.concat([body, Buffer.from(' ')]) })).ok, false);
    assert.equal(verifyRequest(input({ route: 'stream', headers: { 'webhook-signature': sign.stream('other', body, now) } })).ok, false);
    const flipped = header.replace(/sig1=(.)/, (_m, c: string) => `sig1=${c === '0' ? '1' : '0'}`);
    assert.equal(verifyRequest(input({ route: 'stream', headers: { 'webhook-signature': flipped } })).ok, false);
  });

  it('treats duplicated time, missing parts and non-hex signatures as malformed', () => {
    const sig = 'a'.repeat(64);
    for (const header of [`time=1,time=2,sig1=${sig}`, `sig1=${sig}`, `time=${now}`, `time=${now},sig1=zz`, 'garbage', '', `time=-5,sig1=${sig}`]) {
      const verdict = verifyRequest(input({ route: 'stream', headers: { 'webhook-signature': header } }));
      assert.deepEqual(verdict, { ok: false, scheme: Scheme.StreamSignature, reason: RejectReason.Malformed }, header);
    }
  });

  it('ignores unknown keys such as a future sig2', () => {
    const header = `${sign.stream('stream-secret', body, now)},sig2=whatever`;
    assert.equal(verifyRequest(input({ route: 'stream', headers: { 'webhook-signature': header } })).ok, true);
  });

  it('does not accept the Notifications or toolkit headers on the Stream route', () => {
    const verdict = verifyRequest(input({ route: 'stream', headers: { 'cf-webhook-auth': 'img-secret', 'x-signature': sign.toolkit('toolkit-secret', body) } }));
    assert.deepEqual(verdict, { ok: false, reason: RejectReason.Missing });
  });

  it('refuses everything when no Stream secret is configured', () => {
    const verdict = verifyRequest(input({ route: 'stream', secrets: { ...secrets, stream: [] }, headers: { 'webhook-signature': sign.stream('', body, now) } }));
    assert.deepEqual(verdict, { ok: false, scheme: Scheme.StreamSignature, reason: RejectReason.NotConfigured });
  });
});

describe('Notifications cf-webhook-auth', () => {
  it('accepts any active secret, verbatim', () => {
    assert.equal(verifyRequest(input({ headers: { 'cf-webhook-auth': 'img-secret' } })).ok, true);
    assert.equal(verifyRequest(input({ headers: { 'cf-webhook-auth': 'img-next' } })).ok, true);
  });

  it('rejects a prefix, a suffix, a different case and an empty value', () => {
    for (const value of ['img-secre', 'img-secret ', 'IMG-SECRET', '']) {
      assert.deepEqual(verifyRequest(input({ headers: { 'cf-webhook-auth': value } })), { ok: false, scheme: Scheme.NotificationSecret, reason: RejectReason.Invalid }, JSON.stringify(value));
    }
  });

  it('does not fall back to the toolkit scheme when cf-webhook-auth is wrong', () => {
    const verdict = verifyRequest(input({ headers: { 'cf-webhook-auth': 'nope', 'x-signature': sign.toolkit('toolkit-secret', body) } }));
    assert.equal(verdict.ok, false);
  });

  it('answers missing when no header of any scheme is present', () => {
    assert.deepEqual(verifyRequest(input({ headers: { 'content-type': 'application/json' } })), { ok: false, reason: RejectReason.Missing });
  });
});

describe('toolkit X-Signature', () => {
  it('accepts hex HMAC of the body with or without the sha256= prefix, in either header', () => {
    const hex = hmacSha256('toolkit-secret', body).toString('hex');
    for (const headers of [{ 'x-signature': hex }, { 'x-signature': `sha256=${hex}` }, { 'x-cloudflare-signature': hex }, { 'x-signature': hex.toUpperCase() }]) {
      assert.deepEqual(verifyRequest(input({ headers })), { ok: true, scheme: Scheme.ToolkitSignature }, JSON.stringify(headers));
    }
  });

  it('rejects a signature made with the images secret (secrets are per scheme)', () => {
    assert.equal(verifyRequest(input({ headers: { 'x-signature': sign.toolkit('img-secret', body) } })).ok, false);
  });

  it('rejects truncated signatures as malformed rather than comparing them', () => {
    const hex = hmacSha256('toolkit-secret', body).toString('hex');
    assert.deepEqual(verifyRequest(input({ headers: { 'x-signature': hex.slice(0, 63) } })), { ok: false, scheme: Scheme.ToolkitSignature, reason: RejectReason.Malformed });
  });
});

describe('a scheme without a secret', () => {
  // Issue 15: "no secret configured" told a prober which schemes are switched off. The verdict
  // keeps the reason for operators (logs, the secret-not-configured metric); the answer does not.
  const answer = (verdict: ReturnType<typeof verifyRequest>) => {
    assert.equal(verdict.ok, false);
    return errorResponse(new SignatureError(verdict.ok ? RejectReason.Invalid : verdict.reason));
  };
  const none: SecretSet = { images: [], stream: [], toolkit: [] };
  const cases: [string, VerifyInput['route'], Record<string, string>][] = [
    ['X-Signature', 'images', { 'x-signature': sign.toolkit('guess', body) }],
    ['X-Cloudflare-Signature', 'images', { 'x-cloudflare-signature': hmacSha256('guess', body).toString('hex') }],
    ['cf-webhook-auth', 'images', { 'cf-webhook-auth': 'guess' }],
    ['Webhook-Signature', 'stream', { 'webhook-signature': sign.stream('guess', body, now) }],
    ['malformed X-Signature', 'images', { 'x-signature': 'sha256=zz' }],
    ['malformed Webhook-Signature', 'stream', { 'webhook-signature': 'time=1' }],
  ];

  for (const [name, route, headers] of cases) {
    it(`answers a ${name} exactly as a wrong signature on a configured scheme`, () => {
      const unconfigured = answer(verifyRequest(input({ route, headers, secrets: none })));
      const configured = answer(verifyRequest(input({ route, headers })));
      assert.deepEqual(unconfigured, configured);
      assert.equal(unconfigured.statusCode, 401);
      assert.doesNotMatch(String(unconfigured.body), /configured/);
    });
  }

  it('still tells operators: the verdict of a well-formed header says not configured', () => {
    const verdict = verifyRequest(input({ headers: { 'x-signature': sign.toolkit('guess', body) }, secrets: none }));
    assert.deepEqual(verdict, { ok: false, scheme: Scheme.ToolkitSignature, reason: RejectReason.NotConfigured });
    const told = (reason: RejectReason) => JSON.parse(errorResponse(new SignatureError(reason)).body!).reason;
    assert.equal(told(RejectReason.NotConfigured), RejectReason.Invalid);
    assert.equal(told(RejectReason.Stale), RejectReason.Stale);
  });
});
