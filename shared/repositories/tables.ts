/**
 * The DynamoDB tables, declared once. The CDK stack, the embedded runtime and the test
 * helpers all build their tables from these specs, so the key design cannot drift.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  name: string;
  type: AttributeType;
}

export type Projection =
  | { type: 'ALL' }
  | { type: 'KEYS_ONLY' }
  | { type: 'INCLUDE'; attributes: readonly string[] };

export interface GlobalIndexSpec {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  projection: Projection;
}

export type StreamViewType = 'NEW_AND_OLD_IMAGES' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'KEYS_ONLY';

export interface TableSpec {
  /** The stack's logical name; physical names come from configuration. */
  logicalName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  globalIndexes: readonly GlobalIndexSpec[];
  stream?: StreamViewType;
  /** The attribute holding when DynamoDB may delete an item (epoch seconds), if the table expires items. */
  timeToLiveAttribute?: string;
}

export const TASKS_TABLE = {
  logicalName: 'Tasks',
  partitionKey: { name: 'taskId', type: 'S' },
  globalIndexes: [
    {
      indexName: 'byState',
      partitionKey: { name: 'state', type: 'S' },
      sortKey: { name: 'createdAt', type: 'S' },
      projection: { type: 'ALL' },
    },
    {
      // The tasks reading a dataset: the ones to start when it closes, to fail when it is deleted.
      indexName: 'byInputDataset',
      partitionKey: { name: 'inputDatasetUid', type: 'S' },
      sortKey: { name: 'createdAt', type: 'S' },
      projection: { type: 'ALL' },
    },
    {
      // Sparse: `archivePending` exists from a task's final state until its archival is over.
      indexName: 'toArchive',
      partitionKey: { name: 'archivePending', type: 'S' },
      sortKey: { name: 'endedAt', type: 'S' },
      projection: { type: 'ALL' },
    },
  ],
  stream: 'NEW_AND_OLD_IMAGES',
} as const satisfies TableSpec;

/** The attribute after which DynamoDB deletes an archived task's job and file items (epoch seconds). */
export const ARCHIVE_EXPIRY_ATTRIBUTE = 'expiresAt';

export const JOBS_TABLE = {
  logicalName: 'Jobs',
  partitionKey: { name: 'jobId', type: 'S' },
  globalIndexes: [
    {
      // `stateKey` = `${state}#${jobId}`: a task's jobs in one state are one key prefix.
      indexName: 'byTask',
      partitionKey: { name: 'taskId', type: 'S' },
      sortKey: { name: 'stateKey', type: 'S' },
      projection: { type: 'ALL' },
    },
    {
      // Sparse: `inFlightState` exists only while QUEUED, RUNNING or LOST (the watchdog's work).
      indexName: 'inFlight',
      partitionKey: { name: 'inFlightState', type: 'S' },
      sortKey: { name: 'updatedAt', type: 'S' },
      // Enough to act on a job (a JobSummary) without reading it.
      projection: { type: 'INCLUDE', attributes: ['taskId', 'state', 'attempt', 'pilotId'] },
    },
    {
      // Sparse: `activePilotId` exists only while RUNNING.
      indexName: 'byPilot',
      partitionKey: { name: 'activePilotId', type: 'S' },
      sortKey: { name: 'jobId', type: 'S' },
      projection: { type: 'INCLUDE', attributes: ['taskId', 'state', 'attempt', 'pilotId', 'updatedAt'] },
    },
  ],
  stream: 'NEW_AND_OLD_IMAGES',
  // Set only on the jobs of an archived task, once its export is complete.
  timeToLiveAttribute: ARCHIVE_EXPIRY_ATTRIBUTE,
} as const satisfies TableSpec;

