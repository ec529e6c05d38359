import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { WmsError } from '../../shared/errors/index.js';

/** PutEvents takes at most 10 entries per call. */
const PUT_EVENTS_BATCH = 10;
const ATTEMPTS = 3;

export class EventPublishError extends WmsError {
  override readonly name: string = 'EventPublishError';
  constructor(readonly failed: { detailType: string | undefined; errorCode: string | undefined }[]) {
    super(
      `EventBridge refused ${failed.length} event(s): ${failed.map((f) => `${f.detailType} (${f.errorCode})`).join(', ')}`,
    );
  }
}

/**
 * Sends events in batches of ten, re-sending only the entries EventBridge refused; throws if
 * some are still refused after a few attempts, so the caller's message is retried.
 */
export async function publishEvents(
  eventBridge: EventBridgeClient,
  entries: readonly PutEventsRequestEntry[],
): Promise<void> {
  for (let start = 0; start < entries.length; start += PUT_EVENTS_BATCH) {
    let pending = entries.slice(start, start + PUT_EVENTS_BATCH);
    let failures: EventPublishError['failed'] = [];
    for (let attempt = 1; attempt <= ATTEMPTS && pending.length > 0; attempt++) {
      const response = await eventBridge.send(new PutEventsCommand({ Entries: pending }));
      const results = response.Entries ?? [];
      const refused = pending.filter(
        (_, index) => results[index]?.ErrorCode !== undefined || results[index] === undefined,
      );
      failures = refused.map((entry) => ({
        detailType: entry.DetailType,
        errorCode: results[pending.indexOf(entry)]?.ErrorCode ?? 'NoResult',
      }));
      pending = refused;
    }
    if (pending.length > 0) throw new EventPublishError(failures);
  }
}
