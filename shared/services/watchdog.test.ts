import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JOB_STATES, type JobCounts } from '../model/index.js';
import type { JobSummary } from '../repositories/index.js';
import { missingMessages, reconcileReportedJobs, waitedSeconds } from './watchdog.js';

function counts(ready: number): JobCounts {
  return { ...(Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as JobCounts), READY: ready };
}

describe('missingMessages', () => {
  it('is the QUEUED jobs a queue holds no message for, never negative', () => {
    expect(missingMessages({ CPU: 5, GPU: 1 }, { CPU: 3, GPU: 4 })).toEqual({ CPU: 2, GPU: 0 });
    fc.assert(
      fc.property(fc.nat(100), fc.nat(100), (queued, messages) => {
        const missing = missingMessages({ CPU: queued, GPU: 0 }, { CPU: messages, GPU: 0 }).CPU;
        expect(missing).toBeGreaterThanOrEqual(0);
        expect(missing + messages).toBeGreaterThanOrEqual(queued);
        expect(missing).toBeLessThanOrEqual(queued);
      }),
    );
  });
});

describe('waitedSeconds', () => {
  const now = new Date('2026-01-01T01:00:00.000Z');

  it('counts from the last dispatch, or the creation, while READY jobs wait', () => {
    const createdAt = '2026-01-01T00:00:00.000Z';
    expect(
      waitedSeconds({ counts: counts(2), createdAt, lastServedAt: '2026-01-01T00:59:30.000Z' }, now),
    ).toBe(30);
    expect(waitedSeconds({ counts: counts(2), createdAt }, now)).toBe(3600);
  });

  it('is zero for a task with nothing READY, or a clock behind the last dispatch', () => {
    expect(waitedSeconds({ counts: counts(0), createdAt: '2026-01-01T00:00:00.000Z' }, now)).toBe(0);
    expect(
      waitedSeconds(
        {
          counts: counts(1),
          createdAt: '2026-01-01T00:00:00.000Z',
          lastServedAt: '2026-01-01T02:00:00.000Z',
        },
        now,
      ),
    ).toBe(0);
  });
});

describe('reconcileReportedJobs', () => {
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000).toISOString();
  const job = (jobId: string, updatedAtSecond: number, attempt = 0): JobSummary => ({
    jobId,
    taskId: 't',
    state: 'RUNNING',
    attempt,
    pilotId: 'p',
    updatedAt: at(updatedAtSecond),
  });
  const ref = ({ jobId, attempt }: JobSummary) => ({ jobId, attempt });

  it('lists a job the last heartbeat leaves out, from that heartbeat on, and gives it up after the set time', () => {
    const held = [job('kept', 0), job('gone', 0), job('claimed-since', 150)];
    const first = reconcileReportedJobs(
      { lastHeartbeatAt: at(100), reportedJobs: [ref(held[0]!)] },
      held,
      60,
    );
    expect(first).toEqual({ lost: [], unreported: [{ jobId: 'gone', attempt: 0, since: at(100) }] });

    const still = reconcileReportedJobs(
      { lastHeartbeatAt: at(159), reportedJobs: [ref(held[0]!)], unreportedJobs: first.unreported },
      held,
      60,
    );
    expect(still.lost).toEqual([]);
    expect(still.unreported).toEqual([
      { jobId: 'gone', attempt: 0, since: at(100) },
      { jobId: 'claimed-since', attempt: 0, since: at(159) },
    ]);

    const late = reconcileReportedJobs(
      {
        lastHeartbeatAt: at(160),
        reportedJobs: [ref(held[0]!), ref(held[2]!)],
        unreportedJobs: still.unreported,
      },
      held,
      60,
    );
    expect(late).toEqual({ lost: [held[1]], unreported: [] });
  });

  it('leaves out a job changed since the last heartbeat, a reported one, another attempt, and an unjudged pilot', () => {
    const changed = job('changed', 200);
    const older = job('retried', 0, 2);
    expect(
      reconcileReportedJobs(
        {
          lastHeartbeatAt: at(150),
          reportedJobs: [{ jobId: 'retried', attempt: 1 }],
          unreportedJobs: [{ jobId: 'changed', attempt: 0, since: at(0) }],
        },
        [changed, older],
        60,
      ),
    ).toEqual({ lost: [], unreported: [{ jobId: 'retried', attempt: 2, since: at(150) }] });
    expect(reconcileReportedJobs({ lastHeartbeatAt: at(10_000) }, [job('any', 0)], 60)).toEqual({
      lost: [],
      unreported: [],
    });
  });

  it('never gives up a reported job, nor one unreported for less than the set time', () => {
    const jobs = fc.uniqueArray(
      fc.record({ jobId: fc.stringMatching(/^j[0-9]{1,3}$/), updated: fc.nat(1000), attempt: fc.nat(3) }),
      { selector: (entry) => entry.jobId, maxLength: 20 },
    );
    fc.assert(
      fc.property(
        jobs,
        fc.nat(2000),
        fc.integer({ min: 1, max: 600 }),
        fc.func(fc.boolean()),
        fc.func(fc.option(fc.nat(2000), { nil: undefined })),
        (entries, heartbeat, after, isReported, listedAt) => {
          const held = entries.map((entry) => job(entry.jobId, entry.updated, entry.attempt));
          const reportedJobs = held.filter((entry) => isReported(entry.jobId)).map(ref);
          const unreportedJobs = held.flatMap((entry) => {
            const since = listedAt(entry.jobId);
            return since === undefined || since > heartbeat
              ? []
              : [{ jobId: entry.jobId, attempt: entry.attempt, since: at(since) }];
          });
          const { lost, unreported } = reconcileReportedJobs(
            { lastHeartbeatAt: at(heartbeat), reportedJobs, unreportedJobs },
            held,
            after,
          );
          const reported = new Set(reportedJobs.map((entry) => entry.jobId));
          for (const entry of [...lost, ...unreported]) {
            expect(reported.has(entry.jobId)).toBe(false);
            expect(
              Date.parse(held.find((candidate) => candidate.jobId === entry.jobId)!.updatedAt),
            ).toBeLessThan(Date.parse(at(heartbeat)));
          }
          for (const entry of lost) {
            const since =
              unreportedJobs.find((listed) => listed.jobId === entry.jobId)?.since ?? at(heartbeat);
            expect(Date.parse(at(heartbeat)) - Date.parse(since)).toBeGreaterThanOrEqual(after * 1000);
          }
          expect(lost.length + unreported.length).toBeLessThanOrEqual(held.length);
        },
      ),
    );
  });
});
