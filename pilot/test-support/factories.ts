import { createHash } from 'node:crypto';
import type { JobMessage, JobResultMessage } from '../../events/pilot.js';
import { type PilotConfig, parsePilotConfig } from '../agent/config.js';

/** `sha256:<hex>` of some bytes. */
export function sha256Of(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A valid job message; `overrides` replace whole fields. */
export function jobMessage(overrides: Partial<JobMessage> = {}): JobMessage {
  return {
    type: 'job',
    jobId: 'j-aaaaaaaaaaaaaaaaaaaaaaaaaa',
    taskId: 't-1',
    attempt: 0,
    device: 'CPU',
    rank: 1,
    executable: 'sh',
    args: ['-c', 'cp "$WMS_INPUT_DIR"/* "$WMS_OUTPUT_DIR"/'],
    inputs: [
      {
        name: 'run-1.raw',
        location: { bucket: 'wms-data', key: 'raw/run-1.raw' },
        size: 5,
        checksum: sha256Of('hello'),
      },
    ],
    output: { dataset: 'out', datasetUid: 'ds-out', bucket: 'wms-data', prefix: 'out/t-1' },
    log: { dataset: 'logs', datasetUid: 'ds-logs', bucket: 'wms-data', prefix: 'logs/t-1' },
    wallTimeSeconds: 600,
    coresPerJob: 1,
    dispatchedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

/** A valid result message of a failed job. */
export function jobResult(overrides: Partial<JobResultMessage> = {}): JobResultMessage {
  return {
    type: 'job.result',
    jobId: 'j-aaaaaaaaaaaaaaaaaaaaaaaaaa',
    taskId: 't-1',
    attempt: 0,
    pilotId: 'node-1-0a1b2c3d',
    claimToken: '0123456789abcdef0123456789abcdef',
    at: '2026-01-01T00:00:05.000Z',
    outcome: 'FAILED',
    errorCode: 1201,
    exitCode: 3,
    outputs: [],
    phaseTimes: { CLAIMED: '2026-01-01T00:00:00.000Z' },
    wallMs: 5000,
    ...overrides,
  };
}

/**
 * The configuration of a pilot whose API and queues are never called (a job run on its own):
 * loopback endpoints where nothing listens, its own work and spool directories, and `settings`.
 */
export function unconnectedPilotConfig(
  workDir: string,
  spoolDir: string,
  settings: Record<string, unknown> = {},
): PilotConfig {
  return parsePilotConfig(
    {
      apiUrl: 'http://127.0.0.1:9/',
      jobQueueUrls: { CPU: 'http://127.0.0.1:9/q/cpu', GPU: 'http://127.0.0.1:9/q/gpu' },
      statusQueueUrl: 'http://127.0.0.1:9/q/status',
      workDir,
      spoolDir,
      ...settings,
    },
    {},
  );
}
