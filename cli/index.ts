/**
 * `npm run cli -- <command>`: the developer loop against the local receiver or a deployed
 * stack. `runCli` does the work and returns the exit code, so tests run it in-process.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ItemKind, type DetailType, type Route } from '../lambda/core/contract.js';
import type { SecretSet } from '../lambda/core/secret-format.js';
import { eventBridgePattern, type EventBridgePattern } from '../lambda/core/events.js';
import { CliError, UsageError } from './errors.js';
import { formatEvent, tailEvents } from './events.js';
import { parseSince, positiveInteger } from './format.js';
import { checkedStatuses, createPending, documentClient, formatHistory, formatItems, getItem, kindFlag, listItems, orderedItem } from './images.js';
import { eventsReplayCommand, REPLAY_USAGE } from './replay.js';
import {
  Deliveries,
  Fault,
  Format,
  formatAnswer,
  formatRequest,
  isDeliveryName,
  post,
  prepareDelivery,
  readSecrets,
  secretNeeded,
  type SendRequest,
} from './send.js';
import { required, resolveTarget, targetOptions, type Target, type TargetFlags } from './target.js';
import { imagesUploadCommand, UPLOAD_USAGE } from './upload.js';
import { CONNECT_USAGE, connectOptions, FRONT_DOOR_USAGE, frontDoorOptions, REDRIVE_USAGE, redriveOptions, str, SYNC_USAGE, syncOptions } from './command-options.js';
import { standardInput, type ReadInput } from './tokens.js';

export const USAGE = `Usage: npm run cli -- <command> [options]

  send <delivery> [--id ID]     POST a signed Cloudflare delivery; print the status and body
      <delivery>                  ${Object.keys(Deliveries).join(', ')}
      --format notification|seed  image deliveries as Cloudflare Notifications (cf-webhook-auth,
                                  the default) or as the seed's bare payload (X-Signature)
      --at TIME                   when Cloudflare says it happened: ISO, or 10m for 10 minutes ago
      --stale | --tampered | --unsigned
                                  break the signature to watch the receiver refuse it
      --twice                     send the same bytes twice (the second is a duplicate)
  images get <id>               the item, as JSON
  images list [--status S]... [--kind image|video] [--since 1h|ISO] [--limit N]
                                items by last change, newest first (a query on the byStatus index)
  images history <id>           the transitions the item records
  images create-pending <id> [--kind image|video]
                                the pending item an upload route would create
${SYNC_USAGE}${UPLOAD_USAGE}${REPLAY_USAGE}${REDRIVE_USAGE}  events tail [--seconds N] [--max N] [--detail-type T]... [--kind K]
                                print events as the bus publishes them (default 60 s)
${CONNECT_USAGE}${FRONT_DOOR_USAGE}
Which receiver (default: the one \`npm start\` runs)
  --local                       the local receiver (state file .build/local.json, or $CF_WEBHOOK_LOCAL_STATE)
  --stack NAME [--region R]     a deployed stack, found through its CloudFormation outputs
  --table NAME  --bus NAME  --secret ID  --url BASE  --images-url URL  --stream-url URL
                                explicit names; they override what --stack or --local found
  --endpoint URL                another AWS endpoint, such as an emulator

  --json                        output for scripts
  --help                        this text
`;

export interface CliIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
  /** Standard input, for a secret given there (`connect --token-stdin`); never a command-line argument. */
  readonly readInput?: ReadInput;
}

type Options = ParseArgsConfig['options'];
type Flags = Record<string, string | boolean | string[] | undefined>;

/** A command as `runCli` registers it; `images upload` and `events replay` declare theirs in their own files. */
export interface Command {
  readonly options: Options;
  /** Positional arguments after the command words; a name ending in `?` may be left out (only last ones). */
  readonly positionals: readonly string[];
  readonly run: (args: { flags: Flags; positionals: string[]; io: Required<CliIO> }) => Promise<void>;
}

