/** The bench's pilots: CPU pilots as separate processes, started together and stopped together. */
import { join } from 'node:path';
import type { CallCount } from '../../../shared/aws/index.js';
import type { PilotProcess } from '../index.js';
import { sumCalls } from './calls.js';
import { pilotCallCounts } from './pilot-logs.js';
import type { BenchSystem } from './system.js';

export interface PilotSettings {
  heartbeatIntervalSeconds: number;
  /** The pilot's long-poll wait on its job queue. */
  pollWaitSeconds: number;
}

export interface PilotGroup {
  pilots: PilotProcess[];
  ids: string[];
  logFile(pilot: PilotProcess): string;
  /** Stops every pilot (SIGTERM: running jobs may finish) and returns their AWS calls, read from their logs. */
  stop(): Promise<CallCount[]>;
}

let started = 0;

export async function startPilots(
  system: BenchSystem,
  count: number,
  slots: number,
  settings: PilotSettings,
): Promise<PilotGroup> {
  const pilots = Array.from({ length: count }, () =>
    system.startPilot({
      name: `bench-${++started}`,
      device: 'CPU',
      slots,
      heartbeatIntervalSeconds: settings.heartbeatIntervalSeconds,
      extraConfig: {
        pollWaitSeconds: settings.pollWaitSeconds,
        shutdownGraceSeconds: 5,
        killGraceSeconds: 2,
      },
    }),
  );
  const ids = await Promise.all(pilots.map((pilot) => pilot.registered()));
  const logFile = (pilot: PilotProcess) => join(system.logged.logDir, `pilot-${pilot.name}.log`);
  return {
    pilots,
    ids,
    logFile,
    async stop() {
      await Promise.all(pilots.map((pilot) => pilot.stop()));
      return sumCalls(...pilots.map((pilot) => pilotCallCounts(logFile(pilot))));
    },
  };
}
