import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobMessage } from '../test-support/factories.js';
import {
  heartbeatJobs,
  parseControlCommand,
  parseJobMessage,
  pollPlan,
  type ReceiveRoom,
  receiveCapacity,
} from './messages.js';

describe('parseJobMessage', () => {
  it('accepts a valid job message', () => {
    const job = jobMessage();
    expect(parseJobMessage(JSON.stringify(job))).toEqual({ kind: 'valid', job });
  });

  it('keeps the ids of an invalid message, with every bad field named', () => {
    const body = JSON.stringify({
      ...jobMessage({ jobId: 'j-1', taskId: 't-9', attempt: 4 }),
      executable: 'rm -rf / ; echo',
      inputs: [],
    });

    const parsed = parseJobMessage(body);

    expect(parsed.kind).toBe('invalid');
    if (parsed.kind !== 'invalid') return;
    expect(parsed.ids).toEqual({ jobId: 'j-1', taskId: 't-9', attempt: 4 });
    expect(parsed.error.issues.map((issue) => issue.path).sort()).toEqual(['executable', 'inputs']);
  });

  it('refuses a traversal in an input name', () => {
    const job = jobMessage();
    const body = JSON.stringify({ ...job, inputs: [{ ...job.inputs[0], name: '../../etc/passwd' }] });

    const parsed = parseJobMessage(body);

    expect(parsed.kind).toBe('invalid');
    if (parsed.kind === 'invalid') {
      expect(parsed.error.issues.map((issue) => issue.path)).toEqual([
        expect.stringMatching(/^inputs\W+0\W+name$/),
      ]);
    }
  });

  it.each([
    ['not JSON', '{"type": "job", '],
    ['no body', undefined],
    ['no ids', JSON.stringify({ type: 'job', attempt: 0 })],
    ['a bad attempt', JSON.stringify({ ...jobMessage(), attempt: -1 })],
    ['an array', '[]'],
  ])('finds %s unreadable', (_, body) => {
    expect(parseJobMessage(body).kind).toBe('unreadable');
  });

  it('never throws, whatever the body', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.constant(undefined)), (body) => {
        expect(['valid', 'invalid', 'unreadable']).toContain(parseJobMessage(body).kind);
      }),
    );
  });
});

describe('parseControlCommand', () => {
  it('reads kill and drain commands and refuses anything else', () => {
    const kill = {
      type: 'job.kill',
      jobId: 'j-1',
      attempt: 0,
      reason: 'cancelled',
      issuedAt: '2026-01-01T00:00:00.000Z',
    };
    expect(parseControlCommand(JSON.stringify(kill))).toEqual({ ok: true, command: kill });
    expect(
      parseControlCommand(JSON.stringify({ type: 'pilot.drain', issuedAt: '2026-01-01T00:00:00.000Z' })).ok,
    ).toBe(true);
    expect(parseControlCommand(JSON.stringify({ ...kill, reason: 'because' })).ok).toBe(false);
    expect(parseControlCommand('kill j-1').ok).toBe(false);
  });
});

describe('pollPlan', () => {
  it('has a CPU pilot long-poll the CPU queue only', () => {
    expect(pollPlan('CPU', 20, false)).toEqual([{ queue: 'CPU', waitSeconds: 20 }]);
    expect(pollPlan('CPU', 20, true)).toEqual([{ queue: 'CPU', waitSeconds: 20 }]);
  });

  it('has a GPU pilot long-poll the GPU queue, then look briefly at the CPU queue', () => {
    expect(pollPlan('GPU', 20, false)).toEqual([
      { queue: 'GPU', waitSeconds: 20 },
      { queue: 'CPU', waitSeconds: 1 },
    ]);
  });

  it('keeps the GPU poll brief while the last round found work', () => {
    expect(pollPlan('GPU', 20, true)).toEqual([
      { queue: 'GPU', waitSeconds: 1 },
      { queue: 'CPU', waitSeconds: 1 },
    ]);
    expect(pollPlan('GPU', 0, true)).toEqual([
      { queue: 'GPU', waitSeconds: 0 },
      { queue: 'CPU', waitSeconds: 0 },
    ]);
  });
});

