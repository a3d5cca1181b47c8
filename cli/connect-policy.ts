/** Images: the notification policy that sends `image_notification` to our webhook destination, enabled. */
import type Cloudflare from 'cloudflare';
import { call, listAll } from './connect-cloudflare.js';
import type { Act, ConnectSettings } from './connect-types.js';
import { CliError } from './errors.js';

const IMAGES_ALERT = 'image_notification';

type Policy = Awaited<ReturnType<typeof listPolicies>>[number];
/** What our policy should be: its name and the destinations it delivers to, ours last. */
interface PolicyPlan {
  readonly accountId: string;
  readonly policyName: string;
  readonly destinationId: string;
  readonly webhooks: NonNullable<NonNullable<Policy['mechanisms']>['webhooks']>;
}

export async function connectPolicy(cf: Cloudflare, settings: ConnectSettings, destinationId: string | undefined, act: Act): Promise<void> {
  const policyName = `${settings.name}: Images uploads`;
  const policies = await listPolicies(cf, settings.accountId);
  const delivers = (p: Policy) => destinationId !== undefined && (p.mechanisms?.webhooks ?? []).some((w) => w.id === destinationId);
  const existing = policies.find((p) => p.name === policyName) ?? policies.find((p) => p.alert_type === IMAGES_ALERT && delivers(p));
  const target = destinationId ? `destination ${destinationId}` : 'the new destination';

  if (existing && existing.enabled && existing.alert_type === IMAGES_ALERT && delivers(existing)) {
    act('policy', 'unchanged', `notification policy "${existing.name}" already sends ${IMAGES_ALERT} to ${target}`, existing.id);
    return;
  }
  if (settings.dryRun) {
    act('policy', existing ? 'updated' : 'created', `would ${existing ? 'update' : 'create'} notification policy "${existing?.name ?? policyName}": ${IMAGES_ALERT} → ${target}, enabled`, existing?.id);
    return;
  }
  if (!destinationId) throw new CliError('Cloudflare created the webhook destination without returning its id; run connect again');
  const webhooks = [...(existing?.mechanisms?.webhooks ?? []).filter((w) => w.id !== destinationId), { id: destinationId }];
  const plan = { accountId: settings.accountId, policyName, destinationId, webhooks };
  if (existing?.id) return updatePolicy(cf, existing, plan, act);
  await createPolicy(cf, plan, act);
}

function listPolicies(cf: Cloudflare, accountId: string) {
  return call('list notification policies', () => listAll(cf.alerting.policies.list({ account_id: accountId })));
}

/** Our policy (or one already sending images to our destination), enabled and delivering to the destination too. */
async function updatePolicy(cf: Cloudflare, existing: Policy, { accountId, policyName, destinationId, webhooks }: PolicyPlan, act: Act): Promise<void> {
  await call('update the notification policy', () =>
    cf.alerting.policies.update(existing.id!, {
      account_id: accountId,
      name: existing.name ?? policyName,
      alert_type: IMAGES_ALERT,
      enabled: true,
      mechanisms: { ...existing.mechanisms, webhooks },
    }),
  );
  act('policy', 'updated', `updated notification policy "${existing.name}": ${IMAGES_ALERT} → destination ${destinationId}, enabled`, existing.id);
}

async function createPolicy(cf: Cloudflare, { accountId, policyName, destinationId, webhooks }: PolicyPlan, act: Act): Promise<void> {
  const created = await call('create the notification policy', () =>
    cf.alerting.policies.create({
      account_id: accountId,
      name: policyName,
      description: 'Cloudflare Images direct creator uploads, delivered to the webhook receiver on AWS (managed by connect)',
      alert_type: IMAGES_ALERT,
      enabled: true,
      mechanisms: { webhooks },
    }),
  );
  act('policy', 'created', `created notification policy "${policyName}": ${IMAGES_ALERT} → destination ${destinationId}`, created.id);
}
