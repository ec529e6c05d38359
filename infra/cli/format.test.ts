import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JOB_STATES } from '../../shared/model/index.js';
import {
  age,
  bar,
  bytes,
  PROGRESS_STATES,
  plural,
  progressBar,
  progressCounts,
  progressLines,
  progressSummary,
  table,
  timingText,
} from './format.js';

const progress = {
  jobs: { READY: 2, QUEUED: 1, RUNNING: 3, DONE: 10, FAILED: 0, CANCELLED: 0, LOST: 0 },
  jobsTotal: 16,
  percentDone: 62.5,
};

describe('table', () => {
  it('pads columns to their widest cell and right-aligns the ">" columns', () => {
    // Act
    const text = table(
      ['TASK', '>JOBS'],
      [
        ['t-1', '5'],
        ['t-long-name', '120'],
      ],
    );

    // Assess
    expect(text.split('\n')).toEqual(['TASK         JOBS', 't-1             5', 't-long-name   120']);
  });
});

describe('bar', () => {
  it('is always `width` cells, filled in proportion and never beyond', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(1000), fc.integer({ min: 1, max: 80 }), (value, total, width) => {
        // Act
        const drawn = bar(value, total, width);

        // Assess
        const filled = [...drawn].filter((cell) => cell === '█').length;
        expect([...drawn]).toHaveLength(width);
        expect(filled).toBe(total === 0 ? 0 : Math.round((width * Math.min(value, total)) / total));
      }),
    );
  });
});

describe('bytes and age', () => {
  it('write sizes in decimal units and ages in the largest sensible unit', () => {
    // Prepare
    const now = new Date('2026-01-02T12:00:00.000Z');

    // Assess
    expect([bytes(999), bytes(1500), bytes(4_000_000_000), bytes(25_300_000_000_000)]).toEqual([
      '999 B',
      '1.50 kB',
      '4.00 GB',
      '25.3 TB',
    ]);
    expect([
      age('2026-01-02T11:59:15.000Z', now),
      age('2026-01-02T11:30:00.000Z', now),
      age('2026-01-02T07:55:00.000Z', now),
      age('2025-12-30T08:00:00.000Z', now),
    ]).toEqual(['45 s', '30 min', '4 h 05 min', '3 d 04 h']);
  });
});

describe('progress', () => {
  it('covers every job state, one line each', () => {
    // Assess
    expect([...PROGRESS_STATES].sort()).toEqual([...JOB_STATES].sort());
    expect(progressLines(progress, 16).map((line) => line.split(' ')[0])).toEqual(PROGRESS_STATES);
    expect(progressLines(progress, 16)[4]).toBe(`DONE      ${'█'.repeat(10)}${'░'.repeat(6)} 10`);
  });

  it('names only the states that hold jobs', () => {
    // Assess
    expect(progressCounts(progress)).toBe('READY=2 QUEUED=1 RUNNING=3 DONE=10');
    expect(
      progressCounts({ ...progress, jobs: { ...progress.jobs, READY: 0, QUEUED: 0, RUNNING: 0, DONE: 0 } }),
    ).toBe('no jobs yet');
  });
});

describe('progressBar and progressSummary', () => {
  it('show a cancelled task whose jobs all failed as finished, failed, not as an empty bar', () => {
    // Prepare
    const allFailed = {
      jobs: { READY: 0, QUEUED: 0, RUNNING: 0, DONE: 0, FAILED: 80, CANCELLED: 0, LOST: 0 },
      jobsTotal: 80,
      percentDone: 100,
    };

    // Act / Assess
    expect(progressBar(allFailed, 16)).toBe('▓'.repeat(16));
    expect(progressSummary(allFailed)).toBe('100.0% finished (80/80 jobs: 0 done, 80 failed)');
  });

  it('fill exactly the finished share, done cells first, for any counts', () => {
    const counts = fc.record({
      DONE: fc.nat(50),
      FAILED: fc.nat(50),
      CANCELLED: fc.nat(50),
      READY: fc.nat(50),
    });
    fc.assert(
      fc.property(counts, fc.integer({ min: 1, max: 60 }), (c, width) => {
        const total = c.DONE + c.FAILED + c.CANCELLED + c.READY;
        const shown = progressBar(
          { jobs: { ...c, QUEUED: 0, RUNNING: 0, LOST: 0 }, jobsTotal: total, percentDone: 0 },
          width,
        );
        expect([...shown]).toHaveLength(width);
        expect(shown).toMatch(/^█*▓*░*$/);
        const finished = total === 0 ? 0 : Math.round((width * (total - c.READY)) / total);
        expect([...shown.replaceAll('░', '')]).toHaveLength(finished);
      }),
    );
  });
});

describe('plural', () => {
  it('says 1 retry and 3 retries', () => {
    expect([plural(1, 'retry', 'retries'), plural(3, 'retry', 'retries'), plural(0, 'message')]).toEqual([
      '1 retry',
      '3 retries',
      '0 messages',
    ]);
  });
});

describe('timingText', () => {
  it('gives the elapsed time, the rate of finished jobs and the time the rest take at that rate', () => {
    // Act
    const text = timingText(
      { createdAt: '2026-01-02T12:00:00.000Z', progress },
      new Date('2026-01-02T12:05:00.000Z'),
    );

    // Assess: 10 finished in 5 min is 2 a minute; 6 left take 3 min.
    expect(text).toBe('elapsed 5 min 00 s · 2.00 jobs/min · ETA 3 min 00 s');
  });

  it('gives no rate before a job finished and no ETA once the task ended', () => {
    const none = { ...progress, jobs: { ...progress.jobs, DONE: 0 } };
    expect(
      timingText(
        { createdAt: '2026-01-02T12:00:00.000Z', progress: none },
        new Date('2026-01-02T12:00:30.000Z'),
      ),
    ).toBe('elapsed 30 s · no job finished yet');
    expect(
      timingText(
        { createdAt: '2026-01-02T12:00:00.000Z', endedAt: '2026-01-02T12:10:00.000Z', progress },
        new Date('2026-01-02T13:00:00.000Z'),
      ),
    ).toBe('elapsed 10 min 00 s · 1.00 jobs/min');
  });
});
