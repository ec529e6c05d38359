import type { Context, DynamoDBBatchResponse } from 'aws-lambda';
import { type DispatchDeps, runDispatchPass } from '../../shared/services/index.js';
import { parseTrigger } from './trigger.js';

export type DispatcherDeps = Omit<DispatchDeps, 'signal'>;

/**
 * The dispatcher's handler: whichever source fired (a Jobs or Pilots stream batch, or the
 * schedule), it runs one dispatch pass. A failed pass throws: a stream batch is then retried
 * (another pass), a schedule tick is followed by the next.
 */
export function createDispatcherHandler(deps: DispatcherDeps) {
  return async (
    event: unknown,
    _context: Context,
    options?: { signal?: AbortSignal },
  ): Promise<DynamoDBBatchResponse | undefined> => {
    const trigger = parseTrigger(event);
    const report = await runDispatchPass({ ...deps, ...(options?.signal ? { signal: options.signal } : {}) });
    deps.logger.info('dispatch pass', {
      trigger: trigger.kind === 'stream' ? `${trigger.event.Records.length} stream records` : 'schedule',
      ...report,
    });
    return trigger.kind === 'stream' ? { batchItemFailures: [] } : undefined;
  };
}
