import { createHash, randomBytes } from 'node:crypto';
import { ValidationError } from '../errors/index.js';
import {
  BASE32_ALPHABET,
  CLAIM_TOKEN_BYTES,
  DATASET_UID_PREFIX,
  HASH_LENGTH,
  JOB_ID_PREFIX,
  PART_SEPARATOR,
} from './constants.js';

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

function hashParts(parts: readonly string[]): string {
  const digest = createHash('sha256').update(parts.join(PART_SEPARATOR), 'utf8').digest();
  return base32(digest).slice(0, HASH_LENGTH);
}

/** Throws for any value holding the separator; `fields` pairs each value with its field path. */
function rejectSeparator(fields: readonly (readonly [path: string, value: string])[]): void {
  const issues = fields
    .filter(([, value]) => value.includes(PART_SEPARATOR))
    .map(([path]) => ({ path, message: 'must not contain a NUL character' }));
  if (issues.length > 0) throw new ValidationError('invalid id input', issues);
}

/** Code-unit order: the same on every machine, unlike a locale-aware comparison. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A UTF-16 code unit moved so that unit order is code-point order: surrogates after U+E000–U+FFFF. */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/**
 * Code-point order, which is the byte order of the names' UTF-8: the order DynamoDB returns a
 * dataset's files in (sort keys compare as UTF-8 bytes) and `LC_ALL=C sort` writes UTF-8 lines
 * in. It differs from compareNames only between a name with a character above U+FFFF and one
 * with a character in U+E000–U+FFFF at the same place.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const left = a.charCodeAt(index);
    const right = b.charCodeAt(index);
    if (left !== right) return codePointRank(left) < codePointRank(right) ? -1 : 1;
  }
  return a.length - b.length === 0 ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * The deterministic id of the job that processes `inputFileNames` for `taskId`: `j-` followed
 * by 26 lower-case base32 characters of sha256(taskId, sorted names). The order of the names
 * does not matter, so creating the same job twice yields the same id (and a refused write).
 */
export function jobIdFor(taskId: string, inputFileNames: readonly string[]): string {
  if (inputFileNames.length === 0) {
    throw new ValidationError('invalid id input', [
      { path: 'inputFileNames', message: 'a job needs at least one input file' },
    ]);
  }
  rejectSeparator([
    ['taskId', taskId],
    ...inputFileNames.map((name, index) => [`inputFileNames.${index}`, name] as const),
  ]);
  return JOB_ID_PREFIX + hashParts([taskId, ...[...inputFileNames].sort(compareNames)]);
}

/** The uid of a dataset the WMS creates (task outputs and logs): `ds-` + hash of its name. */
export function datasetUidFor(datasetName: string): string {
  rejectSeparator([['datasetName', datasetName]]);
  return DATASET_UID_PREFIX + hashParts(['dataset', datasetName]);
}

/** A fresh random claim token (32 hex characters) a pilot must present to report on its job. */
export function newClaimToken(): string {
  return randomBytes(CLAIM_TOKEN_BYTES).toString('hex');
}
