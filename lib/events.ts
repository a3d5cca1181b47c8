/**
 * The consumer side of the bus: the events the receiver publishes, as types, and rule
 * patterns built from them, so a consumer's CDK code cannot misspell a detail-type.
 *
 *   new events.Rule(this, 'Uploaded', {
 *     eventBus,
 *     eventPattern: eventPattern({ detailTypes: [DetailType.ImageUploaded] }),
 *   });
 */
import type * as events from 'aws-cdk-lib/aws-events';
import { eventBridgePattern, type EventPatternOptions } from '../lambda/core/events.js';

export { DetailType, EVENT_SOURCE, ImageStatus, ItemKind, STATUSES, VideoStatus } from '../lambda/core/contract.js';
export type { ItemStatus } from '../lambda/core/contract.js';
export type { ErrorInfo, TransitionDetail } from '../lambda/core/item.js';
export {
  DetailTypes,
  eventBridgePattern,
  PUBLISHED,
  type EventBridgePattern,
  type EventPatternOptions,
  type PatternOptionNames,
  type WebhookEvent,
} from '../lambda/core/events.js';

/** A CDK `EventPattern` matching this receiver's events, narrowed by the options. */
export function eventPattern(options: EventPatternOptions = {}): events.EventPattern {
  const { source, 'detail-type': detailType, detail } = eventBridgePattern(options);
  return {
    source: [...source],
    ...(detailType && { detailType: [...detailType] }),
    ...(detail && { detail: { ...detail } }),
  };
}
