/**
 * Which receiver a command talks to: the local one `npm start` runs (found through its state
 * file), a deployed stack (found through its CloudFormation outputs), or names given
 * explicitly. Every command works the same way on each.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { Defaults } from '../lambda/core/contract.js';
import { localClientConfig } from '../local/aws.js';
import { localStatePath, readLocalState } from '../local/state.js';
import { CliError, failure, UsageError } from './errors.js';

/** The stack's output ids, as `lib/webhook-stack.ts` declares them. */
export const StackOutput = {
  ImagesWebhookUrl: 'ImagesWebhookUrl',
  StreamWebhookUrl: 'StreamWebhookUrl',
  TableName: 'TableName',
  EventBusName: 'EventBusName',
  SecretArn: 'SecretArn',
  /** Unless `archiveRetentionDays` is 0; read by `events replay`. */
  EventArchiveArn: 'EventArchiveArn',
  /** With the stream relay; read by `events redrive`. */
  RelayDeadLetterQueueUrl: 'RelayDeadLetterQueueUrl',

  /** Only with the upload route (`-c uploads=true`); read by `connect`. */
  CloudflareApiSecretArn: 'CloudflareApiSecretArn',
  /** The read-only API token's secret `{accountId, apiToken}` (Images Read, Stream Read); written by `connect`. */
  CloudflareReadSecretArn: 'CloudflareReadSecretArn',
  /** Only with the front door's Cloudflare-only option; read by `front-door refresh-ips`. */
  CloudflareIpv4SetArn: 'CloudflareIpv4SetArn',
  CloudflareIpv6SetArn: 'CloudflareIpv6SetArn',
} as const;

