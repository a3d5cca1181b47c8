import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { awsClientConfig } from './aws.js';
import type { TransitionEvent } from '../core/item.js';
import type { Publisher } from '../core/ports.js';
import { DependencyError } from '../core/errors.js';


// PutEvents takes at most 10 entries per call.
const MAX_ENTRIES = 10;

/** The bus on EventBridge: `PutEvents`, at most 10 entries per call; a dropped entry is a failure. */
export class EventBridgePublisher implements Publisher {
  private readonly client: EventBridgeClient;

  constructor(
    private readonly eventBusName: string,
    client?: EventBridgeClient,
  ) {
    this.client = client ?? new EventBridgeClient(awsClientConfig);
  }

  async publish(events: readonly TransitionEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += MAX_ENTRIES) {
      const entries: PutEventsRequestEntry[] = events.slice(start, start + MAX_ENTRIES).map((event) => ({
        EventBusName: this.eventBusName,
        Source: event.source,
        DetailType: event.detailType,
        Detail: JSON.stringify(event.detail),
      }));
      let failed: number;
      try {
        const out = await this.client.send(new PutEventsCommand({ Entries: entries }));
        failed = out.FailedEntryCount ?? 0;
      } catch (error) {
        throw new DependencyError('eventbridge', `EventBridge PutEvents failed: ${(error as Error).name}`, { cause: error });
      }
      // A 200 from PutEvents can still have dropped entries; the delivery must then fail so it is retried.
      if (failed > 0) throw new DependencyError('eventbridge', `EventBridge rejected ${failed} of ${entries.length} events`);
    }
  }
}
