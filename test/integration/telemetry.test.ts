import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_METRICS_NAMESPACE, METRICS_NAMESPACE_ENV } from '../../lambda/core/metrics.js';
import { payloads, signedHeaders } from '../../local/payloads.js';
import { at, events, seedPending } from '../support/deliver.js';
import { captureLogs } from '../support/log-capture.js';
import { startBrokenBusPair, startReceiver, type BrokenBusPair, type Receiver } from '../support/receiver.js';

// What one delivery leaves in CloudWatch Logs, read from the bundle `cdk synth` builds: its one
// Powertools log line (lean: lambda/log.ts) and its EMF metric blobs, as they reach stdout.

const NAMESPACE = 'CloudflareWebhookTelemetryTest';

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

interface Emf {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly { readonly Namespace: string; readonly Dimensions: string[][]; readonly Metrics: { Name: string; Unit: string }[] }[];
  };
  readonly [key: string]: unknown;
}

interface Observed {
  readonly status: number;
  /** API Gateway's request id, as the `apigw-requestid` response header gives it. */
  readonly requestId: string;
  readonly line: LogLine;
  readonly emf: readonly Emf[];
  /** Everything the delivery wrote, for checks that something is absent. */
  readonly text: string;
}

/**
 * Sends one delivery and returns what it logged. Deliveries are sent one at a time and the
 * function writes its log line and metrics before it answers, so everything captured between
 * sending and the answer is this delivery's.
 */
async function observe(url: string, body: string, headers: Record<string, string>): Promise<Observed> {
  const logs = captureLogs();
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body });
    await response.arrayBuffer();
  } finally {
    logs.stop();
  }
  const text = logs.text();
  // The test runner shares stdout with its own protocol; keep whole JSON lines only.
  const objects = [...text.matchAll(/^\{"(?:level|_aws)":.*\}$/gm)].map((m) => JSON.parse(m[0]) as Record<string, unknown>);
  const lines = objects.filter((o): o is LogLine => typeof o.level === 'string' && String(o.message).startsWith('delivery'));
  assert.equal(lines.length, 1, `one log line per delivery, got ${lines.length}:\n${text}`);
  const emf = objects.filter((o): o is Emf => '_aws' in o);
  return { status: response.status, requestId: response.headers.get('apigw-requestid') ?? '', line: lines[0]!, emf, text };
}

const toolkit = (r: Receiver, payload: unknown) => {
  const body = JSON.stringify(payload);
  return observe(r.imagesUrl, body, signedHeaders.toolkit(r.resources.secrets.toolkit[0]!, body));
};

/** Asserts the one `Deliveries` blob and returns its dimension values. */
function deliveriesBlob(observed: Observed, namespace: string, dimensionSets: string[][]): Record<string, unknown> {
  const blob = observed.emf.find((e) => 'Deliveries' in e);
  assert.ok(blob, `an EMF blob with Deliveries:\n${observed.text}`);
  const [directive, ...others] = blob._aws.CloudWatchMetrics;
  assert.equal(others.length, 0);
  assert.equal(directive!.Namespace, namespace);
  assert.deepEqual(directive!.Metrics, [{ Name: 'Deliveries', Unit: 'Count' }]);
  assert.deepEqual(directive!.Dimensions, dimensionSets);
  assert.ok(Math.abs(blob._aws.Timestamp - Date.now()) < 60_000, 'timestamped now');
  assert.equal(blob.Deliveries, 1);
  assert.equal(blob.service, 'cloudflare-webhook');
  // Every dimension named is present at the top level, and nothing high-cardinality is among them.
  const { _aws, Deliveries, ...values } = blob;
  assert.deepEqual(Object.keys(values).sort(), [...new Set(dimensionSets.flat())].sort());
  return values;
}

const RESULT = ['service', 'Result'];
const KIND_OUTCOME = ['service', 'Kind', 'Outcome'];

