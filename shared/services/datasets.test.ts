import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { datasetUidFor } from '../ids/index.js';
import type { FileRecord } from '../model/index.js';
import { describeFileConflict, describeMismatch, taskDatasetOf } from './datasets.js';

describe('describeMismatch', () => {
  it('escapes names outside printable ASCII, so an NFC and an NFD spelling read differently', () => {
    expect(
      describeMismatch({
        status: 'mismatch',
        missing: ['caf\u00e9.raw'],
        extra: ['cafe\u0301.raw'],
        duplicates: [],
      }),
    ).toBe('missing: caf\\u00e9.raw; extra: cafe\\u0301.raw');
  });

  it('lists the missing, extra and duplicated names, leaving out empty lists', () => {
    expect(describeMismatch({ status: 'mismatch', missing: ['a', 'b'], extra: ['c'], duplicates: [] })).toBe(
      'missing: a,b; extra: c',
    );
    expect(describeMismatch({ status: 'mismatch', missing: [], extra: [], duplicates: ['d'] })).toBe(
      'duplicated: d',
    );
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
