import { readFileSync } from 'node:fs';
import { App, Duration, type Environment } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ConfirmMode, type UnknownIdPolicy } from '../lambda/core/contract.js';
import type { WebhookAlarmOptions } from './observability/index.js';
import { DEFAULT_THROTTLE, type CloudflareWebhookReceiverProps, type WebhookLogLevel, type WebhookThrottle } from './webhook-receiver.js';
import { CloudflareWebhookStack } from './webhook-stack.js';
import { DEFAULT_UPLOADS_THROTTLE } from './uploads.js';

/*
 * Optional CDK context (`cdk synth -c key=value`, or "context" in cdk.json). Unset keys take
 * the construct's defaults. Values given with -c arrive as strings and are parsed here.
 *
 *   account                       AWS account id (12 digits)          default $CDK_DEFAULT_ACCOUNT
 *   region                        AWS region, e.g. eu-west-1          default $CDK_DEFAULT_REGION
 *   stackName                     stack name                          default CloudflareWebhook
 *   imagesPath                    route of the Images webhook         default /webhooks/images
 *   streamPath                    route of the Stream webhook         default /webhooks/stream
 *   throttleRateLimit             stage rate limit, requests/second   default 50
 *   throttleBurstLimit            stage burst limit, requests         default 100
 *   frontDoor                     'true': webhooks behind AWS WAF     default off (README › Security: cost)
 *   frontDoorRateLimit            requests per address per window     default 600
 *   frontDoorRateWindowMinutes    1, 2, 5 or 10                       default 1
 *   frontDoorCloudflareIpsOnly    'true': Images only from Cloudflare default off
 *   maxBodyBytes                  largest accepted body               default 65536
 *   signatureToleranceSeconds     allowed clock skew of signatures    default 300
 *   unknownIdPolicy               'reject' | 'record'                 default reject
 *   memorySize                    function memory, MB                 default 256
 *   logRetentionDays              a CloudWatch retention in days      default 30
 *   logLevel                      Powertools log level                default INFO
 *   reservedConcurrentExecutions  function concurrency cap            default none
 *   uploads                       'true': add POST /uploads (IAM)     default off
 *   uploadsJwtIssuer              JWT authorizer issuer for /uploads  default none (IAM)
 *   uploadsJwtAudience            its audiences, comma-separated
 *   uploadsAllowOrigins           CORS origins, comma-separated       default none
 *   uploadsThrottleRateLimit      upload API rate limit, requests/s   default 4
 *   uploadsThrottleBurstLimit     upload API burst limit              default 20
 *   expirySweepMinutes            sweep interval; 0 turns it off      default 5
 *   videoPendingHours             sweep asks Cloudflare about videos
 *                                 pending this long; 0 turns it off   default 24
 *   confirmWithCloudflare         'unconfirmed' | 'always' | 'never'  default unconfirmed
 *   cloudflareReadToken           'false': no read-token secret, so
 *                                 nothing is confirmed or recovered   default on
 *   relay                         'false': no stream relay            default on
 *   archiveRetentionDays          days the event archive keeps; 0 off default 30
 *   statusIndex                   'false': no byStatus index          default on
 *   metricsNamespace              CloudWatch namespace of the metrics default CloudflareWebhook
 *   alarms                        'false': create no alarms           default on
 *   alarmTopicArn                 existing SNS topic for the alarms   default none
 *   alarmTopic                    'true': a new SNS topic for them    default none
 *   api5xxRatePercent             Api5xxRate threshold, percent       default 5
 *   signatureRejections           SignatureRejections per 5 minutes   default 20
 *   noDeliveryHours               NoSuccessfulDelivery after N hours  default off
 *   dashboard                     'false': no CloudWatch dashboard    default on
 *   eventSchemas                  'true': schema registry of events   default off
 */

const DEFAULT_STACK_NAME = 'CloudflareWebhook';

export interface CreateAppOptions {
  /** Cloud assembly directory. @default - `CDK_OUTDIR` when run by the CLI, else a temp dir */
  readonly outdir?: string;
  /** Extra context, e.g. the keys above. Context given to the CLI still wins. */
  readonly context?: Record<string, unknown>;
}

