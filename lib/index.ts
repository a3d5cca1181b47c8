/**
 * The package's public surface: the construct, its parts and options, and the event contract
 * consumers build rules and handlers against. Everything here is a named export; the stack and
 * app in this folder are this repository's own deployment and are not part of it.
 */
export {
  CloudflareWebhookReceiver,
  WEBHOOK_LOG_LEVELS,
  type CloudflareWebhookReceiverProps,
  type WebhookLogLevel,
  type WebhookThrottle,
} from './webhook-receiver.js';
export {
  CloudflareUploads,
  DEFAULT_UPLOADS_THROTTLE,
  type CloudflareUploadsOptions,
  type CloudflareUploadsProps,
  type UploadsJwtOptions,
} from './uploads.js';
export {
  FRONT_DOOR_STAGE,
  FrontDoorRule,
  SIGNATURE_HEADERS,
  WebhookFrontDoor,
  type WebhookFrontDoorOptions,
  type WebhookFrontDoorProps,
} from './front-door.js';
export { CLOUDFLARE_IP_RANGES } from '../lambda/core/cloudflare-ips.js';
export { ExpirySweep, type ExpirySweepOptions, type ExpirySweepProps } from './expiry-sweep.js';
export {
  WebhookAlarm,
  WebhookMetrics,
  WebhookObservability,
  type WebhookAlarmOptions,
  type WebhookEventSchemasOptions,
  type WebhookObservabilityProps,
} from './observability/index.js';
export { eventJsonSchema, eventSchemaName } from './event-schemas.js';
export {
  DetailTypes,
  eventBridgePattern,
  eventPattern,
  type ErrorInfo,
  type EventBridgePattern,
  type EventPatternOptions,
  type TransitionDetail,
  type WebhookEvent,
} from './events.js';
export {
  DetailType,
  EVENT_SOURCE,
  Defaults,
  ImageStatus,
  ItemKind,
  SecretKey,
  TableDesign,
  UnknownIdPolicy,
  VideoStatus,
  type ItemStatus,
} from '../lambda/core/contract.js';
export { DEFAULT_METRICS_NAMESPACE, MetricName } from '../lambda/core/metrics.js';
