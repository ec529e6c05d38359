/**
 * Where a job writes its outputs and its log, decided by the server: the dispatcher tells the
 * pilot (the job message's targets) and the status consumer accepts a result only if every
 * file it reports is exactly there. A pilot cannot register a file at any other place, such
 * as a DSM input or another task's output.
 */
import { datasetUidFor } from '../ids/index.js';
import { FileName, type OutputFile, STORAGE_KEY_PREFIXES } from '../model/index.js';
import type { ImmutableTaskSpec } from './task-specs.js';

/** The key prefix of a dataset the WMS writes: `outputs/<name>`; its files are `<prefix>/<file name>`. */
export function wmsDatasetPrefix(dataset: string): string {
  return `${STORAGE_KEY_PREFIXES.wmsDatasets}/${dataset}`;
}

/** Where a job writes into one of its task's datasets; the pilot stores `<prefix>/<file name>`. */
export function datasetTarget(dataset: string, bucket: string) {
  return { dataset, datasetUid: datasetUidFor(dataset), bucket, prefix: wmsDatasetPrefix(dataset) };
}

/**
 * Why a reported file is not where its job had to write it, or null when it is. The place is
 * the data bucket and exactly `<dataset prefix>/<name>`, the name a plain file name: no other
 * bucket, no other dataset, no sub-folder, no other name than the one registered.
 */
export function locationRefusal(
  file: Pick<OutputFile, 'name' | 'kind' | 'location'>,
  expected: { bucket: string; prefix: string },
): string | null {
  const { bucket, key } = file.location;
  const at = `${file.kind} ${JSON.stringify(file.name)} is at s3://${bucket}/${key}`;
  if (!FileName.safeParse(file.name).success) return `${at}: its name is not a valid file name`;
  const wanted = `${expected.prefix}/${file.name}`;
  if (bucket === expected.bucket && key === wanted) return null;
  return `${at}, not at s3://${expected.bucket}/${wanted}`;
}

/** The refusals of the files of one result: each file checked against its own dataset's place. */
export function refusedLocations(
  task: Pick<ImmutableTaskSpec, 'outputDataset' | 'logDataset'>,
  dataBucket: string,
  files: readonly Pick<OutputFile, 'name' | 'kind' | 'location'>[],
): string[] {
  const refusals: string[] = [];
  for (const file of files) {
    const dataset = file.kind === 'log' ? task.logDataset : task.outputDataset;
    const refusal = locationRefusal(file, { bucket: dataBucket, prefix: wmsDatasetPrefix(dataset) });
    if (refusal !== null) refusals.push(refusal);
  }
  return refusals;
}

/**
 * Where the WMS stores the checklist object of one of its datasets:
 * `checklists/<dataset>/<sha256>.txt`. Outside `outputs/`, so no pilot can write it and no
 * output can take its name; named by its content, so an object once referred to never changes.
 */
export function checklistObjectKey(dataset: string, sha256: string): string {
  return `${STORAGE_KEY_PREFIXES.checklists}/${dataset}/${sha256}.txt`;
}

/** A bucket and a key prefix (ending in "/") under which objects may be read. */
export interface ObjectPlace {
  bucket: string;
  prefix: string;
}

/**
 * The places a `dataset.close` may refer to its checklist object in, all in the data bucket:
 * `checklists/`, which only the WMS writes (its own output and log datasets), and `datasets/`,
 * where the DSM writes its input datasets and keeps their checklists. Nothing else is read, so
 * a close cannot make the WMS read (and quote in a dead-letter reason) any other object.
 */
export function checklistReadPlaces(dataBucket: string): ObjectPlace[] {
  return [STORAGE_KEY_PREFIXES.checklists, STORAGE_KEY_PREFIXES.inputs].map((prefix) => ({
    bucket: dataBucket,
    prefix: `${prefix}/`,
  }));
}

/** Whether `location` is under one of `places`. Keys are plain ObjectKeys (no "." or ".." segment). */
export function isUnderPlace(
  location: { bucket: string; key: string },
  places: readonly ObjectPlace[],
): boolean {
  return places.some(
    (place) =>
      location.bucket === place.bucket &&
      location.key.startsWith(place.prefix) &&
      location.key.length > place.prefix.length,
  );
}
