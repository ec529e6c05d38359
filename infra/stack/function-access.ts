/**
 * What each function may touch, derived from the calls its code makes (functions/<name>/ and
 * the shared services and repositories it uses): per table the item actions and the indexes
 * it queries (shared/repositories/operations.ts lists each repository method's calls), the
 * queues it sends to or inspects, whether it puts events on the bus, which objects of the data
 * bucket it reads, and its SQS actions on the pilot control queues. `WmsFunctions`
 * (functions.ts) binds each entry where it defines the function (`bindFunctionAccess`,
 * access.ts), and what the queue consumers and stream sources need besides; `WmsAccess`
 * (access.ts) binds what the operator routes and the watchdog's listing need.
 * `function-grants.test.ts` pins the resulting policies and checks these tables against the
 * calls the code can reach.
 */
import type { ItemAction, TableKey } from '../../shared/repositories/index.js';

export type FunctionName =
  | 'api'
  | 'file-input'
  | 'dataset-close'
  | 'dataset-admin'
  | 'task-commands'
  | 'job-generator'
  | 'dispatcher'
  | 'status'
  | 'task-lifecycle'
  | 'rank-updater'
  | 'watchdog';

/** Item actions on the table itself, and the global indexes the function queries. */
export interface TableAccess {
  readonly actions: readonly ItemAction[];
  readonly indexes?: readonly string[];
}

/** `send`: SendMessage; `inspect`: GetQueueAttributes (queue depth). */
export type QueueAccess = 'send' | 'inspect';

export type QueueKey = 'jobsCpu' | 'jobsGpu' | 'jobGeneration';

export type PilotControlAction =
  | 'CreateQueue'
  | 'GetQueueUrl'
  | 'SetQueueAttributes'
  | 'DeleteQueue'
  | 'SendMessage'
  | 'GetQueueAttributes';

export interface FunctionAccess {
  readonly tables: Partial<Record<TableKey, TableAccess>>;
  readonly queues?: Partial<Record<QueueKey, readonly QueueAccess[]>>;
  readonly putEvents?: boolean;
  /** Key patterns of the data bucket whose objects the function reads (HeadObject, GetObject). */
  readonly readObjects?: readonly string[];
  /** Key patterns of the data bucket the function writes objects under (PutObject). */
  readonly writeObjects?: readonly string[];
  readonly pilotControl?: readonly PilotControlAction[];
  /**
   * The throughput history (THROUGHPUT_HISTORY): `record` counts finished jobs per minute,
   * `read` reads the history back, from CloudWatch (GetMetricData) or the Control table.
   */
  readonly throughputHistory?: 'record' | 'read';
  /**
   * Task exports under `archive/` of the data bucket: `read` (GetObject), or `write` (the
   * archival's PutObject and multipart upload, and reading back).
   */
  readonly archive?: 'read' | 'write';
}

