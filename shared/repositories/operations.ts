/**
 * The DynamoDB calls behind each repository method, as IAM sees them: `<table>:<action>` on a
 * table, `<table>/<index>:Query` on an index. A transaction needs the action of each of its
 * items (Put → PutItem, Update → UpdateItem, ConditionCheck → ConditionCheckItem) on the
 * item's table. The stack's grant tests check each function's grants against the methods its
 * code reaches; a test here checks every public method is listed.
 */
import type { TableKey } from './tables.js';

export type ItemAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'ConditionCheckItem';

export type TableOperation = `${TableKey}:${ItemAction}` | `${TableKey}/${string}:Query`;

// The task's shard count is read (tasks:GetItem) the first time a process changes one of its jobs.
const JOB_TRANSITION = ['jobs:UpdateItem', 'tasks:UpdateItem', 'tasks:GetItem'] as const;
const ATTEMPT_END_WITH_FILES = [
  'jobs:UpdateItem',
  'jobs:ConditionCheckItem',
  'tasks:GetItem',
  'tasks:UpdateItem',
  'tasks:ConditionCheckItem',
  'files:PutItem',
  'datasets:UpdateItem',
] as const;

export const REPOSITORY_OPERATIONS = {
  tasks: {
    // Every read of a task sums its counter shards (tasks:BatchGetItem).
    find: ['tasks:GetItem', 'tasks:BatchGetItem'],
    findItem: ['tasks:GetItem'],
    get: ['tasks:GetItem', 'tasks:BatchGetItem'],
    create: ['tasks:PutItem', 'tasks:GetItem', 'tasks:BatchGetItem'],
    listByState: ['tasks/byState:Query', 'tasks:BatchGetItem'],
    listByInputDataset: ['tasks/byInputDataset:Query', 'tasks:BatchGetItem'],
    transition: ['tasks:UpdateItem', 'tasks:GetItem', 'tasks:BatchGetItem'],
    setRank: ['tasks:UpdateItem', 'tasks:BatchGetItem'],
    markGenerationComplete: ['tasks:UpdateItem', 'tasks:BatchGetItem'],
    markServed: ['tasks:UpdateItem'],
    recountJobs: ['tasks:GetItem', 'tasks:BatchGetItem', 'tasks:UpdateItem'],
  },
  jobs: {
    find: ['jobs:GetItem'],
    get: ['jobs:GetItem'],
    getMany: ['jobs:BatchGetItem'],
    listByTask: ['jobs/byTask:Query'],
    listReady: ['jobs/byTask:Query'],
    listInFlight: ['jobs/inFlight:Query'],
    listByPilot: ['jobs/byPilot:Query'],
    createJobs: ['jobs:PutItem', 'tasks:UpdateItem', 'tasks:GetItem'],
    markQueued: JOB_TRANSITION,
    claim: [...JOB_TRANSITION, 'pilots:ConditionCheckItem'],
    updatePhase: ['jobs:UpdateItem'],
    complete: JOB_TRANSITION,
    completeWithOutputs: ATTEMPT_END_WITH_FILES,
    endAttempt: ATTEMPT_END_WITH_FILES,
    endAttemptsTogether: [
      'jobs:UpdateItem',
      'tasks:GetItem',
      'tasks:UpdateItem',
      'files:PutItem',
      'datasets:UpdateItem',
    ],
    fail: JOB_TRANSITION,
    retry: JOB_TRANSITION,
    retryFailed: JOB_TRANSITION,
    markLost: JOB_TRANSITION,
    cancel: JOB_TRANSITION,
    requeue: JOB_TRANSITION,
  },
  files: {
    find: ['files:GetItem'],
    getMany: ['files:BatchGetItem'],
    list: ['files:Query'],
    listNames: ['files:Query'],
    register: ['files:PutItem', 'datasets:UpdateItem'],
    registerMany: ['files:PutItem', 'datasets:UpdateItem'],
  },
  datasets: {
    find: ['datasets:GetItem'],
    get: ['datasets:GetItem'],
    findByName: ['datasets/byName:Query'],
    getByName: ['datasets/byName:Query'],
    create: ['datasets:PutItem'],
    close: ['datasets:UpdateItem'],
    markToUpload: ['datasets:UpdateItem'],
    markToDelete: ['datasets:UpdateItem'],
    transition: ['datasets:UpdateItem'],
  },
  pilots: {
    find: ['pilots:GetItem'],
    get: ['pilots:GetItem'],
    register: ['pilots:PutItem'],
    heartbeat: ['pilots:UpdateItem'],
    transition: ['pilots:UpdateItem'],
    setUnreportedJobs: ['pilots:UpdateItem'],
    listByState: ['pilots/byState:Query'],
  },
  control: {
    get: ['control:GetItem'],
    lease: ['control:UpdateItem'],
    release: ['control:UpdateItem'],
    put: ['control:PutItem'],
    addCounters: ['control:UpdateItem'],
    getCounters: ['control:BatchGetItem'],
  },
  archive: {
    listDue: ['tasks/toArchive:Query'],
    markArchived: ['tasks:UpdateItem'],
    finish: ['tasks:UpdateItem'],
    listJobsWithoutExpiry: ['jobs/byTask:Query'],
    listFilesWithoutExpiry: ['files:Query'],
    expireJob: ['jobs:UpdateItem'],
    expireFile: ['files:UpdateItem'],
  },
} as const satisfies Record<TableKey | 'archive', Record<string, readonly TableOperation[]>>;
