import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CATEGORIES,
  ERROR_LIST,
  ERRORS,
  type ErrorEntry,
  errorByCode,
  errorByName,
  errorForPayloadExit,
  isRetryableCode,
  type PayloadKillReason,
} from './index.js';

const CATEGORY_BLOCK: Record<(typeof ERROR_CATEGORIES)[number], number> = {
  'stage-in': 11,
  payload: 12,
  'stage-out': 13,
  pilot: 14,
  lost: 15,
  killed: 16,
  validation: 17,
};

describe('error registry', () => {
  it('has unique codes', () => {
    const codes = ERROR_LIST.map((entry) => entry.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('has unique UPPER_SNAKE names equal to their keys', () => {
    const names = ERROR_LIST.map((entry) => entry.name);
    expect(new Set(names).size).toBe(names.length);
    for (const [key, entry] of Object.entries(ERRORS)) {
      expect(entry.name).toBe(key);
      expect(entry.name).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
    }
  });

  it('uses every category, and only OK has none', () => {
    const used = new Set(ERROR_LIST.map((entry) => entry.category));
    for (const category of ERROR_CATEGORIES) expect(used.has(category)).toBe(true);
    expect(ERROR_LIST.filter((entry) => entry.category === null)).toEqual([ERRORS.OK]);
  });

  it('keeps each category in its block of codes and name prefix', () => {
    for (const entry of ERROR_LIST.filter((e) => e.category !== null)) {
      const category = entry.category as (typeof ERROR_CATEGORIES)[number];
      expect(Math.floor(entry.code / 100)).toBe(CATEGORY_BLOCK[category]);
      expect(entry.name.startsWith(`${category.replace('-', '_').toUpperCase()}_`)).toBe(true);
    }
  });

  it('has OK as code 0, not retryable, and a message on every entry', () => {
    expect(ERRORS.OK.code).toBe(0);
    expect(ERRORS.OK.retryable).toBe(false);
    for (const entry of ERROR_LIST) expect(entry.message.length).toBeGreaterThan(0);
  });

  it('marks the retryable kinds the design names', () => {
    expect(ERRORS.STAGE_IN_DOWNLOAD_FAILED.retryable).toBe(true);
    expect(ERRORS.PAYLOAD_NONZERO_EXIT.retryable).toBe(true);
    expect(ERRORS.STAGE_OUT_UPLOAD_FAILED.retryable).toBe(true);
    expect(ERRORS.PILOT_SHUTDOWN.retryable).toBe(true);
    expect(ERRORS.LOST_HEARTBEAT.retryable).toBe(true);
    expect(ERRORS.VALIDATION_INVALID_FILE_NAME.retryable).toBe(false);
    expect(ERRORS.PAYLOAD_EXECUTABLE_NOT_FOUND.retryable).toBe(false);
    expect(ERRORS.KILLED_CANCELLED.retryable).toBe(false);
    expect(ERRORS.VALIDATION_BAD_JOB_MESSAGE.retryable).toBe(false);
    expect(ERRORS.STAGE_OUT_NAME_CONFLICT).toMatchObject({
      code: 1304,
      retryable: false,
      category: 'stage-out',
    });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(ERRORS)).toBe(true);
    expect(Object.isFrozen(ERRORS.OK)).toBe(true);
    expect(Object.isFrozen(ERROR_LIST)).toBe(true);
  });

  it('lists entries in code order', () => {
    const codes = ERROR_LIST.map((entry) => entry.code);
    expect(codes).toEqual([...codes].sort((a, b) => a - b));
  });
});

describe('errorByCode / errorByName / isRetryableCode', () => {
  it('finds every entry by its code and its name', () => {
    for (const entry of ERROR_LIST) {
      expect(errorByCode(entry.code)).toBe(entry);
      expect(errorByName(entry.name)).toBe(entry);
      expect(isRetryableCode(entry.code)).toBe(entry.retryable);
    }
  });

  it('returns undefined for unknown codes and names, and treats unknown codes as not retryable', () => {
    const known = new Set(ERROR_LIST.map((entry) => entry.code));
    fc.assert(
      fc.property(
        fc.integer().filter((code) => !known.has(code)),
        (code) => {
          expect(errorByCode(code)).toBeUndefined();
          expect(isRetryableCode(code)).toBe(false);
        },
      ),
    );
    expect(errorByName('NO_SUCH_ERROR')).toBeUndefined();
    expect(errorByName('ok')).toBeUndefined();
  });
});

describe('errorForPayloadExit', () => {
  const exited = (exitCode: number) => errorForPayloadExit({ exitCode, signal: null, killedFor: null });
  const signalled = (signal: string) => errorForPayloadExit({ exitCode: null, signal, killedFor: null });

  it.each([
    [0, ERRORS.OK],
    [1, ERRORS.PAYLOAD_NONZERO_EXIT],
    [2, ERRORS.PAYLOAD_NONZERO_EXIT],
    [125, ERRORS.PAYLOAD_NONZERO_EXIT],
    [126, ERRORS.PAYLOAD_NOT_EXECUTABLE],
    [127, ERRORS.PAYLOAD_EXECUTABLE_NOT_FOUND],
    [128, ERRORS.PAYLOAD_NONZERO_EXIT],
    [134, ERRORS.PAYLOAD_CRASHED],
    [137, ERRORS.PAYLOAD_KILLED_BY_SIGNAL],
    [139, ERRORS.PAYLOAD_CRASHED],
    [143, ERRORS.PAYLOAD_KILLED_BY_SIGNAL],
    [255, ERRORS.PAYLOAD_NONZERO_EXIT],
  ] as [number, ErrorEntry][])('maps exit status %i to %o', (exitCode, expected) => {
    expect(exited(exitCode)).toBe(expected);
  });

  it.each(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT', 'SIGSYS', 'SIGTRAP'])(
    'maps crash signal %s to PAYLOAD_CRASHED',
    (signal) => {
      expect(signalled(signal)).toBe(ERRORS.PAYLOAD_CRASHED);
    },
  );

  it.each(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGXCPU'])(
    'maps outside kill %s to PAYLOAD_KILLED_BY_SIGNAL',
    (signal) => {
      expect(signalled(signal)).toBe(ERRORS.PAYLOAD_KILLED_BY_SIGNAL);
    },
  );

  it.each([
    ['walltime', ERRORS.PAYLOAD_WALLTIME_EXCEEDED],
    ['cancel', ERRORS.KILLED_CANCELLED],
    ['shutdown', ERRORS.PILOT_SHUTDOWN],
    ['disk-quota', ERRORS.PAYLOAD_DISK_QUOTA],
  ] as [PayloadKillReason, ErrorEntry][])(
    'lets a kill the pilot sent (%s) decide the code whatever the process reported',
    (killedFor, expected) => {
      fc.assert(
        fc.property(
          fc.option(fc.integer({ min: 0, max: 255 })),
          fc.option(fc.constantFrom('SIGTERM', 'SIGKILL', 'SIGSEGV')),
          (exitCode, signal) => {
            expect(errorForPayloadExit({ exitCode, signal, killedFor })).toBe(expected);
          },
        ),
      );
    },
  );

  it('reports a process with neither status nor signal as a pilot error', () => {
    expect(errorForPayloadExit({ exitCode: null, signal: null, killedFor: null })).toBe(
      ERRORS.PILOT_INTERNAL_ERROR,
    );
  });

  it('maps every non-zero exit status to a payload failure and only 0 to OK', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), (exitCode) => {
        const entry = exited(exitCode);
        if (exitCode === 0) expect(entry).toBe(ERRORS.OK);
        else expect(entry.category).toBe('payload');
      }),
    );
  });
});
