/**
 * Each function's environment as the stack sets it (lib/), pointed at the emulator and at local
 * resources: what `npm start` and the integration tests load the built bundles with.
 */
import { CLOUDFLARE_API } from '../lambda/core/cloudflare.js';
import { Defaults, LogService, RelayEnv, SweepEnv, UploadDefaults, UploadsEnv, WebhookEnv } from '../lambda/core/contract.js';
import { localClientConfig } from './aws.js';
import type { LocalResources } from './provision.js';

type WebhookEnvName = (typeof WebhookEnv)[keyof typeof WebhookEnv];
/** `undefined` removes a variable, to test how the function copes without it. */
export type WebhookEnvOverrides = { [K in WebhookEnvName]?: string | number | undefined } & Record<
  string,
  string | number | undefined
>;

/** What every function of the stack gets: the emulator, its credentials, a quiet logger by default. */
function aws(resources: LocalResources): Record<string, string> {
  const { region, credentials } = localClientConfig(resources.endpoint);
  return {
    AWS_ENDPOINT_URL: resources.endpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
}

/** `undefined` values are left out, so an override can remove a variable. */
function defined(env: Readonly<Record<string, string | number | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).flatMap(([key, value]) => (value === undefined ? [] : [[key, String(value)]])));
}

/** Where local mode's Cloudflare API is (the stand-in), and how long a call may take. */
export interface LocalCloudflare {
  readonly baseUrl: string;
  readonly timeoutMs?: number;
}

/** The webhook function's environment, as the stack would set it, pointed at the emulator. */
export function webhookEnvironment(resources: LocalResources, overrides: WebhookEnvOverrides = {}, cloudflare?: LocalCloudflare): Record<string, string> {
  const env: Record<string, string | number | undefined> = {
    [WebhookEnv.TableName]: resources.tableName,
    [WebhookEnv.EventBusName]: resources.eventBusName,
    [WebhookEnv.SecretId]: resources.secretArn,
    [WebhookEnv.ImagesPath]: Defaults.imagesPath,
    [WebhookEnv.StreamPath]: Defaults.streamPath,
    [WebhookEnv.ToleranceSeconds]: Defaults.toleranceSeconds,
    [WebhookEnv.MaxBodyBytes]: Defaults.maxBodyBytes,
    [WebhookEnv.UnknownIdPolicy]: Defaults.unknownIdPolicy,
    [WebhookEnv.ConfirmWithCloudflare]: Defaults.confirmWithCloudflare,
    // The stack gives the webhook the read token's secret; without a local Cloudflare there is none to ask.
    ...(cloudflare && { [WebhookEnv.ReadSecretId]: resources.readSecretArn, [WebhookEnv.CloudflareBaseUrl]: cloudflare.baseUrl }),
    ...(cloudflare?.timeoutMs !== undefined && { [WebhookEnv.CloudflareTimeoutMs]: cloudflare.timeoutMs }),
    ...aws(resources),
    POWERTOOLS_SERVICE_NAME: LogService.Webhook,
    ...overrides,
  };
  return defined(env);
}

export function uploadsEnvironment(resources: LocalResources, cloudflare?: LocalCloudflare): Record<string, string> {
  return defined({
    [UploadsEnv.TableName]: resources.tableName,
    [UploadsEnv.ApiSecretId]: resources.apiSecretArn,
    [UploadsEnv.BaseUrl]: cloudflare?.baseUrl || CLOUDFLARE_API,
    [UploadsEnv.DefaultExpirySeconds]: UploadDefaults.expirySeconds,
    [UploadsEnv.CloudflareTimeoutMs]: cloudflare?.timeoutMs,
    ...aws(resources),
    POWERTOOLS_SERVICE_NAME: LogService.Uploads,
  });
}

export interface LocalSweepSettings {
  /** @default 0 in tests (a test backdates `expiresAt` rather than wait); the stack's 5 minutes is for AWS */
  readonly graceSeconds?: number;
  /** @default the stack's 24 hours */
  readonly videoPendingSeconds?: number;
}

export function sweepEnvironment(resources: LocalResources, settings: LocalSweepSettings = {}, cloudflare?: LocalCloudflare): Record<string, string> {
  return defined({
    [SweepEnv.TableName]: resources.tableName,
    [SweepEnv.EventBusName]: resources.eventBusName,
    [SweepEnv.GraceSeconds]: settings.graceSeconds ?? 0,
    [SweepEnv.PublishLeaseMs]: Defaults.publishLeaseMs,
    [SweepEnv.VideoPendingSeconds]: settings.videoPendingSeconds ?? UploadDefaults.videoPendingSeconds,
    [SweepEnv.StatusIndex]: 'true',
    ...(cloudflare && { [SweepEnv.ReadSecretId]: resources.readSecretArn, [SweepEnv.CloudflareBaseUrl]: cloudflare.baseUrl }),
    ...(cloudflare?.timeoutMs !== undefined && { [SweepEnv.CloudflareTimeoutMs]: cloudflare.timeoutMs }),
    ...aws(resources),
    POWERTOOLS_SERVICE_NAME: LogService.Sweep,
  });
}

export function relayEnvironment(resources: LocalResources, overrides: Readonly<Record<string, string | number | undefined>> = {}): Record<string, string> {
  return defined({
    [RelayEnv.TableName]: resources.tableName,
    [RelayEnv.EventBusName]: resources.eventBusName,
    [RelayEnv.PublishLeaseMs]: Defaults.publishLeaseMs,
    ...aws(resources),
    POWERTOOLS_SERVICE_NAME: LogService.Relay,
    ...overrides,
  });
}

