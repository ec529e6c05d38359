import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import { z } from 'zod';
import { parseOrThrow } from '../../events/index.js';

/** The dispatcher's schedule: EventBridge's Scheduled Event. */
const ScheduledTrigger = EventBridgeSchema.extend({
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
});

/**
 * A batch of Jobs or Pilots stream records. Their content does not matter: each only says
 * that something changed, and every invocation runs one full pass.
 */
const StreamTrigger = z.object({
  Records: z
    .array(
      z.looseObject({
        eventSource: z.literal('aws:dynamodb'),
        eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
        dynamodb: z.looseObject({ SequenceNumber: z.string() }),
      }),
    )
    .min(1),
});

/** What may invoke the dispatcher. */
export type DispatchTrigger =
  | { kind: 'schedule'; event: z.infer<typeof ScheduledTrigger> }
  | { kind: 'stream'; event: z.infer<typeof StreamTrigger> };

/**
 * Validates the event that invoked the dispatcher. A batch of stream records is told from the
 * schedule by its `Records`, so a malformed event is reported against the shape it claims.
 */
export function parseTrigger(event: unknown): DispatchTrigger {
  if (typeof event === 'object' && event !== null && 'Records' in event) {
    return { kind: 'stream', event: parseOrThrow(StreamTrigger, event, 'dispatcher stream event') };
  }
  return { kind: 'schedule', event: parseOrThrow(ScheduledTrigger, event, 'dispatcher schedule event') };
}
