import { ItemKind, UnknownIdPolicy, type ItemStatus } from '../core/contract.js';
import { decide, recordedItem, type Outcome } from '../core/decide.js';
import { DependencyError, PayloadTooLargeError, SignatureError, UnknownItemError } from '../core/errors.js';
import { MAX_WRITE_ATTEMPTS, writeThenPublish } from '../core/outbox.js';
import { parseDelivery, type StatusReport } from './parse.js';
import type { Publisher } from '../adapters/publish.js';
import type { SecretSource } from '../adapters/secrets.js';
import type { ItemStore } from '../adapters/store.js';
import { RejectReason, verifyRequest, type Route, type Scheme, type SecretSet } from './verify.js';

/**
 * The data path, in order: size → verify → parse → decide → store → publish.
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
}

export interface Ports {
  readonly secrets: SecretSource;
  readonly store: ItemStore;
  readonly publisher: Publisher;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface Receipt {
  readonly outcome: Outcome | 'test' | 'ignored';
  readonly scheme: Scheme;
  readonly kind?: ItemKind;
  readonly id?: string;
  readonly status?: ItemStatus;
  readonly previousStatus?: ItemStatus;
  /** Events this delivery put on the bus (its own transition and any it republished). */
  readonly published?: number;
  /**
   * Of `published`, events an earlier delivery wrote but left unpublished (it died or timed out
   * before PutEvents), taken over by this one. Present only when there were any.
   */
  readonly republished?: number;
  readonly reason?: string;
}

export async function receive(request: WebhookRequest, ports: Ports, options: ReceiveOptions): Promise<Receipt> {
  if (request.body.length > options.maxBodyBytes) throw new PayloadTooLargeError(options.maxBodyBytes);

  const scheme = await authenticate(request, ports, options);
  const delivery = parseDelivery(request.route, request.body, ports.now());
  if (delivery.type === 'test') return { outcome: 'test', scheme };
  if (delivery.type === 'ignored') return { outcome: 'ignored', scheme, reason: delivery.reason };

  const applied = await apply(delivery.report, ports, options);
  return { scheme, kind: delivery.report.kind, id: delivery.report.id, status: delivery.report.status, ...applied };
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

async function apply(
  report: StatusReport,
  ports: Ports,
  options: ReceiveOptions,
): Promise<Pick<Receipt, 'outcome' | 'previousStatus' | 'published' | 'republished'>> {
  let recorded = false;
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; ) {
    const item = await ports.store.get(report.id);
    const decision = decide(item, report, { now: ports.now(), leaseMs: options.leaseMs });

    if (decision.type === 'unknown') {
      if (options.unknownIdPolicy !== UnknownIdPolicy.Record || item !== undefined || recorded) {
        throw new UnknownItemError(report.kind, report.id);
      }
      // Record the image Cloudflare told us about, then apply the delivery to it like any other.
      await ports.store.create(recordedItem(report.kind, report.id, ports.now()));
      recorded = true;
      continue;
    }
    if (decision.type === 'wait') {
      // Another invocation is publishing an event of this item; answering now could lose it if that one dies.
      await ports.sleep(Math.max(10, Math.min(decision.untilMs - ports.now().getTime(), 250)));
      continue;
    }
    if (decision.type === 'none') return { outcome: decision.outcome, previousStatus: decision.previousStatus, published: 0 };

    if (!(await writeThenPublish(ports, report.id, decision))) {
      attempt += 1;
      continue;
    }
    const { outcome, previousStatus, publish, republished } = decision;
    return { outcome, previousStatus, published: publish.length, ...(republished > 0 && { republished }) };
  }
  throw new DependencyError('dynamodb', `item ${report.id} kept changing under ${MAX_WRITE_ATTEMPTS} write attempts`);
}