const common = { ...targetOptions, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

/**
 * A command whose code loads only when it runs: what it alone needs (the Cloudflare SDK for
 * `connect`, the WAF client, the stream client and the relay, the Cloudflare read client) is not
 * paid for by every other command and `--help`. Its options live in cli/command-options.ts; its
 * module exports only the run function.
 */
const lazy = (options: Options, positionals: readonly string[], load: () => Promise<Command['run']>): Command => ({
  options,
  positionals,
  run: async (args) => (await load())(args),
});

const COMMANDS: Readonly<Record<string, Command>> = {
  send: {
    options: {
      id: { type: 'string' },
      format: { type: 'string' },
      at: { type: 'string' },
      stale: { type: 'boolean' },
      tampered: { type: 'boolean' },
      unsigned: { type: 'boolean' },
      twice: { type: 'boolean' },
    },
    positionals: ['delivery'],
    run: send,
  },
  'images get': { options: {}, positionals: ['id'], run: imagesGet },
  'images list': {
    options: { status: { type: 'string', multiple: true }, kind: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' } },
    positionals: [],
    run: imagesList,
  },
  'images history': { options: {}, positionals: ['id'], run: imagesHistory },
  'images create-pending': { options: { kind: { type: 'string' } }, positionals: ['id'], run: imagesCreatePending },
  'images sync': lazy(syncOptions, ['id?'], async () => (await import('./sync.js')).runImagesSync),
  'images upload': imagesUploadCommand,
  'events replay': eventsReplayCommand,
  'events redrive': lazy(redriveOptions, [], async () => (await import('./redrive.js')).runEventsRedrive),
  'events tail': {
    options: {
      seconds: { type: 'string' },
      max: { type: 'string' },
      'detail-type': { type: 'string', multiple: true },
      kind: { type: 'string', multiple: true },
    },
    positionals: [],
    run: eventsTail,
  },
  connect: lazy(connectOptions, [], async () => (await import('./connect.js')).runConnect),
  'front-door refresh-ips': lazy(frontDoorOptions, [], async () => (await import('./front-door.js')).runRefreshIps),
};

export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const full: Required<CliIO> = { env: process.env, signal: new AbortController().signal, now: () => new Date(), readInput: standardInput(), ...io };
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      (argv.length === 0 ? full.err : full.out)(USAGE);
      return argv.length === 0 ? 2 : 0;
    }
    const [name, command, rest] = findCommand(argv);
    const { values: flags, positionals } = parse(name, command, rest);
    if (flags.help) {
      full.out(USAGE);
      return 0;
    }
    await command.run({ flags, positionals, io: full });
    return 0;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    full.err(`error: ${error.message}`);
    if (error instanceof UsageError) full.err('(npm run cli -- --help lists the commands)');
    return error.exitCode;
  }
}

function findCommand(argv: readonly string[]): [string, Command, string[]] {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const command = COMMANDS[name];
    if (command) return [name, command, argv.slice(words)];
  }
  const group = Object.keys(COMMANDS).filter((name) => name.startsWith(`${argv[0]} `));
  if (group.length > 0) throw new UsageError(`${argv[0]} needs one of: ${group.map((name) => name.split(' ')[1]).join(', ')}`);
  throw new UsageError(`unknown command '${argv[0]}'`);
}

function parse(name: string, command: Command, args: string[]): { values: Flags; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...common, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
  const { values, positionals } = parsed;
  const least = command.positionals.filter((p) => !p.endsWith('?')).length;
  if (!values.help && (positionals.length < least || positionals.length > command.positionals.length)) {
    const expected = command.positionals.map((p) => (p.endsWith('?') ? `[<${p.slice(0, -1)}>]` : `<${p}>`)).join(' ') || 'no arguments';
    throw new UsageError(`${name} takes ${expected}, got ${positionals.length ? positionals.join(' ') : 'none'}`);
  }
  return { values: values as Flags, positionals };
}

const list = (flags: Flags, name: string) => flags[name] as string[] | undefined;
const target = (flags: Flags, io: Required<CliIO>): Promise<Target> => resolveTarget(flags as TargetFlags, { env: io.env });

async function send({ flags, positionals: [delivery], io }: Parameters<Command['run']>[0]): Promise<void> {
  const now = io.now();
  const request = sendRequest(flags, delivery!, now);
  const found = await target(flags, io);
  const urls = deliveryUrls(found, Deliveries[request.delivery].route);
  const secrets: SecretSet = secretNeeded(request) ? await readSecrets(found) : { images: [], stream: [], toolkit: [] };
  const prepared = prepareDelivery(request, urls, secrets, now);

  if (!flags.json) io.out(formatRequest(prepared));
  for (let attempt = 0; attempt < (flags.twice ? 2 : 1); attempt++) {
    const answer = await post(prepared);
    io.out(flags.json ? JSON.stringify({ url: prepared.url, delivery: prepared.label, status: answer.status, body: parsedOrText(answer.body) }) : formatAnswer(answer));
  }
}

