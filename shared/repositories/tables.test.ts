import { describe, expect, it } from 'vitest';
import { TablesConfig } from '../config/index.js';
import { createTableInput, keyAttributes, TABLE_SPECS, tableNamesFromConfig } from './index.js';

describe('table specs', () => {
  it('declare every key attribute of a table and its indexes exactly once', () => {
    for (const spec of Object.values(TABLE_SPECS)) {
      const input = createTableInput(spec, `wms-${spec.logicalName}`);
      const defined = (input.AttributeDefinitions ?? []).map((attribute) => attribute.AttributeName);
      const used = [
        ...(input.KeySchema ?? []),
        ...(input.GlobalSecondaryIndexes ?? []).flatMap((index) => index.KeySchema ?? []),
      ].map((key) => key.AttributeName);
      expect(new Set(defined)).toEqual(new Set(used));
      expect(defined).toHaveLength(new Set(defined).size);
    }
  });

  it('index tasks by state and by the dataset they read, both oldest first, and those awaiting archival by end', () => {
    const input = createTableInput(TABLE_SPECS.tasks, 'wms-Tasks');

    expect(
      input.GlobalSecondaryIndexes?.map((index) => [
        index.IndexName,
        index.KeySchema?.map((key) => key.AttributeName),
        index.Projection?.ProjectionType,
      ]),
    ).toEqual([
      ['byState', ['state', 'createdAt'], 'ALL'],
      ['byInputDataset', ['inputDatasetUid', 'createdAt'], 'ALL'],
      ['toArchive', ['archivePending', 'endedAt'], 'ALL'],
    ]);
  });

  it('expire archived jobs and files, and throughput records, by TTL on `expiresAt`', () => {
    expect(TABLE_SPECS.jobs.timeToLiveAttribute).toBe('expiresAt');
    expect(TABLE_SPECS.files.timeToLiveAttribute).toBe('expiresAt');
    expect(TABLE_SPECS.control.timeToLiveAttribute).toBe('expiresAt');
  });

  it('build the Jobs table with its three indexes and a stream of old and new images', () => {
    const input = createTableInput(TABLE_SPECS.jobs, 'wms-Jobs');

    expect(input).toMatchObject({
      TableName: 'wms-Jobs',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    expect(input.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byTask',
        KeySchema: [
          { AttributeName: 'taskId', KeyType: 'HASH' },
          { AttributeName: 'stateKey', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'inFlight',
        KeySchema: [
          { AttributeName: 'inFlightState', KeyType: 'HASH' },
          { AttributeName: 'updatedAt', KeyType: 'RANGE' },
        ],
        Projection: {
          ProjectionType: 'INCLUDE',
          NonKeyAttributes: ['taskId', 'state', 'attempt', 'pilotId'],
        },
      },
      {
        IndexName: 'byPilot',
        KeySchema: [
          { AttributeName: 'activePilotId', KeyType: 'HASH' },
          { AttributeName: 'jobId', KeyType: 'RANGE' },
        ],
        Projection: {
          ProjectionType: 'INCLUDE',
          NonKeyAttributes: ['taskId', 'state', 'attempt', 'pilotId', 'updatedAt'],
        },
      },
    ]);
  });

  it('give streams to the tables that drive functions, and none to the others', () => {
    const streamed = Object.values(TABLE_SPECS)
      .filter((spec) => createTableInput(spec, spec.logicalName).StreamSpecification)
      .map((spec) => spec.logicalName);
    expect(streamed).toEqual(['Tasks', 'Jobs', 'Pilots']);
    expect(createTableInput(TABLE_SPECS.files, 'f').GlobalSecondaryIndexes).toBeUndefined();
    expect(keyAttributes(TABLE_SPECS.files)).toEqual([
      { name: 'datasetUid', type: 'S' },
      { name: 'name', type: 'S' },
    ]);
  });

  it('map the table variables of the configuration to names', () => {
    const config = TablesConfig.parse({
      TASKS_TABLE: 'a',
      JOBS_TABLE: 'b',
      FILES_TABLE: 'c',
      DATASETS_TABLE: 'd',
      PILOTS_TABLE: 'e',
      CONTROL_TABLE: 'f',
    });
    expect(tableNamesFromConfig(config)).toEqual({
      tasks: 'a',
      jobs: 'b',
      files: 'c',
      datasets: 'd',
      pilots: 'e',
      control: 'f',
    });
  });
});
