import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateIPSetCommand, GetIPSetCommand, WAFV2Client } from '@aws-sdk/client-wafv2';
import { cloudflareLists, parseIpSetArn, refreshIpSets } from '../../cli/front-door.js';
import { CLOUDFLARE_IP_RANGES } from '../../lambda/core/cloudflare-ips.js';
import { localClientConfig } from '../../local/aws.js';
import { emulatorEnv, FROM_SOURCES, spawnCli } from '../support/cli.js';
import { connectEmulator } from '../support/receiver.js';

// `npm run cli -- front-door refresh-ips` against AWS WAF IP sets in the emulator and a local
// stand-in serving Cloudflare's two lists (https://www.cloudflare.com/ips-v4 and /ips-v6).

/** Cloudflare's list server, serving whatever the test sets. */
async function standIn(lists: { v4: string; v6: string; status?: number }) {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = req.url === '/ips-v4' ? lists.v4 : req.url === '/ips-v6' ? lists.v6 : undefined;
    res.statusCode = body === undefined ? 404 : (lists.status ?? 200);
    res.setHeader('content-type', 'text/plain');
    res.end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lists, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('front-door refresh-ips', () => {
  let endpoint: string;
  let stop: () => Promise<void>;
  let waf: WAFV2Client;
  before(async () => {
    ({ endpoint, stop } = await connectEmulator());
    waf = new WAFV2Client(localClientConfig(endpoint));
  });
  after(() => stop?.());

  /** The two sets as the stack creates them: Cloudflare's ranges of the day the package was made. */
  const createSets = async () => {
    const create = async (version: 'IPV4' | 'IPV6', addresses: readonly string[]) =>
      (await waf.send(new CreateIPSetCommand({ Name: `cf-${version}-${randomUUID().slice(0, 8)}`, Scope: 'REGIONAL', IPAddressVersion: version, Addresses: [...addresses], Description: 'as deployed' }))).Summary!.ARN!;
    return { ipv4: await create('IPV4', CLOUDFLARE_IP_RANGES.ipv4), ipv6: await create('IPV6', CLOUDFLARE_IP_RANGES.ipv6) };
  };
  const addressesOf = async (arn: string) => {
    const { name, id } = parseIpSetArn(arn);
    const { IPSet } = await waf.send(new GetIPSetCommand({ Name: name, Id: id, Scope: 'REGIONAL' }));
    return { addresses: [...(IPSet?.Addresses ?? [])].sort(), description: IPSet?.Description };
  };
  const refresh = (arns: { ipv4: string; ipv6: string }, url: string, dryRun = false) =>
    refreshIpSets({ sets: { ipv4: parseIpSetArn(arns.ipv4), ipv6: parseIpSetArn(arns.ipv6) }, fetchList: cloudflareLists(url), clientConfig: localClientConfig(endpoint), dryRun });

  it('makes each set hold exactly the published list, keeps its description, and changes nothing the second time', async () => {
    const arns = await createSets();
    const v4 = [...CLOUDFLARE_IP_RANGES.ipv4.filter((c) => c !== '131.0.72.0/22'), '198.51.100.0/24'];
    const cloudflare = await standIn({ v4: `${v4.join('\n')}\n`, v6: `${CLOUDFLARE_IP_RANGES.ipv6.join('\n')}\n` });
    try {
      const first = await refresh(arns, cloudflare.url);
      assert.deepEqual(first.map((r) => [r.version, r.result, r.added, r.removed]), [
        ['ipv4', 'updated', ['198.51.100.0/24'], ['131.0.72.0/22']],
        ['ipv6', 'unchanged', [], []],
      ]);
      assert.deepEqual(await addressesOf(arns.ipv4), { addresses: [...v4].sort(), description: 'as deployed' });
      assert.deepEqual(cloudflare.requests.sort(), ['/ips-v4', '/ips-v6']);
      const again = await refresh(arns, cloudflare.url);
      assert.deepEqual(again.map((r) => r.result), ['unchanged', 'unchanged']);
    } finally {
      await cloudflare.close();
    }
  });

  it('changes no set when either list is unusable: an error page, an empty answer, a wrong family, an HTTP error', async () => {
    const arns = await createSets();
    const good = CLOUDFLARE_IP_RANGES.ipv6.join('\n');
    for (const [lists, message] of [
      [{ v4: '<html>Attention required</html>', v6: good }, /ipv4 list was not usable.*not ipv4 CIDR blocks/],
      [{ v4: '198.51.100.0/24', v6: '' }, /ipv6 list was not usable.*empty/],
      [{ v4: '2400:cb00::/32', v6: good }, /not ipv4 CIDR blocks/],
      [{ v4: '198.51.100.0/24', v6: good, status: 503 }, /answered HTTP 503/],
    ] as const) {
      const cloudflare = await standIn(lists);
      try {
        await assert.rejects(refresh(arns, cloudflare.url), message);
      } finally {
        await cloudflare.close();
      }
    }
    assert.deepEqual((await addressesOf(arns.ipv4)).addresses, [...CLOUDFLARE_IP_RANGES.ipv4].sort());
    assert.deepEqual((await addressesOf(arns.ipv6)).addresses, [...CLOUDFLARE_IP_RANGES.ipv6].sort());
  });

  it('as the command a user runs: --dry-run shows the change and makes none, then the run makes it', async () => {
    const arns = await createSets();
    const cloudflare = await standIn({ v4: '198.51.100.0/24\n203.0.113.0/24\n', v6: '2001:db8::/32\n' });
    const env = emulatorEnv(endpoint, { CLOUDFLARE_IPS_URL: cloudflare.url });
    const run = (extra: string[]) =>
      spawnCli(['front-door', 'refresh-ips', '--ipv4-set', arns.ipv4, '--ipv6-set', arns.ipv6, ...extra], env, { entry: FROM_SOURCES });
    try {
      const dry = await run(['--dry-run']);
      assert.equal(dry.code, 0, dry.err);
      assert.match(dry.out, /\(dry run: nothing changed\)/);
      assert.match(dry.out, /ipv4\s+planned\s+would hold Cloudflare's 2 ranges: \+198\.51\.100\.0\/24 \+203\.0\.113\.0\/24 -173\.245\.48\.0\/20/);
      assert.deepEqual((await addressesOf(arns.ipv4)).addresses, [...CLOUDFLARE_IP_RANGES.ipv4].sort());

      const real = await run([]);
      assert.equal(real.code, 0, real.err);
      assert.match(real.out, /ipv4\s+updated\s+now holds Cloudflare's 2 ranges/);
      assert.match(real.out, /ipv6\s+updated\s+now holds Cloudflare's 1 ranges: \+2001:db8::\/32/);
      assert.deepEqual((await addressesOf(arns.ipv6)).addresses, ['2001:db8::/32']);

      const usage = await spawnCli(['front-door', 'refresh-ips'], env, { entry: FROM_SOURCES });
      assert.equal(usage.code, 2);
      assert.match(usage.err, /needs --stack NAME, or both --ipv4-set ARN and --ipv6-set ARN/);
    } finally {
      await cloudflare.close();
    }
  });
});
