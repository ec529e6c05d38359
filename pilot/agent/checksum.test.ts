import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Adler32, checksumAlgorithm, createChecksum } from './checksum.js';

/** Adler-32 reduced after every byte, straight from RFC 1950. */
function naiveAdler32(data: Uint8Array): string {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return (((b << 16) | a) >>> 0).toString(16).padStart(8, '0');
}

describe('Adler32', () => {
  it.each([
    ['', '00000001'],
    ['a', '00620062'],
    ['abc', '024d0127'],
    ['Wikipedia', '11e60398'],
  ])('of %j is %s', (text, expected) => {
    expect(new Adler32().update(Buffer.from(text)).digestHex()).toBe(expected);
  });

  it('agrees with the per-byte definition across many blocks of 0xff (its worst case)', () => {
    const data = new Uint8Array(3 * 5552 + 17).fill(0xff);
    expect(new Adler32().update(data).digestHex()).toBe(naiveAdler32(data));
  });

  it('gives the same result however the data is split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), fc.array(fc.nat()), (data, cuts) => {
        const points = [...new Set(cuts.map((cut) => cut % (data.length + 1)))].sort((x, y) => x - y);
        const adler = new Adler32();
        let start = 0;
        for (const point of [...points, data.length]) {
          adler.update(data.subarray(start, point));
          start = point;
        }
        expect(adler.digestHex()).toBe(naiveAdler32(data));
      }),
      { numRuns: 50 },
    );
  });
});

describe('createChecksum', () => {
  it('prints sha256 and adler32 in the form of shared/model Checksum', () => {
    const sha = createChecksum('sha256');
    sha.update(Buffer.from('ab'));
    sha.update(Buffer.from('c'));
    expect(sha.digest()).toBe(`sha256:${createHash('sha256').update('abc').digest('hex')}`);

    const adler = createChecksum('adler32');
    adler.update(Buffer.from('abc'));
    expect(adler.digest()).toBe('adler32:024d0127');
  });

  it('reads the algorithm of a checksum string', () => {
    expect(checksumAlgorithm(`sha256:${'0'.repeat(64)}`)).toBe('sha256');
    expect(checksumAlgorithm('adler32:024d0127')).toBe('adler32');
    expect(() => checksumAlgorithm('md5:abc')).toThrow(RangeError);
  });
});
