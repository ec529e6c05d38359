import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, exitCodeForStatus } from './exit-codes.js';

describe('exitCodeForStatus', () => {
  it('maps what the caller got wrong to its own code', () => {
    // Assess
    expect([400, 413, 401, 403, 404, 409].map(exitCodeForStatus)).toEqual([
      EXIT_CODES.usage,
      EXIT_CODES.usage,
      EXIT_CODES.denied,
      EXIT_CODES.denied,
      EXIT_CODES.notFound,
      EXIT_CODES.conflict,
    ]);
  });

  it('makes every server failure exit 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 500, max: 599 }), (status) => {
        expect(exitCodeForStatus(status)).toBe(EXIT_CODES.failure);
      }),
    );
  });

  it('gives every outcome a different code', () => {
    // Assess
    const codes = Object.values(EXIT_CODES);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
