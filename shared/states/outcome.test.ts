import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JOB_STATES, type JobCounts, TASK_STATES } from '../model/index.js';
import { type TaskProgress, taskOutcome } from './index.js';

function counts(partial: Partial<JobCounts>): JobCounts {
  return { ...Object.fromEntries(JOB_STATES.map((state) => [state, 0])), ...partial } as JobCounts;
}

function progress(partial: Partial<TaskProgress>): TaskProgress {
  return {
    counts: counts({}),
    jobsTotal: 0,
    generationComplete: true,
    failureTolerance: 0,
    state: 'RUNNING',
    ...partial,
  };
}

describe('taskOutcome', () => {
  it('is DONE when every job is done', () => {
    expect(taskOutcome(progress({ counts: counts({ DONE: 10 }), jobsTotal: 10 }))).toBe('DONE');
  });

  it('is null while jobs are not terminal', () => {
    for (const pending of ['READY', 'QUEUED', 'RUNNING', 'LOST'] as const) {
      expect(taskOutcome(progress({ counts: counts({ DONE: 9, [pending]: 1 }), jobsTotal: 10 }))).toBeNull();
    }
  });

  it('is null while generation is not complete, even with every known job done', () => {
    expect(
      taskOutcome(progress({ counts: counts({ DONE: 5 }), jobsTotal: 5, generationComplete: false })),
    ).toBeNull();
  });

  it('is DONE for a task with no jobs once generation is complete', () => {
    expect(taskOutcome(progress({}))).toBe('DONE');
    expect(taskOutcome(progress({ state: 'REGISTERED' }))).toBe('DONE');
    expect(taskOutcome(progress({ generationComplete: false }))).toBeNull();
  });

  it('FAILS past the failure tolerance and is DONE at or below it', () => {
    expect(taskOutcome(progress({ counts: counts({ DONE: 9, FAILED: 1 }), jobsTotal: 10 }))).toBe('FAILED');
    expect(
      taskOutcome(progress({ counts: counts({ DONE: 9, FAILED: 1 }), jobsTotal: 10, failureTolerance: 0.1 })),
    ).toBe('DONE');
    expect(
      taskOutcome(progress({ counts: counts({ DONE: 8, FAILED: 2 }), jobsTotal: 10, failureTolerance: 0.1 })),
    ).toBe('FAILED');
    expect(taskOutcome(progress({ counts: counts({ FAILED: 4 }), jobsTotal: 4, failureTolerance: 1 }))).toBe(
      'DONE',
    );
  });

  it('counts cancelled jobs as finished but not as failed', () => {
    expect(taskOutcome(progress({ counts: counts({ DONE: 3, CANCELLED: 2 }), jobsTotal: 5 }))).toBe('DONE');
  });

  it('is null for a task already final', () => {
    for (const state of ['DONE', 'FAILED', 'CANCELLED'] as const) {
      expect(taskOutcome(progress({ counts: counts({ DONE: 1 }), jobsTotal: 1, state }))).toBeNull();
    }
  });

  it('decides exactly when all jobs are terminal, by the failed fraction', () => {
    const countsArb = fc.record(
      Object.fromEntries(JOB_STATES.map((state) => [state, fc.integer({ min: 0, max: 50 })])) as Record<
        (typeof JOB_STATES)[number],
        fc.Arbitrary<number>
      >,
    );
    fc.assert(
      fc.property(
        countsArb,
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(...TASK_STATES),
        (jobCounts, generationComplete, failureTolerance, state) => {
          const jobsTotal = JOB_STATES.reduce((sum, s) => sum + jobCounts[s], 0);
          const outcome = taskOutcome({
            counts: jobCounts,
            jobsTotal,
            generationComplete,
            failureTolerance,
            state,
          });

          const open = jobCounts.READY + jobCounts.QUEUED + jobCounts.RUNNING + jobCounts.LOST;
          const final = state === 'DONE' || state === 'FAILED' || state === 'CANCELLED';
          if (final || !generationComplete || open > 0) expect(outcome).toBeNull();
          else if (jobsTotal > 0 && jobCounts.FAILED / jobsTotal > failureTolerance)
            expect(outcome).toBe('FAILED');
          else expect(outcome).toBe('DONE');
        },
      ),
    );
  });
});
