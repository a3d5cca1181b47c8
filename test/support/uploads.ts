/**
 * The receiver with its upload route and sweep, as `npm start` runs them (local/stack.ts), for
 * the upload, sweep and `connect` suites: the built bundles against their own resources in the
 * emulator and a Cloudflare API of the test's choosing (the stand-in).
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiCredentials } from '../../lambda/core/cloudflare.js';
import { sigV4Header, type LocalAuth } from '../../local/authorizers.js';
import type { WebhookEnvOverrides } from '../../local/environments.js';
import type { LocalSecrets } from '../../local/provision.js';
import type { LocalStackOptions, SweepSummary } from '../../local/stack.js';
import { documentClient } from './deliver.js';
import { QUIET, startReceiver, type LocalReceiver } from './receiver.js';

export { localJwt, sigV4Header, type LocalAuth } from '../../local/authorizers.js';
export type { SweepSummary } from '../../local/stack.js';

export interface UploadsStackOptions {
  /** Where the functions send Cloudflare API calls (the stand-in's `baseURL`). */
  readonly cloudflareBaseUrl: string;
  /** What the upload route's API secret holds; a key left out stays out. */
  readonly apiSecret?: Partial<ApiCredentials>;
  /** What the read-only token's secret holds (the webhook confirms, the sweep reconciles). @default blank: nothing is asked */
  readonly readToken?: ApiCredentials;
  readonly auth?: LocalAuth;
  readonly secrets?: Partial<LocalSecrets>;
  readonly webhookOverrides?: WebhookEnvOverrides;
  /** @default 0: a test backdates `expiresAt` instead of waiting */
  readonly graceSeconds?: number;
  readonly videoPendingSeconds?: number;
  readonly cloudflareTimeoutMs?: number;
  /** Runs the stream relay too, with the stack's settings or these. @default off */
  readonly relay?: LocalStackOptions['relay'];
}

export interface UploadsStack extends LocalReceiver {
  readonly uploadsUrl: string;
  /** The upload route's API secret. */
  readonly apiSecretArn: string;
  sweep(): Promise<SweepSummary>;
}

export async function startUploadsStack(options: UploadsStackOptions): Promise<UploadsStack> {
  const receiver = await startReceiver({
    ...(options.secrets && { secrets: options.secrets }),
    overrides: { ...QUIET, ...options.webhookOverrides },
    uploads: options.auth ?? { type: 'iam' },
    cloudflare: {
      baseUrl: options.cloudflareBaseUrl,
      ...(options.cloudflareTimeoutMs !== undefined && { timeoutMs: options.cloudflareTimeoutMs }),
      ...(options.readToken && { readToken: options.readToken }),
      ...(options.apiSecret && { uploadsToken: options.apiSecret }),
    },
    sweep: { graceSeconds: options.graceSeconds ?? 0, ...(options.videoPendingSeconds !== undefined && { videoPendingSeconds: options.videoPendingSeconds }) },
    ...(options.relay && { relay: options.relay }),
  });
  return { ...receiver, uploadsUrl: receiver.uploadsUrl!, apiSecretArn: receiver.resources.apiSecretArn };
}

/** POST /uploads with `body` (a string goes as is), signed with `authorization` (none when empty). */
export async function createUpload(stack: UploadsStack, body: unknown, authorization = sigV4Header) {
  const response = await fetch(stack.uploadsUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization && { authorization }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

/** Time passes: the upload window of `id` ended `agoMs` ago (a test backdates `expiresAt` rather than waits). Returns the new `expiresAt`. */
export async function windowEnded(stack: UploadsStack, id: string, agoMs: number): Promise<string> {
  const expiresAt = new Date(Date.now() - agoMs).toISOString();
  await documentClient(stack.endpoint).send(
    new UpdateCommand({ TableName: stack.resources.tableName, Key: { id }, UpdateExpression: 'SET expiresAt = :e', ExpressionAttributeValues: { ':e': expiresAt } }),
  );
  return expiresAt;
}
