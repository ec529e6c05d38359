import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodePoints } from '../ids/index.js';
import { FileName } from '../model/index.js';
import {
  CHECKLIST_LINE_MAX_BYTES,
  ChecklistDigestError,
  ChecklistLineError,
  type ChecklistObjectRef,
  checklistObjectBytes,
  checklistObjectDigest,
  checklistObjectNames,
  NamesOutOfOrderError,
} from './index.js';

const location = { bucket: 'spd-data', key: 'checklists/raw/list.txt' };

async function* source<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** A reference that fits `text` exactly. */
function refOf(text: string | Buffer): ChecklistObjectRef {
  const bytes = Buffer.from(text);
  const count = bytes.toString('utf8').split('\n').length - 1;
  return { location, count, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** `bytes` cut into chunks at the given offsets. */
function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const offsets = [...new Set([0, ...cuts.map((cut) => cut % (bytes.length + 1)), bytes.length])].sort(
    (a, b) => a - b,
  );
  return offsets.slice(1).map((end, index) => bytes.subarray(offsets[index], end));
}

async function readText(text: string | Buffer, ref = refOf(text)): Promise<string[]> {
  return collect(checklistObjectNames(source([Buffer.from(text)]), ref));
}

async function lineError(text: string | Buffer, ref?: ChecklistObjectRef): Promise<ChecklistLineError> {
  const error = await readText(text, ref).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ChecklistLineError);
  return error as ChecklistLineError;
}

const nameArb = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
  .filter((name) => FileName.safeParse(name).success && FileName.parse(name) === name);

describe('checklist objects', () => {
  it('reads back what was written, its digest verified, however the bytes are cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(nameArb, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (names, cuts) => {
          const ordered = [...names].sort(compareCodePoints);
          const bytes = Buffer.concat(await collect(checklistObjectBytes(source(ordered))));
          const digest = await checklistObjectDigest(source(ordered));

          const read = await collect(
            checklistObjectNames(source(chunked(bytes, cuts)), { location, ...digest }),
          );

          expect(read).toEqual(ordered);
          expect(digest.bytes).toBe(bytes.length);
          expect(bytes.toString('utf8')).toBe(ordered.map((name) => `${name}\n`).join(''));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes an empty checklist as an empty object', async () => {
    expect(await collect(checklistObjectBytes(source([])))).toEqual([]);
    expect(await checklistObjectDigest(source([]))).toEqual({
      count: 0,
      sha256: createHash('sha256').digest('hex'),
      bytes: 0,
    });
    expect(await readText('')).toEqual([]);
  });

  it('refuses to describe names out of order or repeated', async () => {
    await expect(checklistObjectDigest(source(['b', 'a']))).rejects.toBeInstanceOf(NamesOutOfOrderError);
    await expect(checklistObjectDigest(source(['a', 'a']))).rejects.toBeInstanceOf(NamesOutOfOrderError);
  });

  it('takes a name in NFD as its NFC spelling', async () => {
    expect(await readText('cafe\u0301.raw\n')).toEqual(['caf\u00e9.raw']);
  });

  it('refuses an object with fewer or more names, or other bytes, than its reference says', async () => {
    const text = 'a.raw\nb.raw\n';
    const ref = refOf(text);

    await expect(readText(text, { ...ref, count: 3 })).rejects.toThrow(
      new ChecklistDigestError(location, 'holds 2 names, not the 3 its reference says'),
    );
    await expect(readText(text, { ...ref, count: 1 })).rejects.toThrow(/holds more than the 1 names/);
    await expect(readText(text, { ...ref, sha256: '0'.repeat(64) })).rejects.toThrow(
      `checklist object s3://spd-data/checklists/raw/list.txt has sha256 ${ref.sha256}, not the ${'0'.repeat(64)} its reference says`,
    );
  });

  it('names the first bad line and why', async () => {
    const cases: [string | Buffer, number, RegExp][] = [
      ['a.raw\n\nb.raw\n', 2, /line 2: is empty/],
      ['a.raw\r\nb.raw\n', 1, /line 1: must not contain control characters/],
      ['a.raw\ndir/b.raw\n', 2, /line 2: must not contain a path separator/],
      ['a.raw\nb.raw', 2, /line 2: has no newline at its end/],
      ['b.raw\na.raw\n', 2, /line 2: comes before the line before it in code-point order/],
      ['a.raw\na.raw\n', 2, /line 2: repeats the name of the line before/],
      ['a\u{1f600}.raw\na\uff0e.raw\n', 2, /comes before the line before it/],
      [Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0x0a]), 2, /line 2: is not valid UTF-8/],
    ];
    for (const [text, line, message] of cases) {
      const error = await lineError(text);
      expect(error.line, String(text)).toBe(line);
      expect(error.message).toMatch(message);
      expect(error.code).toBe('CHECKLIST_LINE_INVALID');
    }
  });

  it('stops at a line longer than any name, or at one name too many, without reading the rest', async () => {
    let chunksRead = 0;
    async function* endless(chunkAt: (index: number) => Buffer) {
      for (let index = 0; ; index++) {
        chunksRead += 1;
        yield chunkAt(index);
      }
    }
    const ref = { location, count: 5, sha256: '0'.repeat(64) };

    const long = await collect(
      checklistObjectNames(
        endless(() => Buffer.alloc(100, 0x61)),
        ref,
      ),
    ).catch((e) => e);
    const readForLong = chunksRead;
    chunksRead = 0;
    const many = await collect(
      checklistObjectNames(
        endless((index) => Buffer.from(`n${String(index).padStart(8, '0')}\n`)),
        ref,
      ),
    ).catch((e) => e);

    expect(long).toBeInstanceOf(ChecklistLineError);
    expect((long as Error).message).toContain(`longer than ${CHECKLIST_LINE_MAX_BYTES} bytes`);
    expect(readForLong).toBeLessThanOrEqual(CHECKLIST_LINE_MAX_BYTES / 100 + 1);
    expect(many).toBeInstanceOf(ChecklistDigestError);
    expect((many as Error).message).toContain('holds more than the 5 names');
    expect(chunksRead).toBe(6);
  });
});
