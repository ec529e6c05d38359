/**
 * The DSM's side: input files stored in the data bucket, and their `file.input` and
 * `dataset.close` events built but not sent, so a scenario decides how they are delivered
 * (in order, twice, out of order, late).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { buildPutEventsEntry, EVENT_SOURCES } from '../../../events/index.js';
import { publishEvents } from '../../../functions/common/index.js';
import type { SystemCore } from './system.js';

export interface InputDataset {
  uid: string;
  name: string;
  /** File name → content, in announcement order. */
  files: ReadonlyMap<string, Buffer>;
  /** One `file.input` per file, in the order of `files`. */
  fileInputs: PutEventsRequestEntry[];
  close: PutEventsRequestEntry;
}

/** `count` small files `<prefix>-000.dat`…, each with content of its own. */
export function inputFiles(count: number, prefix = 'slice'): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let index = 0; index < count; index++) {
    const name = `${prefix}-${String(index).padStart(3, '0')}.dat`;
    files.set(name, Buffer.from(`${name}\n`.repeat(64 + index)));
  }
  return files;
}

/** Stores the files under `datasets/<name>/` and builds the dataset's events. */
export async function storeInputDataset(
  system: SystemCore,
  files: ReadonlyMap<string, Buffer>,
): Promise<InputDataset> {
  const id = randomUUID();
  const name = `input.e2e.${id}`;
  const uid = `dsm-${id}`;
  const { bucket, busName } = system.plane;
  const fileInputs = await Promise.all(
    [...files].map(async ([fileName, content]) => {
      const key = `datasets/${name}/${fileName}`;
      const digest = createHash('sha256').update(content).digest();
      await system.clients.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: content,
          ChecksumSHA256: digest.toString('base64'),
        }),
      );
      return buildPutEventsEntry({
        detailType: 'file.input',
        source: EVENT_SOURCES.dsm,
        eventBusName: busName,
        detail: {
          datasetUid: uid,
          datasetName: name,
          file: {
            name: fileName,
            url: `s3://${bucket}/${key}`,
            size: content.length,
            checksum: `sha256:${digest.toString('hex')}`,
          },
        },
      });
    }),
  );
  const close = buildPutEventsEntry({
    detailType: 'dataset.close',
    source: EVENT_SOURCES.dsm,
    eventBusName: busName,
    detail: { datasetUid: uid, datasetName: name, files: [...files.keys()] },
  });
  return { uid, name, files, fileInputs, close };
}

/** Puts the entries on the bus, in order (in calls of up to ten). */
export function publish(system: SystemCore, entries: readonly PutEventsRequestEntry[]): Promise<void> {
  return publishEvents(system.clients.eventBridge, entries);
}

/** Announces every file, then closes the dataset: the DSM's ordinary order. */
export function announceInOrder(system: SystemCore, dataset: InputDataset): Promise<void> {
  return publish(system, [...dataset.fileInputs, dataset.close]);
}
