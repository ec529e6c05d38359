import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JOB_STATES, type JobCounts } from '../model/index.js';
import { missingMessages, waitedSeconds } from './watchdog.js';

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
