import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportLines } from './exports.js';

describe('exportLines', () => {
  it('writes one export line per variable with a value, in order', () => {
    // Act
    const lines = exportLines({
      WMS_API_URL: 'http://127.0.0.1:4010/',
      AWS_SESSION_TOKEN: undefined,
      AWS_REGION: 'us-east-1',
    });

    // Assess
    expect(lines).toEqual(["export WMS_API_URL='http://127.0.0.1:4010/'", "export AWS_REGION='us-east-1'"]);
  });

  it('gives the shell back exactly the value, whatever characters it holds', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).filter((value) => !value.includes('\0')),
        (value) => {
          const script = `${exportLines({ WMS_VALUE: value }).join('\n')}\nprintf '%s' "$WMS_VALUE"`;
          expect(execFileSync('sh', ['-c', script], { encoding: 'utf8' })).toBe(value);
        },
      ),
      { numRuns: 30 },
    );
  });
});
