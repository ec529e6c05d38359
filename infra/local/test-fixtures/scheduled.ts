/** Scheduled function of the runtime tests: observes each Scheduled Event it receives. */
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import { observe } from './observations.js';

export async function handler(event: unknown): Promise<void> {
  const scheduled = EventBridgeSchema.parse(event);
  await observe('schedule', String(Date.now()), {
    detailType: scheduled['detail-type'],
    eventSource: scheduled.source,
    resources: scheduled.resources,
    account: scheduled.account,
  });
}
