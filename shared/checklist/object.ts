/**
 * Checklist objects: a dataset's checklist stored as an object, one name per line, so that a
 * `dataset.close` of any size can refer to it. Format: UTF-8, each name followed by "\n",
 * names in code-point order (compareCodePoints; `LC_ALL=C sort` of the NFC names), each once.
 */
import { createHash } from 'node:crypto';
import { compareCodePoints } from '../ids/index.js';
import { FileName } from '../model/index.js';
import { CHECKLIST_LINE_MAX_BYTES } from './constants.js';
import { ChecklistDigestError, ChecklistLineError, NamesOutOfOrderError } from './errors.js';
import type { ChecklistObjectRef } from './types.js';

const NEWLINE = 0x0a;
/** Bytes gathered before a chunk of a written object is handed on. */
const WRITE_CHUNK_BYTES = 64 * 1024;

/**
 * The names of a checklist object, read from its bytes as they arrive. Each line is checked as
 * it is read (a FileName, after the line before it in code-point order, not longer than
 * CHECKLIST_LINE_MAX_BYTES); the count and the sha256 are checked at the end, and more names
 * than the count fail at once. Holds one chunk and one line, whatever the object's size.
 * Throws ChecklistLineError or ChecklistDigestError.
 */
export async function* checklistObjectNames(
  body: AsyncIterable<Uint8Array>,
  ref: ChecklistObjectRef,
): AsyncGenerator<string> {
  const hash = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending: Buffer = Buffer.alloc(0);
  let previous: string | undefined;
  let count = 0;
  const lineError = (problem: string) => new ChecklistLineError(ref.location, count + 1, problem);

  const nameOf = (line: Uint8Array): string => {
    let text: string;
    try {
      text = decoder.decode(line);
    } catch {
      throw lineError('is not valid UTF-8');
    }
    if (text.length === 0) throw lineError('is empty');
    const parsed = FileName.safeParse(text);
    if (!parsed.success) throw lineError(parsed.error.issues[0]?.message ?? 'is not a file name');
    const name = parsed.data;
    if (previous !== undefined) {
      const order = compareCodePoints(previous, name);
      if (order === 0) throw lineError('repeats the name of the line before');
      if (order > 0) throw lineError('comes before the line before it in code-point order');
    }
    if (count === ref.count) {
      throw new ChecklistDigestError(
        ref.location,
        `holds more than the ${ref.count} names its reference says`,
      );
    }
    previous = name;
    count += 1;
    return name;
  };

  for await (const chunk of body) {
    hash.update(chunk);
    const data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let end = data.indexOf(NEWLINE, start); end !== -1; end = data.indexOf(NEWLINE, start)) {
      const piece = data.subarray(start, end);
      const line = pending.length === 0 ? piece : Buffer.concat([pending, piece]);
      pending = Buffer.alloc(0);
      if (line.length > CHECKLIST_LINE_MAX_BYTES)
        throw lineError(`is longer than ${CHECKLIST_LINE_MAX_BYTES} bytes`);
      yield nameOf(line);
      start = end + 1;
    }
    if (start < data.length) pending = Buffer.concat([pending, data.subarray(start)]);
    if (pending.length > CHECKLIST_LINE_MAX_BYTES)
      throw lineError(`is longer than ${CHECKLIST_LINE_MAX_BYTES} bytes`);
  }
  if (pending.length > 0) throw lineError('has no newline at its end');
  if (count !== ref.count) {
    throw new ChecklistDigestError(
      ref.location,
      `holds ${count} names, not the ${ref.count} its reference says`,
    );
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== ref.sha256) {
    throw new ChecklistDigestError(
      ref.location,
      `has sha256 ${sha256}, not the ${ref.sha256} its reference says`,
    );
  }
}

/** The bytes of the checklist object of `names` (in code-point order, each once), in chunks. */
export async function* checklistObjectBytes(names: AsyncIterable<string>): AsyncGenerator<Buffer> {
  let parts: string[] = [];
  let size = 0;
  for await (const name of names) {
    parts.push(name, '\n');
    size += name.length + 1;
    if (size >= WRITE_CHUNK_BYTES) {
      yield Buffer.from(parts.join(''), 'utf8');
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) yield Buffer.from(parts.join(''), 'utf8');
}

/**
 * What a reference to the checklist object of `names` says, and its size in bytes; names out
 * of code-point order or repeated throw NamesOutOfOrderError.
 */
export async function checklistObjectDigest(
  names: AsyncIterable<string>,
): Promise<{ count: number; sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let count = 0;
  let bytes = 0;
  let previous: string | undefined;
  for await (const name of names) {
    if (previous !== undefined && compareCodePoints(previous, name) >= 0) {
      throw new NamesOutOfOrderError('checklist', count + 1);
    }
    previous = name;
    count += 1;
    const line = Buffer.from(`${name}\n`, 'utf8');
    hash.update(line);
    bytes += line.length;
  }
  return { count, sha256: hash.digest('hex'), bytes };
}
