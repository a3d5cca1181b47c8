/**
 * `front-door refresh-ips`: fetches Cloudflare's published address ranges and makes the front
 * door's two AWS WAF IP sets (`frontDoor.cloudflareAddressesOnly`) hold exactly them.
 *
 * Cloudflare: Notifications webhooks "are sent from Cloudflare's IP ranges", which "may change over
 * time. Periodically check the IP list and update your firewall rules accordingly"
 * (src/content/docs/notifications/get-started/configure-webhooks.mdx, "Firewall settings"). The
 * lists are plain text, one CIDR block a line, at https://www.cloudflare.com/ips-v4 and /ips-v6.
 *
 * Both lists are fetched and checked before anything changes: an IP set emptied or filled with an
 * error page would refuse every genuine delivery. Each set is updated with the lock token of the
 * version read (WAF's own compare-and-swap); if someone changed it meanwhile, it is read again.
 */
import { GetIPSetCommand, UpdateIPSetCommand, WAFOptimisticLockException, WAFV2Client } from '@aws-sdk/client-wafv2';
import { parseCidrList, type IpVersion } from '../lambda/core/cloudflare-ips.js';
import { str } from './command-options.js';
import { CliError, failure, step, UsageError } from './errors.js';
import type { Command } from './index.js';
import { describeStack, flagsClientConfig, StackOutput, type ClientConfig, type TargetFlags } from './target.js';


const CLOUDFLARE_IPS_URL = 'https://www.cloudflare.com';
const FETCH_TIMEOUT_MS = 15_000;
const MAX_LOCK_RETRIES = 3;

/** An IP set as WAF names it: `arn:aws:wafv2:<region>:<account>:<regional|global>/ipset/<name>/<id>`. */
export interface IpSetRef {
  readonly arn: string;
  readonly name: string;
  readonly id: string;
  readonly scope: 'REGIONAL' | 'CLOUDFRONT';
  readonly region: string;
}

export function parseIpSetArn(arn: string): IpSetRef {
  const match = /^arn:[^:]+:wafv2:([^:]+):\d{12}:(regional|global)\/ipset\/([^/]+)\/([^/]+)$/.exec(arn);
  if (!match) throw new UsageError(`not an AWS WAF IP set ARN: '${arn}'`);
  return { arn, region: match[1]!, scope: match[2] === 'regional' ? 'REGIONAL' : 'CLOUDFRONT', name: match[3]!, id: match[4]! };
}

export interface RefreshResult {
  readonly version: IpVersion;
  readonly arn: string;
  readonly result: 'updated' | 'unchanged' | 'planned';
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly count: number;
}

export interface RefreshSettings {
  readonly sets: Readonly<Record<IpVersion, IpSetRef>>;
  /** The text of one of Cloudflare's lists. */
  readonly fetchList: (version: IpVersion) => Promise<string>;
  readonly clientConfig: ClientConfig;
  readonly dryRun?: boolean;
}

export async function refreshIpSets(settings: RefreshSettings): Promise<RefreshResult[]> {
  const versions: IpVersion[] = ['ipv4', 'ipv6'];
  const wanted = {} as Record<IpVersion, string[]>;
  for (const version of versions) {
    try {
      wanted[version] = parseCidrList(await settings.fetchList(version), version);
    } catch (error) {
      throw new CliError(`Cloudflare's ${version} list was not usable, so no IP set was changed: ${(error as Error).message}`, 1, { cause: error });
    }
  }
  const results: RefreshResult[] = [];
  for (const version of versions) {
    const set = settings.sets[version];
    const client = new WAFV2Client({ region: set.region, ...settings.clientConfig });
    try {
      results.push(await refreshOne(client, version, set, wanted[version], settings.dryRun ?? false));
    } finally {
      client.destroy();
    }
  }
  return results;
}

