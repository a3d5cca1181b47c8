/**
 * Cloudflare Notifications as the stand-in plays it: webhook destinations and notification
 * policies. Shapes as the SDK's alerting resources (`cloudflare` on npm) and
 * src/content/docs/notifications/get-started/configure-webhooks.mdx (name, url, secret) give them.
 */
import { bad, found, hexId, jsonBody, type Call, type Handled, type Route, type StandInCore } from './cloudflare-http.js';
import { Permission, type NotificationPolicy, type WebhookDestination } from './cloudflare-types.js';

const DESTINATIONS = /^\/alerting\/v3\/destinations\/webhooks$/;
const DESTINATION = /^\/alerting\/v3\/destinations\/webhooks\/([^/]+)$/;
const POLICIES = /^\/alerting\/v3\/policies$/;
const POLICY = /^\/alerting\/v3\/policies\/([^/]+)$/;

export class NotificationsApi {
  constructor(private readonly core: StandInCore) {}

  routes(): Route[] {
    const needs = Permission.NotificationsWrite;
    return [
      { method: 'GET', path: DESTINATIONS, needs, handle: () => ({ result: [...this.core.destinations.values()].map(destinationView) }) },
      { method: 'POST', path: DESTINATIONS, needs, handle: (c) => this.createDestination(c) },
      { method: 'GET', path: DESTINATION, needs, handle: (c) => ({ result: destinationView(this.destinationOr404(c.params[0]!)) }) },
      { method: 'PUT', path: DESTINATION, needs, handle: (c) => this.updateDestination(c) },
      { method: 'DELETE', path: DESTINATION, needs, handle: (c) => this.deleteDestination(c) },
      { method: 'GET', path: POLICIES, needs, handle: () => ({ result: [...this.core.policies.values()] }) },
      { method: 'POST', path: POLICIES, needs, handle: (c) => this.createPolicy(c) },
      { method: 'GET', path: POLICY, needs, handle: (c) => ({ result: this.policyOr404(c.params[0]!) }) },
      { method: 'PUT', path: POLICY, needs, handle: (c) => this.updatePolicy(c) },
      { method: 'DELETE', path: POLICY, needs, handle: (c) => this.deletePolicy(c) },
    ];
  }

  private createDestination({ raw }: Call): Handled {
    const body = jsonBody(raw);
    const given = checkDestination(body);
    if ([...this.core.destinations.values()].some((d) => d.name === given.name)) throw bad(17001, 'a destination with this name already exists');
    const created: WebhookDestination = { id: hexId(), ...given, created_at: this.core.now().toISOString() };
    this.core.destinations.set(created.id, created);
    return { result: { id: created.id }, recorded: redactSecret(body) };
  }

  private updateDestination({ raw, params }: Call): Handled {
    const existing = this.destinationOr404(params[0]!);
    const body = jsonBody(raw);
    const given = checkDestination(body);
    existing.name = given.name;
    existing.url = given.url;
    if (given.secret !== undefined) existing.secret = given.secret;
    return { result: { id: existing.id }, recorded: redactSecret(body) };
  }

  private deleteDestination({ params }: Call): Handled {
    this.core.destinations.delete(this.destinationOr404(params[0]!).id);
    return { result: null };
  }

  private destinationOr404(id: string): WebhookDestination {
    return found(this.core.destinations, id, 17003, 'webhook destination not found');
  }

  private createPolicy({ raw }: Call): Handled {
    const body = jsonBody(raw);
    const given = this.checkPolicy(body, false);
    const at = this.core.now().toISOString();
    const created = { ...given, id: hexId(), created: at, modified: at } as NotificationPolicy;
    this.core.policies.set(created.id, created);
    return { result: { id: created.id }, recorded: body };
  }

  private updatePolicy({ raw, params }: Call): Handled {
    const existing = this.policyOr404(params[0]!);
    const body = jsonBody(raw);
    Object.assign(existing, this.checkPolicy(body, true), { modified: this.core.now().toISOString() });
    return { result: { id: existing.id }, recorded: body };
  }

  private deletePolicy({ params }: Call): Handled {
    this.core.policies.delete(this.policyOr404(params[0]!).id);
    return { result: null };
  }

  private policyOr404(id: string): NotificationPolicy {
    return found(this.core.policies, id, 17103, 'policy not found');
  }

  private checkPolicy(body: Record<string, unknown>, partial: boolean): Partial<NotificationPolicy> {
    for (const key of ['name', 'alert_type'] as const) {
      if ((!partial || body[key] !== undefined) && (typeof body[key] !== 'string' || !body[key])) throw bad(17101, `${key} is required`);
    }
    if ((!partial || body.enabled !== undefined) && typeof body.enabled !== 'boolean') throw bad(17101, 'enabled is required');
    if (!partial && (typeof body.mechanisms !== 'object' || body.mechanisms === null)) throw bad(17101, 'mechanisms is required');
    const mechanisms = body.mechanisms as NotificationPolicy['mechanisms'] | undefined;
    for (const webhook of mechanisms?.webhooks ?? []) {
      if (!this.core.destinations.has(webhook.id)) throw bad(17102, `no webhook destination with id ${webhook.id}`);
    }
    const picked: Record<string, unknown> = {};
    for (const key of ['name', 'alert_type', 'enabled', 'description', 'mechanisms', 'filters'] as const) {
      if (body[key] !== undefined) picked[key] = body[key];
    }
    return picked as Partial<NotificationPolicy>;
  }
}

function checkDestination(body: Record<string, unknown>): { name: string; url: string; secret?: string } {
  const { name, url, secret } = body;
  if (typeof name !== 'string' || name.length === 0) throw bad(17000, 'name is required');
  if (typeof url !== 'string' || !URL.canParse(url)) throw bad(17000, 'url must be a valid URL');
  if (secret !== undefined && typeof secret !== 'string') throw bad(17000, 'secret must be a string');
  return { name, url, ...(secret !== undefined && { secret }) };
}

const destinationView = ({ secret: _secret, ...rest }: WebhookDestination) => ({ ...rest, type: 'generic' });

const redactSecret = (body: Record<string, unknown>) => ({ ...body, secret: body.secret === undefined ? undefined : '<redacted>' });
