import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { parseOrThrow } from '../../events/index.js';
import { runWatchdog, type WatchdogDeps, type WatchdogReport } from '../../shared/services/index.js';
import { publishEvents } from '../common/index.js';

const ScheduledEvent = EventBridgeSchema.extend({
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
});

export interface WatchdogHandlerDeps extends Omit<WatchdogDeps, 'signal'> {
  eventBridge: EventBridgeClient;
}

/**
 * The watchdog's handler, on its schedule: one run, its summary logged and the
 * `file.registered` events of files the audit registered published. A failed run throws;
 * the next tick runs again and finds what is left.
 */
export function createWatchdogHandler(deps: WatchdogHandlerDeps) {
  return async (
    event: unknown,
    _context: Context,
    options?: { signal?: AbortSignal },
  ): Promise<WatchdogReport> => {
    parseOrThrow(ScheduledEvent, event, 'watchdog schedule event');
    const report = await runWatchdog({ ...deps, ...(options?.signal ? { signal: options.signal } : {}) });
    await publishEvents(deps.eventBridge, report.audit?.events ?? []);
    const { audit, archival, ...summary } = report;
    deps.logger.info('watchdog run', {
      ...summary,
      ...(archival
        ? {
            archival: {
              exported: archival.exported.length,
              finished: archival.finished.length,
              jobsExpired: archival.jobsExpired,
              filesExpired: archival.filesExpired,
              deferred: archival.deferred.length,
            },
          }
        : {}),
      ...(audit
        ? { audited: { tasks: audit.tasks, findings: audit.findings.length, repairs: audit.repairs.length } }
        : {}),
    });
    return report;
  };
}
