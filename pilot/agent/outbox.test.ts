import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextBatchSize } from './outbox.js';

describe('nextBatchSize', () => {
  it('takes up to the entry limit while the bytes fit', () => {
    expect(nextBatchSize([1, 1, 1], 10, 100)).toBe(3);
    expect(nextBatchSize(Array(15).fill(1), 10, 100)).toBe(10);
    expect(nextBatchSize([40, 40, 40], 10, 100)).toBe(2);
    expect(nextBatchSize([], 10, 100)).toBe(0);
  });

  it('sends a body too large for any batch alone, so it cannot block the others', () => {
    expect(nextBatchSize([500, 1], 10, 100)).toBe(1);
  });

  it('always takes at least one and stays within both limits otherwise', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 30 }), (sizes) => {
        const count = nextBatchSize(sizes, 10, 256);
        const bytes = sizes.slice(0, count).reduce((sum, size) => sum + size, 0);
        expect(count).toBeGreaterThanOrEqual(1);
        expect(count).toBeLessThanOrEqual(10);
        if (count > 1) expect(bytes).toBeLessThanOrEqual(256);
        if (count < Math.min(10, sizes.length)) expect(bytes + sizes[count]!).toBeGreaterThan(256);
      }),
    );
  });
});