/** `send`'s flags, checked before anything is read or sent. */
function sendRequest(flags: Flags, delivery: string, now: Date): SendRequest {
  if (!isDeliveryName(delivery)) throw new UsageError(`unknown delivery '${delivery}'; one of ${Object.keys(Deliveries).join(', ')}`);
  const faults = ([Fault.Stale, Fault.Tampered, Fault.Unsigned] as const).filter((fault) => flags[fault]);
  if (faults.length > 1) throw new UsageError(`--${faults.join(' and --')} exclude each other`);
  const format = str(flags, 'format');
  if (format !== undefined && !Object.values(Format).includes(format as Format)) {
    throw new UsageError(`--format is notification or seed, got '${format}'`);
  }
  return {
    delivery,
    id: str(flags, 'id'),
    at: str(flags, 'at') === undefined ? now : new Date(parseSince(str(flags, 'at')!, now, '--at')),
    format: format as Format | undefined,
    fault: faults[0] ?? Fault.None,
  };
}

/** Only the URL the delivery goes to is required: a target that knows just that one will do. */
function deliveryUrls(found: Target, route: Route): { images: string; stream: string } {
  return {
    images: route === 'images' ? required(found, 'imagesUrl') : '',
    stream: route === 'stream' ? required(found, 'streamUrl') : '',
  };
}

async function imagesGet({ flags, positionals: [id], io }: Parameters<Command['run']>[0]): Promise<void> {
  const found = await target(flags, io);
  const item = await getItem(documentClient(found.clientConfig), required(found, 'tableName'), id!);
  io.out(JSON.stringify(orderedItem(item), null, 2));
}

async function imagesList({ flags, io }: Parameters<Command['run']>[0]): Promise<void> {
  const kind = kindFlag(str(flags, 'kind'));
  const statuses = list(flags, 'status');
  const since = str(flags, 'since');
  const query = {
    ...(statuses && { statuses: checkedStatuses(kind, statuses) }),
    ...(kind && { kind }),
    ...(since !== undefined && { since: parseSince(since, io.now()) }),
    limit: positiveInteger('--limit', str(flags, 'limit'), 50),
  };
  const found = await target(flags, io);
  const result = await listItems(documentClient(found.clientConfig), required(found, 'tableName'), query);
  io.out(flags.json ? JSON.stringify(result.items.map(orderedItem), null, 2) : formatItems(result));
}

async function imagesHistory({ flags, positionals: [id], io }: Parameters<Command['run']>[0]): Promise<void> {
  const found = await target(flags, io);
  const item = await getItem(documentClient(found.clientConfig), required(found, 'tableName'), id!);
  io.out(flags.json ? JSON.stringify(item.history ?? [], null, 2) : formatHistory(item));
}

async function imagesCreatePending({ flags, positionals: [id], io }: Parameters<Command['run']>[0]): Promise<void> {
  // The receiver accepts ids up to this length; a longer one could never be delivered to.
  if (id!.length > 1024) throw new UsageError('an id is at most 1024 characters');
  const kind = kindFlag(str(flags, 'kind')) ?? ItemKind.Image;
  const found = await target(flags, io);
  const item = await createPending(documentClient(found.clientConfig), required(found, 'tableName'), id!, kind, io.now());
  if (flags.json) return io.out(JSON.stringify(item, null, 2));
  const next = kind === ItemKind.Video ? 'video-ready' : 'image-uploaded';
  io.out(`created ${id}: ${kind}, pending\nnext: npm run cli -- send ${next} --id ${id}`);
}

async function eventsTail({ flags, io }: Parameters<Command['run']>[0]): Promise<void> {
  let pattern: EventBridgePattern;
  try {
    pattern = eventBridgePattern(
      { detailTypes: list(flags, 'detail-type') as DetailType[] | undefined, kinds: list(flags, 'kind')?.map((kind) => kindFlag(kind)!) },
      { detailTypes: '--detail-type', kinds: '--kind' },
    );
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const max = str(flags, 'max');
  const found = await target(flags, io);
  await tailEvents(found.clientConfig, {
    eventBusName: required(found, 'eventBusName'),
    pattern,
    seconds: positiveInteger('--seconds', str(flags, 'seconds'), 60),
    ...(max !== undefined && { max: positiveInteger('--max', max, 1) }),
    signal: io.signal,
    onEvent: (event) => io.out(flags.json ? JSON.stringify(event) : formatEvent(event)),
    log: io.err,
  });
}

function parsedOrText(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** The process entry: `scripts/cli.mjs` (npm run cli) calls it from the bundle, `tsx cli/index.ts` directly. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  try {
    process.exitCode = await runProcess(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}

async function runProcess(argv: readonly string[]): Promise<number> {
  // The SDK's reminder that releases after early 2027 need Node 22 is noise in a dev tool.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const abort = new AbortController();
  const cleansUp = argv[0] === 'events' && argv[1] === 'tail';
  process.on('SIGINT', () => {
    // The first Ctrl-C lets `events tail` remove its rule and queue; anything else stops at once.
    if (!cleansUp || abort.signal.aborted) process.exit(130);
    abort.abort();
  });
  return runCli(argv, {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    signal: abort.signal,
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
