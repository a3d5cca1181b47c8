import { Duration, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { LogService, UploadDefaults, UploadsEnv } from '../lambda/core/contract.js';
import { receiverFunction } from './bundling.js';
import { emptyTokenSecret, grantSecretRead } from './secrets.js';
import { loggedHttpApi } from './http-api.js';
import type { WebhookThrottle } from './webhook-receiver.js';
import { requireNumber, requireRoutePath } from './validation.js';

/** A JWT authorizer in front of the route, so a browser app can call it with its user's token. */
export interface UploadsJwtOptions {
  /** The token issuer, e.g. `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf`. */
  readonly issuer: string;
  /** Accepted `aud` values (for Cognito: app client ids). */
  readonly audience: readonly string[];
}

export interface CloudflareUploadsOptions {
  /**
   * Path of the route.
   * @default UploadDefaults.path ('/uploads')
   */
  readonly path?: string;
  /**
   * Authorize callers with a JWT instead of IAM. The token's `sub` is recorded as the image's
   * creator and the body may not name one.
   * @default - IAM: callers sign with SigV4 and need `execute-api:Invoke` on the route
   */
  readonly jwt?: UploadsJwtOptions;
  /**
   * Origins a browser may call the route from (CORS on the upload route's own HTTP API, so it
   * never applies to the webhooks). Needs `jwt` to be useful.
   * @default - no CORS
   */
  readonly allowOrigins?: readonly string[];
  /**
   * Throttle of the upload API's stage: its own, so browser traffic can never use up the webhooks'
   * limit. Each request makes one Cloudflare API call, and Cloudflare allows 1,200 per 5 minutes
   * (4 a second) per user; beyond that Cloudflare's own 429 would answer anyway.
   * @default { rateLimit: 4, burstLimit: 20 }
   */
  readonly throttle?: WebhookThrottle;
  /**
   * A secret `{"accountId": "…", "apiToken": "…"}` holding the Cloudflare API token the route uses
   * (Images Write is all it needs).
   * @default - a new secret with both values empty, to be filled in before the first upload
   */
  readonly apiSecret?: secretsmanager.ISecret;
  /**
   * Upload window when a request names none; between 2 minutes and 6 hours.
   * @default Duration.minutes(30), Cloudflare's own default
   */
  readonly defaultExpiry?: Duration;
  /**
   * Memory of the function in MB.
   * @default 256
   */
  readonly memorySize?: number;
}

export interface CloudflareUploadsProps extends CloudflareUploadsOptions {
  readonly table: dynamodb.ITable;
  readonly logRetention: logs.RetentionDays;
}

export const DEFAULT_UPLOADS_THROTTLE = { rateLimit: 4, burstLimit: 20 } as const;

/**
 * `POST /uploads`: asks Cloudflare for a direct creator upload and records the pending image,
 * so the webhook that follows finds it. Its function alone can read the Cloudflare API token.
 * The route has an HTTP API of its own: HTTP API configures CORS for a whole API (and answers
 * preflights on every path), and browsers and Cloudflare should not share a stage's limits.
 */
export class CloudflareUploads extends Construct {
  /** `{"accountId", "apiToken"}`; only the upload function can read it. */
  public readonly apiSecret: secretsmanager.ISecret;
  public readonly uploadsFunction: lambda.Function;
  public readonly path: string;
  /** The route's full URL. */
  public readonly url: string;
  /** The upload route's own HTTP API. */
  public readonly httpApi: apigwv2.HttpApi;
  /** Its `$default` stage, with the upload throttle and access logs. */
  public readonly stage: apigwv2.HttpStage;

  constructor(scope: Construct, id: string, props: CloudflareUploadsProps) {
    super(scope, id);
    // Settle the configuration first: a bad value fails synth.
    const settings = resolveSettings(props);
    this.path = settings.path;
    this.apiSecret = props.apiSecret ?? this.createApiSecret();
    this.uploadsFunction = this.createFunction(props, settings);
    // Its own API: the CORS, the throttle and the access log are the upload route's alone.
    ({ httpApi: this.httpApi, stage: this.stage } = this.createHttpApi(props, settings.throttle));
    this.addRoute(props.jwt);
    this.url = `${this.httpApi.apiEndpoint}${this.path}`;
  }

  /**
   * The token's home. Empty until an operator (or `connect` with $CLOUDFLARE_UPLOADS_API_TOKEN) fills it in:
   * a generated value would only make Cloudflare answer 403 instead of a clear 503.
   */
  private createApiSecret(): secretsmanager.Secret {
    return emptyTokenSecret(this, 'ApiSecret', 'Cloudflare API token for direct creator uploads: JSON {accountId, apiToken}');
  }

  /** The function, with a role that starts empty and its own log group (see receiverFunction). */
  private createFunction(props: CloudflareUploadsProps, settings: UploadSettings): lambda.Function {
    return receiverFunction(this, 'Function', 'uploads', {
      roleDescription: 'Cloudflare direct creator uploads: PutItem on the images table, the API token secret, its log group',
      logRetention: props.logRetention,
      // Create the item (conditionally) and read the token.
      permissions: (role) => {
        role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [props.table.tableArn] }));
        grantSecretRead(role, this.apiSecret);
      },
      memorySize: settings.memorySize,
      // Cloudflare's call is cut at 8 s; HTTP API gives up at 30 s.
      timeout: Duration.seconds(15),
      environment: {
        [UploadsEnv.TableName]: props.table.tableName,
        [UploadsEnv.ApiSecretId]: this.apiSecret.secretArn,
        [UploadsEnv.DefaultExpirySeconds]: String(settings.expirySeconds),
        POWERTOOLS_SERVICE_NAME: LogService.Uploads,
      },
    });
  }

  /** The route, never unauthenticated: IAM unless a JWT issuer is given. */
  private addRoute(jwt: UploadsJwtOptions | undefined): void {
    const authorizer = jwt
      ? new authorizers.HttpJwtAuthorizer('UploadsJwtAuthorizer', jwt.issuer, { jwtAudience: [...jwt.audience] })
      : new authorizers.HttpIamAuthorizer();
    this.httpApi.addRoutes({
      path: this.path,
      methods: [apigwv2.HttpMethod.POST],
      integration: new integrations.HttpLambdaIntegration('UploadsIntegration', this.uploadsFunction),
      authorizer,
    });
  }

  private createHttpApi(props: CloudflareUploadsProps, throttle: WebhookThrottle) {
    const field = apigateway.AccessLogField;
    return loggedHttpApi(this, {
      apiName: `${Stack.of(this).stackName}-cloudflare-uploads`,
      description: 'Cloudflare direct creator uploads (POST /uploads)',
      throttle,
      logRetention: props.logRetention,
      // The caller is the IAM principal or the JWT's subject.
      accessLogFields: {
        routeKey: field.contextRouteKey(),
        status: field.contextStatus(),
        responseLatency: field.contextResponseLatency(),
        integrationStatus: field.contextIntegrationStatus(),
        integrationError: field.contextIntegrationErrorMessage(),
        authorizerError: field.contextAuthorizerError(),
      },
      // HTTP API answers preflight requests itself, before any authorizer.
      ...(props.allowOrigins && {
        corsPreflight: {
          allowOrigins: [...props.allowOrigins],
          allowMethods: [apigwv2.CorsHttpMethod.POST],
          allowHeaders: ['authorization', 'content-type'],
          maxAge: Duration.hours(1),
        },
      }),
    });
  }
}


