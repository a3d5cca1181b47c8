/**
 * `events tail`: a temporary rule on the bus with a temporary queue as its target, long-polled
 * and printed, then both deleted. A queue of its own, so it never takes events from anyone
 * else's queue (the local watch queue included).
 */
import { randomBytes } from 'node:crypto';
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { DetailTypes, type EventBridgePattern, type WebhookEvent } from '../lambda/core/events.js';
import { queuePolicy } from '../local/aws.js';
import { failure, step } from './errors.js';
import { errorText, plural, transition } from './format.js';
import type { ClientConfig } from './target.js';

/** Prefix of the temporary rule and queue, so leftovers of a killed tail are easy to find. */
export const TAIL_PREFIX = 'cf-webhook-tail-' as const;

export interface TailOptions {
  readonly eventBusName: string;
  readonly pattern: EventBridgePattern;
  readonly seconds: number;
  /** Stop once this many events arrived. */
  readonly max?: number;
  readonly signal: AbortSignal;
  /** Each event, as it arrives. */
  readonly onEvent: (event: WebhookEvent) => void;
  /** Progress for the person watching (stderr). */
  readonly log: (line: string) => void;
}

interface Subscription {
  readonly name: string;
  readonly queueUrl: string;
}

export async function tailEvents(config: ClientConfig, options: TailOptions): Promise<number> {
  const events = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  try {
    const subscription = await subscribe(events, sqs, options);
    let seen: number;
    try {
      options.log(`listening on ${options.eventBusName} for ${options.seconds} s (rule and queue ${subscription.name}); Ctrl-C to stop`);
      seen = await poll(sqs, subscription.queueUrl, options);
    } finally {
      await unsubscribe(events, sqs, options.eventBusName, subscription, options.log);
    }
    options.log(`${plural(seen, 'event')}; removed rule and queue ${subscription.name}`);
    return seen;
  } finally {
    events.destroy();
    sqs.destroy();
  }
}

async function subscribe(events: EventBridgeClient, sqs: SQSClient, options: TailOptions): Promise<Subscription> {
  const name = `${TAIL_PREFIX}${randomBytes(4).toString('hex')}`;
  // Created first: a rule without its queue would be the harder leftover to notice.
  const { QueueUrl: queueUrl } = await step(`create queue ${name}`, () =>
    sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { MessageRetentionPeriod: '600' } })),
  );
  const subscription = { name, queueUrl: queueUrl! };
  try {
    const { Attributes } = await step('read the queue ARN', () =>
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })),
    );
    const queueArn = Attributes!.QueueArn!;
    const { RuleArn } = await step(`create rule ${name} on ${options.eventBusName}`, () =>
      events.send(
        new PutRuleCommand({
          Name: name,
          EventBusName: options.eventBusName,
          EventPattern: JSON.stringify(options.pattern),
          Description: 'Temporary: npm run cli -- events tail. Safe to delete.',
        }),
      ),
    );
    // In AWS the rule can deliver only if the queue's policy lets this very rule send.
    await step('allow the rule to send to the queue', () =>
      sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: JSON.stringify(queuePolicy(queueArn, RuleArn!)) } })),
    );
    await step('point the rule at the queue', () =>
      events.send(new PutTargetsCommand({ Rule: name, EventBusName: options.eventBusName, Targets: [{ Id: 'tail', Arn: queueArn }] })),
    );
    return subscription;
  } catch (error) {
    await unsubscribe(events, sqs, options.eventBusName, subscription, options.log);
    throw error;
  }
}

async function poll(sqs: SQSClient, queueUrl: string, options: TailOptions): Promise<number> {
  const deadline = Date.now() + options.seconds * 1000;
  let seen = 0;
  while (!options.signal.aborted && (options.max === undefined || seen < options.max)) {
    const remaining = Math.ceil((deadline - Date.now()) / 1000);
    if (remaining <= 0) break;
    let messages: Message[];
    try {
      ({ Messages: messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: Math.min(20, remaining) }),
        { abortSignal: options.signal },
      ));
    } catch (error) {
      if (options.signal.aborted) break;
      throw failure('read the tail queue', error);
    }
    if (messages.length === 0) continue;
    for (const message of messages) {
      if (options.max !== undefined && seen >= options.max) break;
      options.onEvent(JSON.parse(message.Body!) as WebhookEvent);
      seen++;
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  return seen;
}

/** Best effort, each step on its own: what cannot be removed is named so the user can. */
async function unsubscribe(events: EventBridgeClient, sqs: SQSClient, eventBusName: string, { name, queueUrl }: Subscription, log: (line: string) => void) {
  const attempts: [string, () => Promise<unknown>][] = [
    [`rule target of ${name}`, () => events.send(new RemoveTargetsCommand({ Rule: name, EventBusName: eventBusName, Ids: ['tail'] }))],
    [`rule ${name} on ${eventBusName}`, () => events.send(new DeleteRuleCommand({ Name: name, EventBusName: eventBusName }))],
    [`queue ${queueUrl}`, () => sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }))],
  ];
  for (const [what, attempt] of attempts) {
    await attempt().catch((error: Error) => {
      if (error.name === 'ResourceNotFoundException') return;
      log(`could not delete ${what} (${error.name}); delete it by hand`);
    });
  }
}

const DETAIL_TYPE_WIDTH = Math.max(...DetailTypes.all.map((detailType) => detailType.length));

/** One line per event: when, what, which item, the transition, and the id to deduplicate on. */
export function formatEvent(event: WebhookEvent): string {
  const { detail } = event;
  const error = detail.error ? `  error: ${errorText(detail.error)}` : '';
  return `${event.time}  ${event['detail-type'].padEnd(DETAIL_TYPE_WIDTH)}  ${detail.kind} ${detail.id}  ${transition(detail.previousStatus, detail.status)}  ${detail.eventId}${error}`;
}