export const FILES_TABLE = {
  logicalName: 'Files',
  partitionKey: { name: 'datasetUid', type: 'S' },
  sortKey: { name: 'name', type: 'S' },
  globalIndexes: [],
  // Set only on the log files of an archived task, once its export is complete.
  timeToLiveAttribute: ARCHIVE_EXPIRY_ATTRIBUTE,
} as const satisfies TableSpec;

export const DATASETS_TABLE = {
  logicalName: 'Datasets',
  partitionKey: { name: 'uid', type: 'S' },
  globalIndexes: [
    { indexName: 'byName', partitionKey: { name: 'name', type: 'S' }, projection: { type: 'ALL' } },
  ],
} as const satisfies TableSpec;

export const PILOTS_TABLE = {
  logicalName: 'Pilots',
  partitionKey: { name: 'pilotId', type: 'S' },
  globalIndexes: [
    {
      indexName: 'byState',
      partitionKey: { name: 'state', type: 'S' },
      sortKey: { name: 'lastHeartbeatAt', type: 'S' },
      projection: { type: 'ALL' },
    },
  ],
  stream: 'NEW_AND_OLD_IMAGES',
} as const satisfies TableSpec;

/** The Control table's attribute after which DynamoDB deletes an item (per-minute throughput records). */
export const CONTROL_EXPIRY_ATTRIBUTE = 'expiresAt';

/** Small singleton items (e.g. the dispatcher's persisted scheduler state) and per-minute counters. */
export const CONTROL_TABLE = {
  logicalName: 'Control',
  partitionKey: { name: 'key', type: 'S' },
  globalIndexes: [],
  timeToLiveAttribute: CONTROL_EXPIRY_ATTRIBUTE,
} as const satisfies TableSpec;

export const TABLE_SPECS = {
  tasks: TASKS_TABLE,
  jobs: JOBS_TABLE,
  files: FILES_TABLE,
  datasets: DATASETS_TABLE,
  pilots: PILOTS_TABLE,
  control: CONTROL_TABLE,
} as const satisfies Record<string, TableSpec>;

export type TableKey = keyof typeof TABLE_SPECS;

/** The physical name of each table. */
export type TableNames = Record<TableKey, string>;

/** Table names from the TablesConfig variables of shared/config. */
export function tableNamesFromConfig(config: {
  TASKS_TABLE: string;
  JOBS_TABLE: string;
  FILES_TABLE: string;
  DATASETS_TABLE: string;
  PILOTS_TABLE: string;
  CONTROL_TABLE: string;
}): TableNames {
  return {
    tasks: config.TASKS_TABLE,
    jobs: config.JOBS_TABLE,
    files: config.FILES_TABLE,
    datasets: config.DATASETS_TABLE,
    pilots: config.PILOTS_TABLE,
    control: config.CONTROL_TABLE,
  };
}

function keySchema(partitionKey: KeyAttribute, sortKey: KeyAttribute | undefined) {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' as const },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

function projectionOf(projection: Projection) {
  return projection.type === 'INCLUDE'
    ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...projection.attributes] }
    : { ProjectionType: projection.type };
}

/** Every attribute used in a key of the table or of one of its indexes, once. */
export function keyAttributes(spec: TableSpec): KeyAttribute[] {
  const all = [
    spec.partitionKey,
    spec.sortKey,
    ...spec.globalIndexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  const byName = new Map<string, KeyAttribute>();
  for (const attribute of all) if (attribute) byName.set(attribute.name, attribute);
  return [...byName.values()];
}

/** The on-demand CreateTable request for `spec` under the physical name `tableName`. */
export function createTableInput(spec: TableSpec, tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes(spec).map((attribute) => ({
      AttributeName: attribute.name,
      AttributeType: attribute.type,
    })),
    KeySchema: keySchema(spec.partitionKey, spec.sortKey),
    ...(spec.globalIndexes.length > 0
      ? {
          GlobalSecondaryIndexes: spec.globalIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: projectionOf(index.projection),
          })),
        }
      : {}),
    ...(spec.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: spec.stream } } : {}),
  };
}
