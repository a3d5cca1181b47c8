import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LOCAL_CONCURRENCY, lambdaInstances, localConcurrency } from '../../local/instances.js';

/** An instance whose invocations finish when the test says so, recording how many it ran at once. */
function fakeInstances() {
  const made: { id: number; running: number; most: number; served: number[] }[] = [];
  const pending: (() => void)[] = [];
  const startOrder: number[] = [];
  const create = async () => {
    const instance = { id: made.length + 1, running: 0, most: 0, served: [] as number[] };
    made.push(instance);
    return async (request: number) => {
      startOrder.push(request);
      instance.running++;
      instance.most = Math.max(instance.most, instance.running);
      await new Promise<void>((resolve) => pending.push(resolve));
      instance.running--;
      instance.served.push(request);
      return { request, instance: instance.id };
    };
  };
  /** Lets every invocation started so far finish. */
  const finishAll = async () => {
    for (let rounds = 0; rounds < 100 && pending.length > 0; rounds++) {
      pending.splice(0).forEach((resolve) => resolve());
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { made, create, finishAll, startOrder, inFlight: () => pending.length };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('lambdaInstances', () => {
  it('one request at a time reuses one warm instance', async () => {
    const fake = fakeInstances();
    const instances = lambdaInstances({ create: fake.create, concurrency: 4 });
    for (let request = 0; request < 5; request++) {
      const answer = instances.invoke(request);
      await settle();
      await fake.finishAll();
      assert.deepEqual(await answer, { request, instance: 1 });
    }
    assert.equal(fake.made.length, 1);
    assert.deepEqual(instances.stats(), { started: 1, busy: 0, waiting: 0, peakBusy: 1, waited: 0 });
  });

  it('a burst starts instances up to the cap, each serving one request at a time; the rest wait, first come first served', async () => {
    const fake = fakeInstances();
    const instances = lambdaInstances({ create: fake.create, concurrency: 3 });
    const answers = Array.from({ length: 10 }, (_, request) => instances.invoke(request));
    await settle();
    assert.equal(fake.inFlight(), 3, 'three running');
    assert.deepEqual(instances.stats(), { started: 3, busy: 3, waiting: 7, peakBusy: 3, waited: 7 });
    await fake.finishAll();
    const done = await Promise.all(answers);
    assert.deepEqual(done.map((a) => a.request), [...Array(10).keys()]);
    assert.equal(fake.made.length, 3);
    assert.deepEqual(fake.made.map((i) => i.most), [1, 1, 1], 'no instance ever ran two at once');
    assert.deepEqual(fake.startOrder, [...Array(10).keys()], 'waiting requests got instances in arrival order');
    assert.deepEqual(instances.stats(), { started: 3, busy: 0, waiting: 0, peakBusy: 3, waited: 7 });
  });

  it('warm() starts one instance ahead of the first request, which then is its first invocation', async () => {
    const fake = fakeInstances();
    const instances = lambdaInstances({ create: fake.create, concurrency: 2 });
    await instances.warm();
    assert.equal(fake.made.length, 1);
    const answer = instances.invoke(7);
    await settle();
    await fake.finishAll();
    assert.deepEqual(await answer, { request: 7, instance: 1 });
    assert.equal(fake.made.length, 1);
  });

  it('an instance that fails to start fails its request, and a waiting request still gets one', async () => {
    let attempts = 0;
    const fake = fakeInstances();
    const instances = lambdaInstances({
      create: async () => {
        if (attempts++ === 0) throw new Error('bundle failed to load');
        return fake.create();
      },
      concurrency: 1,
    });
    const first = instances.invoke(1);
    const second = instances.invoke(2);
    await assert.rejects(first, /bundle failed to load/);
    await settle();
    await fake.finishAll();
    assert.deepEqual(await second, { request: 2, instance: 1 });
    assert.equal(instances.stats().started, 1);
  });

  it('rejects a cap that is not a positive integer', () => {
    assert.throws(() => lambdaInstances({ create: async () => () => 0, concurrency: 0 }), /positive integer/);
  });
});

describe('localConcurrency', () => {
  it(`is ${DEFAULT_LOCAL_CONCURRENCY} unless LOCAL_CONCURRENCY says otherwise, and refuses nonsense`, () => {
    assert.equal(localConcurrency({}), DEFAULT_LOCAL_CONCURRENCY);
    assert.equal(localConcurrency({ LOCAL_CONCURRENCY: '3' }), 3);
    assert.throws(() => localConcurrency({ LOCAL_CONCURRENCY: '0' }), /LOCAL_CONCURRENCY must be a positive integer, got '0'/);
    assert.throws(() => localConcurrency({ LOCAL_CONCURRENCY: 'lots' }), /positive integer/);
  });
});
