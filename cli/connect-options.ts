/**
 * What `runCli` needs to parse and describe `connect` without loading it: the command itself
 * (cli/connect.ts) pulls in the Cloudflare SDK, which every other command would pay for at start.
 */
import { tokenOptions } from './tokens.js';

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
