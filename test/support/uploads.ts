/**
 * The receiver with its upload route and expiry sweep, running locally for integration
 * tests: the three built bundles (webhook, uploads, sweep) behind one local HTTP API, against
 * their own resources in the emulator and a Cloudflare API of the test's choosing (the fake).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { ApiSecretKey, Defaults, SweepEnv, UploadDefaults, UploadsEnv, WebhookEnv } from '../../lambda/core/contract';
import type { SweepResult } from '../../lambda/sweep/sweep';
import { localClientConfig } from '../../local/aws';
import { provisionLocal, webhookEnvironment, type LocalResources, type LocalSecrets, type WebhookEnvOverrides } from '../../local/provision';
import { startLocalServer, type LocalHandler } from '../../local/server';
import { builtBundles, connectEmulator, loadBundle } from './receiver';

/** How the local API stands in for the route's authorizer. */
export type LocalAuth =
  /** IAM: a request without a SigV4 `Authorization` gets API Gateway's 403; others act as `callerArn`. */
  | { readonly type: 'iam'; readonly callerArn?: string }
  /**
   * JWT: a request without `Authorization: Bearer <jwt>` gets API Gateway's 401; the token's
   * payload becomes the claims. The signature is not checked: that is API Gateway's job, not the function's.
   */
  | { readonly type: 'jwt' };

export interface UploadsStackOptions {
  /** Where the upload function sends Cloudflare API calls (the fake's `baseURL`). */
  readonly cloudflareBaseUrl: string;
  /** What the Cloudflare API secret holds; `undefined` values leave a key out. */
  readonly apiSecret?: { readonly accountId?: string; readonly apiToken?: string };
  readonly auth?: LocalAuth;
  readonly secrets?: Partial<LocalSecrets>;
  readonly webhookOverrides?: WebhookEnvOverrides;
  /** @default 0: a test backdates `expiresAt` instead of waiting */
  readonly graceSeconds?: number;
  readonly cloudflareTimeoutMs?: number;
}

export interface UploadsStack {
  readonly url: string;
  readonly uploadsUrl: string;
  readonly imagesUrl: string;
  readonly streamUrl: string;
  readonly resources: LocalResources;
  readonly apiSecretArn: string;
  readonly endpoint: string;
  /** One scheduled run of the sweep, as EventBridge would invoke it. */
  sweep(): Promise<SweepSummary>;
  /** A new instance of the webhook function (a cold start): its secret cache starts empty. */
  coldStartWebhook(): Promise<void>;
  stop(): Promise<void>;
}

export type SweepSummary = Omit<SweepResult, 'firstError'>;

let instances = 0;

