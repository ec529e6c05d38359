import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { FileName, Identifier } from '../model/index.js';
import { compareCodePoints, compareNames, datasetUidFor, jobIdFor, newClaimToken } from './index.js';

const taskIdArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/);
const fileNameArb = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => FileName.safeParse(s).success);
const fileNamesArb = fc.uniqueArray(fileNameArb, { minLength: 1, maxLength: 12 });

describe('jobIdFor', () => {
  it('is j- plus 26 lower-case base32 characters and a valid Identifier', () => {
    fc.assert(
      fc.property(taskIdArb, fileNamesArb, (taskId, names) => {
        const id = jobIdFor(taskId, names);
        expect(id).toMatch(/^j-[a-z2-7]{26}$/);
        expect(Identifier.safeParse(id).success).toBe(true);
      }),
    );
  });

  it('encodes the sha256 of the task id and sorted names as RFC 4648 base32', () => {
    // Prepare: base32 of the digest computed independently, 5 bits at a time from a bit string.
    const digest = createHash('sha256').update('t-1\u0000a.raw\u0000b.raw').digest();
    const bitString = [...digest].map((byte) => byte.toString(2).padStart(8, '0')).join('');
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    const expected = Array.from(
      { length: 26 },
      (_, i) => alphabet[Number.parseInt(bitString.slice(i * 5, i * 5 + 5), 2)],
    ).join('');

    // Act / Assess
    expect(jobIdFor('t-1', ['b.raw', 'a.raw'])).toBe(`j-${expected}`);
  });

  it('is deterministic and independent of the order of the names', () => {
    fc.assert(
      fc.property(
        taskIdArb,
        fileNamesArb.chain((names) =>
          fc.tuple(fc.constant(names), fc.shuffledSubarray(names, { minLength: names.length })),
        ),
        (taskId, [names, shuffled]) => {
          expect(jobIdFor(taskId, shuffled)).toBe(jobIdFor(taskId, names));
        },
      ),
    );
  });

  it('gives different ids to different inputs', () => {
    fc.assert(
      fc.property(taskIdArb, fileNamesArb, taskIdArb, fileNamesArb, (taskA, namesA, taskB, namesB) => {
        const sameInput =
          taskA === taskB &&
          JSON.stringify([...namesA].sort(compareNames)) === JSON.stringify([...namesB].sort(compareNames));
        fc.pre(!sameInput);
        expect(jobIdFor(taskA, namesA)).not.toBe(jobIdFor(taskB, namesB));
      }),
    );
  });

  it('changes the id when a name is added, removed or renamed', () => {
    fc.assert(
      fc.property(taskIdArb, fileNamesArb, fileNameArb, (taskId, names, other) => {
        fc.pre(!names.includes(other));
        const id = jobIdFor(taskId, names);
        expect(jobIdFor(taskId, [...names, other])).not.toBe(id);
        expect(jobIdFor(taskId, [other, ...names.slice(1)])).not.toBe(id);
        if (names.length > 1) expect(jobIdFor(taskId, names.slice(1))).not.toBe(id);
      }),
    );
  });

  it('does not confuse a name boundary with a task boundary', () => {
    expect(jobIdFor('t', ['a', 'b'])).not.toBe(jobIdFor('t', ['ab']));
    expect(jobIdFor('t-a', ['b'])).not.toBe(jobIdFor('t', ['a', 'b']));
    expect(jobIdFor('t', ['a'])).not.toBe(jobIdFor('t2', ['a']));
  });

  it('refuses an empty input list and values holding the separator', () => {
    expect(() => jobIdFor('t-1', [])).toThrow(ValidationError);
    expect(() => jobIdFor('t\u0000', ['a'])).toThrow(ValidationError);
    try {
      jobIdFor('t-1', ['a', 'b\u0000c']);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([
        { path: 'inputFileNames.1', message: 'must not contain a NUL character' },
      ]);
    }
  });
});

describe('datasetUidFor', () => {
  it('is ds- plus 26 base32 characters, deterministic, and a valid Identifier', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$/), (name) => {
        const uid = datasetUidFor(name);
        expect(uid).toMatch(/^ds-[a-z2-7]{26}$/);
        expect(datasetUidFor(name)).toBe(uid);
        expect(Identifier.safeParse(uid).success).toBe(true);
      }),
    );
  });

  it('gives different names different uids', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        fc.pre(a !== b && !a.includes('\u0000') && !b.includes('\u0000'));
        expect(datasetUidFor(a)).not.toBe(datasetUidFor(b));
      }),
    );
  });

  it('refuses a name holding the separator', () => {
    expect(() => datasetUidFor('a\u0000b')).toThrow(ValidationError);
  });
});

describe('newClaimToken', () => {
  it('is 32 lower-case hex characters and fresh on every call', () => {
    const tokens = Array.from({ length: 1000 }, () => newClaimToken());
    for (const token of tokens) expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});

describe('compareNames', () => {
  it('orders by code unit, not by locale', () => {
    expect(['b', 'B', 'a', 'é', 'A', 'a1', 'a10', 'a2'].sort(compareNames)).toEqual([
      'A',
      'B',
      'a',
      'a1',
      'a10',
      'a2',
      'b',
      'é',
    ]);
    expect(compareNames('x', 'x')).toBe(0);
  });
});

describe('compareCodePoints', () => {
  it('puts a character above U+FFFF after one in U+E000–U+FFFF, as UTF-8 bytes do', () => {
    const fullwidthStop = 'a\uff0e.raw';
    const emoji = 'a\u{1f600}.raw';

    expect([emoji, fullwidthStop].sort(compareCodePoints)).toEqual([fullwidthStop, emoji]);
    expect([emoji, fullwidthStop].sort(compareNames)).toEqual([emoji, fullwidthStop]);
  });

  it('agrees with the byte order of the UTF-8 encodings on any strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const bytes = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
        expect(compareCodePoints(a, b)).toBe(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});
