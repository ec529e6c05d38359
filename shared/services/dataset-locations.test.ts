import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DatasetName, FileName, STORAGE_KEY_PREFIXES } from '../model/index.js';
import {
  checklistObjectKey,
  checklistReadPlaces,
  datasetTarget,
  isUnderPlace,
  locationRefusal,
  refusedLocations,
  wmsDatasetPrefix,
} from './dataset-locations.js';

const BUCKET = 'spd-data';
const task = { outputDataset: 'run42-reco', logDataset: 'run42-reco-logs' };

const fileName = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => FileName.safeParse(s).success);
const datasetName = fc
  .stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/)
  .filter((s) => DatasetName.safeParse(s).success);

describe('the WMS datasets key layout', () => {
  it('keeps written datasets under their own top-level prefix, apart from the DSM inputs', () => {
    expect(wmsDatasetPrefix('run42-reco')).toBe('outputs/run42-reco');
    expect(STORAGE_KEY_PREFIXES.wmsDatasets).not.toBe(STORAGE_KEY_PREFIXES.inputs);
    expect(datasetTarget('run42-reco', BUCKET)).toMatchObject({
      dataset: 'run42-reco',
      bucket: BUCKET,
      prefix: 'outputs/run42-reco',
    });
  });
});

describe('locationRefusal', () => {
  it('accepts exactly the target prefix plus the file name, for any valid names', () => {
    fc.assert(
      fc.property(datasetName, fileName, fc.constantFrom('output', 'log'), (dataset, name, kind) => {
        const { bucket, prefix } = datasetTarget(dataset, BUCKET);
        const file = { name, kind: kind as 'output' | 'log', location: { bucket, key: `${prefix}/${name}` } };
        expect(locationRefusal(file, { bucket, prefix })).toBeNull();
      }),
    );
  });

  it('refuses any other key or bucket, naming where the file is and where it had to be', () => {
    fc.assert(
      fc.property(
        datasetName,
        fileName,
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.constantFrom(BUCKET, 'spd-other'),
        (dataset, name, key, bucket) => {
          const target = datasetTarget(dataset, BUCKET);
          fc.pre(bucket !== BUCKET || key !== `${target.prefix}/${name}`);
          const refusal = locationRefusal({ name, kind: 'output', location: { bucket, key } }, target);
          expect(refusal).toContain(`s3://${bucket}/${key}`);
          expect(refusal).toContain(`not at s3://${BUCKET}/${target.prefix}/${name}`);
        },
      ),
    );
  });

  it('refuses traversal, sub-folders, DSM inputs and other datasets', () => {
    const target = datasetTarget('run42-reco', BUCKET);
    const at = (key: string, name = 'a.root') => ({
      name,
      kind: 'output' as const,
      location: { bucket: BUCKET, key },
    });
    for (const file of [
      at('outputs/run42-reco/../run41-reco/a.root'),
      at('outputs/run42-reco/sub/a.root'),
      at('outputs/run42-reco/sub/a.root', 'sub/a.root'),
      at('outputs/run42-reco/..', '..'),
      at('datasets/run42-reco/a.root'),
      at('outputs/run42-reco-logs/a.root'),
      at('outputs/run42-reco/a.root/'),
      at('outputs/run42-reco/b.root'),
    ])
      expect(locationRefusal(file, target), file.location.key).not.toBeNull();
  });
});

describe('refusedLocations', () => {
  it('checks outputs against the output dataset and logs against the log dataset', () => {
    const output = {
      name: 'a.root',
      kind: 'output' as const,
      location: { bucket: BUCKET, key: 'outputs/run42-reco/a.root' },
    };
    const log = {
      name: 'j.0.log',
      kind: 'log' as const,
      location: { bucket: BUCKET, key: 'outputs/run42-reco-logs/j.0.log' },
    };
    const logAmongOutputs = { ...log, location: { bucket: BUCKET, key: 'outputs/run42-reco/j.0.log' } };

    expect(refusedLocations(task, BUCKET, [output, log])).toEqual([]);
    expect(refusedLocations(task, BUCKET, [output, logAmongOutputs])).toEqual([
      'log "j.0.log" is at s3://spd-data/outputs/run42-reco/j.0.log, not at s3://spd-data/outputs/run42-reco-logs/j.0.log',
    ]);
    expect(refusedLocations(task, 'spd-other', [output, log])).toHaveLength(2);
  });
});

describe('checklist object places', () => {
  const places = checklistReadPlaces('spd-data');

  it('reads checklists only under checklists/ and datasets/ of the data bucket', () => {
    expect(places).toEqual([
      { bucket: 'spd-data', prefix: 'checklists/' },
      { bucket: 'spd-data', prefix: 'datasets/' },
    ]);
    expect(isUnderPlace({ bucket: 'spd-data', key: 'checklists/reco/ab.txt' }, places)).toBe(true);
    expect(isUnderPlace({ bucket: 'spd-data', key: 'datasets/run42.checklist' }, places)).toBe(true);
    expect(isUnderPlace({ bucket: 'spd-data', key: 'outputs/reco/list.txt' }, places)).toBe(false);
    expect(isUnderPlace({ bucket: 'spd-data', key: 'checklistsX/list.txt' }, places)).toBe(false);
    expect(isUnderPlace({ bucket: 'spd-data', key: 'datasets/' }, places)).toBe(false);
    expect(isUnderPlace({ bucket: 'other', key: 'datasets/run42.checklist' }, places)).toBe(false);
  });

  it('keeps the WMS checklist of a dataset outside its outputs, named by its content', () => {
    const key = checklistObjectKey('reco', 'ab'.repeat(32));

    expect(key).toBe(`checklists/reco/${'ab'.repeat(32)}.txt`);
    expect(isUnderPlace({ bucket: 'spd-data', key }, places)).toBe(true);
    expect(key.startsWith(`${wmsDatasetPrefix('reco')}/`)).toBe(false);
  });
});
