import type { ApiFailure } from '../core/cloudflare.js';
import { UnknownIdPolicy, type ConfirmMode, type ItemKind, type ItemStatus } from '../core/contract.js';
import { decide, recordedItem, type Outcome } from '../core/decide.js';
import { PayloadTooLargeError, SignatureError, UnknownItemError } from '../core/errors.js';
import type { Item, StatusReport } from '../core/item.js';
import { settle } from '../core/outbox.js';
import type { ItemStore, Publisher } from '../core/ports.js';
import type { CloudflareReader } from '../adapters/cloudflare.js';
import type { SecretSource } from '../adapters/secrets.js';
import { Confirmation, confirm } from './confirm.js';
import { parseDelivery } from './parse.js';
import type { Route, Scheme } from '../core/contract.js';
import type { SecretSet } from '../core/secret-format.js';
import { RejectReason, verifyRequest } from './verify.js';

/**
 * The data path, in order: size → verify → parse → confirm → decide → store → publish.
 * Depends on ports only, so tests can run it against the emulator or against faults.
 */

export interface WebhookRequest {
  readonly route: Route;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

export interface ReceiveOptions {
  readonly toleranceSeconds: number;
  readonly maxBodyBytes: number;
  readonly unknownIdPolicy: UnknownIdPolicy;
  readonly leaseMs: number;
  readonly confirmWithCloudflare: ConfirmMode;
}

export interface Ports {
  readonly secrets: SecretSource;
  readonly store: ItemStore;
  readonly publisher: Publisher;
  /** Cloudflare's API, read-only; absent when the stack has no read-token secret. */
  readonly cloudflare?: CloudflareReader;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface Receipt {
  readonly outcome: Outcome | 'test' | 'ignored';
  readonly scheme: Scheme;
  readonly kind?: ItemKind;
  readonly id?: string;
  /** The item's status after this delivery (unchanged when it was stale or a duplicate). */
  readonly status?: ItemStatus;
  /** What the delivery reported, once confirmed: differs from `status` when it changed nothing. */
  readonly reported?: ItemStatus;
  readonly previousStatus?: ItemStatus;
  /** Events this delivery put on the bus (its own transition and any it republished). */
  readonly published?: number;
  /**
   * Of `published`, events an earlier delivery wrote but left unpublished (it died or timed out
   * before PutEvents), taken over by this one. Present only when there were any.
   */
  readonly republished?: number;
  readonly reason?: string;
  /** What asking Cloudflare's API made of the delivery. */
  readonly confirmation?: Confirmation;
  /** Why Cloudflare could not be asked, when it could not (the fields then decided). */
  readonly apiFailure?: ApiFailure;
}

export async function receive(request: WebhookRequest, ports: Ports, options: ReceiveOptions): Promise<Receipt> {
  if (request.body.length > options.maxBodyBytes) throw new PayloadTooLargeError(options.maxBodyBytes);

  const scheme = await authenticate(request, ports, options);
  const delivery = parseDelivery(request.route, request.body, ports.now());
  if (delivery.type !== 'observation') return { outcome: delivery.type, scheme, ...(delivery.type === 'ignored' && { reason: delivery.reason }) };

  const { observation } = delivery;
  const confirmed = await confirm(observation, options.confirmWithCloudflare, ports.cloudflare, ports.now());
  // Asking Cloudflare is worth telling the sender about only when it happened (or could not).
  const subject = { scheme, kind: observation.kind, id: observation.id, ...(confirmed.confirmation !== Confirmation.NotAsked && { confirmation: confirmed.confirmation }) };
  if (confirmed.type === 'ignored') return { outcome: 'ignored', ...subject, reason: confirmed.reason };
  const applied = await apply(confirmed.report, ports, options);
  return { ...subject, reported: confirmed.report.status, ...applied, ...(confirmed.apiFailure && { apiFailure: confirmed.apiFailure }) };
}

async function authenticate(request: WebhookRequest, ports: Ports, options: ReceiveOptions): Promise<Scheme> {
  const check = (secrets: SecretSet) =>
    verifyRequest({
      route: request.route,
      headers: request.headers,
      body: request.body,
      secrets,
      nowSeconds: Math.floor(ports.now().getTime() / 1000),
      toleranceSeconds: options.toleranceSeconds,
    });
  let verdict = check(await ports.secrets.get());
  // A wrong signature may mean the secret was rotated since it was cached: re-read once (rate-limited).
  if (!verdict.ok && (verdict.reason === RejectReason.Invalid || verdict.reason === RejectReason.NotConfigured)) {
    const fresh = await ports.secrets.refresh();
    if (fresh) verdict = check(fresh);
  }
  if (!verdict.ok) throw new SignatureError(verdict.reason);
  return verdict.scheme;
}

type Applied = Pick<Receipt, 'outcome' | 'status' | 'previousStatus' | 'published' | 'republished'>;

async function apply(report: StatusReport, ports: Ports, options: ReceiveOptions): Promise<Applied> {
  const now = () => ports.now();
  // Another invocation holds the lease on this item's outbox: answering now could lose its events if it dies.
  const waitFor = async (untilMs: number) => {
    await ports.sleep(Math.max(10, Math.min(untilMs - now().getTime(), 250)));
    return true;
  };
  const decideOn = (item: Item | undefined) => decide(item, report, { now: now(), leaseMs: options.leaseMs });
  let decision = await settle(ports, report.id, decideOn, waitFor);
  if (decision.type === 'unknown') {
    if (options.unknownIdPolicy !== UnknownIdPolicy.Record) throw new UnknownItemError(report.kind, report.id);
    // Record the image Cloudflare told us about, then apply the delivery to it like any other.
    await ports.store.create(recordedItem(report.kind, report.id, now()));
    decision = await settle(ports, report.id, decideOn, waitFor);
    if (decision.type === 'unknown') throw new UnknownItemError(report.kind, report.id);
  }
  if (decision.type !== 'write' && decision.type !== 'none') throw new Error(`unexpected decision ${decision.type}`);
  // A stale or duplicate delivery leaves the item as it was: the answer says so, apart from what was reported.
  const status = decision.outcome === 'transitioned' || decision.outcome === 'refreshed' ? report.status : decision.previousStatus;
  if (decision.type === 'none') return { outcome: decision.outcome, status, previousStatus: decision.previousStatus, published: 0 };
  const { outcome, previousStatus, publish, republished } = decision;
  return { outcome, status, previousStatus, published: publish.length, ...(republished > 0 && { republished }) };
}
