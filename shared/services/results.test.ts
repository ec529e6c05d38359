import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JOB_STATES, type JobRecord } from '../model/index.js';
import { judgeResult, pickForOneTransaction, type TransactionShare } from './results.js';

const TOKEN = 'a'.repeat(32);

function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: 'j-1',
    taskId: 't-1',
    state: 'RUNNING',
    attempt: 0,
    device: 'CPU',
    rank: 1,
    inputs: [
      { name: 'f1', location: { bucket: 'spd-in', key: 'raw/f1' }, size: 1, checksum: 'adler32:0badc0de' },
    ],
    claimToken: TOKEN,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

const result = (overrides: Partial<Parameters<typeof judgeResult>[1]> = {}) => ({
  jobId: 'j-1',
  taskId: 't-1',
  attempt: 0,
  claimToken: TOKEN,
  outcome: 'DONE' as const,
  errorCode: 0,
  ...overrides,
});

describe('judgeResult', () => {
  it('applies a result to the RUNNING attempt it was claimed for', () => {
    expect(judgeResult(job(), result())).toEqual({ verdict: 'apply' });
  });

  it('ignores a result for an unknown job or one of another task', () => {
    expect(judgeResult(undefined, result()).verdict).toBe('ignore');
    expect(judgeResult(job({ taskId: 't-2' }), result()).verdict).toBe('ignore');
  });

  it('ignores a result of attempt 0 once the job was retried to attempt 1 with another outcome', () => {
    const retried = job({ state: 'RUNNING', attempt: 1, claimToken: 'b'.repeat(32), errorCode: 1201 });

    expect(judgeResult(retried, result({ attempt: 0, outcome: 'DONE' }))).toEqual({
      verdict: 'ignore',
      reason: 'attempt 0 is not the current attempt 1',
    });
  });

  it('recognises a failure already retried into the next attempt as a repeat', () => {
    const retried = job({ state: 'READY', attempt: 1, claimToken: undefined, errorCode: 1201 });

    expect(judgeResult(retried, result({ outcome: 'FAILED', errorCode: 1201 }))).toEqual({
      verdict: 'repeat',
    });
  });

  it('recognises a result the job already shows as a repeat', () => {
    expect(judgeResult(job({ state: 'DONE' }), result({ outcome: 'DONE' })).verdict).toBe('repeat');
    expect(
      judgeResult(job({ state: 'FAILED' }), result({ outcome: 'FAILED', errorCode: 1202 })).verdict,
    ).toBe('repeat');
    expect(judgeResult(job({ state: 'CANCELLED' }), result()).verdict).toBe('repeat');
  });

  it('ignores a result whose claim token is not the job’s', () => {
    expect(judgeResult(job(), result({ claimToken: 'c'.repeat(32) }))).toEqual({
      verdict: 'ignore',
      reason: 'the claim token does not match',
    });
  });

  it('applies only to a RUNNING job of the same task, attempt and token', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...JOB_STATES),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        fc.constantFrom('DONE' as const, 'FAILED' as const),
        (state, jobAttempt, resultAttempt, sameToken, outcome) => {
          const verdict = judgeResult(
            job({ state, attempt: jobAttempt }),
            result({ attempt: resultAttempt, claimToken: sameToken ? TOKEN : 'd'.repeat(32), outcome }),
          );

          const applies = state === 'RUNNING' && jobAttempt === resultAttempt && sameToken;
          expect(verdict.verdict === 'apply').toBe(applies);
        },
      ),
    );
  });
});

describe('pickForOneTransaction', () => {
  /** Items of the shares together: a job item and its files each, every counter once. */
  const itemsOf = (shares: readonly TransactionShare[]) =>
    shares.reduce((sum, share) => sum + 1 + share.files, 0) +
    new Set(shares.flatMap((share) => share.counters)).size;

  it('takes each job once and passes over a result too big for what is left', () => {
    const shares: TransactionShare[] = [
      { jobId: 'j-1', files: 2, counters: ['t-1', 'out', 'log'] },
      { jobId: 'j-1', files: 2, counters: ['t-1', 'out', 'log'] },
      { jobId: 'j-2', files: 95, counters: ['t-1', 'out'] },
      { jobId: 'j-3', files: 2, counters: ['t-1', 'out', 'log'] },
    ];

    expect(pickForOneTransaction(shares, 100)).toEqual([0, 3]);
  });

  it('never exceeds the limit, and leaves out only repeated jobs and results that do not fit', () => {
    const share = fc.record({
      jobId: fc.constantFrom('j-1', 'j-2', 'j-3', 'j-4', 'j-5', 'j-6'),
      files: fc.integer({ min: 0, max: 40 }),
      counters: fc.uniqueArray(fc.constantFrom('t-1', 't-2', 'out-1', 'out-2', 'log-1'), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(share, { maxLength: 12 }), fc.integer({ min: 1, max: 100 }), (shares, limit) => {
        const picked = pickForOneTransaction(shares, limit);
        const taken = picked.map((index) => shares[index]!);
        expect(itemsOf(taken)).toBeLessThanOrEqual(limit);
        expect(new Set(taken.map((one) => one.jobId)).size).toBe(taken.length);
        expect([...picked].sort((a, b) => a - b)).toEqual(picked);
        shares.forEach((one, index) => {
          if (picked.includes(index)) return;
          const before = picked.filter((earlier) => earlier < index).map((earlier) => shares[earlier]!);
          const repeated = before.some((earlier) => earlier.jobId === one.jobId);
          expect(repeated || itemsOf([...before, one]) > limit).toBe(true);
        });
      }),
    );
  });
});