describe('receiveCapacity', () => {
  const room = (over: Partial<ReceiveRoom>): ReceiveRoom => ({
    freeSlots: 0,
    jobsInHand: 0,
    maxJobsInHand: 32,
    maxJobs: undefined,
    jobsTaken: 0,
    ...over,
  });

  it('asks for one message per free slot, at most ten', () => {
    expect(receiveCapacity(room({ freeSlots: 3, jobsTaken: 100 }))).toBe(3);
    expect(receiveCapacity(room({ freeSlots: 64, maxJobsInHand: 128 }))).toBe(10);
    expect(receiveCapacity(room({ freeSlots: 0 }))).toBe(0);
  });

  it('takes no more jobs than its hands hold, free slots or not (jobs staging out hold none)', () => {
    expect(receiveCapacity(room({ freeSlots: 8, jobsInHand: 28 }))).toBe(4);
    expect(receiveCapacity(room({ freeSlots: 16, jobsInHand: 32 }))).toBe(0);
    expect(receiveCapacity(room({ freeSlots: 16, jobsInHand: 40 }))).toBe(0);
  });

  it('never takes more jobs than maxJobs, nor more than its slots and hands allow', () => {
    expect(receiveCapacity(room({ freeSlots: 8, maxJobs: 5, jobsTaken: 3 }))).toBe(2);
    expect(receiveCapacity(room({ freeSlots: 8, maxJobs: 5, jobsTaken: 5 }))).toBe(0);
    fc.assert(
      fc.property(
        fc.nat(64),
        fc.nat(64),
        fc.integer({ min: 1, max: 50 }),
        fc.nat(60),
        (free, inHand, maxJobs, taken) => {
          const jobsTaken = Math.min(taken, maxJobs);
          const capacity = receiveCapacity(room({ freeSlots: free, jobsInHand: inHand, maxJobs, jobsTaken }));
          expect(capacity).toBeGreaterThanOrEqual(0);
          expect(jobsTaken + capacity).toBeLessThanOrEqual(maxJobs);
          expect(capacity).toBeLessThanOrEqual(Math.min(free, 10));
          expect(inHand + capacity).toBeLessThanOrEqual(Math.max(inHand, 32));
        },
      ),
    );
  });
});

describe('heartbeatJobs', () => {
  it('lists the running jobs, then the results waiting for SQS, each attempt once', () => {
    expect(
      heartbeatJobs(
        [{ jobId: 'j-1', attempt: 0, phase: 'EXECUTING' }],
        [
          { jobId: 'j-1', attempt: 0 },
          { jobId: 'j-2', attempt: 1 },
          { jobId: 'j-2', attempt: 1 },
          { jobId: 'j-1', attempt: 1 },
        ],
      ),
    ).toEqual([
      { jobId: 'j-1', attempt: 0, phase: 'EXECUTING' },
      { jobId: 'j-2', attempt: 1, phase: 'STAGE_OUT' },
      { jobId: 'j-1', attempt: 1, phase: 'STAGE_OUT' },
    ]);
  });

  it('keeps within the API limit, the running jobs first', () => {
    const running = Array.from({ length: 1000 }, (_, index) => ({
      jobId: `r-${index}`,
      attempt: 0,
      phase: 'EXECUTING' as const,
    }));
    const pending = Array.from({ length: 100 }, (_, index) => ({ jobId: `p-${index}`, attempt: 0 }));
    const jobs = heartbeatJobs(running, pending);
    expect(jobs).toHaveLength(1024);
    expect(jobs.slice(0, 1000)).toEqual(running);
    expect(jobs.at(-1)).toEqual({ jobId: 'p-23', attempt: 0, phase: 'STAGE_OUT' });
  });
});
