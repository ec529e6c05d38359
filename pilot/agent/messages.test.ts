import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobMessage } from '../test-support/factories.js';
import { parseControlCommand, parseJobMessage, pollPlan, receiveCapacity } from './messages.js';

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
  it('asks for one message per free slot, at most ten', () => {
    expect(receiveCapacity(3, undefined, 100)).toBe(3);
    expect(receiveCapacity(64, undefined, 0)).toBe(10);
    expect(receiveCapacity(0, undefined, 0)).toBe(0);
  });

  it('never takes more jobs than maxJobs', () => {
    expect(receiveCapacity(8, 5, 3)).toBe(2);
    expect(receiveCapacity(8, 5, 5)).toBe(0);
    fc.assert(
      fc.property(fc.nat(64), fc.integer({ min: 1, max: 50 }), fc.nat(60), (free, maxJobs, taken) => {
        const capacity = receiveCapacity(free, maxJobs, Math.min(taken, maxJobs));
        expect(capacity).toBeGreaterThanOrEqual(0);
        expect(Math.min(taken, maxJobs) + capacity).toBeLessThanOrEqual(maxJobs);
        expect(capacity).toBeLessThanOrEqual(Math.min(free, 10));
      }),
    );
  });
});
