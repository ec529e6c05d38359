import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ERRORS } from '../../shared/errors/index.js';
import type { FileRef } from '../../shared/model/index.js';
import { checksumAlgorithm, createChecksum } from './checksum.js';
import { S3_MULTIPART } from './constants.js';
import { StageInError, StageOutError } from './errors.js';
import { createFileInside, openRegularFileInside } from './paths.js';

export interface DownloadOptions {
  /** Objects of at least this size are fetched as parallel ranged GETs. */
  rangedThresholdBytes: number;
  partBytes: number;
  parallelism: number;
  signal?: AbortSignal | undefined;
}

/** A byte range `[start, end]`, both inclusive as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Splits `size` bytes into consecutive ranges of `partBytes` (the last may be shorter). */
export function splitRanges(size: number, partBytes: number): ByteRange[] {
  const ranges: ByteRange[] = [];
  for (let start = 0; start < size; start += partBytes) {
    ranges.push({ start, end: Math.min(start + partBytes, size) - 1 });
  }
  return ranges;
}

/** The total object size of a `Content-Range: bytes a-b/total` header, if it states one. */
export function totalFromContentRange(header: string | undefined): number | undefined {
  const match = header === undefined ? null : /\/(\d+)$/.exec(header);
  return match ? Number(match[1]) : undefined;
}

/** A range past the end of the object: the object is shorter than registered. */
function isRangeNotSatisfiable(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'InvalidRange' || $metadata?.httpStatusCode === 416;
}

function isNotFound(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    name === 'NoSuchKey' ||
    name === 'NotFound' ||
    name === 'NoSuchBucket' ||
    $metadata?.httpStatusCode === 404
  );
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error as Error).name === 'AbortError';
}

/** Writes a stream at `position` onwards, passing each chunk to `onChunk`; returns the bytes written. */
async function writeStreamAt(
  handle: FileHandle,
  body: Readable,
  position: number,
  onChunk?: (chunk: Buffer) => void,
): Promise<number> {
  let offset = position;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    onChunk?.(chunk);
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, offset + done);
      done += bytesWritten;
    }
    offset += chunk.length;
  }
  return offset - position;
}

/** Feeds `handle`'s bytes in `range` to `update`, reading through one reused buffer. */
async function readRange(
  handle: FileHandle,
  range: ByteRange,
  update: (data: Uint8Array) => void,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(1024 ** 2, range.end - range.start + 1));
  for (let position = range.start; position <= range.end; ) {
    const length = Math.min(buffer.length, range.end - position + 1);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    if (bytesRead === 0) return;
    update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

async function getObject(s3: S3Client, file: FileRef, range: ByteRange | null, signal?: AbortSignal) {
  const response = await s3.send(
    new GetObjectCommand({
      Bucket: file.location.bucket,
      Key: file.location.key,
      ...(range && { Range: `bytes=${range.start}-${range.end}` }),
    }),
    { abortSignal: signal },
  );
  return {
    body: response.Body as Readable,
    contentRange: response.ContentRange,
    contentLength: response.ContentLength,
  };
}

/**
 * Downloads an object to a new file, streaming to disk, and returns the bytes written and
 * the checksum of what was written (in the algorithm of `file.checksum`). Large objects are
 * fetched as parallel ranged GETs written at their offsets; the checksum then reads the
 * parts back from the page cache in order as soon as they are contiguous.
 */
async function transfer(
  s3: S3Client,
  file: FileRef,
  handle: FileHandle,
  options: DownloadOptions,
): Promise<{ bytes: number; checksum: string }> {
  const checksum = createChecksum(checksumAlgorithm(file.checksum));
  if (file.size < options.rangedThresholdBytes || file.size <= options.partBytes) {
    const { body, contentLength } = await getObject(s3, file, null, options.signal);
    if (contentLength !== undefined && contentLength !== file.size) {
      body.destroy();
      throw sizeMismatch(file, contentLength);
    }
    const bytes = await writeStreamAt(handle, body, 0, (chunk) => checksum.update(chunk));
    return { bytes, checksum: checksum.digest() };
  }

  const ranges = splitRanges(file.size, options.partBytes);
  // One failed part stops the others before the file handle is closed under them.
  const stopParts = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopParts.signal]) : stopParts.signal;
  const finished = new Set<number>();
  let nextToHash = 0;
  let hashing = Promise.resolve();
  let bytes = 0;
  let nextRange = 0;
  let firstError: unknown;
  const fail = (error: unknown) => {
    firstError ??= error;
    stopParts.abort();
  };
  const fetchParts = async (): Promise<void> => {
    while (nextRange < ranges.length && !signal.aborted) {
      const index = nextRange++;
      const range = ranges[index]!;
      const { body, contentRange } = await getObject(s3, file, range, signal);
      const total = totalFromContentRange(contentRange);
      if (total !== undefined && total !== file.size) {
        body.destroy();
        throw sizeMismatch(file, total);
      }
      // Not `bytes += await …`: that would read `bytes` before the await, racing the other workers.
      const written = await writeStreamAt(handle, body, range.start);
      bytes += written;
      finished.add(index);
      hashing = hashing
        .then(async () => {
          while (finished.has(nextToHash)) {
            await readRange(handle, ranges[nextToHash]!, (data) => checksum.update(data));
            nextToHash++;
          }
        })
        .catch(fail);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(options.parallelism, ranges.length) }, () => fetchParts().catch(fail)),
  );
  await hashing;
  if (firstError !== undefined) throw firstError;
  return { bytes, checksum: checksum.digest() };
}

function sizeMismatch(file: FileRef, actual: number): StageInError {
  return new StageInError(
    ERRORS.STAGE_IN_SIZE_MISMATCH,
    `${file.name}: object has ${actual} bytes, registered size is ${file.size}`,
  );
}