describe('telemetry of a delivery', () => {
  let r: Receiver;
  before(async () => {
    r = await startReceiver({
      overrides: {
        MAX_BODY_BYTES: 4096,
        [METRICS_NAMESPACE_ENV]: NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // Lambda sets it; Powertools reports a cold start only when it says on-demand.
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      },
    });
  });
  after(() => r.stop());

  let imageId: string;

  it('a transition: an INFO line with id, kind, outcome, status code, transition and duration; Deliveries by result, kind/outcome and kind/status', async () => {
    imageId = await seedPending(r.resources, 'image');
    const observed = await toolkit(r, payloads.imageUploaded(imageId, at(1)));
    assert.equal(observed.status, 200);

    const { line } = observed;
    assert.equal(line.level, 'INFO');
    assert.equal(line.message, 'delivery processed');
    assert.ok(Math.abs(Date.parse(String(line.timestamp)) - Date.now()) < 60_000, 'timestamped now');
    assert.equal(line.cold_start, true, 'the first invocation of a fresh instance is a cold start');
    assert.equal('xray_trace_id' in line, false, 'no trace id without tracing');
    assert.match(String(line.function_request_id), /^[0-9a-f-]{36}$/, "Lambda's request id");
    // Nothing that is the same on every line of the log group: the group names the function.
    for (const constant of ['service', 'function_name', 'function_arn', 'function_memory_size', 'sampling_rate']) {
      assert.equal(constant in line, false, `${constant} is constant per log group and not logged`);
    }
    assert.ok(observed.requestId.length > 0);
    assert.equal(line.requestId, observed.requestId, "API Gateway's request id, as the access log and the response header give it");
    assert.equal(line.route, 'POST /webhooks/images');
    assert.equal(line.statusCode, 200);
    assert.equal(line.result, 'accepted');
    assert.equal(line.kind, 'image');
    assert.equal(line.id, imageId);
    assert.equal(line.outcome, 'transitioned');
    assert.equal(line.previousStatus, 'pending');
    assert.equal(line.status, 'uploaded');
    assert.equal(line.transition, 'pending->uploaded');
    assert.equal(line.published, 1);
    assert.equal(line.republished, undefined);
    assert.equal(line.scheme, 'x-signature');
    assert.ok(Number.isInteger(line.durationMs) && (line.durationMs as number) >= 0);

    assert.equal(observed.emf.length, 1, 'one EMF blob');
    const values = deliveriesBlob(observed, NAMESPACE, [RESULT, KIND_OUTCOME, ['service', 'Status']]);
    assert.deepEqual(values, { service: 'cloudflare-webhook', Result: 'accepted', Kind: 'image', Outcome: 'transitioned', Status: 'uploaded' });
    assert.ok(!JSON.stringify(observed.emf).includes(imageId), 'the image id is never a metric dimension');
    await events(r, 1);
  });

  it('a duplicate: no transition in the line, no Status dimension, and no longer a cold start', async () => {
    // Lambda sets the trace header per invocation when tracing is active; the line carries its root.
    process.env._X_AMZN_TRACE_ID = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    let observed: Observed;
    try {
      observed = await toolkit(r, payloads.imageUploaded(imageId, at(1)));
    } finally {
      delete process.env._X_AMZN_TRACE_ID;
    }
    assert.equal(observed.status, 200);
    assert.equal(observed.line.xray_trace_id, '1-5759e988-bd862e3fe1be46a994272793');
    assert.equal(observed.line.cold_start, false);
    assert.equal(observed.line.outcome, 'duplicate');
    assert.equal(observed.line.published, 0);
    assert.equal(observed.line.transition, undefined);
    assert.equal(observed.emf.length, 1);
    const values = deliveriesBlob(observed, NAMESPACE, [RESULT, KIND_OUTCOME]);
    assert.deepEqual(values, { service: 'cloudflare-webhook', Result: 'accepted', Kind: 'image', Outcome: 'duplicate' });
  });

  it('a 401 per signature reason: a WARN line and Deliveries by Reason', async () => {
    const id = await seedPending(r.resources, 'video');
    const body = JSON.stringify(payloads.videoReady(id, at(1)));
    const cases = [
      { url: r.streamUrl, headers: signedHeaders.stream('a-wrong-secret', body), kind: 'video', reason: 'invalid-signature', message: 'invalid signature' },
      { url: r.streamUrl, headers: signedHeaders.stream(r.resources.secrets.stream[0]!, body, Math.floor(Date.now() / 1000) - 3600), kind: 'video', reason: 'stale-signature', message: 'timestamp outside the allowed window' },
      { url: r.streamUrl, headers: { 'content-type': 'application/json', 'webhook-signature': 'time=1,sig1=zz' }, kind: 'video', reason: 'malformed-signature', message: 'malformed signature header' },
      { url: r.imagesUrl, headers: { 'content-type': 'application/json' }, kind: 'image', reason: 'missing-signature', message: 'missing signature' },
    ];
    for (const c of cases) {
      const observed = await observe(c.url, body, c.headers);
      assert.equal(observed.status, 401, c.reason);
      const { line } = observed;
      assert.equal(line.level, 'WARN');
      assert.equal(line.message, 'delivery rejected');
      assert.deepEqual(
        [line.statusCode, line.result, line.outcome, line.kind, line.rejection, line.reason],
        [401, 'rejected', 'rejected', c.kind, c.reason, c.message],
      );
      assert.equal(line.id, undefined, 'nothing from an unauthenticated body is logged');
      assert.equal(observed.emf.length, 1);
      const values = deliveriesBlob(observed, NAMESPACE, [RESULT, KIND_OUTCOME, ['service', 'Reason']]);
      assert.deepEqual(values, { service: 'cloudflare-webhook', Result: 'rejected', Kind: c.kind, Outcome: 'rejected', Reason: c.reason });
    }
  });

  it('a 400: invalid payload', async () => {
    const observed = await toolkit(r, { id: 'x' });
    assert.equal(observed.status, 400);
    assert.equal(observed.line.rejection, 'invalid-payload');
    const values = deliveriesBlob(observed, NAMESPACE, [RESULT, KIND_OUTCOME, ['service', 'Reason']]);
    assert.equal(values.Reason, 'invalid-payload');
  });

  it('a 404: unknown id, with the id in the line but not in the metrics', async () => {
    const id = randomUUID();
    const observed = await toolkit(r, payloads.imageUploaded(id, at(1)));
    assert.equal(observed.status, 404);
    assert.equal(observed.line.id, id, 'the id the sender asked about, to look it up');
    assert.equal(observed.line.rejection, 'unknown-id');
    const values = deliveriesBlob(observed, NAMESPACE, [RESULT, KIND_OUTCOME, ['service', 'Reason']]);
    assert.deepEqual(values, { service: 'cloudflare-webhook', Result: 'rejected', Kind: 'image', Outcome: 'rejected', Reason: 'unknown-id' });
    assert.ok(!JSON.stringify(observed.emf).includes(id));
  });

  it('a 413: too large', async () => {
    const observed = await observe(r.imagesUrl, JSON.stringify({ padding: 'x'.repeat(5000) }), { 'content-type': 'application/json' });
    assert.equal(observed.status, 413);
    assert.equal(observed.line.rejection, 'too-large');
    assert.equal(deliveriesBlob(observed, NAMESPACE, [RESULT, KIND_OUTCOME, ['service', 'Reason']]).Reason, 'too-large');
  });
});

