import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DependencyError, PayloadError, PayloadTooLargeError, RouteNotFoundError, SignatureError, UnknownItemError } from '../../lambda/core/errors.js';
import { errorResponse } from '../../lambda/core/http.js';
import { ApiFailure, CloudflareApiError } from '../../lambda/core/cloudflare.js';
import { Rejection } from '../../lambda/core/metrics.js';
import { metricBatches, summarizeDelivery } from '../../lambda/webhook/metrics.js';
import { RejectReason } from '../../lambda/core/errors.js';

describe('summarizeDelivery', () => {
  it('names the rejection of every 4xx, and the 4xx is what http.ts answers for it', () => {
    const cases: [Error, Rejection, number][] = [
      [new SignatureError(RejectReason.Missing), Rejection.MissingSignature, 401],
      [new SignatureError(RejectReason.Malformed), Rejection.MalformedSignature, 401],
      [new SignatureError(RejectReason.Invalid), Rejection.InvalidSignature, 401],
      [new SignatureError(RejectReason.Stale), Rejection.StaleSignature, 401],
      [new SignatureError(RejectReason.NotConfigured), Rejection.SecretNotConfigured, 401],
      [new PayloadError('body is not valid JSON'), Rejection.InvalidPayload, 400],
      [new UnknownItemError('image', 'img'), Rejection.UnknownId, 404],
      [new PayloadTooLargeError(1024), Rejection.TooLarge, 413],
      [new RouteNotFoundError('POST /x'), Rejection.UnknownRoute, 404],
    ];
    assert.deepEqual(new Set(cases.map(([, r]) => r)), new Set(Object.values(Rejection)), 'every rejection is reachable');
    for (const [error, rejection, status] of cases) {
      assert.equal(errorResponse(error).statusCode, status);
      assert.deepEqual(summarizeDelivery('images', { error }), {
        result: 'rejected', kind: 'image', outcome: 'rejected', rejection, republished: 0, publishFailed: false,
      });
    }
  });

  it('counts a publish failure only when EventBridge failed', () => {
    assert.equal(summarizeDelivery('stream', { error: new DependencyError('eventbridge', 'x') }).publishFailed, true);
    assert.equal(summarizeDelivery('stream', { error: new DependencyError('dynamodb', 'x') }).publishFailed, false);
    assert.deepEqual(summarizeDelivery('stream', { error: new Error('bug') }), {
      result: 'error', kind: 'video', outcome: 'error', republished: 0, publishFailed: false,
    });
  });

  it('takes the kind from the route, so a test ping and an unroutable request have one too', () => {
    assert.equal(summarizeDelivery('images', { receipt: { outcome: 'test', scheme: 'cf-webhook-auth' } }).kind, 'image');
    assert.equal(summarizeDelivery(undefined, { error: new RouteNotFoundError('POST /x') }).kind, 'unknown');
  });

  it('reports a transition only when the delivery made one', () => {
    const receipt = { scheme: 'x-signature', kind: 'image', id: 'img', status: 'uploaded', previousStatus: 'pending', published: 1 } as const;
    assert.deepEqual(summarizeDelivery('images', { receipt: { ...receipt, outcome: 'transitioned' } }).transition, { from: 'pending', to: 'uploaded' });
    assert.equal(summarizeDelivery('images', { receipt: { ...receipt, outcome: 'duplicate', republished: 1 } }).transition, undefined);
    assert.equal(summarizeDelivery('images', { receipt: { ...receipt, outcome: 'duplicate', republished: 1 } }).republished, 1);
  });
});

describe('metricBatches', () => {
  it('one blob with Deliveries by result and by kind and outcome, plus reason or status when there is one', () => {
    assert.deepEqual(metricBatches(summarizeDelivery('images', { error: new SignatureError(RejectReason.Invalid) })), [
      {
        dimensionSets: [{ Result: 'rejected' }, { Kind: 'image', Outcome: 'rejected' }, { Reason: 'invalid-signature' }],
        counts: { Deliveries: 1 },
      },
    ]);
    const transitioned = summarizeDelivery('stream', {
      receipt: { outcome: 'transitioned', scheme: 'webhook-signature', kind: 'video', id: 'v', status: 'ready', previousStatus: 'pending', published: 1 },
    });
    assert.deepEqual(metricBatches(transitioned), [
      {
        dimensionSets: [{ Result: 'accepted' }, { Kind: 'video', Outcome: 'transitioned' }, { Status: 'ready' }],
        counts: { Deliveries: 1 },
      },
    ]);
  });

  it('a second blob, by service only, for republished events and publish failures', () => {
    const republished = summarizeDelivery('images', { receipt: { outcome: 'stale', scheme: 'x-signature', published: 2, republished: 2 } });
    assert.deepEqual(metricBatches(republished)[1], { dimensionSets: [], counts: { RepublishedEvents: 2 } });
    const failed = summarizeDelivery('images', { error: new DependencyError('eventbridge', 'x') });
    assert.deepEqual(metricBatches(failed)[1], { dimensionSets: [], counts: { PublishFailures: 1 } });
    assert.equal(metricBatches(summarizeDelivery('images', { error: new DependencyError('dynamodb', 'x') })).length, 1);
  });

  it('a blob per confirmation outcome and per failed Cloudflare call: a refused token behind a 500 is counted by class', () => {
    const refused = new DependencyError('cloudflare', 'could not confirm', { cause: new CloudflareApiError('no', ApiFailure.Auth) });
    assert.deepEqual(metricBatches(summarizeDelivery('images', { error: refused })).at(-1), { dimensionSets: [{ Class: 'auth' }], counts: { CloudflareApiErrors: 1 } });
    const corrected = summarizeDelivery('images', { receipt: { outcome: 'transitioned', scheme: 'cf-webhook-auth', kind: 'image', id: 'i', status: 'draft', previousStatus: 'pending', published: 1, confirmation: 'corrected' } });
    assert.deepEqual(metricBatches(corrected).at(-1), { dimensionSets: [{ Confirmation: 'corrected' }], counts: { Confirmations: 1 } });
    const fallback = summarizeDelivery('images', { receipt: { outcome: 'transitioned', scheme: 'cf-webhook-auth', published: 1, confirmation: 'unavailable', apiFailure: 'timeout' } });
    assert.deepEqual(metricBatches(fallback).slice(-2), [
      { dimensionSets: [{ Confirmation: 'unavailable' }], counts: { Confirmations: 1 } },
      { dimensionSets: [{ Class: 'timeout' }], counts: { CloudflareApiErrors: 1 } },
    ]);
    const notAsked = summarizeDelivery('images', { receipt: { outcome: 'transitioned', scheme: 'x-signature', published: 1, confirmation: 'not-asked' } });
    assert.equal(metricBatches(notAsked).length, 1, 'not asked: nothing to count');
  });
});
