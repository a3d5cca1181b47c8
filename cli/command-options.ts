/**
 * What `runCli` needs to parse and describe the commands it loads only when they run (cli/index.ts,
 * `lazy`): `connect` pulls in the Cloudflare SDK, `front-door` the WAF client, `events redrive` the
 * stream client and the relay, `images sync` the Cloudflare read client; every other command, and
 * `--help`, would pay for them at start. And `str`, how a command reads a string flag.
 */
import { TOKEN_ENV, tokenOptions } from './tokens.js';

/** A string flag's value as parseArgs left it; undefined when not given. */
export const str = (flags: Readonly<Record<string, unknown>>, name: string) => flags[name] as string | undefined;

export const CONNECT_USAGE = `  connect --account-id ID       register this stack's webhooks with Cloudflare and store their secrets
      Tokens never go on the command line: each comes from its environment variable, or from
      standard input with --token-stdin api|uploads|read (one per run; a hidden prompt at a terminal)
        $CLOUDFLARE_API_TOKEN          Stream Write and Notifications Write (needed)
        $CLOUDFLARE_UPLOADS_API_TOKEN  Images Write: stored for POST /uploads
        $CLOUDFLARE_READ_API_TOKEN     Images Read and Stream Read: stored in the read-only API secret
      --grace 1h                  how long a replaced secret stays accepted (s, m, h, d; 0 = drop at once)
      --rotate                    give the Images destination a new secret even if nothing changed
      --only images|stream        one of the two
      --name NAME                 name of the webhook destination (default: cloudflare-webhook <stack>)
      --uploads-secret ID         the upload route's API secret, without --stack (output CloudflareApiSecretArn)
      --read-secret ID            the read-only API secret, without --stack (output CloudflareReadSecretArn)
      --base-url URL              another Cloudflare API root ($CLOUDFLARE_BASE_URL), e.g. a local fake
      --dry-run                   show what it would do; change nothing
`;

export const connectOptions = {
  'account-id': { type: 'string' },
  'base-url': { type: 'string' },
  grace: { type: 'string' },
  rotate: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  only: { type: 'string' },
  name: { type: 'string' },
  'uploads-secret': { type: 'string' },
  'read-secret': { type: 'string' },
  ...tokenOptions,
} as const;

export const SYNC_USAGE = `  images sync <id>              ask Cloudflare's API what became of the item and apply its answer
  images sync --status S... [--older-than 1h] [--kind image|video] [--limit N]
                                the same for items in those statuses whose last change is older
                                (a query on the byStatus index; default --limit 50)
      --read-secret ID            the read token's secret {"accountId","apiToken"} (default: the
                                  stack's CloudflareReadSecretArn, or local mode's); or the token in
                                  $${TOKEN_ENV.read} with --account-id (never as a flag)
      --base-url URL              another Cloudflare API root ($CLOUDFLARE_BASE_URL)
`;

export const syncOptions = {
  status: { type: 'string', multiple: true },
  'older-than': { type: 'string' },
  kind: { type: 'string' },
  limit: { type: 'string' },
  'read-secret': { type: 'string' },
  'account-id': { type: 'string' },
  'base-url': { type: 'string' },
} as const;

export const REDRIVE_USAGE = `  events redrive [--queue URL] [--max N]
                                send the stream batches the relay gave up on (its dead-letter queue,
                                default: the stack's RelayDeadLetterQueueUrl) through the relay again;
                                a message is deleted once its records are settled
`;

export const redriveOptions = {
  queue: { type: 'string' },
  max: { type: 'string' },
} as const;

export const FRONT_DOOR_USAGE = `  front-door refresh-ips        fetch Cloudflare's published ranges and update the front door's AWS WAF IP sets
      --stack NAME                the sets from its outputs CloudflareIpv4SetArn and CloudflareIpv6SetArn,
      or --ipv4-set ARN --ipv6-set ARN
      --ips-url URL               where the lists are: URL/ips-v4 and URL/ips-v6 ($CLOUDFLARE_IPS_URL;
                                  default https://www.cloudflare.com)
      --dry-run                   show what would change; change nothing
`;

export const frontDoorOptions = { 'ipv4-set': { type: 'string' }, 'ipv6-set': { type: 'string' }, 'ips-url': { type: 'string' }, 'dry-run': { type: 'boolean' } } as const;
