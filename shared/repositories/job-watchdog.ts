/**
 * What the watchdog reads and writes of jobs: the in-flight and per-pilot scans, QUEUED|RUNNING
 * → LOST when a message or a pilot is gone, and QUEUED → READY for a job stuck in its queue.
 */
import { z } from 'zod';
import { JobRecord } from '../model/index.js';
import type { InFlightJobState } from '../states/index.js';
import { parseStored, queryPage } from './dynamo.js';
import { Expression } from './expressions.js';
import { entryOf, type JobTransitions } from './job-transitions.js';
import { JOBS_TABLE } from './tables.js';
import type {
  JobBatchResult,
  JobRef,
  JobStateRef,
  JobSummary,
  Page,
  PageRequest,
  RepositoryDeps,
  StoredItem,
} from './types.js';

const [, IN_FLIGHT, BY_PILOT] = JOBS_TABLE.globalIndexes;

export interface LostJobRef extends JobStateRef {
  from: 'QUEUED' | 'RUNNING';
  /** For RUNNING jobs: only if still run by this pilot (the one found lost). */
  pilotId?: string;
}

function summaryOf(item: StoredItem): JobSummary {
  return parseStored(
    z.object({
      jobId: z.string(),
      taskId: z.string(),
      state: JobRecord.shape.state,
      attempt: z.number().int(),
      pilotId: z.string().optional(),
      updatedAt: z.string(),
    }),
    item,
    'job summary',
  );
}

export class JobWatchdog {
  readonly #deps: RepositoryDeps;
  readonly #transitions: JobTransitions;

  constructor(deps: RepositoryDeps, transitions: JobTransitions) {
    this.#deps = deps;
    this.#transitions = transitions;
  }

  /** QUEUED, RUNNING or LOST jobs, oldest change first, optionally only those unchanged since `updatedBefore`. */
  async listInFlight(
    state: InFlightJobState,
    options: PageRequest & { updatedBefore?: string } = {},
  ): Promise<Page<JobSummary>> {
    const expression = new Expression();
    let keyCondition = `${expression.name(IN_FLIGHT.partitionKey.name)} = ${expression.value(state)}`;
    if (options.updatedBefore !== undefined) {
      keyCondition += ` AND ${expression.name(IN_FLIGHT.sortKey.name)} < ${expression.value(options.updatedBefore)}`;
    }
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#deps.tables.jobs,
        IndexName: IN_FLIGHT.indexName,
        KeyConditionExpression: keyCondition,
        ...expression.attributes(),
      },
      options,
      summaryOf,
    );
  }

  /** The jobs a pilot is running. */
  async listByPilot(pilotId: string, page: PageRequest = {}): Promise<Page<JobSummary>> {
    const expression = new Expression();
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#deps.tables.jobs,
        IndexName: BY_PILOT.indexName,
        KeyConditionExpression: `${expression.name(BY_PILOT.partitionKey.name)} = ${expression.value(pilotId)}`,
        ...expression.attributes(),
      },
      page,
      summaryOf,
    );
  }

  /** QUEUED|RUNNING → LOST: the message or the pilot is gone (watchdog). */
  async markLost(jobs: readonly LostJobRef[]): Promise<JobBatchResult> {
    return this.#transitions.transition(
      jobs.map((job) => entryOf(job, job.from, { pilotId: job.pilotId })),
      {
        to: 'LOST',
        changes: () => ({ remove: ['phase'] }),
        isRepeat: (entry, current) => current.state === 'LOST' && current.attempt === entry.attempt,
      },
    );
  }

  /** QUEUED → READY, same attempt and no backoff: the job sat in its queue too long (watchdog). */
  async requeue(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#transitions.transition(
      jobs.map((job) => entryOf(job, 'QUEUED')),
      {
        to: 'READY',
        changes: () => ({ remove: ['queuedAt', 'retryAfter'] }),
        isRepeat: () => false,
      },
    );
  }
}
