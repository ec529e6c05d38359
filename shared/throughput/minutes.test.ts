import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEmpty, minuteOf, pointsOf, recentMinutes } from './minutes.js';

const instant = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2100-01-01T00:00:00Z'),
  noInvalidDate: true,
});

describe('minuteOf', () => {
  it('is the start of the minute an instant falls in', () => {
    expect(minuteOf(new Date('2026-12-06T21:04:59.999Z'))).toBe('2026-12-06T21:04:00.000Z');
    expect(minuteOf(new Date('2026-12-06T21:05:00.000Z'))).toBe('2026-12-06T21:05:00.000Z');
  });

  it('holds the instant, at most a minute before it', () => {
    fc.assert(
      fc.property(instant, (at) => {
        const start = Date.parse(minuteOf(at));
        expect(at.getTime() - start).toBeGreaterThanOrEqual(0);
        expect(at.getTime() - start).toBeLessThan(60_000);
        expect(start % 60_000).toBe(0);
      }),
    );
  });
});

describe('recentMinutes', () => {
  it('lists consecutive minutes, oldest first, ending with the current one', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 1, max: 1440 }), (now, count) => {
        const minutes = recentMinutes(now, count);
        expect(minutes).toHaveLength(count);
        expect(minutes.at(-1)).toBe(minuteOf(now));
        for (let index = 1; index < minutes.length; index += 1)
          expect(Date.parse(minutes[index]!) - Date.parse(minutes[index - 1]!)).toBe(60_000);
      }),
    );
  });
});

describe('pointsOf', () => {
  it('gives every wanted minute a point in order, zero where nothing was counted, and ignores others', () => {
    // Prepare
    const minutes = recentMinutes(new Date('2026-12-06T21:04:10Z'), 3);
    const counts = new Map([
      ['2026-12-06T21:02:00.000Z', { done: 5, failed: 1 }],
      ['2026-12-06T21:04:00.000Z', { done: 2 }],
      ['2026-12-06T20:00:00.000Z', { done: 99, failed: 9 }],
    ]);

    // Act
    const points = pointsOf(minutes, counts);

    // Assess
    expect(points).toEqual([
      { minute: '2026-12-06T21:02:00.000Z', done: 5, failed: 1 },
      { minute: '2026-12-06T21:03:00.000Z', done: 0, failed: 0 },
      { minute: '2026-12-06T21:04:00.000Z', done: 2, failed: 0 },
    ]);
  });
});

describe('isEmpty', () => {
  it('is true only when a batch finished no job', () => {
    expect(isEmpty({ done: 0, failed: 0 })).toBe(true);
    expect(isEmpty({ done: 1, failed: 0 })).toBe(false);
    expect(isEmpty({ done: 0, failed: 1 })).toBe(false);
  });
});