async function refreshOne(client: WAFV2Client, version: IpVersion, set: IpSetRef, wanted: string[], dryRun: boolean): Promise<RefreshResult> {
  const key = { Name: set.name, Id: set.id, Scope: set.scope };
  for (let attempt = 1; ; attempt++) {
    const { IPSet: current, LockToken } = await step(`read the IP set ${set.arn}`, () => client.send(new GetIPSetCommand(key)));
    const have = current?.Addresses ?? [];
    const added = wanted.filter((cidr) => !have.includes(cidr));
    const removed = have.filter((cidr) => !wanted.includes(cidr));
    const base = { version, arn: set.arn, added, removed, count: wanted.length };
    if (added.length === 0 && removed.length === 0) return { ...base, result: 'unchanged' };
    if (dryRun) return { ...base, result: 'planned' };
    try {
      // The description is kept: UpdateIPSet replaces what it is not given.
      await client.send(new UpdateIPSetCommand({ ...key, Addresses: wanted, LockToken, ...(current?.Description && { Description: current.Description }) }));
      return { ...base, result: 'updated' };
    } catch (error) {
      if (!(error instanceof WAFOptimisticLockException) || attempt === MAX_LOCK_RETRIES) throw failure(`update the IP set ${set.arn}`, error);
      // Changed since we read it: read it again and compare anew.
    }
  }
}

function formatRefresh(results: readonly RefreshResult[], dryRun: boolean): string {
  const lines = results.map((r) => {
    const change = [...r.added.map((c) => `+${c}`), ...r.removed.map((c) => `-${c}`)].join(' ');
    const what = r.result === 'unchanged' ? `already holds Cloudflare's ${r.count} ranges` : `${r.result === 'planned' ? 'would hold' : 'now holds'} Cloudflare's ${r.count} ranges: ${change}`;
    return `  ${r.version}  ${r.result.padEnd(9)} ${what}`;
  });
  return [`Cloudflare address ranges → AWS WAF IP sets${dryRun ? ' (dry run: nothing changed)' : ''}`, ...lines].join('\n');
}

/** Fetches `<base>/ips-v4` or `/ips-v6`; anything but a 200 is an error. */
export function cloudflareLists(baseUrl: string): (version: IpVersion) => Promise<string> {
  return async (version) => {
    const url = `${baseUrl.replace(/\/+$/, '')}/ips-${version === 'ipv4' ? 'v4' : 'v6'}`;
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'follow' });
    } catch (error) {
      throw new Error(`could not fetch ${url}: ${(error as Error).message}`);
    }
    if (response.status !== 200) throw new Error(`${url} answered HTTP ${response.status}`);
    return response.text();
  };
}

/** The command as `cli/index.ts` registers it (`lazy`). */
export const runRefreshIps: Command['run'] = async ({ flags, io }) => {
  const clientConfig = flagsClientConfig(flags as TargetFlags);
  let arns = { ipv4: str(flags, 'ipv4-set'), ipv6: str(flags, 'ipv6-set') };
  const stack = str(flags, 'stack');
  if (stack) {
    if (arns.ipv4 || arns.ipv6) throw new UsageError('--stack and --ipv4-set/--ipv6-set exclude each other');
    const outputs = await describeStack(stack, clientConfig);
    arns = { ipv4: outputs[StackOutput.CloudflareIpv4SetArn], ipv6: outputs[StackOutput.CloudflareIpv6SetArn] };
    if (!arns.ipv4 || !arns.ipv6) {
      throw new CliError(`stack ${stack} has no front door IP sets (outputs ${StackOutput.CloudflareIpv4SetArn}, ${StackOutput.CloudflareIpv6SetArn}); deploy it with -c frontDoor=true -c frontDoorCloudflareIpsOnly=true`);
    }
  }
  if (!arns.ipv4 || !arns.ipv6) throw new UsageError('front-door refresh-ips needs --stack NAME, or both --ipv4-set ARN and --ipv6-set ARN');
  const dryRun = flags['dry-run'] === true;
  const results = await refreshIpSets({
    sets: { ipv4: parseIpSetArn(arns.ipv4), ipv6: parseIpSetArn(arns.ipv6) },
    fetchList: cloudflareLists(str(flags, 'ips-url') ?? io.env.CLOUDFLARE_IPS_URL ?? CLOUDFLARE_IPS_URL),
    clientConfig,
    dryRun,
  });
  io.out(flags.json ? JSON.stringify(results, null, 2) : formatRefresh(results, dryRun));
};