describe('telemetry of a publish failure and of the redelivery that republishes it', () => {
  let pair: BrokenBusPair;
  before(async () => {
    pair = await startBrokenBusPair();
  });
  after(() => pair.stop());

  it('500: an ERROR line and PublishFailures; then a duplicate that republishes: RepublishedEvents', async () => {
    const { broken, healthy } = pair;
    const id = await seedPending(broken.resources, 'image');
    const failed = await toolkit(broken, payloads.imageUploaded(id, at(1)));
    assert.equal(failed.status, 500);
    assert.equal(failed.line.level, 'ERROR');
    assert.equal(failed.line.message, 'delivery failed');
    assert.deepEqual([failed.line.statusCode, failed.line.result, failed.line.outcome], [500, 'error', 'error']);
    assert.equal(failed.emf.length, 2);
    const values = deliveriesBlob(failed, DEFAULT_METRICS_NAMESPACE, [RESULT, KIND_OUTCOME]);
    assert.deepEqual(values, { service: 'cloudflare-webhook', Result: 'error', Kind: 'image', Outcome: 'error' });
    const publishFailure = failed.emf.find((e) => 'PublishFailures' in e)!;
    assert.deepEqual(publishFailure._aws.CloudWatchMetrics, [
      { Namespace: DEFAULT_METRICS_NAMESPACE, Dimensions: [['service']], Metrics: [{ Name: 'PublishFailures', Unit: 'Count' }] },
    ]);
    assert.equal(publishFailure.PublishFailures, 1);

    await sleep(250);
    const retried = await toolkit(healthy, payloads.imageUploaded(id, at(1)));
    assert.equal(retried.status, 200);
    assert.deepEqual([retried.line.outcome, retried.line.published, retried.line.republished], ['duplicate', 1, 1]);
    assert.equal(retried.emf.length, 2);
    assert.equal(deliveriesBlob(retried, DEFAULT_METRICS_NAMESPACE, [RESULT, KIND_OUTCOME]).Outcome, 'duplicate');
    const republished = retried.emf.find((e) => 'RepublishedEvents' in e)!;
    assert.deepEqual(republished._aws.CloudWatchMetrics[0]!.Dimensions, [['service']]);
    assert.equal(republished.RepublishedEvents, 1);
    await events(healthy, 1);
  });
});