/**
 * Stages one input into `dir` under its validated name and verifies its size and checksum.
 * Returns the file's path. Any failure is a StageInError with its registry code (or an
 * UnsafePathError for a bad name); an abort is passed on as it is.
 */
export async function downloadInput(
  s3: S3Client,
  file: FileRef,
  dir: string,
  options: DownloadOptions,
): Promise<string> {
  const { path, handle } = await createFileInside(dir, file.name);
  let result: { bytes: number; checksum: string };
  try {
    result = await transfer(s3, file, handle, options);
  } catch (error) {
    if (error instanceof StageInError || isAbort(error, options.signal)) throw error;
    if (isRangeNotSatisfiable(error)) {
      throw new StageInError(
        ERRORS.STAGE_IN_SIZE_MISMATCH,
        `${file.name}: object is shorter than ${file.size} bytes`,
        {
          cause: error,
        },
      );
    }
    if (isNotFound(error)) {
      throw new StageInError(
        ERRORS.STAGE_IN_INPUT_NOT_FOUND,
        `${file.name}: s3://${file.location.bucket}/${file.location.key} not found`,
        { cause: error },
      );
    }
    throw new StageInError(ERRORS.STAGE_IN_DOWNLOAD_FAILED, `${file.name}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await handle.close();
  }
  if (result.bytes !== file.size) {
    throw new StageInError(
      ERRORS.STAGE_IN_SIZE_MISMATCH,
      `${file.name}: downloaded ${result.bytes} bytes, registered size is ${file.size}`,
    );
  }
  if (result.checksum !== file.checksum) {
    throw new StageInError(
      ERRORS.STAGE_IN_CHECKSUM_MISMATCH,
      `${file.name}: downloaded checksum ${result.checksum}, registered ${file.checksum}`,
    );
  }
  return path;
}

const UPLOAD_READ_BYTES = 1024 ** 2;
const MIB = 1024 ** 2;

/**
 * The part size of a multipart upload of `size` bytes: `preferredBytes` (at least S3's 5 MiB),
 * or, for an object that would need more than S3's 10,000 parts of it, the smallest whole
 * number of MiB that fits it in 10,000 parts. Null for an object larger than S3's 5 TiB.
 */
export function partSizeFor(size: number, preferredBytes: number): number | null {
  if (size > S3_MULTIPART.maxObjectBytes) return null;
  const smallest = Math.ceil(size / S3_MULTIPART.maxParts / MIB) * MIB;
  return Math.min(S3_MULTIPART.maxPartBytes, Math.max(preferredBytes, S3_MULTIPART.minPartBytes, smallest));
}

export interface UploadOptions {
  /** The preferred part size; a larger file gets larger parts (`partSizeFor`). */
  partBytes: number;
  parallelism: number;
  /** Send `x-amz-checksum-sha256` so the store verifies every request body. */
  checksumHeader: boolean;
  signal?: AbortSignal | undefined;
}

/** What was uploaded: its size and the SHA-256 of the bytes read, as `sha256:<hex>`. */
export interface UploadedFile {
  size: number;
  checksum: string;
}

function isDigestMismatch(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return name === 'BadDigest' || name === 'InvalidDigest' || name === 'XAmzContentSHA256Mismatch';
}

/**
 * Uploads the regular file `name` in `dir` to `bucket`/`key` with lib-storage (one PUT for a
 * small file, a multipart upload otherwise), hashing it with SHA-256 while it is read.
 * Returns null when `name` is not a regular file (a link or a directory is never followed).
 */
export async function uploadFile(
  s3: S3Client,
  dir: string,
  name: string,
  target: { bucket: string; key: string },
  options: UploadOptions,
): Promise<UploadedFile | null> {
  const opened = await openRegularFileInside(dir, name);
  if (opened === null) return null;
  const partSize = partSizeFor(opened.size, options.partBytes);
  if (partSize === null) {
    await opened.handle.close();
    throw new StageOutError(
      ERRORS.PAYLOAD_OUTPUT_TOO_LARGE,
      `${name} has ${opened.size} bytes, more than the ${S3_MULTIPART.maxObjectBytes} an S3 object can hold`,
    );
  }
  const hash = createHash('sha256');
  let size = 0;
  // A read buffer as large as the file, up to 1 MiB: a stream allocates its whole buffer for each
  // read, and a megabyte per small output or log is what most of the pilot's garbage was.
  const source = opened.handle.createReadStream({
    autoClose: false,
    highWaterMark: Math.max(1, Math.min(UPLOAD_READ_BYTES, opened.size)),
  });
  const body = Readable.from(
    (async function* () {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    })(),
  );
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: target.bucket,
      Key: target.key,
      Body: body,
      ContentLength: opened.size,
      ...(options.checksumHeader && { ChecksumAlgorithm: 'SHA256' as const }),
    },
    partSize,
    queueSize: options.parallelism,
    leavePartsOnError: false,
  });
  const abort = () => void upload.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    await upload.done();
  } catch (error) {
    if (isAbort(error, options.signal)) throw error;
    const entry = isDigestMismatch(error)
      ? ERRORS.STAGE_OUT_CHECKSUM_MISMATCH
      : ERRORS.STAGE_OUT_UPLOAD_FAILED;
    throw new StageOutError(
      entry,
      `${name} -> s3://${target.bucket}/${target.key}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await opened.handle.close();
  }
  if (size !== opened.size) {
    throw new StageOutError(
      ERRORS.STAGE_OUT_UPLOAD_FAILED,
      `${name}: read ${size} bytes, the file had ${opened.size} when opened (changed during upload)`,
    );
  }
  return { size, checksum: `sha256:${hash.digest('hex')}` };
}
