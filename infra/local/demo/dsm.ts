/**
 * Plays the DSM for the demo and the benchmark: writes a dataset's files to S3 and announces
 * them on the bus with `file.input`, then closes the dataset with its checklist: inline, or for
 * a large dataset as a checklist object next to the dataset's folder that the close refers to.
 */
import { createHash, randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { buildPutEventsEntry, EVENT_SOURCES } from '../../../events/index.js';
import { publishEvents } from '../../../functions/common/index.js';
import { awsClients } from '../../../shared/aws/index.js';
import { compareCodePoints } from '../../../shared/ids/index.js';
import { STORAGE_KEY_PREFIXES } from '../../../shared/model/index.js';
import { writeChecklistObject } from '../../../shared/services/index.js';

export interface AnnouncedFile {
  name: string;
  size: number;
}

export interface AnnouncedDataset {
  uid: string;
  name: string;
  /** How the close carried the checklist. */
  checklist: 'inline' | 'object';
  files: AnnouncedFile[];
  bytes: number;
}

export interface DatasetToAnnounce {
  bucket: string;
  busName: string;
  /** File name → content. */
  files: ReadonlyMap<string, Buffer>;
  /** Announce the close before the last file (a DSM whose messages overtake each other). */
  closeBeforeLastFile?: boolean;
  uploadConcurrency?: number;
  /** Most names closed inline (DSM_INLINE_CHECKLIST_MAX_FILES by default); more go by reference. */
  inlineChecklistMaxFiles?: number;
}

const EVENTS_PER_CALL = 10;
/** Like the WMS's own closes: well inside one 256 KB event for typical names. */
export const DSM_INLINE_CHECKLIST_MAX_FILES = 5_000;

async function* inOrder(names: readonly string[]): AsyncGenerator<string> {
  yield* [...names].sort(compareCodePoints);
}

/**
 * The checklist part of the dataset's close: the names inline, or the reference to a checklist
 * object the DSM writes beside the dataset's folder (`datasets/<name>.<sha256>.checklist`,
 * where dataset-close reads checklists from, outside the dataset's own files).
 */
export async function datasetCloseChecklist(
  dataset: Pick<DatasetToAnnounce, 'bucket' | 'inlineChecklistMaxFiles'>,
  name: string,
  names: readonly string[],
) {
  if (names.length <= (dataset.inlineChecklistMaxFiles ?? DSM_INLINE_CHECKLIST_MAX_FILES))
    return { files: [...names] };
  const { s3 } = awsClients();
  const reference = await writeChecklistObject(
    s3,
    dataset.bucket,
    (sha256) => `${STORAGE_KEY_PREFIXES.inputs}/${name}.${sha256}.checklist`,
    () => inOrder(names),
  );
  const { bucket, key } = reference.location;
  return {
    checklistObject: { url: `s3://${bucket}/${key}`, count: reference.count, sha256: reference.sha256 },
  };
}

export async function announceDataset(dataset: DatasetToAnnounce): Promise<AnnouncedDataset> {
  const { s3, eventBridge } = awsClients();
  const id = randomUUID();
  const name = `input.test.${id}.raw`;
  const uid = `dsm-${id}`;
  const entries = [...dataset.files.entries()];
  const fileEvents: ReturnType<typeof buildPutEventsEntry>[] = [];
  const concurrency = dataset.uploadConcurrency ?? 8;
  for (let start = 0; start < entries.length; start += concurrency) {
    await Promise.all(
      entries.slice(start, start + concurrency).map(async ([fileName, content]) => {
        const key = `datasets/${name}/${fileName}`;
        const checksum = createHash('sha256').update(content).digest();
        await s3.send(
          new PutObjectCommand({
            Bucket: dataset.bucket,
            Key: key,
            Body: content,
            ChecksumSHA256: checksum.toString('base64'),
          }),
        );
        fileEvents.push(
          buildPutEventsEntry({
            detailType: 'file.input',
            source: EVENT_SOURCES.dsm,
            eventBusName: dataset.busName,
            detail: {
              datasetUid: uid,
              datasetName: name,
              file: {
                name: fileName,
                url: `s3://${dataset.bucket}/${key}`,
                size: content.length,
                checksum: `sha256:${checksum.toString('hex')}`,
              },
            },
          }),
        );
      }),
    );
  }
  const checklist = await datasetCloseChecklist(
    dataset,
    name,
    entries.map(([fileName]) => fileName),
  );
  const close = buildPutEventsEntry({
    detailType: 'dataset.close',
    source: EVENT_SOURCES.dsm,
    eventBusName: dataset.busName,
    detail: { datasetUid: uid, datasetName: name, ...checklist },
  });
  const ordered = dataset.closeBeforeLastFile
    ? [...fileEvents.slice(0, -1), close, ...fileEvents.slice(-1)]
    : [...fileEvents, close];
  for (let start = 0; start < ordered.length; start += EVENTS_PER_CALL) {
    await publishEvents(eventBridge, ordered.slice(start, start + EVENTS_PER_CALL));
  }
  return {
    uid,
    name,
    checklist: 'checklistObject' in checklist ? 'object' : 'inline',
    files: entries.map(([fileName, content]) => ({ name: fileName, size: content.length })),
    bytes: entries.reduce((sum, [, content]) => sum + content.length, 0),
  };
}
