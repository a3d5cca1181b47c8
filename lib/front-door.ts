import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { CLOUDFLARE_IP_RANGES, isCidr, type IpVersion } from '../lambda/core/cloudflare-ips.js';
import { SIGNATURE_HEADERS } from '../lambda/core/contract.js';
import { RejectReason, SignatureError } from '../lambda/core/errors.js';
import { answerLogFields, jsonAccessLogFormat } from './http-api.js';
import type { WebhookThrottle } from './webhook-receiver.js';
import { requireNumber } from './validation.js';

/*
 * Why a REST API with a regional web ACL, and not CloudFront + WAF in front of the HTTP API
 * (measured and argued in README › Security):
 *
 * - Nothing goes around it. The web ACL is attached to the API's stage, so every request to the
 *   stage, by any hostname, meets it before throttling, authorizers or the function. In front of
 *   an HTTP API (which takes no web ACL), CloudFront leaves the API's own endpoint reachable: a
 *   secret origin header checked by the function stops the work but not the flood, which still
 *   uses the stage's throttle and the function's concurrency; a custom domain with the default
 *   endpoint disabled is just as public as the endpoint it replaces.
 * - One region, one stack. A CLOUDFRONT-scope web ACL and its IP sets must be created in
 *   us-east-1: a stack elsewhere would need a second stack there and a cross-region reference,
 *   and `refresh-ips` would have to update another region's IP sets.
 * - It costs more per genuine delivery: REST $3.50 per million requests against HTTP $1.00 (plus
 *   WAF's $0.60 either way, against CloudFront's $1.00 + HTTP's $1.00). At webhook volumes the
 *   fixed part dominates, and it is the same web ACL and rules in both designs.
 */

/** The rules of the web ACL, by name (also their CloudWatch metric names' suffix and the log's terminatingRuleId). */
export const FrontDoorRule = {
  /** Only with `cloudflareAddressesOnly`: every request but a Stream one must come from Cloudflare's ranges. */
  CloudflareAddresses: 'CloudflareAddressesOnly',
  /** No `cf-webhook-auth`, `webhook-signature`, `x-signature` or `x-cloudflare-signature`: answered 401 here, as the function would. */
  SignatureHeader: 'SignatureHeaderRequired',
  /** More than `rateLimitPerIp` requests from one address in the window: 429 until it slows down. */
  RatePerIp: 'RatePerIp',
} as const;

// The headers the SignatureHeaderRequired rule looks for: those lambda/webhook/verify.ts reads, from the contract.
export { SIGNATURE_HEADERS };

/** The REST API's one stage; the webhook URLs are `https://<api>.execute-api.<region>.amazonaws.com/prod/<path>`. */
export const FRONT_DOOR_STAGE = 'prod';

export interface WebhookFrontDoorOptions {
  /**
   * Requests one client address may send within `rateWindow`; above it, its requests are answered
   * 429 by AWS WAF until its rate falls back below the limit. Keep it under the stage's throttle
   * (per second × window) so that no single address can use the whole of it.
   * @default 600 (10 per second on average over a minute)
   */
  readonly rateLimitPerIp?: number;
  /**
   * The window the rate is counted over: 1, 2, 5 or 10 minutes.
   * @default Duration.minutes(1)
   */
  readonly rateWindow?: Duration;
  /**
   * Refuse (403) every request that is not for the Stream route unless it comes from Cloudflare's
   * published ranges (`lib/cloudflare-ips.ts`; refresh with `npm run cli -- front-door refresh-ips`).
   * Cloudflare documents that Notifications, which carry Images uploads, come from these ranges;
   * it documents no source for Stream webhooks, so the Stream route is left to the other rules.
   * Cloudflare's ranges also carry its customers' Workers: this narrows who can reach the function,
   * it does not authenticate them.
   * @default false
   */
  readonly cloudflareAddressesOnly?: boolean;
}

export interface WebhookFrontDoorProps extends WebhookFrontDoorOptions {
  /** The webhook function. */
  readonly handler: lambda.IFunction;
  readonly imagesPath: string;
  readonly streamPath: string;
  /** Per-method throttle of the stage (the same limits the HTTP API's stage would have). */
  readonly throttle: WebhookThrottle;
  readonly logRetention: logs.RetentionDays;
}

const DEFAULT_RATE_LIMIT_PER_IP = 600;
const RATE_WINDOWS_SECONDS = [60, 120, 300, 600] as const;

