/**
 * Checklist objects in the store: opening one a `dataset.close` refers to (only in the places
 * checklists are read from), and writing the checklist of a WMS dataset too large for one event.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  ChecklistLocationError,
  ChecklistObjectMissingError,
  type ChecklistObjectRef,
  checklistObjectBytes,
  checklistObjectDigest,
  checklistObjectNames,
} from '../checklist/index.js';
import { isUnderPlace, type ObjectPlace } from './dataset-locations.js';

/** Opens a checklist object and gives its names as they are read and verified. */
export type OpenChecklistObject = (ref: ChecklistObjectRef) => Promise<AsyncIterable<string>>;

/**
 * Opens checklist objects with `s3`, only under `places`: a reference elsewhere throws
 * ChecklistLocationError, a missing object ChecklistObjectMissingError. The names are streamed
 * from the object's body and verified line by line, then by count and sha256, as they are read
 * (checklistObjectNames).
 */
export function checklistObjectOpener(s3: S3Client, places: readonly ObjectPlace[]): OpenChecklistObject {
  return async (ref) => {
    const { location } = ref;
    if (!isUnderPlace(location, places)) {
      throw new ChecklistLocationError(
        location,
        places.map((place) => `s3://${place.bucket}/${place.prefix}`),
      );
    }
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
      return checklistObjectNames(object.Body as AsyncIterable<Uint8Array>, ref);
    } catch (error) {
      if (error instanceof NoSuchKey) throw new ChecklistObjectMissingError(location, { cause: error });
      throw error;
    }
  };
}

/**
 * Checklist bytes held to upload them after the one read that digests them: 100,000 names of
 * 80 bytes. A larger checklist is read a second time for the upload instead.
 */
export const CHECKLIST_HELD_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Stores a checklist object in `bucket` at `keyOf(its sha256)` (for a WMS dataset,
 * checklistObjectKey) and returns its reference. `names` gives the dataset's names in
 * code-point order each time it is called. The key and the upload's checksum need the digest
 * first, so the names are read once for it and held, as names, up to `heldMaxBytes`, then
 * uploaded from there; a larger checklist is read again for the upload (memory stays a page of
 * names and a chunk of bytes, whatever the size). S3 checks the upload against its sha256.
 * Writing it again writes the same bytes at the same key. The caller chooses a key under
 * checklistReadPlaces, where dataset-close reads it.
 */
export async function writeChecklistObject(
  s3: S3Client,
  bucket: string,
  keyOf: (sha256: string) => string,
  names: () => AsyncIterable<string>,
  heldMaxBytes: number = CHECKLIST_HELD_MAX_BYTES,
): Promise<ChecklistObjectRef> {
  let held: string[] | undefined = [];
  let heldBytes = 0;
  async function* holding(source: AsyncIterable<string>): AsyncGenerator<string> {
    for await (const name of source) {
      if (held) {
        heldBytes += Buffer.byteLength(name, 'utf8') + 1;
        if (heldBytes <= heldMaxBytes) held.push(name);
        else held = undefined;
      }
      yield name;
    }
  }
  const digest = await checklistObjectDigest(holding(names()));
  const kept = held;
  const again = kept ? inOrder(kept) : names();
  const key = keyOf(digest.sha256);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: Readable.from(checklistObjectBytes(again)),
      ContentLength: digest.bytes,
      ContentType: 'text/plain; charset=utf-8',
      ChecksumSHA256: Buffer.from(digest.sha256, 'hex').toString('base64'),
    }),
  );
  return { location: { bucket, key }, count: digest.count, sha256: digest.sha256 };
}

async function* inOrder(names: readonly string[]): AsyncGenerator<string> {
  yield* names;
}
