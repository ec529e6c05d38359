import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { datasetUidFor } from '../ids/index.js';
import type { FileRecord } from '../model/index.js';
import { describeFileConflict, describeMismatch, taskDatasetOf } from './datasets.js';

describe('describeMismatch', () => {
  const all = (...names: string[]) => ({ count: names.length, first: names });
  const none = all();

  it('escapes names outside printable ASCII, so an NFC and an NFD spelling read differently', () => {
    expect(
      describeMismatch({
        status: 'mismatch',
        registered: 1,
        listed: 1,
        missing: all('caf\u00e9.raw'),
        extra: all('cafe\u0301.raw'),
        duplicated: none,
      }),
    ).toBe('1 registered, 1 listed; missing: caf\\u00e9.raw; extra: cafe\\u0301.raw');
  });

  it('gives the counts first, then the missing, extra and duplicated names, leaving out empty kinds', () => {
    expect(
      describeMismatch({
        status: 'mismatch',
        registered: 1,
        listed: 2,
        missing: all('a', 'b'),
        extra: all('c'),
        duplicated: none,
      }),
    ).toBe('1 registered, 2 listed; missing: a,b; extra: c');
    expect(
      describeMismatch({
        status: 'mismatch',
        registered: 1,
        listed: 2,
        missing: none,
        extra: none,
        duplicated: all('d'),
      }),
    ).toBe('1 registered, 2 listed; duplicated: d');
  });

  it('says how many differences there are in all when it lists only the first', () => {
    expect(
      describeMismatch({
        status: 'mismatch',
        registered: 20_000,
        listed: 19_000,
        missing: none,
        extra: { count: 1_000, first: ['x1', 'x2'] },
        duplicated: none,
      }),
    ).toBe('20000 registered, 19000 listed; extra: x1,x2,… (1000 in all)');
  });
});

describe('describeFileConflict', () => {
  const registered: FileRecord = {
    datasetUid: 'ds-in',
    name: 'f1',
    kind: 'input',
    location: { bucket: 'spd-in', key: 'raw/f1' },
    size: 10,
    checksum: 'adler32:00000001',
    registeredAt: '2025-01-01T00:00:00.000Z',
  };

  it('names each field that differs', () => {
    expect(describeFileConflict(registered, { ...registered, size: 11, checksum: 'adler32:00000002' })).toBe(
      'file ds-in/f1 is registered with different content: size 10 registered, 11 announced; ' +
        'checksum adler32:00000001 registered, adler32:00000002 announced',
    );
    expect(describeFileConflict(registered, { ...registered, size: 12 })).toBe(
      'file ds-in/f1 is registered with different content: size 10 registered, 12 announced',
    );
  });
});

describe('taskDatasetOf', () => {
  it('finds the output and log datasets under the uid every writer derives from the name', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/),
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/),
        (outputDataset, logDataset) => {
          const task = { outputDataset, logDataset };

          expect(taskDatasetOf(task, 'output')).toEqual({
            uid: datasetUidFor(outputDataset),
            name: outputDataset,
            kind: 'output',
          });
          expect(taskDatasetOf(task, 'log')).toEqual({
            uid: datasetUidFor(logDataset),
            name: logDataset,
            kind: 'log',
          });
        },
      ),
    );
  });
});