/**
 * The webhooks behind AWS WAF: a REST API (regional) whose stage carries a web ACL that refuses
 * unsigned requests and per-address floods, and optionally anything not from Cloudflare, before
 * API Gateway throttles, bills an integration or invokes the function.
 */
export class WebhookFrontDoor extends Construct {
  public readonly restApi: apigateway.RestApi;
  public readonly webAcl: wafv2.CfnWebACL;
  /** Cloudflare's ranges, when `cloudflareAddressesOnly` is set; `refresh-ips` updates them. */
  public readonly ipSets?: Readonly<Record<IpVersion, wafv2.CfnIPSet>>;
  /** The two POST methods, in the order images, stream. */
  public readonly methods: readonly apigateway.Method[];
  public readonly imagesWebhookUrl: string;
  public readonly streamWebhookUrl: string;

  constructor(scope: Construct, id: string, props: WebhookFrontDoorProps) {
    super(scope, id);
    const rate = resolveRate(props);
    // The address rule exempts paths containing the Stream path; it must not exempt the Images route.
    if (props.cloudflareAddressesOnly && props.imagesPath.includes(props.streamPath)) {
      throw new Error(`frontDoor.cloudflareAddressesOnly: imagesPath '${props.imagesPath}' contains streamPath '${props.streamPath}'`);
    }

    this.restApi = this.createRestApi(props);
    const integration = new apigateway.LambdaIntegration(props.handler, { proxy: true, allowTestInvoke: false });
    this.methods = [props.imagesPath, props.streamPath].map((path) => this.restApi.root.resourceForPath(path).addMethod('POST', integration));
    this.imagesWebhookUrl = this.restApi.urlForPath(props.imagesPath);
    this.streamWebhookUrl = this.restApi.urlForPath(props.streamPath);

    if (props.cloudflareAddressesOnly) this.ipSets = this.createIpSets();
    this.webAcl = this.createWebAcl(props.streamPath, rate);
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.restApi.deploymentStage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }

