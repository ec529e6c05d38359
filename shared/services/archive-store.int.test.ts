/**
 * Task exports in storage: an export larger than one part goes up as a multipart upload and
 * reads back streamed and verified; an upload given up leaves what the key held before.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileRef, uniquePrefix } from '../../test/support/index.js';
import {
  ArchiveDigest,
  type ArchiveEntry,
  archiveKey,
  encodeLine,
  headerLine,
  jobLine,
} from '../archive/index.js';
import { type AwsClients, CallCounter, createAwsClients } from '../aws/index.js';
import { JobRecord } from '../model/index.js';
import { ARCHIVE_PART_BYTES, type ArchiveStore, ArchiveWriter, scanTaskArchive } from './archive-store.js';

const TASK = 't-store';
const calls = new CallCounter();
let clients: AwsClients;
let store: ArchiveStore;

beforeAll(async () => {
  clients = createAwsClients({ callCounter: calls });
  const bucket = uniquePrefix('archive-store').toLowerCase();
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  store = { s3: clients.s3, bucket };
});

function job(index: number): JobRecord {
  return JobRecord.parse({
    jobId: `j-${index}`,
    taskId: TASK,
    state: 'DONE',
    attempt: 0,
    device: 'CPU',
    rank: 5,
    inputs: [fileRef(`run42_${index}.raw`)],
    errorMessage: 'x'.repeat(2000),
    createdAt: '2026-11-21T10:00:00.000Z',
    updatedAt: '2026-11-21T10:00:01.000Z',
  });
}

describe('a task export in storage', () => {
  it('is written in parts when larger than one, and reads back whole, in order, verified', async () => {
    // Prepare: about 2.5 parts of jobs.
    const jobs = Math.ceil((2.5 * ARCHIVE_PART_BYTES) / encodeLine(jobLine(job(0))).length);
    const writer = new ArchiveWriter(store, archiveKey(TASK));
    const digest = new ArchiveDigest();
    calls.reset();

    // Act
    for (const line of [
      headerLine(TASK),
      ...Array.from({ length: jobs }, (_, index) => jobLine(job(index))),
    ]) {
      const bytes = Buffer.from(encodeLine(line), 'utf8');
      digest.add(line, bytes);
      await writer.write(bytes);
    }
    await writer.complete();
    const written = calls.snapshot();
    const archive = {
      key: archiveKey(TASK),
      jobs,
      files: 0,
      sha256: digest.sha256(),
      archivedAt: '2026-11-21T11:00:00.000Z',
    };
    const read: ArchiveEntry[] = [];
    await scanTaskArchive(store, { taskId: TASK, archive }, (entry) => read.push(entry));

    // Assess
    expect(written).toEqual([
      { service: 'S3', operation: 'CompleteMultipartUpload', calls: 1 },
      { service: 'S3', operation: 'CreateMultipartUpload', calls: 1 },
      { service: 'S3', operation: 'UploadPart', calls: 3 },
    ]);
    expect(read).toHaveLength(jobs);
    expect(read.map((entry) => (entry.kind === 'job' ? entry.job.jobId : entry.kind))).toEqual(
      Array.from({ length: jobs }, (_, index) => `j-${index}`),
    );
    await expect(
      scanTaskArchive(store, { taskId: TASK, archive: { ...archive, jobs: jobs - 1 } }, () => undefined),
    ).rejects.toThrow(/recorded/);
  }, 120_000);

  it('leaves what its key held when the upload is given up', async () => {
    // Prepare
    const key = archiveKey('t-store-abort');
    await clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: 'earlier export\n' }));
    const writer = new ArchiveWriter(store, key);

    // Act
    await writer.write(Buffer.alloc(ARCHIVE_PART_BYTES, 'a'));
    await writer.abort();

    // Assess
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
    expect(await object.Body!.transformToString('utf8')).toBe('earlier export\n');
  }, 60_000);
});