export function createApp(options: CreateAppOptions = {}): { app: App; stack: CloudflareWebhookStack } {
  const app = new App({
    outdir: options.outdir,
    context: { ...cdkJsonContext(), ...options.context },
  });
  const setting = contextSettings(app);

  const receiver: CloudflareWebhookReceiverProps = {
    imagesPath: setting.string('imagesPath'),
    streamPath: setting.string('streamPath'),
    throttle: throttleFrom(setting, 'throttleRateLimit', 'throttleBurstLimit', DEFAULT_THROTTLE),
    maxBodyBytes: setting.number('maxBodyBytes'),
    signatureToleranceSeconds: setting.number('signatureToleranceSeconds'),
    // The construct validates both against their allowed values.
    unknownIdPolicy: setting.string('unknownIdPolicy') as UnknownIdPolicy | undefined,
    logLevel: setting.string('logLevel')?.toUpperCase() as WebhookLogLevel | undefined,
    memorySize: setting.number('memorySize'),
    logRetention: setting.number('logRetentionDays') as logs.RetentionDays | undefined,
    reservedConcurrentExecutions: setting.number('reservedConcurrentExecutions'),
    ...frontDoorSettings(setting),
    ...uploadSettings(setting),
    ...sweepSettings(setting),
    statusIndex: setting.boolean('statusIndex'),
    ...truthSettings(setting),
    ...observabilitySettings(setting),
  };

  const stackName = setting.string('stackName') ?? DEFAULT_STACK_NAME;
  const stack = new CloudflareWebhookStack(app, stackName, {
    stackName,
    env: deployEnvironment(setting),
    description: 'Receives Cloudflare Images and Stream webhooks: HTTP API, Lambda, DynamoDB, EventBridge',
    receiver,
  });
  return { app, stack };
}

/**
 * The CLI applies cdk.json's context (feature flags among it) and `versionReporting`; an
 * in-process synth (tests, scripts/build.ts) would not, and would produce a different
 * template from the one deployed. Reading them here keeps both identical.
 */
function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
    versionReporting?: boolean;
  };
  return {
    ...cdkJson.context,
    ...(cdkJson.versionReporting === false ? { 'aws:cdk:version-reporting': false } : {}),
  };
}

/**
 * Where the stack deploys. Context `account`/`region` pin it: the CLI then refuses credentials
 * for another account instead of deploying there. Unset, each falls back to what the CDK CLI
 * derives from the credentials and profile (CDK_DEFAULT_ACCOUNT, CDK_DEFAULT_REGION); with
 * neither, the stack is environment-agnostic, which it can be: it looks nothing up and names
 * no region or zone, so the same template deploys wherever the credentials point.
 */
function deployEnvironment(setting: ContextSettings): Environment | undefined {
  const account = setting.string('account');
  const region = setting.string('region');
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    throw new Error(`Context account must be a 12-digit AWS account id, got '${account}'`);
  }
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new Error(`Context region must be an AWS region code such as eu-west-1, got '${region}'`);
  }
  const env = {
    account: account ?? (process.env.CDK_DEFAULT_ACCOUNT || undefined),
    region: region ?? (process.env.CDK_DEFAULT_REGION || undefined),
  };
  return env.account === undefined && env.region === undefined ? undefined : env;
}

/** AWS WAF in front of the webhooks (issue 15); off unless asked for, since it costs a fixed amount a month. */
function frontDoorSettings(setting: ContextSettings): Pick<CloudflareWebhookReceiverProps, 'frontDoor'> {
  const rateLimitPerIp = setting.number('frontDoorRateLimit');
  const windowMinutes = setting.number('frontDoorRateWindowMinutes');
  const cloudflareAddressesOnly = setting.boolean('frontDoorCloudflareIpsOnly');
  if (!setting.boolean('frontDoor')) {
    const given = Object.entries({ frontDoorRateLimit: rateLimitPerIp, frontDoorRateWindowMinutes: windowMinutes, frontDoorCloudflareIpsOnly: cloudflareAddressesOnly })
      .filter(([, value]) => value !== undefined)
      .map(([key]) => key);
    if (given.length > 0) throw new Error(`Context ${given.join(', ')} configure the front door: add -c frontDoor=true`);
    return {};
  }
  return {
    frontDoor: {
      ...(rateLimitPerIp !== undefined && { rateLimitPerIp }),
      ...(windowMinutes !== undefined && { rateWindow: Duration.minutes(windowMinutes) }),
      ...(cloudflareAddressesOnly !== undefined && { cloudflareAddressesOnly }),
    },
  };
}

/** The upload route (issue 4); off unless asked for. */
function uploadSettings(setting: ContextSettings): Pick<CloudflareWebhookReceiverProps, 'uploads'> {
  const issuer = setting.string('uploadsJwtIssuer');
  const origins = setting.list('uploadsAllowOrigins');
  const enabled = setting.boolean('uploads') === true || issuer !== undefined;
  const throttle = throttleFrom(setting, 'uploadsThrottleRateLimit', 'uploadsThrottleBurstLimit', DEFAULT_UPLOADS_THROTTLE);
  if (!enabled) return {};
  return {
    uploads: {
      ...(issuer !== undefined && { jwt: { issuer, audience: setting.list('uploadsJwtAudience') ?? [] } }),
      ...(origins && { allowOrigins: origins }),
      ...(throttle && { throttle }),
    },
  };
}

