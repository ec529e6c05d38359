import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JOB_PHASES } from '../model/index.js';
import { isPhaseAdvance } from './index.js';

describe('isPhaseAdvance', () => {
  it('accepts any first phase', () => {
    for (const phase of JOB_PHASES) expect(isPhaseAdvance(undefined, phase)).toBe(true);
  });

  it.each([
    ['CLAIMED', 'STAGE_IN', true],
    ['CLAIMED', 'STAGE_OUT', true],
    ['STAGE_IN', 'EXECUTING', true],
    ['EXECUTING', 'STAGE_OUT', true],
    ['STAGE_IN', 'STAGE_IN', false],
    ['EXECUTING', 'STAGE_IN', false],
    ['STAGE_OUT', 'CLAIMED', false],
    ['STAGE_OUT', 'EXECUTING', false],
  ] as const)('%s then %s advances: %s', (current, reported, expected) => {
    expect(isPhaseAdvance(current, reported)).toBe(expected);
  });

  it('keeps the latest phase whatever order the updates arrive in', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...JOB_PHASES), { maxLength: 20 }), (updates) => {
        let current: (typeof JOB_PHASES)[number] | undefined;
        for (const reported of updates) if (isPhaseAdvance(current, reported)) current = reported;
        const latest =
          updates.length === 0
            ? undefined
            : JOB_PHASES[Math.max(...updates.map((u) => JOB_PHASES.indexOf(u)))];
        expect(current).toBe(latest);
      }),
    );
  });
});