interface UploadSettings {
  readonly path: string;
  readonly expirySeconds: number;
  readonly memorySize: number;
  readonly throttle: WebhookThrottle;
}

/** Applies defaults and throws on a value the route cannot work with. */
function resolveSettings(props: CloudflareUploadsProps): UploadSettings {
  const path = props.path ?? UploadDefaults.path;
  requireRoutePath('uploads.path', path);
  const expirySeconds = props.defaultExpiry?.toSeconds() ?? UploadDefaults.expirySeconds;
  if (!Number.isInteger(expirySeconds) || expirySeconds < UploadDefaults.minExpirySeconds || expirySeconds > UploadDefaults.maxExpirySeconds) {
    throw new Error(`uploads.defaultExpiry must be whole seconds between 2 minutes and 6 hours (Cloudflare's limits), got ${expirySeconds} s`);
  }
  if (props.jwt && (!props.jwt.issuer.startsWith('https://') || props.jwt.audience.length === 0)) {
    throw new Error('uploads.jwt needs an https:// issuer and at least one audience');
  }
  if (props.allowOrigins && props.allowOrigins.length === 0) throw new Error('uploads.allowOrigins: empty; leave it out for no CORS');
  const memorySize = props.memorySize ?? 256;
  requireNumber('uploads.memorySize', memorySize, { min: 128, max: 10240, integer: true });
  const throttle = props.throttle ?? DEFAULT_UPLOADS_THROTTLE;
  requireNumber('uploads.throttle.rateLimit', throttle.rateLimit, { min: 0 });
  requireNumber('uploads.throttle.burstLimit', throttle.burstLimit, { min: 0, integer: true });
  return { path, expirySeconds, memorySize, throttle };
}