/** Settings for the SDK clients: empty in AWS, where the default chain finds region and credentials. */
export interface ClientConfig {
  readonly region?: string;
  readonly endpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface Target {
  /** Where the names came from, for messages. */
  readonly source: string;
  readonly clientConfig: ClientConfig;
  readonly imagesUrl?: string;
  readonly streamUrl?: string;
  readonly tableName?: string;
  readonly eventBusName?: string;
  readonly secretId?: string;
  /** The read-only Cloudflare token's secret (`images sync`). */
  readonly readSecretId?: string;
  readonly eventArchiveArn?: string;
  readonly relayDeadLetterQueueUrl?: string;
  /** Cloudflare's API root, when not the real one (local mode's stand-in). */
  readonly cloudflareBaseUrl?: string;
  /** `POST /uploads` of the local receiver (`images upload`). */
  readonly uploadsUrl?: string;
}

export interface TargetFlags {
  readonly local?: boolean;
  readonly stack?: string;
  readonly region?: string;
  readonly endpoint?: string;
  readonly table?: string;
  readonly bus?: string;
  readonly secret?: string;
  /** The API's base URL; the default webhook paths are appended. */
  readonly url?: string;
  readonly 'images-url'?: string;
  readonly 'stream-url'?: string;
}

export const targetOptions = {
  local: { type: 'boolean' },
  stack: { type: 'string' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  table: { type: 'string' },
  bus: { type: 'string' },
  secret: { type: 'string' },
  url: { type: 'string' },
  'images-url': { type: 'string' },
  'stream-url': { type: 'string' },
} as const;

export type DescribeStackOutputs = (stackName: string, config: ClientConfig) => Promise<Record<string, string>>;

export interface ResolveOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly describeStackOutputs?: DescribeStackOutputs;
}

/** `--region` and `--endpoint` as the SDK clients' settings (unset: the default chain's). */
export function flagsClientConfig({ region, endpoint }: Pick<TargetFlags, 'region' | 'endpoint'>): ClientConfig {
  return { ...(region && { region }), ...(endpoint && { endpoint }) };
}

const EXPLICIT: readonly (keyof TargetFlags)[] = ['table', 'bus', 'secret', 'url', 'images-url', 'stream-url'];

export async function resolveTarget(flags: TargetFlags, options: ResolveOptions = {}): Promise<Target> {
  if (flags.local && flags.stack) throw new UsageError('--local and --stack exclude each other');
  const base = await baseTarget(flags, options);
  return withOverrides(base, flags);
}

async function baseTarget(flags: TargetFlags, { env = process.env, describeStackOutputs = describeStack }: ResolveOptions): Promise<Target> {
  const awsConfig = flagsClientConfig(flags);
  if (flags.stack) {
    const outputs = await describeStackOutputs(flags.stack, awsConfig);
    return { ...targetFromOutputs(outputs), source: `stack ${flags.stack}`, clientConfig: awsConfig };
  }

  const explicit = EXPLICIT.some((flag) => flags[flag] !== undefined);
  if (explicit && !flags.local) return { source: 'the names given', clientConfig: awsConfig };

  const path = localStatePath(env);
  const lookup = await readLocalState(path);
  if (!lookup.found) {
    const hint = flags.local ? 'start it with `npm start`' : 'start one with `npm start`, or name a deployed one with --stack NAME';
    throw new CliError(`${lookup.reason}: ${hint}`);
  }
  const { state } = lookup;
  return {
    source: `the local receiver (npm start, pid ${state.pid})`,
    clientConfig: localClientConfig(flags.endpoint ?? state.endpoint),
    imagesUrl: state.imagesUrl,
    streamUrl: state.streamUrl,
    tableName: state.tableName,
    eventBusName: state.eventBusName,
    secretId: state.secretId,
    // Written by newer `npm start`s only: a command that needs one names the flag that replaces it.
    ...(state.readSecretId && { readSecretId: state.readSecretId }),
    ...(state.eventArchiveArn && { eventArchiveArn: state.eventArchiveArn }),
    ...(state.relayDeadLetterQueueUrl && { relayDeadLetterQueueUrl: state.relayDeadLetterQueueUrl }),
    ...(state.cloudflareBaseUrl && { cloudflareBaseUrl: state.cloudflareBaseUrl }),
    ...(state.uploadsUrl && { uploadsUrl: state.uploadsUrl }),
  };
}

function withOverrides(base: Target, flags: TargetFlags): Target {
  const url = flags.url?.replace(/\/+$/, '');
  return {
    ...base,
    imagesUrl: flags['images-url'] ?? (url !== undefined ? url + Defaults.imagesPath : base.imagesUrl),
    streamUrl: flags['stream-url'] ?? (url !== undefined ? url + Defaults.streamPath : base.streamUrl),
    tableName: flags.table ?? base.tableName,
    eventBusName: flags.bus ?? base.eventBusName,
    secretId: flags.secret ?? base.secretId,
  };
}

/** Only the outputs present are used: a command fails on the one it needs, naming it. */
export function targetFromOutputs(outputs: Readonly<Record<string, string>>): Omit<Target, 'source' | 'clientConfig'> {
  const pick = (key: string) => outputs[key] || undefined;
  return {
    imagesUrl: pick(StackOutput.ImagesWebhookUrl),
    streamUrl: pick(StackOutput.StreamWebhookUrl),
    tableName: pick(StackOutput.TableName),
    eventBusName: pick(StackOutput.EventBusName),
    secretId: pick(StackOutput.SecretArn),
    // Outputs of optional parts of the stack: present only when the stack has them.
    ...(pick(StackOutput.CloudflareReadSecretArn) && { readSecretId: pick(StackOutput.CloudflareReadSecretArn) }),
    ...(pick(StackOutput.EventArchiveArn) && { eventArchiveArn: pick(StackOutput.EventArchiveArn) }),
    ...(pick(StackOutput.RelayDeadLetterQueueUrl) && { relayDeadLetterQueueUrl: pick(StackOutput.RelayDeadLetterQueueUrl) }),
  };
}

/** A stack's CloudFormation outputs by key; shared by every command that takes --stack. */
export const describeStack: DescribeStackOutputs = async (stackName, config) => {
  const client = new CloudFormationClient(config);
  try {
    const { Stacks = [] } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = Stacks[0]?.Outputs ?? [];
    return Object.fromEntries(outputs.flatMap((o) => (o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue]] : [])));
  } catch (error) {
    const { name, message } = error as Error;
    if (name === 'ValidationError' && /does not exist/.test(message)) {
      const region = await client.config.region().catch(() => 'the default region');
      throw new CliError(`stack ${stackName} does not exist in ${region} (pass --region?)`, 1, { cause: error });
    }
    throw failure(`read stack ${stackName}`, error);
  } finally {
    client.destroy();
  }
};

/** The value a command cannot work without, or a message saying how to provide it. */
export function required(
  target: Target,
  field: 'imagesUrl' | 'streamUrl' | 'tableName' | 'eventBusName' | 'secretId' | 'eventArchiveArn' | 'relayDeadLetterQueueUrl',
): string {
  const value = target[field];
  if (value) return value;
  const flag = {
    imagesUrl: '--images-url or --url',
    streamUrl: '--stream-url or --url',
    tableName: '--table',
    eventBusName: '--bus',
    secretId: '--secret',
    eventArchiveArn: '--archive ARN (the stack has none with archiveRetentionDays 0)',
    relayDeadLetterQueueUrl: '--queue URL',
  }[field];
  throw new CliError(`no ${field} from ${target.source}: pass ${flag}`);
}
