/**
 * Checklist objects in storage: the WMS writes one from a single read of a dataset's names
 * when they fit what it holds, from two reads when they do not, and the same object both ways;
 * dataset-close's opener reads it back verified.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../../test/support/index.js';
import { type AwsClients, createAwsClients } from '../aws/index.js';
import { checklistObjectOpener, writeChecklistObject } from './checklist-objects.js';

let clients: AwsClients;
let bucket: string;

beforeAll(async () => {
  clients = createAwsClients();
  bucket = uniquePrefix('checklist-objects').toLowerCase();
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

const NAMES = Array.from({ length: 3000 }, (_, index) => `run7_${String(index).padStart(5, '0')}.raw`);

/** The names in order, counting how often they are read. */
function counted() {
  const reads = { count: 0 };
  return {
    reads,
    names: async function* () {
      reads.count += 1;
      yield* NAMES;
    },
  };
}

async function readBack(key: string, reference: { count: number; sha256: string }): Promise<string[]> {
  const open = checklistObjectOpener(clients.s3, [{ bucket, prefix: 'checklists/' }]);
  const names: string[] = [];
  for await (const name of await open({ location: { bucket, key }, ...reference })) names.push(name);
  return names;
}

describe('a checklist object the WMS writes', () => {
  it('is written from one read of the names when they fit what is held, and reads back whole', async () => {
    // Prepare
    const { reads, names } = counted();

    // Act
    const reference = await writeChecklistObject(
      clients.s3,
      bucket,
      (sha) => `checklists/one/${sha}.txt`,
      names,
    );

    // Assess
    expect(reads.count).toBe(1);
    expect(reference.count).toBe(NAMES.length);
    expect(await readBack(reference.location.key, reference)).toEqual(NAMES);
  });

  it('reads a checklist larger than what is held twice, and writes the same object', async () => {
    // Prepare
    const once = counted();
    const twice = counted();

    // Act
    const small = await writeChecklistObject(
      clients.s3,
      bucket,
      (sha) => `checklists/a/${sha}.txt`,
      once.names,
    );
    const large = await writeChecklistObject(
      clients.s3,
      bucket,
      (sha) => `checklists/b/${sha}.txt`,
      twice.names,
      1000,
    );

    // Assess
    expect([once.reads.count, twice.reads.count]).toEqual([1, 2]);
    expect(large.sha256).toBe(small.sha256);
    expect(await readBack(large.location.key, large)).toEqual(NAMES);
  });
});
