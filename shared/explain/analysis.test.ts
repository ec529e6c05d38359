import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../errors/index.js';
import { JOB_STATES } from '../model/index.js';
import { type AnalyzedJob, analyzeTask, TOP_MESSAGES } from './analysis.js';

const context = {
  now: '2026-01-02T12:00:00.000Z',
  activePilotsForDevice: 1,
  queueDepth: 0,
  higherRankedTasks: 0,
};
const running = { state: 'RUNNING' as const, rank: 5 };

function job(jobId: string, fields: Partial<AnalyzedJob>): AnalyzedJob {
  return { jobId, state: 'READY', attempt: 0, device: 'CPU', ...fields };
}

describe('analyzeTask', () => {
  it('counts failed jobs by error and exit code, names the frequent messages, pilots and hosts', () => {
    // Prepare: two jobs failed for good with exit 3 on one pilot, one retried after a stage-in failure.
    const exit3 = { errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code, exitCode: 3, errorMessage: 'boom' };
    const jobs = [
      job('a', { state: 'FAILED', attempt: 1, pilotId: 'p-1', ...exit3 }),
      job('b', { state: 'FAILED', attempt: 1, pilotId: 'p-1', ...exit3 }),
      job('c', {
        state: 'READY',
        attempt: 1,
        errorCode: ERRORS.STAGE_IN_DOWNLOAD_FAILED.code,
        errorMessage: 'timeout',
      }),
      job('d', { state: 'RUNNING', pilotId: 'p-2' }),
      job('e', { state: 'DONE', attempt: 0, errorCode: 0 }),
    ];

    // Act
    const analysis = analyzeTask(running, jobs, context, new Map([['p-1', 'node17']]));

    // Assess
    expect(analysis).toEqual({
      jobs: 5,
      failedAttempts: 3 + 2,
      retriedJobs: 3,
      byErrorCode: [
        { code: ERRORS.PAYLOAD_NONZERO_EXIT.code, name: 'PAYLOAD_NONZERO_EXIT', jobs: 2 },
        { code: ERRORS.STAGE_IN_DOWNLOAD_FAILED.code, name: 'STAGE_IN_DOWNLOAD_FAILED', jobs: 1 },
      ],
      byExitCode: [{ exitCode: 3, jobs: 2 }],
      topMessages: [
        { message: 'boom', jobs: 2 },
        { message: 'timeout', jobs: 1 },
      ],
      pilots: [
        { pilotId: 'p-1', host: 'node17', failed: 2, running: 0 },
        { pilotId: 'p-2', failed: 0, running: 1 },
      ],
      waiting: [{ reason: 'queue-full', jobs: 1 }],
    });
  });

  it('says why waiting jobs wait: a held task, no pilot of the device', () => {
    const jobs = [job('a', {}), job('b', { state: 'QUEUED' })];

    expect(analyzeTask({ state: 'HELD', rank: 1 }, jobs, context).waiting).toEqual([
      { reason: 'task-held', jobs: 2 },
    ]);
    expect(analyzeTask(running, jobs, { ...context, activePilotsForDevice: 0 }).waiting).toEqual([
      { reason: 'no-pilot-for-device', jobs: 2 },
    ]);
  });

  it('keeps its counts consistent with the jobs, whatever they are', () => {
    const anyJob = fc.record({
      jobId: fc.uuid(),
      state: fc.constantFrom(...JOB_STATES),
      attempt: fc.nat(5),
      device: fc.constantFrom('CPU' as const, 'GPU' as const),
      errorCode: fc.option(fc.constantFrom(0, 1201, 1102, 9999), { nil: undefined }),
      exitCode: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
      errorMessage: fc.option(fc.string({ maxLength: 3 }), { nil: undefined }),
      pilotId: fc.option(fc.constantFrom('p-1', 'p-2', 'p-3'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(anyJob, { maxLength: 40 }), (jobs) => {
        const analysis = analyzeTask(running, jobs, context);
        const failing = jobs.filter((j) => j.errorCode !== undefined && j.errorCode !== 0);
        expect(analysis.byErrorCode.reduce((sum, entry) => sum + entry.jobs, 0)).toBe(failing.length);
        expect(analysis.topMessages.length).toBeLessThanOrEqual(TOP_MESSAGES);
        const waitingJobs = jobs.filter((j) => ['READY', 'QUEUED', 'LOST'].includes(j.state)).length;
        expect(analysis.waiting.reduce((sum, entry) => sum + entry.jobs, 0)).toBe(waitingJobs);
        const counts = analysis.byErrorCode.map((entry) => entry.jobs);
        expect(counts).toEqual([...counts].sort((a, b) => b - a));
        expect(analysis.failedAttempts).toBeGreaterThanOrEqual(
          jobs.filter((j) => j.state === 'FAILED').length,
        );
      }),
    );
  });
});
