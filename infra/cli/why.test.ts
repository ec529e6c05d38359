import { describe, expect, it } from 'vitest';
import { type JobView, WAITING_REASONS } from '../../events/index.js';
import { readSample } from '../../events/samples.js';
import { explainJob } from './why.js';

const now = new Date('2026-01-02T12:00:00.000Z');
const sample = readSample('api.job-view') as JobView;
const { waiting: _waiting, ...base } = sample;

function job(overrides: Partial<JobView>): JobView {
  return { ...base, ...overrides } as JobView;
}

describe('explainJob', () => {
  it.each(WAITING_REASONS)(
    'puts the waiting reason %s in words, with the pilots that could take it',
    (reason) => {
      // Act
      const text = explainJob(
        job({
          state: 'QUEUED',
          waiting: { reason, device: 'GPU', queuePosition: 12, taskRank: 7, activePilotsForDevice: 1 },
        }),
        now,
      );

      // Assess
      const lines = text.split('\n');
      const [head, why] = lines;
      const pilots = lines.at(-1);
      expect(head).toBe(
        `Job ${base.jobId} of task ${base.taskId} is QUEUED (attempt ${base.attempt}, ${base.device}).`,
      );
      expect(why).toMatch(/^[A-Z].+\.$/);
      expect(pilots).toBe('1 active pilot can run GPU jobs.');
    },
  );

  it('says where a running job runs and why a failed job failed', () => {
    // Act
    const running = explainJob(
      job({ state: 'RUNNING', pilotId: 'p-7', phase: 'EXECUTING', startedAt: '2026-01-02T11:59:00.000Z' }),
      now,
    );
    const failed = explainJob(
      job({ state: 'FAILED', errorCode: 9999, exitCode: 3, errorMessage: 'bad calibration' }),
      now,
    );

    // Assess
    expect(running).toContain('It runs on pilot p-7, phase EXECUTING, for 60 s.');
    expect(failed).toContain('It failed for good: error 9999, exit code 3: bad calibration');
  });

  it('says why the previous attempt of a retried job failed', () => {
    // Act
    const retried = explainJob(
      job({
        state: 'READY',
        attempt: 1,
        errorCode: 1305,
        errorMessage:
          'result refused, nothing registered: output "a.root" is at s3://spd-data/datasets/raw/a.root',
        retryAfter: '2026-01-02T12:00:10.000Z',
        waiting: { reason: 'retry-backoff', device: 'CPU', taskRank: 5, activePilotsForDevice: 2 },
      }),
      now,
    );
    const first = explainJob(
      job({
        state: 'READY',
        attempt: 0,
        waiting: { reason: 'queue-full', device: 'CPU', taskRank: 5, activePilotsForDevice: 2 },
      }),
      now,
    );

    // Assess
    expect(retried.split('\n')).toEqual([
      `Job ${base.jobId} of task ${base.taskId} is READY (attempt 1, ${base.device}).`,
      'A failed attempt waits for its retry delay until 2026-01-02T12:00:10.000Z.',
      'Its previous attempt failed: STAGE_OUT_LOCATION_REFUSED (1305): result refused, nothing registered: output "a.root" is at s3://spd-data/datasets/raw/a.root',
      '2 active pilots can run CPU jobs.',
    ]);
    expect(first).not.toContain('previous attempt');
  });
});
