import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DetailType, DetailTypes, EVENT_SOURCE, eventBridgePattern, eventPattern } from '../../lib/events.js';

describe('eventPattern', () => {
  it('matches every event of the receiver when given nothing', () => {
    assert.deepEqual(eventPattern(), { source: [EVENT_SOURCE] });
    assert.deepEqual(eventBridgePattern(), { source: [EVENT_SOURCE] });
  });

  it('narrows by detail-type, in CDK form and in EventBridge form', () => {
    assert.deepEqual(eventPattern({ detailTypes: [DetailType.ImageUploaded] }), { source: [EVENT_SOURCE], detailType: ['Image Uploaded'] });
    assert.deepEqual(eventBridgePattern({ detailTypes: DetailTypes.failures }), {
      source: [EVENT_SOURCE],
      'detail-type': ['Image Upload Failed', 'Video Failed'],
    });
  });

  it('narrows by kind and status through the detail, dropping repeats', () => {
    assert.deepEqual(eventBridgePattern({ kinds: ['video', 'video'], statuses: ['ready'] }), {
      source: [EVENT_SOURCE],
      detail: { kind: ['video'], status: ['ready'] },
    });
  });

  it('groups detail-types by success and failure without leaving any unknown', () => {
    assert.deepEqual([...DetailTypes.all].sort(), Object.values(DetailType).sort());
    for (const detailType of [...DetailTypes.successes, ...DetailTypes.failures]) assert.ok(DetailTypes.all.includes(detailType));
  });

  it('does not compile with a misspelled detail-type, and throws on one at run time (JavaScript callers)', () => {
    // @ts-expect-error 'Image Uploded' is not a DetailType: the point of the helper.
    assert.throws(() => eventPattern({ detailTypes: ['Image Uploded'] }), /detailTypes: no event has 'Image Uploded'; possible: Image Draft, Image Uploaded/);
    // @ts-expect-error nor is a kind other than image or video.
    assert.throws(() => eventPattern({ kinds: ['audio'] }), /kinds: no event has 'audio'/);
  });

  it('refuses patterns that would deploy and then never fire', () => {
    assert.throws(() => eventPattern({ detailTypes: [] }), /detailTypes: empty/);
    assert.throws(() => eventPattern({ statuses: ['pending'] }), /statuses: no event has 'pending'/);
    assert.throws(() => eventPattern({ detailTypes: [DetailType.VideoReady], kinds: ['image'] }), /can never match/);
    assert.throws(() => eventPattern({ kinds: ['video'], statuses: ['uploaded'] }), /can never match/);
  });
});

describe('docs/events.md', () => {
  const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');

  it('documents every detail-type the receiver publishes', () => {
    for (const detailType of DetailTypes.all) assert.ok(doc.includes(`\`${detailType}\``), `${detailType} is missing`);
    assert.ok(doc.includes(`\`${EVENT_SOURCE}\``));
  });
});
