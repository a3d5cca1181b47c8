import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecrets, parseSecretSet } from '../../lambda/adapters/secrets.js';
import { parseDuration } from '../../cli/connect.js';
import { accept, activate, activeValues, fingerprint, parseWebhookSecret, pruneRetired, serializeWebhookSecret } from '../../cli/secret-rotation.js';

const NOW = new Date('2024-01-01T12:00:00.000Z');
const HOUR = 3_600_000;
const at = (ms: number) => new Date(NOW.getTime() + ms);

describe('the webhook secret as connect keeps it', () => {
  it('reads what the receiver reads (a string or a list per key) and keeps keys it does not know', () => {
    const secret = parseWebhookSecret('{"images":"a","stream":["s1","s2"],"toolkit":[],"note":"kept"}');
    assert.deepEqual(secret.values, { images: ['a'], stream: ['s1', 's2'], toolkit: [] });
    assert.deepEqual(JSON.parse(serializeWebhookSecret(secret)), { images: ['a'], stream: ['s1', 's2'], toolkit: [], note: 'kept' });
    assert.throws(() => parseWebhookSecret('{"images":[1]}'), /"images" must be a string or an array of strings/);
    assert.throws(() => parseWebhookSecret('nope'), /not JSON/);
  });

  it('makes a new value current and keeps the old one accepted, marked retiring, for the grace period', () => {
    const { secret, retired } = activate(parseWebhookSecret('{"stream":["s1"]}'), 'stream', 's2', NOW, HOUR);
    assert.deepEqual(secret.values.stream, ['s2', 's1'], 'both accepted; the new one first');
    assert.deepEqual(secret.retiring.stream, [{ value: 's1', notAfter: at(HOUR).toISOString() }]);
    assert.deepEqual(retired, [{ key: 'stream', fingerprint: fingerprint('s1'), notAfter: at(HOUR).toISOString() }]);
    assert.deepEqual(activeValues(secret, 'stream'), ['s2']);
    // The format the receiver accepts today: lists of strings, plus a key it ignores.
    const stored = JSON.parse(serializeWebhookSecret(secret));
    const live = activate(parseWebhookSecret('{"stream":["s1"]}'), 'stream', 's2', new Date(), HOUR).secret;
    assert.deepEqual(parseSecretSet(serializeWebhookSecret(live)).stream, ['s2', 's1'], 'the receiver accepts both during the grace');
    assert.deepEqual(stored.retiring, { stream: [{ value: 's1', notAfter: '2024-01-01T13:00:00.000Z' }] });
  });

  it('drops a retiring value once its grace has ended, and only then', () => {
    const { secret } = activate(parseWebhookSecret('{"stream":["s1"]}'), 'stream', 's2', NOW, HOUR);
    assert.deepEqual(pruneRetired(secret, at(HOUR - 1)).dropped, []);
    const { secret: pruned, dropped } = pruneRetired(secret, at(HOUR));
    assert.deepEqual(pruned.values.stream, ['s2']);
    assert.deepEqual(pruned.retiring.stream, []);
    assert.deepEqual(dropped, [{ key: 'stream', fingerprint: fingerprint('s1'), notAfter: at(HOUR).toISOString() }]);
    assert.equal('retiring' in JSON.parse(serializeWebhookSecret(pruned)), false);
  });

  it('keeps an earlier end of grace when rotating again, and drops old values at once with no grace', () => {
    const first = activate(parseWebhookSecret('{"images":["i1"]}'), 'images', 'i2', NOW, HOUR).secret;
    const second = activate(first, 'images', 'i3', at(10 * 60_000), HOUR).secret;
    assert.deepEqual(second.values.images, ['i3', 'i2', 'i1']);
    assert.deepEqual(Object.fromEntries(second.retiring.images.map((r) => [r.value, r.notAfter])), {
      i1: at(HOUR).toISOString(),
      i2: at(HOUR + 10 * 60_000).toISOString(),
    });
    const none = activate(first, 'images', 'i3', NOW, 0);
    assert.deepEqual(none.secret.values.images, ['i3']);
    assert.deepEqual(none.retired.map((r) => r.notAfter), [undefined, undefined]);
  });

  it('accepts a value before Cloudflare uses it without retiring anything, and re-activating a retiring value revives it', () => {
    const secret = accept(parseWebhookSecret('{"images":["old"]}'), 'images', 'new');
    assert.deepEqual(secret.values.images, ['new', 'old']);
    assert.deepEqual(secret.retiring.images, []);
    const rotated = activate(secret, 'images', 'new', NOW, HOUR).secret;
    const back = activate(rotated, 'images', 'old', NOW, HOUR).secret;
    assert.deepEqual(activeValues(back, 'images'), ['old']);
  });

  it('reads grace durations', () => {
    assert.equal(parseDuration('90s', '--grace'), 90_000);
    assert.equal(parseDuration('30m', '--grace'), 1_800_000);
    assert.equal(parseDuration('2d', '--grace'), 172_800_000);
    assert.equal(parseDuration('0', '--grace'), 0);
    assert.throws(() => parseDuration('5', '--grace'), /--grace takes a duration/);
    assert.throws(() => parseDuration('1w', '--grace'), /--grace takes a duration/);
  });
});

/**
 * What the receiver does with a retiring value: accepted until its `notAfter`, refused from
 * that instant on, even from a warm cache and without another `connect` run.
 */
describe('the receiver and a retiring value', () => {
  const text = JSON.stringify({ images: [], stream: ['s2', 's1'], toolkit: [], retiring: { stream: [{ value: 's1', notAfter: at(HOUR).toISOString() }] } });
  const client = { send: async () => ({ SecretString: text }) } as unknown as SecretsManagerClient;

  it('accepts it during its grace', async () => {
    const source = new SecretsManagerSecrets('id', client, { now: () => at(HOUR - 1).getTime() });
    assert.deepEqual((await source.get()).stream, ['s2', 's1']);
  });

  it('stops accepting it when its grace ends, even from a warm cache and without a connect run', async () => {
    let clock = at(HOUR - 60_000).getTime();
    const source = new SecretsManagerSecrets('id', client, { now: () => clock });
    assert.deepEqual((await source.get()).stream, ['s2', 's1']);
    clock = at(HOUR).getTime();
    assert.deepEqual((await source.get()).stream, ['s2'], 'served from the cache, filtered at use');
  });
});
