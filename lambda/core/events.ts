/**
 * The events on the bus as their consumers see them: the envelope, the detail-types grouped, every
 * (kind, status, detail-type) the receiver can publish, and rule patterns in EventBridge's JSON.
 * Pure, so the CLI (`events tail`, `events replay`) and the construct (`lib/events.ts`, which adds
 * CDK's form of the pattern) read the same contract.
 */
import { DetailType, detailTypeOf, EVENT_SOURCE, ItemKind, STATUSES, type ItemStatus } from './contract.js';
import type { TransitionDetail } from './item.js';

/** Detail-types grouped the way consumers tend to subscribe. */
export const DetailTypes = {
  all: Object.values(DetailType),
  /** Cloudflare has the file: an image is servable, a video playable. */
  successes: [DetailType.ImageUploaded, DetailType.VideoReady],
  /** Cloudflare gave up on the file. */
  failures: [DetailType.ImageUploadFailed, DetailType.VideoFailed],
} as const satisfies Readonly<Record<string, readonly DetailType[]>>;

/**
 * An event as a rule's target receives it. Structurally the same as `EventBridgeEvent` of
 * `@types/aws-lambda`, declared here so consumers need not install it.
 */
export interface WebhookEvent<T extends DetailType = DetailType> {
  readonly version: string;
  /** EventBridge's id, new on every publish: deduplicate on `detail.eventId` instead. */
  readonly id: string;
  readonly 'detail-type': T;
  readonly source: typeof EVENT_SOURCE;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: TransitionDetail;
}

export interface EventPatternOptions {
  /** @default - every detail-type */
  readonly detailTypes?: readonly DetailType[];
  /** @default - images and videos */
  readonly kinds?: readonly ItemKind[];
  /** The status the item moved to. @default - any */
  readonly statuses?: readonly ItemStatus[];
}

/** The pattern as EventBridge stores it: what `PutRule` and the console take. */
export interface EventBridgePattern {
  readonly source: readonly [typeof EVENT_SOURCE];
  readonly 'detail-type'?: readonly DetailType[];
  readonly detail?: { readonly kind?: readonly ItemKind[]; readonly status?: readonly ItemStatus[] };
}

/** Every (kind, status, detail-type) the receiver can publish, from the table `decide` uses; `pending` never is. */
export const PUBLISHED = Object.values(ItemKind).flatMap((kind) =>
  STATUSES[kind].flatMap((status) => {
    const detailType = detailTypeOf(kind, status);
    return detailType ? [{ kind, status, detailType }] : [];
  }),
);

/**
 * What an error message calls each option: a caller that takes them under other names (the CLI's
 * `--detail-type`, `--kind`) passes those, so its users read the names they typed.
 */
export interface PatternOptionNames {
  /** @default 'eventPattern detailTypes' */
  readonly detailTypes?: string;
  /** @default 'eventPattern kinds' */
  readonly kinds?: string;
  /** @default 'eventPattern statuses' */
  readonly statuses?: string;
}

/** The same pattern in EventBridge's JSON form, for the SDK, the CLI or the console. */
export function eventBridgePattern(options: EventPatternOptions = {}, names: PatternOptionNames = {}): EventBridgePattern {
  const named = (key: keyof PatternOptionNames) => names[key] ?? `eventPattern ${key}`;
  const detailTypes = checked(named('detailTypes'), options.detailTypes, DetailTypes.all);
  const kinds = checked(named('kinds'), options.kinds, Object.values(ItemKind));
  const statuses = checked(named('statuses'), options.statuses, [...new Set(PUBLISHED.map((event) => event.status))]);
  // Such a rule deploys fine and then silently never fires; better to fail at synth.
  if (!canMatch(detailTypes, kinds, statuses)) {
    const given = (['detailTypes', 'kinds', 'statuses'] as const).flatMap((key) => (options[key] ? [`${named(key)} ${options[key].map((v) => `'${v}'`).join(', ')}`] : []));
    throw new Error(`${given.join(' with ')} can never match: no event has that detail-type, kind and status`);
  }
  const detail = { ...(kinds && { kind: kinds }), ...(statuses && { status: statuses }) };
  return {
    source: [EVENT_SOURCE],
    ...(detailTypes && { 'detail-type': detailTypes }),
    ...(Object.keys(detail).length > 0 && { detail }),
  };
}

function checked<T extends string>(name: string, values: readonly T[] | undefined, known: readonly T[]): T[] | undefined {
  if (values === undefined) return undefined;
  // EventBridge rejects an empty list at deploy time; say so at synth time instead.
  if (values.length === 0) throw new Error(`${name}: empty; leave it out to match any`);
  const unknown = values.filter((value) => !known.includes(value));
  if (unknown.length > 0) {
    throw new Error(`${name}: no event has ${unknown.map((v) => `'${v}'`).join(', ')}; possible: ${known.join(', ')}`);
  }
  return [...new Set(values)];
}

function canMatch(detailTypes?: readonly DetailType[], kinds?: readonly ItemKind[], statuses?: readonly ItemStatus[]): boolean {
  return PUBLISHED.some(
    (event) =>
      (detailTypes === undefined || detailTypes.includes(event.detailType)) &&
      (kinds === undefined || kinds.includes(event.kind)) &&
      (statuses === undefined || statuses.includes(event.status)),
  );
}
