/**
 * Task exports in the data bucket (`archive/<taskId>.jsonl`): written as a stream of multipart
 * parts, never whole in memory, and read back streamed and verified (shared/archive).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ArchiveCorruptError, type ArchiveEntry, scanArchive } from '../archive/index.js';
import type { TaskRecord } from '../model/index.js';

/** Bytes gathered before a part is sent; S3 wants at least 5 MiB for every part but the last. */
export const ARCHIVE_PART_BYTES = 8 * 1024 * 1024;

export interface ArchiveStore {
  s3: S3Client;
  bucket: string;
  signal?: AbortSignal;
}

/**
 * One object written as a stream: up to ARCHIVE_PART_BYTES held at a time; a short object is
 * one PutObject, a longer one a multipart upload, completed only by `complete` (until then
 * the key keeps what it held before) and aborted by `abort`.
 */
export class ArchiveWriter {
  readonly #store: ArchiveStore;
  readonly #key: string;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #uploadId: string | undefined;
  readonly #parts: { ETag: string; PartNumber: number }[] = [];

  constructor(store: ArchiveStore, key: string) {
    this.#store = store;
    this.#key = key;
  }

  async write(bytes: Buffer): Promise<void> {
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
    if (this.#buffered >= ARCHIVE_PART_BYTES) await this.#sendPart();
  }

  async #sendPart(): Promise<void> {
    const { s3, bucket, signal } = this.#store;
    const body = Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#buffered = 0;
    if (this.#uploadId === undefined) {
      const created = await s3.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: this.#key,
          ContentType: 'application/x-ndjson',
        }),
        { abortSignal: signal },
      );
      if (created.UploadId === undefined) throw new Error(`no upload id for ${this.#key}`);
      this.#uploadId = created.UploadId;
    }
    const partNumber = this.#parts.length + 1;
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: this.#key,
        UploadId: this.#uploadId,
        PartNumber: partNumber,
        Body: body,
      }),
      { abortSignal: signal },
    );
    if (part.ETag === undefined) throw new Error(`no ETag for part ${partNumber} of ${this.#key}`);
    this.#parts.push({ ETag: part.ETag, PartNumber: partNumber });
  }

  /** Makes the object what was written; before this, nothing under the key changed. */
  async complete(): Promise<void> {
    const { s3, bucket, signal } = this.#store;
    if (this.#uploadId === undefined) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: this.#key,
          Body: Buffer.concat(this.#chunks),
          ContentType: 'application/x-ndjson',
        }),
        { abortSignal: signal },
      );
      return;
    }
    if (this.#buffered > 0) await this.#sendPart();
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: this.#key,
        UploadId: this.#uploadId,
        MultipartUpload: { Parts: this.#parts },
      }),
      { abortSignal: signal },
    );
  }

  /** Gives up: the parts sent are discarded (the bucket's lifecycle rule catches a run killed before this). */
  async abort(): Promise<void> {
    if (this.#uploadId === undefined) return;
    await this.#store.s3.send(
      new AbortMultipartUploadCommand({
        Bucket: this.#store.bucket,
        Key: this.#key,
        UploadId: this.#uploadId,
      }),
    );
  }
}

async function* bodyChunks(body: unknown): AsyncIterable<Uint8Array> {
  if (body === undefined || body === null) return;
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  }
}

/**
 * Streams the export of an archived task through `visit`, entry by entry, and verifies it
 * against the task's record: a missing object or one that does not match is an
 * ArchiveCorruptError, and then nothing `visit` gathered may be used.
 */
export async function scanTaskArchive(
  store: ArchiveStore,
  task: Pick<TaskRecord, 'taskId' | 'archive'>,
  visit: (entry: ArchiveEntry, index: number) => void,
): Promise<void> {
  const summary = task.archive;
  if (summary === undefined) throw new Error(`task ${task.taskId} is not archived`);
  let body: unknown;
  try {
    const object = await store.s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: summary.key }), {
      abortSignal: store.signal,
    });
    body = object.Body;
  } catch (error) {
    if (error instanceof NoSuchKey)
      throw new ArchiveCorruptError(summary.key, 'it does not exist', { cause: error });
    throw error;
  }
  await scanArchive(bodyChunks(body), { taskId: task.taskId, summary }, visit);
}
