import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallCounter, createAwsClients } from '../../shared/aws/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import type { FileRef } from '../../shared/model/index.js';
import { sha256Of } from '../test-support/factories.js';
import { createTestBucket, getObjectBytes, putObject } from '../test-support/storage.js';
import { Adler32 } from './checksum.js';
import { StageInError, StageOutError } from './errors.js';
import {
  type DownloadOptions,
  downloadInput,
  splitRanges,
  totalFromContentRange,
  uploadFile,
} from './staging.js';

const calls = new CallCounter();
const { s3 } = createAwsClients({ callCounter: calls });
let bucket: string;
let root: string;
let dir: string;
let counter = 0;

const whole: DownloadOptions = { rangedThresholdBytes: 1024 ** 3, partBytes: 8 * 1024 ** 2, parallelism: 4 };
const ranged: DownloadOptions = { rangedThresholdBytes: 64 * 1024, partBytes: 64 * 1024, parallelism: 4 };

beforeAll(async () => {
  bucket = await createTestBucket(s3, 'pilot-staging');
  root = await mkdtemp(path.join(tmpdir(), 'pilot-staging-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = path.join(root, `in-${counter++}`);
  await mkdir(dir);
  calls.reset();
});

async function stored(name: string, data: Buffer, checksum = sha256Of(data)): Promise<FileRef> {
  const key = `raw/${counter}/${name}`;
  await putObject(s3, bucket, key, data);
  return { name, location: { bucket, key }, size: data.length, checksum };
}

async function stageInError(action: Promise<unknown>): Promise<StageInError> {
  const error = await action.then(
    () => expect.unreachable(),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(StageInError);
  return error as StageInError;
}

describe('downloadInput', () => {
  it('streams an object to disk and verifies its sha256 and size', async () => {
    const data = randomBytes(300_000);
    const file = await stored('run-1.raw', data);

    const written = await downloadInput(s3, file, dir, whole);

    expect(written).toBe(path.join(dir, 'run-1.raw'));
    expect((await readFile(written)).equals(data)).toBe(true);
    expect(calls.count({ service: 'S3', operation: 'GetObject' })).toBe(1);
  });

  it('verifies an adler32 checksum', async () => {
    const data = randomBytes(100_000);
    const file = await stored('run-2.raw', data, `adler32:${new Adler32().update(data).digestHex()}`);

    await downloadInput(s3, file, dir, whole);

    expect((await readFile(path.join(dir, 'run-2.raw'))).equals(data)).toBe(true);
  });

  it('refuses an object whose checksum does not match, with the stage-in code', async () => {
    const file = await stored('run-3.raw', randomBytes(1000), sha256Of('something else'));

    const error = await stageInError(downloadInput(s3, file, dir, whole));

    expect(error.entry).toBe(ERRORS.STAGE_IN_CHECKSUM_MISMATCH);
    expect(error.message).toContain('run-3.raw');
  });

  it('refuses an object of the wrong size before reading it', async () => {
    const data = randomBytes(1000);
    const file = { ...(await stored('run-4.raw', data)), size: 999 };

    expect((await stageInError(downloadInput(s3, file, dir, whole))).entry).toBe(
      ERRORS.STAGE_IN_SIZE_MISMATCH,
    );
  });

  it('reports a missing object as not found', async () => {
    const file: FileRef = {
      name: 'gone.raw',
      location: { bucket, key: 'raw/gone.raw' },
      size: 1,
      checksum: sha256Of('x'),
    };

    expect((await stageInError(downloadInput(s3, file, dir, whole))).entry).toBe(
      ERRORS.STAGE_IN_INPUT_NOT_FOUND,
    );
  });

  it('downloads a large object as parallel ranged GETs written at their offsets', async () => {
    const data = randomBytes(20 * 64 * 1024 + 12_345);
    const file = await stored('big.raw', data);

    await downloadInput(s3, file, dir, ranged);

    expect((await readFile(path.join(dir, 'big.raw'))).equals(data)).toBe(true);
    expect(calls.count({ service: 'S3', operation: 'GetObject' })).toBe(21);
  });

  it('verifies the checksum of a ranged download too', async () => {
    const file = await stored('big-bad.raw', randomBytes(5 * 64 * 1024), sha256Of('not it'));

    expect((await stageInError(downloadInput(s3, file, dir, ranged))).entry).toBe(
      ERRORS.STAGE_IN_CHECKSUM_MISMATCH,
    );
  });

  it('finds a ranged object shorter or longer than registered', async () => {
    const data = randomBytes(4 * 64 * 1024);
    const longer = { ...(await stored('longer.raw', data)), size: data.length - 10 };
    const shorter = { ...(await stored('shorter.raw', data)), size: data.length + 64 * 1024 };

    expect((await stageInError(downloadInput(s3, longer, dir, ranged))).entry).toBe(
      ERRORS.STAGE_IN_SIZE_MISMATCH,
    );
    expect((await stageInError(downloadInput(s3, shorter, dir, ranged))).entry).toBe(
      ERRORS.STAGE_IN_SIZE_MISMATCH,
    );
  });

  it('stops when aborted', async () => {
    const file = await stored('aborted.raw', randomBytes(8 * 64 * 1024));

    await expect(downloadInput(s3, file, dir, { ...ranged, signal: AbortSignal.abort() })).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['aborted.raw']);
  });
});

describe('uploadFile', () => {
  const options = { partBytes: 5 * 1024 ** 2, parallelism: 4, checksumHeader: true };

  it('uploads a small file with one PUT carrying its SHA-256, which the store keeps', async () => {
    const data = randomBytes(200_000);
    await writeFile(path.join(dir, 'small.out'), data);

    const uploaded = await uploadFile(s3, dir, 'small.out', { bucket, key: 'out/small.out' }, options);

    expect(uploaded).toEqual({ size: data.length, checksum: sha256Of(data) });
    expect((await getObjectBytes(s3, bucket, 'out/small.out')).equals(data)).toBe(true);
    expect(calls.count({ service: 'S3', operation: 'PutObject' })).toBe(1);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'out/small.out', ChecksumMode: 'ENABLED' }),
    );
    expect(head.ChecksumSHA256).toBe(createHash('sha256').update(data).digest('base64'));
  });

  it('uploads a large file as a multipart upload with per-part checksums', async () => {
    const data = randomBytes(12 * 1024 ** 2 + 7);
    await writeFile(path.join(dir, 'large.out'), data);

    const uploaded = await uploadFile(s3, dir, 'large.out', { bucket, key: 'out/large.out' }, options);

    expect(uploaded).toEqual({ size: data.length, checksum: sha256Of(data) });
    expect((await getObjectBytes(s3, bucket, 'out/large.out')).equals(data)).toBe(true);
    expect(calls.count({ service: 'S3', operation: 'CreateMultipartUpload' })).toBe(1);
    expect(calls.count({ service: 'S3', operation: 'UploadPart' })).toBe(3);
    expect(calls.count({ service: 'S3', operation: 'CompleteMultipartUpload' })).toBe(1);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'out/large.out', ChecksumMode: 'ENABLED' }),
    );
    // The store's composite checksum: SHA-256 over the parts' SHA-256s (AWS appends "-<parts>").
    const partDigests = [0, 1, 2].map((part) =>
      createHash('sha256')
        .update(data.subarray(part * options.partBytes, (part + 1) * options.partBytes))
        .digest(),
    );
    const composite = createHash('sha256').update(Buffer.concat(partDigests)).digest('base64');
    expect(head.ChecksumSHA256?.replace(/-3$/, '')).toBe(composite);
  });

  it('uploads an empty file', async () => {
    await writeFile(path.join(dir, 'empty.out'), '');

    expect(await uploadFile(s3, dir, 'empty.out', { bucket, key: 'out/empty.out' }, options)).toEqual({
      size: 0,
      checksum: sha256Of(''),
    });
  });

  it('skips what is not a regular file and reports a store error with the stage-out code', async () => {
    await mkdir(path.join(dir, 'a-directory'));
    await writeFile(path.join(dir, 'file.out'), 'x');

    expect(await uploadFile(s3, dir, 'a-directory', { bucket, key: 'out/a-directory' }, options)).toBeNull();
    const error = await uploadFile(
      s3,
      dir,
      'file.out',
      { bucket: 'no-such-bucket-pilot', key: 'x' },
      options,
    ).then(
      () => expect.unreachable(),
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(StageOutError);
    expect((error as StageOutError).entry).toBe(ERRORS.STAGE_OUT_UPLOAD_FAILED);
  });
});

describe('range helpers', () => {
  it('splits sizes into inclusive ranges', () => {
    expect(splitRanges(10, 4)).toEqual([
      { start: 0, end: 3 },
      { start: 4, end: 7 },
      { start: 8, end: 9 },
    ]);
    expect(splitRanges(8, 4)).toHaveLength(2);
    expect(splitRanges(0, 4)).toEqual([]);
  });

  it('reads the total of a Content-Range header', () => {
    expect(totalFromContentRange('bytes 0-99/12345')).toBe(12345);
    expect(totalFromContentRange('bytes 0-99/*')).toBeUndefined();
    expect(totalFromContentRange(undefined)).toBeUndefined();
  });
});