export const FUNCTION_ACCESS: Readonly<Record<FunctionName, FunctionAccess>> = {
  api: {
    tables: {
      tasks: { actions: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'], indexes: ['byState'] },
      jobs: { actions: ['GetItem', 'BatchGetItem', 'UpdateItem'], indexes: ['byTask'] },
      files: { actions: ['GetItem', 'BatchGetItem', 'Query', 'PutItem'] },
      datasets: { actions: ['GetItem', 'PutItem', 'UpdateItem'] },
      pilots: { actions: ['GetItem', 'PutItem', 'UpdateItem', 'ConditionCheckItem'], indexes: ['byState'] },
      control: { actions: ['BatchGetItem'] },
    },
    queues: { jobGeneration: ['send'], jobsCpu: ['inspect'], jobsGpu: ['inspect'] },
    putEvents: true,
    readObjects: ['datasets/*', 'outputs/*'],
    pilotControl: ['CreateQueue', 'GetQueueUrl', 'SetQueueAttributes', 'DeleteQueue', 'SendMessage'],
    throughputHistory: 'read',
    archive: 'read',
  },
  'file-input': {
    tables: {
      tasks: { actions: ['GetItem', 'BatchGetItem', 'UpdateItem'], indexes: ['byInputDataset'] },
      jobs: { actions: ['PutItem'] },
      files: { actions: ['PutItem'] },
      datasets: { actions: ['GetItem', 'PutItem', 'UpdateItem'] },
    },
  },
  'dataset-close': {
    tables: {
      tasks: { actions: ['GetItem', 'BatchGetItem', 'UpdateItem'], indexes: ['byInputDataset'] },
      files: { actions: ['Query'] },
      datasets: { actions: ['GetItem', 'PutItem', 'UpdateItem'] },
    },
    queues: { jobGeneration: ['send'] },
    // Checklist objects, only where shared/services/dataset-locations checklistReadPlaces allows.
    readObjects: ['checklists/*', 'datasets/*'],
  },
  'dataset-admin': {
    tables: {
      tasks: { actions: ['GetItem', 'BatchGetItem', 'UpdateItem'], indexes: ['byInputDataset'] },
      datasets: { actions: ['GetItem', 'UpdateItem'] },
    },
  },
  'task-commands': {
    tables: {
      tasks: { actions: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'] },
      jobs: { actions: ['UpdateItem'], indexes: ['byTask'] },
      datasets: { actions: ['GetItem', 'PutItem'] },
      pilots: { actions: ['GetItem'] },
    },
    queues: { jobGeneration: ['send'] },
    putEvents: true,
    pilotControl: ['SendMessage'],
  },
  'job-generator': {
    tables: {
      tasks: { actions: ['GetItem', 'BatchGetItem', 'UpdateItem'] },
      jobs: { actions: ['PutItem'] },
      files: { actions: ['Query'] },
      datasets: { actions: ['GetItem'] },
    },
    queues: { jobGeneration: ['send'] },
  },
  dispatcher: {
    tables: {
      tasks: { actions: ['GetItem', 'BatchGetItem', 'UpdateItem'], indexes: ['byState'] },
      jobs: { actions: ['UpdateItem'], indexes: ['byTask'] },
      pilots: { actions: [], indexes: ['byState'] },
      control: { actions: ['PutItem', 'UpdateItem'] },
    },
    queues: { jobsCpu: ['send'], jobsGpu: ['send'] },
  },
  status: {
    tables: {
      tasks: { actions: ['GetItem', 'UpdateItem', 'ConditionCheckItem'] },
      jobs: { actions: ['UpdateItem', 'ConditionCheckItem'] },
      files: { actions: ['BatchGetItem', 'PutItem'] },
      datasets: { actions: ['PutItem', 'UpdateItem'] },
      control: { actions: ['UpdateItem'] },
    },
    putEvents: true,
    throughputHistory: 'record',
  },
  'task-lifecycle': {
    tables: {
      tasks: { actions: ['GetItem', 'BatchGetItem', 'UpdateItem'] },
      files: { actions: ['Query'] },
      datasets: { actions: ['PutItem', 'UpdateItem'] },
    },
    putEvents: true,
    // The checklist objects of its datasets too large to close inline (checklistObjectKey).
    writeObjects: ['checklists/*'],
  },
  'rank-updater': {
    tables: {
      tasks: { actions: ['GetItem', 'BatchGetItem', 'UpdateItem'] },
      control: { actions: ['GetItem', 'PutItem'] },
    },
  },
  watchdog: {
    tables: {
      tasks: { actions: ['GetItem', 'BatchGetItem', 'UpdateItem'], indexes: ['byState', 'toArchive'] },
      jobs: { actions: ['BatchGetItem', 'UpdateItem'], indexes: ['byPilot', 'byTask', 'inFlight'] },
      files: { actions: ['Query', 'PutItem', 'UpdateItem'] },
      datasets: { actions: ['GetItem', 'UpdateItem'] },
      pilots: { actions: ['GetItem', 'UpdateItem'], indexes: ['byState'] },
    },
    queues: { jobsCpu: ['inspect'], jobsGpu: ['inspect'] },
    putEvents: true,
    readObjects: ['datasets/*', 'outputs/*'],
    pilotControl: ['DeleteQueue', 'SendMessage', 'GetQueueAttributes'],
    archive: 'write',
  },
};
