/**
 * Dispatch and claim: the READY jobs the dispatcher sends next, READY → QUEUED when they are
 * sent, and QUEUED → RUNNING when a live pilot claims one (checked against the pilots table
 * in the same transaction).
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  AlreadyClaimedError,
  NotClaimableError,
  NotFoundError,
  PilotIdentityMismatchError,
  PilotNotLiveError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import { newClaimToken } from '../ids/index.js';
import { JobRecord, Timestamp } from '../model/index.js';
import { assertTransition, DISPATCHING_TASK_STATES, LIVE_PILOT_STATES } from '../states/index.js';
import { MAX_PAGE_SIZE } from './constants.js';
import { parseStored, transactWrite } from './dynamo.js';
import { Expression } from './expressions.js';
import {
  checked,
  entryOf,
  type JobTransitions,
  refusalError,
  refused,
  type TransitionSpec,
} from './job-transitions.js';
import { JOBS_TABLE } from './tables.js';
import type { JobBatchResult, JobRef, RepositoryDeps, StoredItem } from './types.js';

const [BY_TASK] = JOBS_TABLE.globalIndexes;

export interface JobClaim extends JobRef {
  pilotId: string;
  /** The pilot's id for this claim, the same in its retries. */
  requestId?: string;
  /** The verified caller; when given, it must be the principal that registered the pilot. */
  callerId?: string;
}

/**
 * A claim repeated by the pilot whose first try won (the answer was lost on the way): same
 * request id, pilot and attempt. It gets the winning claim's token; nothing is written again.
 */
function isRetryOfWinningClaim(
  request: JobClaim,
  current: JobRecord,
): current is JobRecord & { claimToken: string } {
  return (
    request.requestId !== undefined &&
    current.claimRequestId === request.requestId &&
    current.pilotId === request.pilotId &&
    current.attempt === request.attempt &&
    current.claimToken !== undefined
  );
}

export class JobDispatch {
  readonly #deps: RepositoryDeps;
  readonly #transitions: JobTransitions;

  constructor(deps: RepositoryDeps, transitions: JobTransitions) {
    this.#deps = deps;
    this.#transitions = transitions;
  }