export async function startUploadsStack(options: UploadsStackOptions): Promise<UploadsStack> {
  const emulator = await connectEmulator();
  try {
    const prefix = `u${process.pid}-${++instances}-${randomBytes(3).toString('hex')}`;
    const resources = await provisionLocal({ endpoint: emulator.endpoint, prefix, ...(options.secrets && { secrets: options.secrets }) });
    const apiSecretArn = await createApiSecret(resources.endpoint, `${prefix}/cloudflare-api`, options.apiSecret);
    const assets = await builtBundles();
    const aws = {
      AWS_ENDPOINT_URL: resources.endpoint,
      AWS_REGION: localClientConfig(resources.endpoint).region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
    };
    const webhookEnv = webhookEnvironment(resources, { POWERTOOLS_LOG_LEVEL: aws.POWERTOOLS_LOG_LEVEL, ...options.webhookOverrides });
    let webhook = await loadBundle<LocalHandler>(assets.webhook.entry, webhookEnv);
    const uploads = await loadBundle<LocalHandler>(assets.uploads.entry, {
      ...aws,
      [UploadsEnv.TableName]: resources.tableName,
      [UploadsEnv.ApiSecretId]: apiSecretArn,
      [UploadsEnv.BaseUrl]: options.cloudflareBaseUrl,
      [UploadsEnv.DefaultExpirySeconds]: String(UploadDefaults.expirySeconds),
      ...(options.cloudflareTimeoutMs !== undefined && { [UploadsEnv.CloudflareTimeoutMs]: String(options.cloudflareTimeoutMs) }),
      POWERTOOLS_SERVICE_NAME: 'cloudflare-uploads',
    });
    const sweep = await loadBundle<(event: unknown, context: Context) => Promise<SweepSummary>>(assets.sweep.entry, {
      ...aws,
      [SweepEnv.TableName]: resources.tableName,
      [SweepEnv.EventBusName]: resources.eventBusName,
      [SweepEnv.GraceSeconds]: String(options.graceSeconds ?? 0),
      [SweepEnv.PublishLeaseMs]: String(Defaults.publishLeaseMs),
      POWERTOOLS_SERVICE_NAME: 'cloudflare-expiry-sweep',
    });

    const imagesPath = webhookEnv[WebhookEnv.ImagesPath]!;
    const streamPath = webhookEnv[WebhookEnv.StreamPath]!;
    const uploadsRoute = `POST ${UploadDefaults.path}`;
    const auth = options.auth ?? { type: 'iam' };
    const handler: LocalHandler = (event, context) => (event.routeKey === uploadsRoute ? authorized(uploads, auth, event, context) : webhook(event, context));
    const server = await startLocalServer({ handler, routes: [`POST ${imagesPath}`, `POST ${streamPath}`, uploadsRoute] });
    return {
      url: server.url,
      uploadsUrl: server.url + UploadDefaults.path,
      imagesUrl: server.url + imagesPath,
      streamUrl: server.url + streamPath,
      resources,
      apiSecretArn,
      endpoint: emulator.endpoint,
      coldStartWebhook: async () => {
        webhook = await loadBundle<LocalHandler>(assets.webhook.entry, webhookEnv);
      },
      sweep: () => sweep({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString() }, sweepContext()),
      stop: async () => {
        await server.close();
        await emulator.stop();
      },
    };
  } catch (error) {
    await emulator.stop();
    throw error;
  }
}

/** What API Gateway's authorizers do before the function runs, and what they hand it. */
async function authorized(handler: LocalHandler, auth: LocalAuth, event: APIGatewayProxyEventV2, context: Context): Promise<unknown> {
  const header = event.headers.authorization ?? '';
  const deny = (statusCode: number, message: string) => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message }) });
  let authorizer: Record<string, unknown>;
  if (auth.type === 'iam') {
    if (!header.startsWith('AWS4-HMAC-SHA256 ')) return deny(403, 'Forbidden');
    const userArn = auth.callerArn ?? 'arn:aws:iam::123456789012:role/backend';
    authorizer = { iam: { accountId: '123456789012', userArn, principalOrgId: null, callerId: 'AROAEXAMPLE:backend', cognitoIdentity: null, accessKey: 'ASIAEXAMPLE', userId: 'AROAEXAMPLE' } };
  } else {
    const token = /^Bearer ([^.]+)\.([^.]+)\.([^.]*)$/.exec(header);
    if (!token) return deny(401, 'Unauthorized');
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(token[2]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return deny(401, 'Unauthorized');
    }
    // HTTP API passes claims as strings.
    authorizer = { jwt: { claims: Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])), scopes: null } };
  }
  return handler({ ...event, requestContext: { ...event.requestContext, authorizer } } as APIGatewayProxyEventV2, context);
}

/** An unsigned JWT with these claims: enough for the local JWT stand-in. */
export function localJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: 'https://issuer.example', aud: 'app', exp: Math.floor(Date.now() / 1000) + 600, ...claims })}.sig`;
}

/** What a SigV4-signing backend sends; the local IAM stand-in only checks the scheme. */
export const sigV4Header = 'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000';

async function createApiSecret(endpoint: string, name: string, given: UploadsStackOptions['apiSecret']): Promise<string> {
  const value = given ?? {};
  const body = Object.fromEntries(
    ([ApiSecretKey.AccountId, ApiSecretKey.ApiToken] as const).flatMap((key) => (value[key] === undefined ? [] : [[key, value[key]]])),
  );
  const out = await new SecretsManagerClient(localClientConfig(endpoint)).send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(body) }));
  return out.ARN!;
}

function sweepContext(): Context {
  const deadline = Date.now() + 120_000;
  const unsupported = () => {
    throw new Error('not supported locally');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'local-expiry-sweep',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:local-expiry-sweep',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/local-expiry-sweep',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
