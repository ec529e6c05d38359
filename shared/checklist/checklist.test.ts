import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { closeDeferral, matchChecklist } from './index.js';

describe('matchChecklist', () => {
  it('matches equal sets in any order', () => {
    expect(matchChecklist(['b', 'a', 'c'], ['c', 'b', 'a'])).toEqual({ status: 'match' });
  });

  it('matches two empty lists', () => {
    expect(matchChecklist([], [])).toEqual({ status: 'match' });
  });

  it('reports missing files', () => {
    expect(matchChecklist(['a'], ['c', 'a', 'b'])).toEqual({
      status: 'mismatch',
      missing: ['b', 'c'],
      extra: [],
      duplicates: [],
    });
  });

  it('reports extra files', () => {
    expect(matchChecklist(['z', 'a', 'y'], ['a'])).toEqual({
      status: 'mismatch',
      missing: [],
      extra: ['y', 'z'],
      duplicates: [],
    });
  });

  it('reports missing and extra together', () => {
    expect(matchChecklist(['a', 'x'], ['a', 'b'])).toEqual({
      status: 'mismatch',
      missing: ['b'],
      extra: ['x'],
      duplicates: [],
    });
    expect(matchChecklist(['x'], [])).toEqual({
      status: 'mismatch',
      missing: [],
      extra: ['x'],
      duplicates: [],
    });
    expect(matchChecklist([], ['b'])).toEqual({
      status: 'mismatch',
      missing: ['b'],
      extra: [],
      duplicates: [],
    });
  });

  it('reports a name listed twice in the checklist, once, even when the sets are equal', () => {
    expect(matchChecklist(['a', 'b'], ['b', 'a', 'b', 'b'])).toEqual({
      status: 'mismatch',
      missing: [],
      extra: [],
      duplicates: ['b'],
    });
  });

  it('compares registered names as a set', () => {
    expect(matchChecklist(['a', 'a'], ['a'])).toEqual({ status: 'match' });
  });

  const namesArb = fc.array(fc.stringMatching(/^[a-f]{1,3}$/), { maxLength: 30 });

  it('matches exactly when the sets are equal and the checklist has no duplicate', () => {
    fc.assert(
      fc.property(namesArb, namesArb, (registered, checklist) => {
        const result = matchChecklist(registered, checklist);
        const sameSet =
          new Set(registered).size === new Set(checklist).size &&
          registered.every((name) => checklist.includes(name));
        const unique = new Set(checklist).size === checklist.length;
        expect(result.status === 'match').toBe(sameSet && unique);
      }),
    );
  });

  it('lists exactly the differences, sorted and without repeats', () => {
    fc.assert(
      fc.property(namesArb, namesArb, (registered, checklist) => {
        const result = matchChecklist(registered, checklist);
        fc.pre(result.status === 'mismatch');
        if (result.status !== 'mismatch') return;
        const sorted = (names: string[]) => [...new Set(names)].sort();
        expect(result.missing).toEqual(sorted(checklist.filter((name) => !registered.includes(name))));
        expect(result.extra).toEqual(sorted(registered.filter((name) => !checklist.includes(name))));
        expect(result.duplicates).toEqual(
          sorted(checklist.filter((name, i) => checklist.indexOf(name) !== i)),
        );
      }),
    );
  });

  it('is a match for any list against itself without duplicates', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string()), (names) => {
        expect(matchChecklist(names, [...names].reverse())).toEqual({ status: 'match' });
      }),
    );
  });
});

describe('closeDeferral', () => {
  it('defers with a delay doubling from 10 s up to 900 s, then dead-letters at the 12th receive', () => {
    const decisions = Array.from({ length: 13 }, (_, i) => closeDeferral(i + 1));
    expect(decisions).toEqual([
      ...[10, 20, 40, 80, 160, 320, 640, 900, 900, 900, 900].map((delaySeconds) => ({
        action: 'defer',
        delaySeconds,
      })),
      { action: 'dead-letter' },
      { action: 'dead-letter' },
    ]);
  });

  it('uses the policy it is given', () => {
    const policy = { baseSeconds: 1, maxSeconds: 3, maxAttempts: 4 };
    expect([1, 2, 3, 4].map((count) => closeDeferral(count, policy))).toEqual([
      { action: 'defer', delaySeconds: 1 },
      { action: 'defer', delaySeconds: 2 },
      { action: 'defer', delaySeconds: 3 },
      { action: 'dead-letter' },
    ]);
  });

  it('refuses a bad receive count or policy', () => {
    expect(() => closeDeferral(0)).toThrow(ValidationError);
    expect(() => closeDeferral(1.5)).toThrow(/receiveCount/);
    expect(() => closeDeferral(1, { baseSeconds: 100, maxSeconds: 10 })).toThrow(/maxSeconds/);
    expect(() => closeDeferral(1, { maxSeconds: 50_000 })).toThrow(/maxSeconds/);
  });

  it('grows the delay monotonically, capped, and dead-letters exactly from maxAttempts on', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 0, max: 3600 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 100 }),
        (baseSeconds, extra, maxAttempts, receiveCount) => {
          const policy = { baseSeconds, maxSeconds: baseSeconds + extra, maxAttempts };
          const decision = closeDeferral(receiveCount, policy);
          if (receiveCount >= maxAttempts) {
            expect(decision).toEqual({ action: 'dead-letter' });
            return;
          }
          if (decision.action !== 'defer') throw new Error('expected a deferral');
          expect(decision.delaySeconds).toBeGreaterThanOrEqual(baseSeconds);
          expect(decision.delaySeconds).toBeLessThanOrEqual(policy.maxSeconds);
          const following = closeDeferral(receiveCount + 1, policy);
          if (following.action === 'defer')
            expect(following.delaySeconds).toBeGreaterThanOrEqual(decision.delaySeconds);
        },
      ),
    );
  });
});