  /**
   * Up to `limit` READY jobs of a task: what the dispatcher sends next. With `readyBy`, jobs
   * whose retry backoff lasts beyond it are skipped. The filter applies after the query's
   * Limit, so pages are read until `limit` jobs are found or the task has no more READY jobs;
   * each further page is twice the last, so a run of jobs in backoff costs few queries.
   */
  async listReady(taskId: string, limit: number, options: { readyBy?: string } = {}): Promise<JobRecord[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new ValidationError('invalid page request', [
        { path: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_SIZE}` },
      ]);
    }
    const readyBy =
      options.readyBy === undefined ? undefined : checked(Timestamp, options.readyBy, 'readyBy');
    const found: JobRecord[] = [];
    let startKey: StoredItem | undefined;
    let pageSize = limit;
    do {
      const expression = new Expression();
      const keyCondition = `${expression.name(BY_TASK.partitionKey.name)} = ${expression.value(taskId)} AND begins_with(${expression.name(BY_TASK.sortKey.name)}, ${expression.value('READY#')})`;
      const filter = readyBy === undefined ? {} : { FilterExpression: readyByFilter(expression, readyBy) };
      const response = await this.#deps.doc.send(
        new QueryCommand({
          TableName: this.#deps.tables.jobs,
          IndexName: BY_TASK.indexName,
          KeyConditionExpression: keyCondition,
          ...filter,
          ...expression.attributes(),
          Limit: pageSize,
          ExclusiveStartKey: startKey,
        }),
      );
      found.push(...(response.Items ?? []).map((item) => parseStored(JobRecord, item, 'job')));
      startKey = response.LastEvaluatedKey;
      pageSize = Math.min(MAX_PAGE_SIZE, pageSize * 2);
    } while (found.length < limit && startKey !== undefined);
    return found.slice(0, limit);
  }

  /**
   * READY → QUEUED for jobs just sent to a device queue, only while their task is RUNNING (a
   * task being cancelled refuses them with StateConflictError); stamps each task's lastServedAt.
   */
  async markQueued(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#transitions.transition(
      jobs.map((job) => entryOf(job, 'READY')),
      {
        to: 'QUEUED',
        changes: (_entry, now) => ({ set: { queuedAt: now }, remove: ['retryAfter'] }),
        isRepeat: (entry, current) => current.state === 'QUEUED' && current.attempt === entry.attempt,
        taskSet: (now) => ({ lastServedAt: now }),
        taskStates: DISPATCHING_TASK_STATES,
      },
    );
  }

  /**
   * QUEUED → RUNNING for `pilotId`, returning the claim token the pilot must present from now
   * on; the same transaction checks that the pilot is ACTIVE or IDLE. Exactly one claim of an
   * attempt wins; the others get AlreadyClaimedError. A claim for an older attempt gets
   * StaleAttemptError, for a job neither QUEUED nor RUNNING NotClaimableError, for an unknown
   * job NotFoundError, from a pilot that is LOST, EXITED or unknown PilotNotLiveError, from a
   * caller other than the pilot's registering principal PilotIdentityMismatchError.
   */
  async claim(request: JobClaim): Promise<string> {
    assertTransition('job', 'QUEUED', 'RUNNING');
    const claimToken = newClaimToken();
    const entry = entryOf(request, 'QUEUED');
    const spec: TransitionSpec = {
      to: 'RUNNING',
      changes: (_entry, now) => ({
        set: {
          pilotId: request.pilotId,
          claimToken,
          ...(request.requestId !== undefined && { claimRequestId: request.requestId }),
          phase: 'CLAIMED',
          phaseTimes: { CLAIMED: now },
          startedAt: now,
        },
        remove: ['claimRequestId'],
      }),
      isRepeat: () => false,
    };
    const shardsOf = await this.#transitions.counterShardsOf([request.taskId]);
    const now = this.#transitions.now();
    const pilotCheck = new Expression();
    const reasons = await transactWrite(this.#deps.doc, [
      this.#transitions.jobUpdate(entry, spec, now),
      this.#transitions.counterUpdate(
        request.taskId,
        shardsOf(request.taskId),
        { jobId: request.jobId, from: 'QUEUED', to: 'RUNNING' },
        undefined,
        undefined,
      ),
      {
        ConditionCheck: {
          TableName: this.#deps.tables.pilots,
          Key: { pilotId: request.pilotId },
          ConditionExpression:
            request.callerId === undefined
              ? pilotCheck.oneOf('state', LIVE_PILOT_STATES)
              : `${pilotCheck.oneOf('state', LIVE_PILOT_STATES)} AND ${pilotCheck.name('callerId')} = ${pilotCheck.value(request.callerId)}`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...pilotCheck.attributes(),
        },
      },
    ]);
    if (!reasons) return claimToken;
    const [jobReason, taskReason, pilotReason] = reasons;
    // Before anything else: a caller acting for another's pilot learns nothing, not even a claim token.
    if (
      refused(pilotReason) &&
      request.callerId !== undefined &&
      pilotReason.item !== undefined &&
      pilotReason.item.callerId !== request.callerId
    ) {
      throw new PilotIdentityMismatchError(request.pilotId);
    }
    if (refused(jobReason)) {
      const current = jobReason.item ? parseStored(JobRecord, jobReason.item, 'job') : undefined;
      const error = refusalError(entry, current);
      if (!(error instanceof StateConflictError) || !current) throw error;
      if (current.state !== 'RUNNING') throw new NotClaimableError(request.jobId, current.state);
      if (isRetryOfWinningClaim(request, current)) return current.claimToken;
      throw new AlreadyClaimedError(request.jobId);
    }
    if (refused(pilotReason)) {
      const state = pilotReason.item?.state;
      throw new PilotNotLiveError(request.pilotId, typeof state === 'string' ? state : undefined);
    }
    if (refused(taskReason)) throw new NotFoundError('task', request.taskId);
    throw new Error(`claim of job ${request.jobId} was refused without a reason`);
  }
}

/** Jobs not waiting out a retry backoff at `readyBy`. */
function readyByFilter(expression: Expression, readyBy: string): string {
  const retryAfter = expression.name('retryAfter');
  return `attribute_not_exists(${retryAfter}) OR ${retryAfter} <= ${expression.value(readyBy)}`;
}
