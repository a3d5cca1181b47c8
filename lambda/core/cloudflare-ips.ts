import { isIPv4, isIPv6 } from 'node:net';

/**
 * Cloudflare's published address ranges, https://www.cloudflare.com/ips-v4 and /ips-v6, as the
 * front door's IP sets start out. Cloudflare documents that Notifications webhooks (how Images
 * uploads are reported) are sent from these ranges ("Firewall settings" in
 * src/content/docs/notifications/get-started/configure-webhooks.mdx of cloudflare/cloudflare-docs),
 * and that they "may change over time": `npm run cli -- front-door refresh-ips` fetches the lists
 * and updates a deployed stack's IP sets in place.
 */
export const CLOUDFLARE_IP_RANGES = {
  /** When these were copied from the two lists. */
  asOf: '2026-11-27',
  ipv4: [
    '173.245.48.0/20',
    '103.21.244.0/22',
    '103.22.200.0/22',
    '103.31.4.0/22',
    '141.101.64.0/18',
    '108.162.192.0/18',
    '190.93.240.0/20',
    '188.114.96.0/20',
    '197.234.240.0/22',
    '198.41.128.0/17',
    '162.158.0.0/15',
    '104.16.0.0/13',
    '104.24.0.0/14',
    '172.64.0.0/13',
    '131.0.72.0/22',
  ],
  ipv6: ['2400:cb00::/32', '2606:4700::/32', '2803:f800::/32', '2405:b500::/32', '2405:8100::/32', '2a06:98c0::/29', '2c0f:f248::/32'],
} as const;

export type IpVersion = 'ipv4' | 'ipv6';

/** AWS WAF's limit on the addresses of one IP set. */
const MAX_IP_SET_ADDRESSES = 10_000;

/**
 * One CIDR block per line (the format of Cloudflare's lists), each checked: an IP set that held
 * garbage, or nothing, would refuse every genuine delivery, so a list that is not entirely valid
 * is refused whole.
 */
export function parseCidrList(text: string, version: IpVersion): string[] {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  if (lines.length === 0) throw new Error(`the ${version} list is empty`);
  if (lines.length > MAX_IP_SET_ADDRESSES) throw new Error(`the ${version} list has ${lines.length} entries; an AWS WAF IP set holds at most ${MAX_IP_SET_ADDRESSES}`);
  const bad = lines.filter((line) => !isCidr(line, version));
  if (bad.length > 0) throw new Error(`the ${version} list has entries that are not ${version} CIDR blocks: ${bad.slice(0, 3).map((b) => JSON.stringify(b.slice(0, 60))).join(', ')}`);
  return [...new Set(lines)];
}

export function isCidr(text: string, version: IpVersion): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) return false;
  const bits = Number(match[2]);
  // AWS WAF takes /1 to /32 (IPv4) and /1 to /128 (IPv6), not /0.
  return bits >= 1 && (version === 'ipv4' ? isIPv4(match[1]!) && bits <= 32 : isIPv6(match[1]!) && bits <= 128);
}
