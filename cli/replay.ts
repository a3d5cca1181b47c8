/**
 * `events replay`: the bus's archive (lib/webhook-receiver.ts keeps every event it publishes) sent
 * again to the bus's rules for a window of time, so a consumer that was down gets what it missed.
 *
 * StartReplay, then DescribeReplay until the replay ends (docs.aws.amazon.com/eventbridge/latest/
 * APIReference/API_StartReplay.html, API_DescribeReplay.html). EventBridge replays every archived
 * event of the window; `Destination.FilterArns` narrows it to some of the bus's rules, never to some
 * events. A replayed event is the original with a new `id` and a top-level `replay-name` field
 * (the archive's own managed rule skips events that have one); `detail.eventId` is unchanged, so a
 * consumer that deduplicates on it takes each transition once
 * (docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive.html).
 */
import { randomBytes } from 'node:crypto';
import { DescribeArchiveCommand, DescribeReplayCommand, EventBridgeClient, ListRulesCommand, StartReplayCommand, type Rule } from '@aws-sdk/client-eventbridge';
import type { DetailType } from '../lambda/core/contract.js';
import { DetailTypes } from '../lambda/core/events.js';
import { CliError, step, UsageError } from './errors.js';
import { parseSince } from './format.js';
import type { Command } from './index.js';
import { couldMatch } from './rule-match.js';
import { required, resolveTarget, type ClientConfig, type TargetFlags } from './target.js';

export const REPLAY_USAGE = `  events replay --since 1h|ISO [--until ISO|duration] [--detail-type T]... [--rule NAME]...
                                send the archive's events of that window to the bus again and follow
                                the replay until it ends; consumers get each event again with a new
                                id, a top-level "replay-name" and the original detail.eventId:
                                deduplicate on detail.eventId
      --archive ARN               the archive (default: the stack's EventArchiveArn, or local mode's)
      --detail-type T             only to the rules whose pattern can match events of type T (judged
                                  here; such a rule gets the window's other events it matches too)
      --rule NAME                 only to this rule of the bus (with --detail-type: this one as well)
`;

/** Prefix of the replays this command starts, so they are easy to find (`aws events list-replays`). */
export const REPLAY_PREFIX = 'cf-webhook-replay-' as const;

/** EventBridge may archive an event this long after it arrived; a window ending later may miss some. */
const ARCHIVE_DELAY_MS = 10 * 60_000;
const POLL_MS = 2000;
const FINAL_STATES: ReadonlySet<string> = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

export interface ReplayRequest {
  readonly archiveArn: string;
  readonly start: Date;
  readonly end: Date;
  readonly detailTypes?: readonly DetailType[];
  readonly ruleNames?: readonly string[];
}

export interface ReplayProgress {
  readonly state: string;
  readonly reason?: string;
  readonly lastReplayed?: Date;
}

export interface ReplayOutcome {
  readonly replayName: string;
  readonly busArn: string;
  /** Rules the replay was narrowed to; undefined: every rule of the bus. */
  readonly rules?: readonly string[];
  readonly final: ReplayProgress;
}

