import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../shared/async/index.js';
import { backoffDelayMs } from './backoff.js';

const policy = { initialMs: 200, maxMs: 10_000, factor: 2 };

describe('backoffDelayMs', () => {
  it('doubles from the initial delay up to the cap (without jitter: random = 1)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((failures) => backoffDelayMs(failures, policy, () => 1));
    expect(delays).toEqual([200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
  });

  it('takes at most half off at random', () => {
    expect(backoffDelayMs(3, policy, () => 0)).toBe(400);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(600);
  });

  it('stays within [ceiling/2, ceiling] for any failure count and random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (failures, r) => {
          const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, failures - 1));
          const delay = backoffDelayMs(failures, policy, () => r);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });
});

describe('sleep', () => {
  it('ends early, without rejecting, when its signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);

    await sleep(10_000, controller.signal);

    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('returns at once for an aborted signal and waits the time otherwise', async () => {
    const started = Date.now();
    await sleep(10_000, AbortSignal.abort());
    await sleep(50);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(45);
    expect(elapsed).toBeLessThan(1_000);
  });
});
