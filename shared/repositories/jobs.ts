/**
 * Jobs. Every state change is one conditional write guarded by the expected state, the task
 * and the attempt (and the claim token where a pilot reports), made in the same transaction as
 * the task's per-state counters, so the counters stay exact.
 *
 * JobsRepo is the one surface services use; each concern lives in its own part, and each table
 * it writes has one owner:
 * - the jobs table: every part, through the guarded update of job-transitions.ts;
 * - the tasks table's counters: job-counters.ts only (each job change carries its update);
 * - the pilots table (a claim's liveness check): job-dispatch.ts;
 * - the files and datasets tables (an attempt's outputs and logs): job-results.ts, through file-writes.ts.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../errors/index.js';
import { type FileRecord, JobRecord, type JobState } from '../model/index.js';
import type { InFlightJobState } from '../states/index.js';
import { batchGet, parseStored, queryPage } from './dynamo.js';
import { Expression } from './expressions.js';
import { type JobClaim, JobDispatch } from './job-dispatch.js';
import { type FailureRequest, JobEnds, type RetryRequest } from './job-ends.js';
import { type CreateJobsResult, JobGeneration, type JobTaskContext, type NewJob } from './job-generation.js';
import {
  type CompleteRequest,
  type CompleteWithOutputsRequest,
  type CompleteWithOutputsResult,
  type EndAttemptRequest,
  type EndAttemptResult,
  JobResults,
  type PhaseUpdate,
} from './job-results.js';
import { JobTransitions } from './job-transitions.js';
import { JobWatchdog, type LostJobRef } from './job-watchdog.js';
import { JOBS_TABLE } from './tables.js';
import type {
  JobBatchResult,
  JobRef,
  JobStateRef,
  JobSummary,
  Page,
  PageRequest,
  RepositoryDeps,
} from './types.js';

const [BY_TASK] = JOBS_TABLE.globalIndexes;

export class JobsRepo {
  readonly #deps: RepositoryDeps;
  readonly #generation: JobGeneration;
  readonly #dispatch: JobDispatch;
  readonly #results: JobResults;
  readonly #ends: JobEnds;
  readonly #watchdog: JobWatchdog;

  constructor(deps: RepositoryDeps) {
    this.#deps = deps;
    const transitions = new JobTransitions(deps);
    this.#generation = new JobGeneration(deps, transitions);
    this.#dispatch = new JobDispatch(deps, transitions);
    this.#results = new JobResults(deps, transitions);
    this.#ends = new JobEnds(transitions);
    this.#watchdog = new JobWatchdog(deps, transitions);
  }

  async find(jobId: string): Promise<JobRecord | undefined> {
    const response = await this.#deps.doc.send(
      new GetCommand({ TableName: this.#deps.tables.jobs, Key: { jobId }, ConsistentRead: true }),
    );
    return response.Item ? parseStored(JobRecord, response.Item, 'job') : undefined;
  }

  async get(jobId: string): Promise<JobRecord> {
    const job = await this.find(jobId);
    if (!job) throw new NotFoundError('job', jobId);
    return job;
  }

  /** The jobs that exist among `jobIds`, in no particular order (BatchGetItem). */
  async getMany(jobIds: readonly string[]): Promise<JobRecord[]> {
    const items = await batchGet(
      this.#deps.doc,
      this.#deps.tables.jobs,
      [...new Set(jobIds)].map((jobId) => ({ jobId })),
    );
    return items.map((item) => parseStored(JobRecord, item, 'job'));
  }

  /** A task's jobs, all or those in one state, ordered by state then job id. */
  async listByTask(
    taskId: string,
    options: PageRequest & { state?: JobState } = {},
  ): Promise<Page<JobRecord>> {
    const expression = new Expression();
    let keyCondition = `${expression.name(BY_TASK.partitionKey.name)} = ${expression.value(taskId)}`;
    if (options.state !== undefined) {
      keyCondition += ` AND begins_with(${expression.name(BY_TASK.sortKey.name)}, ${expression.value(`${options.state}#`)})`;
    }
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#deps.tables.jobs,
        IndexName: BY_TASK.indexName,
        KeyConditionExpression: keyCondition,
        ...expression.attributes(),
      },
      options,
      (item) => parseStored(JobRecord, item, 'job'),
    );
  }

  /** See JobGeneration.createJobs. */
  createJobs(task: JobTaskContext, jobs: readonly NewJob[]): Promise<CreateJobsResult> {
    return this.#generation.createJobs(task, jobs);
  }

  /** See JobDispatch.listReady. */
  listReady(taskId: string, limit: number, options: { readyBy?: string } = {}): Promise<JobRecord[]> {
    return this.#dispatch.listReady(taskId, limit, options);
  }

  /** See JobDispatch.markQueued. */
  markQueued(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#dispatch.markQueued(jobs);
  }

  /** See JobDispatch.claim. */
  claim(request: JobClaim): Promise<string> {
    return this.#dispatch.claim(request);
  }

  /** See JobResults.updatePhase. */
  updatePhase(update: PhaseUpdate): Promise<boolean> {
    return this.#results.updatePhase(update);
  }

  /** See JobResults.complete. */
  complete(request: CompleteRequest): Promise<boolean> {
    return this.#results.complete(request);
  }

  /** See JobResults.completeWithOutputs. */
  completeWithOutputs(request: CompleteWithOutputsRequest): Promise<CompleteWithOutputsResult> {
    return this.#results.completeWithOutputs(request);
  }

  /** See JobResults.endAttempt. */
  endAttempt(request: EndAttemptRequest): Promise<EndAttemptResult> {
    return this.#results.endAttempt(request);
  }

  /** See JobResults.endAttemptsTogether. */
  endAttemptsTogether(requests: readonly EndAttemptRequest[]): Promise<FileRecord[][] | undefined> {
    return this.#results.endAttemptsTogether(requests);
  }

  /** See JobEnds.fail. */
  fail(request: FailureRequest): Promise<boolean> {
    return this.#ends.fail(request);
  }

  /** See JobEnds.retry. */
  retry(request: RetryRequest): Promise<boolean> {
    return this.#ends.retry(request);
  }

  /** See JobEnds.cancel. */
  cancel(jobs: readonly JobStateRef[]): Promise<JobBatchResult> {
    return this.#ends.cancel(jobs);
  }

  /** See JobEnds.retryFailed. */
  retryFailed(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#ends.retryFailed(jobs);
  }

  /** See JobWatchdog.listInFlight. */
  listInFlight(
    state: InFlightJobState,
    options: PageRequest & { updatedBefore?: string } = {},
  ): Promise<Page<JobSummary>> {
    return this.#watchdog.listInFlight(state, options);
  }

  /** See JobWatchdog.listByPilot. */
  listByPilot(pilotId: string, page: PageRequest = {}): Promise<Page<JobSummary>> {
    return this.#watchdog.listByPilot(pilotId, page);
  }

  /** See JobWatchdog.markLost. */
  markLost(jobs: readonly LostJobRef[]): Promise<JobBatchResult> {
    return this.#watchdog.markLost(jobs);
  }

  /** See JobWatchdog.requeue. */
  requeue(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#watchdog.requeue(jobs);
  }
}
