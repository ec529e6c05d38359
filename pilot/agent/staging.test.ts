import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, S3_MULTIPART } from './constants.js';
import { partSizeFor } from './staging.js';

const MIB = 1024 ** 2;

describe('partSizeFor', () => {
  it('fits every size up to 5 TiB in at most 10,000 parts of 5 MiB to 5 GiB, whole MiB, never below the preferred size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: S3_MULTIPART.maxObjectBytes }),
        fc.integer({ min: 5, max: 512 }).map((mib) => mib * MIB),
        (size, preferred) => {
          const part = partSizeFor(size, preferred)!;
          expect(Math.ceil(size / part)).toBeLessThanOrEqual(S3_MULTIPART.maxParts);
          expect(part).toBeGreaterThanOrEqual(Math.max(preferred, S3_MULTIPART.minPartBytes));
          expect(part).toBeLessThanOrEqual(S3_MULTIPART.maxPartBytes);
          expect(part % MIB).toBe(0);
          // The smallest that fits: one MiB less would need more parts (or go below the preferred).
          if (part > preferred) expect(Math.ceil(size / (part - MIB))).toBeGreaterThan(S3_MULTIPART.maxParts);
        },
      ),
    );
  });

  it('keeps the preferred 16 MiB up to 156.25 GiB and takes larger parts beyond; refuses more than 5 TiB', () => {
    expect(partSizeFor(10_000 * 16 * MIB, DEFAULTS.uploadPartBytes)).toBe(16 * MIB);
    expect(partSizeFor(10_000 * 16 * MIB + 1, DEFAULTS.uploadPartBytes)).toBe(17 * MIB);
    expect(partSizeFor(S3_MULTIPART.maxObjectBytes, DEFAULTS.uploadPartBytes)).toBe(525 * MIB);
    expect(partSizeFor(S3_MULTIPART.maxObjectBytes + 1, DEFAULTS.uploadPartBytes)).toBeNull();
  });
});