  private createRestApi(props: WebhookFrontDoorProps): apigateway.RestApi {
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    return new apigateway.RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-cloudflare-webhooks`,
      description: 'Cloudflare Images and Stream webhooks, behind AWS WAF',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Every body reaches the function base64-encoded, so it verifies the exact bytes sent.
      binaryMediaTypes: ['*/*'],
      // Execution logging needs the account-wide API Gateway CloudWatch role, which a construct
      // must not take over; the access log below records every request, WAF's verdict included.
      cloudWatchRole: false,
      deployOptions: {
        stageName: FRONT_DOOR_STAGE,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: restAccessLogFormat(),
      },
    });
  }

  private createIpSets(): Record<IpVersion, wafv2.CfnIPSet> {
    const ipSet = (version: IpVersion) =>
      new wafv2.CfnIPSet(this, version === 'ipv4' ? 'CloudflareIpv4' : 'CloudflareIpv6', {
        scope: 'REGIONAL',
        ipAddressVersion: version.toUpperCase(),
        addresses: [...CLOUDFLARE_IP_RANGES[version]].filter((cidr) => isCidr(cidr, version)),
        // CloudFormation's pattern for this field allows no quotes, parentheses or semicolons.
        description: `Cloudflare published ${version} ranges as of ${CLOUDFLARE_IP_RANGES.asOf} - refresh with npm run cli -- front-door refresh-ips`,
      });
    return { ipv4: ipSet('ipv4'), ipv6: ipSet('ipv6') };
  }

  /** Rules in order of priority: Cloudflare's addresses (if asked for), the signature header, the rate per address. */
  private createWebAcl(streamPath: string, rate: WafRate): wafv2.CfnWebACL {
    const metricPrefix = Names.uniqueId(this).slice(-100);
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName: `${metricPrefix}${name}`,
      sampledRequestsEnabled: true,
    });
    const rules = [
      ...(this.ipSets ? [cloudflareAddressesRule(this.ipSets, streamPath)] : []),
      signatureHeaderRule(),
      ratePerIpRule(rate),
    ].map(({ name, action, statement }, priority): wafv2.CfnWebACL.RuleProperty => ({ name, priority, action, statement, visibilityConfig: visibility(name) }));

    return new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'Cloudflare webhooks: signature header required, per-address rate limit, optionally Cloudflare addresses only',
      defaultAction: { allow: {} },
      customResponseBodies: CUSTOM_RESPONSE_BODIES,
      rules,
      visibilityConfig: visibility('WebAcl'),
    });
  }
}

/** A rule of the web ACL before its priority and metrics are given. */
type WafRule = Required<Pick<wafv2.CfnWebACL.RuleProperty, 'name' | 'action' | 'statement'>>;
type WafRate = { limit: number; windowSeconds: number };

/** The function's own answer to a request without a signature (the error table's), given by the web ACL instead. */
const MISSING_SIGNATURE = new SignatureError(RejectReason.Missing).answer();

/** The same answers the function gives, so a client cannot tell which of the two refused it. */
const CUSTOM_RESPONSE_BODIES: Record<string, wafv2.CfnWebACL.CustomResponseBodyProperty> = {
  'missing-signature': { contentType: 'APPLICATION_JSON', content: JSON.stringify(MISSING_SIGNATURE.body) },
  forbidden: { contentType: 'APPLICATION_JSON', content: JSON.stringify({ error: 'forbidden' }) },
  'too-many-requests': { contentType: 'APPLICATION_JSON', content: JSON.stringify({ error: 'too many requests' }) },
};

function cloudflareAddressesRule(ipSets: Readonly<Record<IpVersion, wafv2.CfnIPSet>>, streamPath: string): WafRule {
  return {
    name: FrontDoorRule.CloudflareAddresses,
    action: { block: { customResponse: { responseCode: 403, customResponseBodyKey: 'forbidden' } } },
    statement: {
      andStatement: {
        statements: [
          not({ orStatement: { statements: [ipSets.ipv4, ipSets.ipv6].map((set) => ({ ipSetReferenceStatement: { arn: set.attrArn } })) } }),
          // Every path but the Stream route's: a request that routes nowhere is refused too.
          not({
            byteMatchStatement: {
              fieldToMatch: { uriPath: {} },
              positionalConstraint: 'CONTAINS',
              searchString: streamPath,
              textTransformations: [{ priority: 0, type: 'URL_DECODE' }],
            },
          }),
        ],
      },
    },
  };
}

function signatureHeaderRule(): WafRule {
  return {
    name: FrontDoorRule.SignatureHeader,
    action: { block: { customResponse: { responseCode: MISSING_SIGNATURE.status, customResponseBodyKey: 'missing-signature' } } },
    statement: not({
      orStatement: {
        statements: SIGNATURE_HEADERS.map((name) => ({
          sizeConstraintStatement: {
            fieldToMatch: { singleHeader: { Name: name } },
            comparisonOperator: 'GT',
            size: 0,
            textTransformations: [{ priority: 0, type: 'NONE' }],
          },
        })),
      },
    }),
  };
}

function ratePerIpRule(rate: WafRate): WafRule {
  return {
    name: FrontDoorRule.RatePerIp,
    action: {
      block: { customResponse: { responseCode: 429, customResponseBodyKey: 'too-many-requests', responseHeaders: [{ name: 'retry-after', value: String(rate.windowSeconds) }] } },
    },
    statement: { rateBasedStatement: { aggregateKeyType: 'IP', limit: rate.limit, evaluationWindowSec: rate.windowSeconds } },
  };
}

function not(statement: wafv2.CfnWebACL.StatementProperty): wafv2.CfnWebACL.StatementProperty {
  return { notStatement: { statement } };
}

function resolveRate(props: WebhookFrontDoorOptions): WafRate {
  const limit = props.rateLimitPerIp ?? DEFAULT_RATE_LIMIT_PER_IP;
  // AWS WAF's bounds for a rate-based rule's limit.
  requireNumber('frontDoor.rateLimitPerIp', limit, { min: 10, max: 2_000_000_000, integer: true });
  const windowSeconds = props.rateWindow?.toSeconds() ?? 60;
  if (!(RATE_WINDOWS_SECONDS as readonly number[]).includes(windowSeconds)) {
    throw new Error(`frontDoor.rateWindow must be 1, 2, 5 or 10 minutes (AWS WAF's evaluation windows), got ${windowSeconds} s`);
  }
  return { limit, windowSeconds };
}

/** One JSON object per request, with WAF's verdict, so Logs Insights can count what the web ACL refused. */
function restAccessLogFormat(): apigateway.AccessLogFormat {
  const field = apigateway.AccessLogField;
  return jsonAccessLogFormat({
    httpMethod: field.contextHttpMethod(),
    resourcePath: field.contextResourcePath(),
    ...answerLogFields(),
    wafStatus: field.contextWafStatus(),
    wafResponseCode: field.contextWafResponseCode(),
  });
}
