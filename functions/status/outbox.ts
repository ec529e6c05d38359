import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { publishEvents } from '../common/index.js';

/** PutEvents takes at most ten entries per call. */
const PUT_EVENTS_BATCH = 10;

/**
 * Events of a whole SQS batch, published together after the batch is applied so several
 * messages share one PutEvents call. Each entry remembers its message: when a call fails, the
 * messages whose events it carried are reported failed, and their redelivery announces again.
 */
export class EventOutbox {
  readonly #pending: { messageId: string; entry: PutEventsRequestEntry }[] = [];

  add(messageId: string, entries: readonly PutEventsRequestEntry[]): void {
    for (const entry of entries) this.#pending.push({ messageId, entry });
  }

  /** Publishes every entry; returns the ids of the messages whose events were not all accepted. */
  async publish(eventBridge: EventBridgeClient, logger: Logger): Promise<string[]> {
    const failed = new Set<string>();
    for (let start = 0; start < this.#pending.length; start += PUT_EVENTS_BATCH) {
      const chunk = this.#pending.slice(start, start + PUT_EVENTS_BATCH);
      try {
        await publishEvents(
          eventBridge,
          chunk.map((pending) => pending.entry),
        );
      } catch (error) {
        const messageIds = [...new Set(chunk.map((pending) => pending.messageId))];
        logger.error('events not published; their messages will be redelivered', {
          error: error as Error,
          messageIds,
        });
        for (const messageId of messageIds) failed.add(messageId);
      }
    }
    this.#pending.length = 0;
    return [...failed];
  }
}
