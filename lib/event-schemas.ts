/**
 * The event contract as data: a zod schema of `TransitionDetail`, and from it one JSON Schema
 * (draft-04, which EventBridge's Schema Registry accepts as `JSONSchemaDraft4` and generates
 * code bindings from) per detail-type, describing the whole event as a rule's target receives it.
 *
 * CDK-side only: the full `zod` import is fine here and must never reach the webhook bundle
 * (the function imports nothing from lib/).
 */
import * as z from 'zod';
import { DetailType, EVENT_SOURCE, ItemKind, STATUSES, type ItemStatus } from '../lambda/core/contract.js';
import { PUBLISHED } from '../lambda/core/events.js';
import { ReportSource, type TransitionDetail } from '../lambda/core/item.js';

const ALL_STATUSES = [...new Set([...STATUSES.image, ...STATUSES.video])] as [ItemStatus, ...ItemStatus[]];

/** ISO 8601 in UTC (`…Z`), as `Date.prototype.toISOString` writes it. */
const instant = () => z.iso.datetime();

// `satisfies` makes the compiler hold this to `TransitionDetail`: a field added there and not
// here (or the reverse) fails the build. The field types are held to it by test/unit/event-schemas.test.ts.
const detailShape = {
  eventId: z.string().regex(/^[0-9a-f]{32}$/).describe('Id of the transition, the same on every publish of it: deduplicate on it'),
  id: z.string().min(1).describe("Cloudflare's image id or video uid"),
  kind: z.enum(Object.values(ItemKind) as [ItemKind, ...ItemKind[]]),
  status: z.enum(ALL_STATUSES).describe('The status the item moved to'),
  previousStatus: z.enum(ALL_STATUSES).describe('The status it moved from'),
  occurredAt: instant().describe("When Cloudflare says it happened (the payload's timestamp)"),
  recordedAt: instant().describe('When the receiver recorded it'),
  source: z.optional(z.enum(Object.values(ReportSource) as [ReportSource, ...ReportSource[]])).describe("Who reported it: a webhook (notification, toolkit, stream), Cloudflare's API (a confirmed delivery or a recovered lost webhook), or the expiry sweep"),
  error: z.optional(z.looseObject({ code: z.optional(z.string()), message: z.optional(z.string()) })).describe('Failures only'),
  variants: z.optional(z.array(z.string())).describe("Images: delivery URLs, when Cloudflare sent them"),
  metadata: z.optional(z.record(z.string(), z.unknown())).describe('Images: metadata, when Cloudflare sent it'),
  playback: z.optional(z.record(z.string(), z.unknown())).describe('Videos: `hls` and `dash` URLs'),
  thumbnail: z.optional(z.string()).describe('Videos: thumbnail URL'),
} satisfies Record<keyof TransitionDetail, z.ZodType>;

/** `detail` of any event the receiver publishes. Loose: consumers must tolerate fields added later. */
export const transitionDetailSchema = z.looseObject(detailShape);

/** The (kind, status) pairs each detail-type is published for: `PUBLISHED`, grouped by detail-type. */
export const PUBLISHED_TRANSITIONS: Readonly<Record<DetailType, { readonly kind: ItemKind; readonly statuses: readonly ItemStatus[] }>> =
  Object.fromEntries(
    Object.values(DetailType).map((detailType) => {
      const published = PUBLISHED.filter((event) => event.detailType === detailType);
      const kind = published[0]?.kind;
      if (!kind) throw new Error(`no (kind, status) is published as '${detailType}'`);
      return [detailType, { kind, statuses: published.filter((event) => event.kind === kind).map((event) => event.status) }];
    }),
  ) as Record<DetailType, { kind: ItemKind; statuses: ItemStatus[] }>;

/** The detail of one detail-type: `kind` and `status` narrowed to what that detail-type carries. */
export function detailSchemaFor(detailType: DetailType) {
  const { kind, statuses } = PUBLISHED_TRANSITIONS[detailType];
  return transitionDetailSchema.extend({
    kind: z.literal(kind),
    status: z.enum(statuses as [ItemStatus, ...ItemStatus[]]).describe('The status the item moved to'),
    previousStatus: z.enum(STATUSES[kind] as [ItemStatus, ...ItemStatus[]]).describe('The status it moved from'),
  });
}

/** The whole event as EventBridge delivers it to a rule's target. */
export function eventSchemaFor(detailType: DetailType) {
  return z.looseObject({
    version: z.string(),
    id: z.string().describe("EventBridge's id, new on every publish: deduplicate on detail.eventId instead"),
    'detail-type': z.literal(detailType),
    source: z.literal(EVENT_SOURCE),
    account: z.string(),
    time: instant(),
    region: z.string(),
    resources: z.array(z.string()),
    detail: detailSchemaFor(detailType),
  });
}

/** Name of a detail-type's schema, in the form schema discovery uses: `source@DetailTypeWithoutSpaces`. */
export function eventSchemaName(detailType: DetailType): string {
  return `${EVENT_SOURCE}@${detailType.replace(/[^A-Za-z]/g, '')}`;
}

/**
 * The JSON Schema (draft-04) of a detail-type's events, with the `x-amazon-events-*` keys the
 * registry's code bindings read to name the generated types.
 */
export function eventJsonSchema(detailType: DetailType): Record<string, unknown> {
  const schema = z.toJSONSchema(eventSchemaFor(detailType), { target: 'draft-04' }) as Record<string, unknown>;
  return {
    ...schema,
    title: detailType.replace(/[^A-Za-z]/g, ''),
    description: `'${detailType}' event of the Cloudflare webhook receiver (source '${EVENT_SOURCE}')`,
    'x-amazon-events-source': EVENT_SOURCE,
    'x-amazon-events-detail-type': detailType,
  };
}
