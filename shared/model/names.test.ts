import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileName } from './index.js';
import { normalizedName, printableName } from './names.js';

const NFC = 'caf\u00e9.raw';
const NFD = 'cafe\u0301.raw';

describe('FileName', () => {
  it('takes a name in NFD as the same name in NFC', () => {
    expect(FileName.parse(NFD)).toBe(NFC);
    expect(FileName.parse(NFC)).toBe(NFC);
  });

  it('keeps every valid name in NFC, and a name already in NFC unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), (name) => {
        const parsed = FileName.safeParse(name);
        if (!parsed.success) return;
        expect(parsed.data).toBe(normalizedName(parsed.data));
        expect(FileName.parse(parsed.data)).toBe(parsed.data);
        expect(FileName.parse(name.normalize('NFD'))).toBe(parsed.data);
      }),
    );
  });
});

describe('printableName', () => {
  it('escapes every code point outside printable ASCII, so names that look alike read differently', () => {
    expect(printableName(NFC)).toBe('caf\\u00e9.raw');
    expect(printableName(NFD)).toBe('cafe\\u0301.raw');
    expect(printableName('run-\u{1f600}.log')).toBe('run-\\u{1f600}.log');
    expect(printableName('plain_name-1.root')).toBe('plain_name-1.root');
  });

  it('gives distinct names distinct texts of printable ASCII', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(printableName(a)).toMatch(/^[\x20-\x7e]*$/);
        if (a !== b && !a.includes('\\') && !b.includes('\\'))
          expect(printableName(a)).not.toBe(printableName(b));
      }),
    );
  });
});
