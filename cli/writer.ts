/**
 * What a command that writes items needs (`images sync`, `events redrive`): the store and the
 * publisher every writer shares (lambda/core/outbox.ts), on the target's table and bus.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../lambda/adapters/publish.js';
import { DynamoItemStore } from '../lambda/adapters/store.js';
import type { OutboxPorts } from '../lambda/core/outbox.js';
import { required, type Target } from './target.js';

export interface ItemWriter extends OutboxPorts {
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** Closes the clients' connections, so the command's process can end. */
  readonly close: () => void;
}

export function itemWriter(found: Target, now: () => Date): ItemWriter {
  const dynamo = new DynamoDBClient(found.clientConfig);
  const events = new EventBridgeClient(found.clientConfig);
  return {
    store: new DynamoItemStore(required(found, 'tableName'), dynamo),
    publisher: new EventBridgePublisher(required(found, 'eventBusName'), events),
    now,
    sleep,
    close: () => {
      dynamo.destroy();
      events.destroy();
    },
  };
}