/** The expiry sweep: on by default for a table the construct creates; `expirySweepMinutes=0` turns it off. */
function sweepSettings(setting: ContextSettings): Pick<CloudflareWebhookReceiverProps, 'expirySweep'> {
  const minutes = setting.number('expirySweepMinutes');
  const videoHours = setting.number('videoPendingHours');
  // Duration's own error for a negative amount would not say which key it came from.
  for (const [key, value] of [['expirySweepMinutes', minutes], ['videoPendingHours', videoHours]] as const) {
    if (value !== undefined && value < 0) throw new Error(`Context ${key} must be 0 or more, got ${value}`);
  }
  if (minutes === undefined && videoHours === undefined) return {};
  if (minutes === 0) return { expirySweep: false };
  return {
    expirySweep: {
      ...(minutes !== undefined && { schedule: Duration.minutes(minutes) }),
      ...(videoHours !== undefined && { videoPendingAge: Duration.hours(videoHours) }),
    },
  };
}

/** Cloudflare's API as the source of truth, the relay and the archive (issues 13 and 14). */
function truthSettings(setting: ContextSettings): Pick<CloudflareWebhookReceiverProps, 'confirmWithCloudflare' | 'cloudflareReadSecret' | 'relay' | 'archiveRetentionDays'> {
  const readToken = setting.boolean('cloudflareReadToken');
  const mode = setting.string('confirmWithCloudflare');
  if (readToken === false && mode !== undefined && mode !== ConfirmMode.Never) {
    throw new Error(`Context confirmWithCloudflare=${mode} needs the read token; cloudflareReadToken=false leaves none`);
  }
  return {
    // The construct checks the value against ConfirmMode.
    confirmWithCloudflare: mode as ConfirmMode | undefined,
    ...(readToken === false && { cloudflareReadSecret: false as const }),
    relay: setting.boolean('relay'),
    archiveRetentionDays: setting.number('archiveRetentionDays'),
  };
}

/** Alarms, dashboard, schema registry and metrics namespace (issue 7). */
function observabilitySettings(
  setting: ContextSettings,
): Pick<CloudflareWebhookReceiverProps, 'alarms' | 'dashboard' | 'eventSchemas' | 'metricsNamespace'> {
  const topicArn = setting.string('alarmTopicArn');
  const newTopic = setting.boolean('alarmTopic');
  if (topicArn !== undefined && newTopic) throw new Error('Context alarmTopicArn and alarmTopic=true exclude each other');
  const alarms: WebhookAlarmOptions = {
    ...(topicArn !== undefined && { topic: topicArn }),
    ...(newTopic && { topic: true as const }),
    api5xxRatePercent: setting.number('api5xxRatePercent'),
    signatureRejectionsPerFiveMinutes: setting.number('signatureRejections'),
    noDeliveryHours: setting.number('noDeliveryHours'),
  };
  const alarmsOn = setting.boolean('alarms');
  if (alarmsOn === false && Object.values(alarms).some((value) => value !== undefined)) {
    throw new Error('Context alarms=false leaves nothing for the other alarm settings to configure');
  }
  return {
    alarms: alarmsOn === false ? false : alarms,
    dashboard: setting.boolean('dashboard'),
    eventSchemas: setting.boolean('eventSchemas'),
    metricsNamespace: setting.string('metricsNamespace'),
  };
}

type ContextSettings = ReturnType<typeof contextSettings>;

/** A stage throttle from its two context keys, the one not given taken from `defaults`; undefined when neither is. */
function throttleFrom(setting: ContextSettings, rateKey: string, burstKey: string, defaults: WebhookThrottle): WebhookThrottle | undefined {
  const rateLimit = setting.number(rateKey);
  const burstLimit = setting.number(burstKey);
  if (rateLimit === undefined && burstLimit === undefined) return undefined;
  return { rateLimit: rateLimit ?? defaults.rateLimit, burstLimit: burstLimit ?? defaults.burstLimit };
}

/** The context keys above, parsed; an unset, null or empty key reads as undefined. */
function contextSettings(app: App) {
  const string = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    return String(value);
  };
  return {
    string,
    number(key: string): number | undefined {
      const text = string(key);
      if (text === undefined) return undefined;
      const parsed = Number(text);
      if (!Number.isFinite(parsed)) {
        throw new Error(`Context ${key} must be a number, got '${text}'`);
      }
      return parsed;
    },
    boolean(key: string): boolean | undefined {
      const text = string(key)?.toLowerCase();
      if (text === undefined) return undefined;
      if (text !== 'true' && text !== 'false') throw new Error(`Context ${key} must be true or false, got '${text}'`);
      return text === 'true';
    },
    /** Comma-separated, trimmed, empty items dropped. */
    list: (key: string): string[] | undefined => string(key)?.split(',').map((v) => v.trim()).filter(Boolean),
  };
}