export interface ReplayIO {
  readonly log: (line: string) => void;
  readonly signal: AbortSignal;
  readonly now: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

export async function replay(config: ClientConfig, request: ReplayRequest, io: ReplayIO): Promise<ReplayOutcome> {
  const client = new EventBridgeClient(config);
  try {
    const busArn = await archiveBus(client, request.archiveArn);
    const rules = request.detailTypes || request.ruleNames ? await chooseRules(client, busArn, request) : undefined;
    const replayName = `${REPLAY_PREFIX}${io.now().toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;
    await step(`start replay ${replayName}`, () =>
      client.send(
        new StartReplayCommand({
          ReplayName: replayName,
          Description: 'npm run cli -- events replay',
          EventSourceArn: request.archiveArn,
          EventStartTime: request.start,
          EventEndTime: request.end,
          Destination: { Arn: busArn, ...(rules && { FilterArns: rules.map((rule) => rule.Arn!) }) },
        }),
      ),
    );
    const target = rules ? `rules ${rules.map((rule) => rule.Name).join(', ')}` : 'every rule';
    io.log(`replay ${replayName}: events of ${request.start.toISOString()} … ${request.end.toISOString()} from ${request.archiveArn} to ${target} of ${busArn}`);
    const final = await follow(client, replayName, io);
    return { replayName, busArn, ...(rules && { rules: rules.map((rule) => rule.Name!) }), final };
  } finally {
    client.destroy();
  }
}

/** Replays can only go back to the bus the archive records (cross-bus replay is refused). */
async function archiveBus(client: EventBridgeClient, archiveArn: string): Promise<string> {
  const name = /:archive\/(.+)$/.exec(archiveArn)?.[1];
  if (!name) throw new UsageError(`--archive takes an archive ARN (arn:aws:events:<region>:<account>:archive/<name>), got '${archiveArn}'`);
  const archive = await step(`read archive ${name}`, () => client.send(new DescribeArchiveCommand({ ArchiveName: name })));
  if (!archive.EventSourceArn) throw new CliError(`archive ${name} names no event bus`);
  return archive.EventSourceArn;
}

/** The bus's rules the replay goes to: those named, and those whose pattern can match one of the detail-types. */
async function chooseRules(client: EventBridgeClient, busArn: string, request: ReplayRequest): Promise<Rule[]> {
  const rules = await listRules(client, busArn);
  const byName = new Map(rules.map((rule) => [rule.Name!, rule]));
  const unknown = (request.ruleNames ?? []).filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    throw new UsageError(`no rule ${unknown.map((n) => `'${n}'`).join(', ')} on ${busArn}; its rules: ${[...byName.keys()].join(', ') || 'none'}`);
  }
  const chosen = new Map<string, Rule>();
  for (const name of request.ruleNames ?? []) chosen.set(name, byName.get(name)!);
  for (const rule of rules) {
    // The archive's managed rule never takes replayed events; a disabled rule delivers nothing.
    if (rule.ManagedBy || rule.State === 'DISABLED' || !rule.EventPattern) continue;
    if ((request.detailTypes ?? []).some((detailType) => couldMatch(JSON.parse(rule.EventPattern!), detailType))) chosen.set(rule.Name!, rule);
  }
  if (chosen.size === 0) throw new CliError(`no rule on ${busArn} can match ${request.detailTypes!.join(', ')}: nothing would receive the replay`);
  return [...chosen.values()];
}

async function listRules(client: EventBridgeClient, busArn: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  let token: string | undefined;
  do {
    const page = await step(`list the rules of ${busArn}`, () => client.send(new ListRulesCommand({ EventBusName: busArn, ...(token && { NextToken: token }) })));
    rules.push(...(page.Rules ?? []));
    token = page.NextToken;
  } while (token);
  return rules;
}

/** DescribeReplay every two seconds, a line each time the state or the last replayed time moves, until a final state. */
async function follow(client: EventBridgeClient, replayName: string, io: ReplayIO): Promise<ReplayProgress> {
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let shown = '';
  for (;;) {
    const described = await step(`describe replay ${replayName}`, () => client.send(new DescribeReplayCommand({ ReplayName: replayName })));
    const progress: ReplayProgress = {
      state: described.State ?? 'UNKNOWN',
      ...(described.StateReason && { reason: described.StateReason }),
      ...(described.EventLastReplayedTime && { lastReplayed: described.EventLastReplayedTime }),
    };
    const line = formatProgress(progress);
    if (line !== shown) io.log(line);
    shown = line;
    if (FINAL_STATES.has(progress.state)) return progress;
    if (io.signal.aborted) {
      io.log(`stopped following; the replay goes on (aws events cancel-replay --replay-name ${replayName} stops it)`);
      return progress;
    }
    await sleep(POLL_MS);
  }
}

export function formatProgress({ state, reason, lastReplayed }: ReplayProgress): string {
  return [state.padEnd(9), lastReplayed && `last event replayed: ${lastReplayed.toISOString()}`, reason].filter(Boolean).join('  ');
}

// ---- The command --------------------------------------------------------------------------------

const replayOptions = {
  since: { type: 'string' },
  until: { type: 'string' },
  'detail-type': { type: 'string', multiple: true },
  rule: { type: 'string', multiple: true },
  archive: { type: 'string' },
} as const;

export const eventsReplayCommand: Command = {
  options: replayOptions,
  positionals: [],
  run: async ({ flags, io }) => {
    const now = io.now();
    const since = flags.since as string | undefined;
    if (since === undefined) throw new UsageError('events replay needs --since (a duration like 1h, or an ISO time)');
    const start = new Date(parseSince(since, now));
    const until = flags.until as string | undefined;
    const end = until === undefined ? now : new Date(parseSince(until, now, '--until'));
    if (end.getTime() > now.getTime()) throw new UsageError(`--until ${until} is in the future: EventBridge replays only what it has archived`);
    if (start.getTime() >= end.getTime()) throw new UsageError(`--since ${since} is not before --until (${end.toISOString()})`);
    const detailTypes = flags['detail-type'] as string[] | undefined;
    const unknown = detailTypes?.filter((type) => !DetailTypes.all.includes(type as DetailType)) ?? [];
    if (unknown.length > 0) throw new UsageError(`--detail-type: no event has ${unknown.map((t) => `'${t}'`).join(', ')}; possible: ${DetailTypes.all.join(', ')}`);

    const found = await resolveTarget(flags as TargetFlags, { env: io.env });
    const archiveArn = (flags.archive as string | undefined) ?? required(found, 'eventArchiveArn');
    if (now.getTime() - end.getTime() < ARCHIVE_DELAY_MS) {
      io.err('note: EventBridge can take minutes to archive an event; events of the last 10 minutes may be missing from this replay');
    }
    const outcome = await replay(
      found.clientConfig,
      { archiveArn, start, end, ...(detailTypes && { detailTypes: detailTypes as DetailType[] }), ...(flags.rule !== undefined && { ruleNames: flags.rule as string[] }) },
      { log: flags.json ? io.err : io.out, signal: io.signal, now: io.now },
    );
    if (flags.json) {
      const { final, ...rest } = outcome;
      io.out(JSON.stringify({ ...rest, state: final.state, ...(final.reason && { reason: final.reason }), ...(final.lastReplayed && { lastReplayed: final.lastReplayed.toISOString() }) }));
    } else if (outcome.final.state === 'COMPLETED') {
      io.out(`consumers receive these events again with "replay-name": "${outcome.replayName}" and their original detail.eventId: deduplicate on it`);
    }
    if (outcome.final.state === 'FAILED' || outcome.final.state === 'CANCELLED') {
      throw new CliError(`replay ${outcome.replayName} ${outcome.final.state.toLowerCase()}${outcome.final.reason ? `: ${outcome.final.reason}` : ''}`);
    }
  },
};
