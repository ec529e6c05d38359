/**
 * Applying what pilots report on the status queue: phase progress of a running job, and the
 * final result of an attempt (outputs and log registered, job DONE; or retried / FAILED /
 * CANCELLED), with the `file.registered` events to publish. A result is applied in one
 * transaction (JobsRepo.endAttempt) built from the message and the task's cached spec, with no
 * read; only a refused transaction is examined. A result naming a file anywhere but its job's
 * place (dataset-locations.ts) registers nothing: the attempt fails with
 * STAGE_OUT_LOCATION_REFUSED, retried or final by the retry policy.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  buildPutEventsEntry,
  DETAIL_TYPES,
  EVENT_SOURCES,
  type JobProgressMessage,
  type JobResultMessage,
  type PilotStatusMessage,
} from '../../events/index.js';
import { ConditionFailedError, ERRORS, NotFoundError, StateConflictError } from '../errors/index.js';
import type { FileRecord, JobRecord, OutputFile } from '../model/index.js';
import {
  type AttemptEnd,
  type EndAttemptRequest,
  type FileRefusal,
  type NewFile,
  type Repositories,
  TRANSACTION_ITEM_LIMIT,
} from '../repositories/index.js';
import { planRetry, type RetryPolicyInput } from '../retry/index.js';
import { STARTED_TASK_STATES } from '../states/index.js';
import { refusedLocations } from './dataset-locations.js';
import { ensureTaskDataset, taskDatasetOf } from './datasets.js';
import type { ImmutableTaskSpec, TaskSpecCache } from './task-specs.js';

export interface ResultDeps {
  repos: Pick<Repositories, 'jobs' | 'tasks' | 'files' | 'datasets'>;
  eventBusName: string;
  /** The data bucket: the store every job writes its outputs and its log to. */
  dataBucket: string;
  /** The tasks' immutable fields (datasets, retries), kept across the invocations of a warm container. */
  taskSpecs: TaskSpecCache;
  /** The backoff of retried attempts (JOB_RETRY_*). */
  retryPolicy: RetryPolicyInput;
  /** The current time; injectable so tests control the retry time. */
  clock?: () => Date;
}

/**
 * Why a result was refused for the places of its files (nothing of it registered); the
 * status consumer keeps a dead-letter record of it, whatever became of the job.
 */
export interface LocationRefusal {
  refusal?: string;
}

/** What applying one status message did, and the events it leaves to publish. */
export type StatusOutcome =
  | { kind: 'progress'; advanced: boolean }
  | { kind: 'done'; events: PutEventsRequestEntry[] }
  | ({
      kind: 'retried';
      nextAttempt: number;
      retryAfter: string;
      events: PutEventsRequestEntry[];
    } & LocationRefusal)
  | ({ kind: 'failed'; errorCode: number; reason: string; events: PutEventsRequestEntry[] } & LocationRefusal)
  | ({ kind: 'cancelled'; events: PutEventsRequestEntry[] } & LocationRefusal)
  /** The result was applied before (a redelivery): its registered files are announced again. */
  | { kind: 'repeated'; events: PutEventsRequestEntry[] }
  /** Stale, foreign or for a job that moved on: nothing changes. */
  | ({ kind: 'ignored'; reason: string } & LocationRefusal);

export type ResultVerdict =
  | { verdict: 'apply' }
  | { verdict: 'repeat' }
  | { verdict: 'ignore'; reason: string };

type ResultIdentity = Pick<
  JobResultMessage,
  'jobId' | 'taskId' | 'attempt' | 'claimToken' | 'outcome' | 'errorCode'
>;

/**
 * Whether a result applies to the job as it is: only to the RUNNING attempt it was claimed
 * for, with its claim token. A result the job already shows (DONE/FAILED/CANCELLED at that
 * attempt and token, or a failure already retried into the next attempt) is a repeat; any
 * other is stale or foreign and ignored.
 */
export function judgeResult(job: JobRecord | undefined, result: ResultIdentity): ResultVerdict {
  if (!job) return { verdict: 'ignore', reason: `job ${result.jobId} does not exist` };
  if (job.taskId !== result.taskId) {
    return {
      verdict: 'ignore',
      reason: `job ${result.jobId} belongs to task ${job.taskId}, not ${result.taskId}`,
    };
  }
  const retriedIntoNext =
    result.outcome === 'FAILED' && job.attempt === result.attempt + 1 && job.errorCode === result.errorCode;
  if (retriedIntoNext) return { verdict: 'repeat' };
  if (job.attempt !== result.attempt) {
    return {
      verdict: 'ignore',
      reason: `attempt ${result.attempt} is not the current attempt ${job.attempt}`,
    };
  }
  if (job.claimToken !== result.claimToken)
    return { verdict: 'ignore', reason: 'the claim token does not match' };
  if (job.state === 'RUNNING') return { verdict: 'apply' };
  const settledByResult =
    job.state === 'CANCELLED' ||
    (job.state === 'DONE' && result.outcome === 'DONE') ||
    (job.state === 'FAILED' && result.outcome === 'FAILED');
  if (settledByResult) return { verdict: 'repeat' };
  return { verdict: 'ignore', reason: `job is ${job.state}` };
}

/** One result as a transaction holds it: its job item, its files, the counters it moves. */
export interface TransactionShare {
  jobId: string;
  files: number;
  /** Counter items (the job's task counter shard, its datasets'); those several results share are one item. */
  counters: readonly string[];
}

/**
 * The results (their indexes, in order) that go into one transaction: each job once, taken
 * while its job, files and new counter items still fit `itemLimit`; a result that does not fit
 * is passed over for the smaller ones after it.
 */
export function pickForOneTransaction(shares: readonly TransactionShare[], itemLimit: number): number[] {
  const picked: number[] = [];
  const jobs = new Set<string>();
  const counters = new Set<string>();
  let items = 0;
  shares.forEach((share, index) => {
    if (jobs.has(share.jobId)) return;
    const newCounters = new Set(share.counters.filter((key) => !counters.has(key)));
    const added = 1 + share.files + newCounters.size;
    if (items + added > itemLimit) return;
    items += added;
    for (const key of newCounters) counters.add(key);
    jobs.add(share.jobId);
    picked.push(index);
  });
  return picked;
}

/** Applies one status message. */
export async function applyPilotStatus(
  deps: ResultDeps,
  message: PilotStatusMessage,
): Promise<StatusOutcome> {
  if (message.type === 'job.progress') return applyProgress(deps, message);
  return applyResult(deps, message);
}

async function applyProgress(deps: ResultDeps, message: JobProgressMessage): Promise<StatusOutcome> {
  try {
    const advanced = await deps.repos.jobs.updatePhase({
      jobId: message.jobId,
      taskId: message.taskId,
      attempt: message.attempt,
      claimToken: message.claimToken,
      phase: message.phase,
      at: message.at,
    });
    return { kind: 'progress', advanced };
  } catch (error) {
    // Stale attempt, foreign token, finished or unknown job: a late report changes nothing.
    if (error instanceof ConditionFailedError) return { kind: 'ignored', reason: error.message };
    throw error;
  }
}

/** How one result ends its attempt: the job change, the files registered with it, the outcome. */
interface Settlement {
  end: AttemptEnd;
  files: OutputFile[];
  /** True for a task no longer RUNNING: its job is cancelled whatever it reports. */
  taskEnded: boolean;
  /** Set when the result names a file outside its job's place: none of its files is registered. */
  refusal?: string;
  outcome(events: PutEventsRequestEntry[]): StatusOutcome;
}

async function applyResult(deps: ResultDeps, result: JobResultMessage): Promise<StatusOutcome> {
  const task = await deps.taskSpecs.get(result.taskId, (taskId) => deps.repos.tasks.findItem(taskId));
  if (!task) return { kind: 'ignored', reason: `task ${result.taskId} does not exist` };
  let settlement = settlementOf(deps, task, result);
  const createdDatasets = new Set<string>();
  for (;;) {
    const outcome = await deps.repos.jobs.endAttempt(endRequestOf(task, result, settlement));
    switch (outcome.status) {
      case 'applied': {
        const { created, existing } = outcome.files;
        return settlement.outcome(fileEvents(deps, task, result.jobId, [...created, ...existing]));
      }
      case 'job-refused':
        return judgeRefusal(deps, task, result, outcome.current, settlement.refusal);
      case 'task-refused':
        if (!outcome.current) return { kind: 'ignored', reason: `task ${result.taskId} does not exist` };
        settlement = cancellation(result, settlement.refusal);
        break;
      case 'files-refused':
        settlement = await afterRefusedFiles(
          deps,
          task,
          result,
          settlement,
          outcome.refused,
          createdDatasets,
        );
        break;
    }
  }
}

/**
 * Applies the results of a batch in ONE transaction (JobsRepo.endAttemptsTogether) when all of
 * them apply as they are: RUNNING attempts reporting once, the usual case. Their task and
 * dataset counters then move once for the batch instead of once per result. Returns the
 * outcomes of the results it applied, by message; none when the transaction was refused (a
 * stale or repeated result, a closed dataset, a taken name...) or fewer than two results could
 * go together: each of those is then applied on its own (applyPilotStatus), where every
 * refusal has its answer.
 */
export async function applyResultsTogether(
  deps: ResultDeps,
  messages: readonly PilotStatusMessage[],
): Promise<Map<PilotStatusMessage, StatusOutcome>> {
  const candidates: { result: JobResultMessage; task: ImmutableTaskSpec; settlement: Settlement }[] = [];
  for (const message of messages) {
    if (message.type !== 'job.result') continue;
    const task = await deps.taskSpecs.get(message.taskId, (taskId) => deps.repos.tasks.findItem(taskId));
    if (!task) continue;
    candidates.push({ result: message, task, settlement: settlementOf(deps, task, message) });
  }
  const picked = pickForOneTransaction(
    candidates.map(({ result, task, settlement }) => ({
      jobId: result.jobId,
      files: settlement.files.length,
      // The job's counter shard is named by the job: at most one item each, whichever shard it is.
      counters: [
        `${result.taskId}/${result.jobId}`,
        ...settlement.files.map((file) => taskDatasetOf(task, file.kind).uid),
      ],
    })),
    TRANSACTION_ITEM_LIMIT,
  );
  const together = picked.map((index) => candidates[index]!);
  const outcomes = new Map<PilotStatusMessage, StatusOutcome>();
  if (together.length < 2) return outcomes;
  const registered = await deps.repos.jobs.endAttemptsTogether(
    together.map(({ result, task, settlement }) => endRequestOf(task, result, settlement)),
  );
  if (!registered) return outcomes;
  together.forEach(({ result, task, settlement }, index) => {
    outcomes.set(result, settlement.outcome(fileEvents(deps, task, result.jobId, registered[index]!)));
  });
  return outcomes;
}

function endRequestOf(
  task: ImmutableTaskSpec,
  result: JobResultMessage,
  settlement: Settlement,
): EndAttemptRequest {
  return {
    jobId: result.jobId,
    taskId: result.taskId,
    attempt: result.attempt,
    claimToken: result.claimToken,
    end: settlement.end,
    files: settlement.files.map((file) => newFileOf(task, result.jobId, file)),
    ...(settlement.taskEnded ? {} : { taskStates: STARTED_TASK_STATES }),
  };
}

/**
 * What a refused job says about the result: applied before (announce again), or stale and
 * ignored. A result refused for its files' places registered nothing, so it announces nothing.
 */
async function judgeRefusal(
  deps: ResultDeps,
  task: ImmutableTaskSpec,
  result: JobResultMessage,
  current: JobRecord | undefined,
  refusal: string | undefined,
): Promise<StatusOutcome> {
  const judged = judgeResult(current, result);
  if (refusal !== undefined && judged.verdict !== 'apply')
    return {
      kind: 'ignored',
      reason: judged.verdict === 'ignore' ? judged.reason : 'the result was refused before',
      refusal,
    };
  if (judged.verdict === 'ignore') return { kind: 'ignored', reason: judged.reason };
  if (judged.verdict === 'repeat')
    return { kind: 'repeated', events: await announceRegistered(deps, task, result) };
  throw new Error(`job ${result.jobId} refused a result it matches; the message is retried`);
}

/**
 * The next settlement after files were refused. A missing output or log dataset is created
 * (once). A name taken by other content fails a DONE job with STAGE_OUT_NAME_CONFLICT, keeping
 * its log; on the failure paths the taken name is left out. A dataset no longer OPEN refuses a
 * DONE or failed result (StateConflictError: the message is retried, then dead-lettered with
 * the reason); a cancelled job's log is then left out, the job is cancelled all the same.
 */
async function afterRefusedFiles(
  deps: ResultDeps,
  task: ImmutableTaskSpec,
  result: JobResultMessage,
  settlement: Settlement,
  refused: readonly FileRefusal[],
  createdDatasets: Set<string>,
): Promise<Settlement> {
  const conflicts = refused.filter((refusal) => refusal.current !== undefined);
  const missing = refused.filter((refusal) => refusal.error instanceof NotFoundError);
  const closed = refused.filter((refusal) => refusal.error instanceof StateConflictError);
  for (const refusal of missing) {
    const { datasetUid } = refusal.file;
    if (createdDatasets.has(datasetUid)) throw refusal.error;
    await ensureTaskDataset(deps.repos.datasets, task, refusal.file.kind === 'log' ? 'log' : 'output');
    createdDatasets.add(datasetUid);
  }
  if (closed.length > 0 && !settlement.taskEnded) throw closed[0]!.error;
  if (conflicts.length > 0 && settlement.end.to === 'DONE') return nameConflict(result, conflicts);
  const dropped = new Set([...conflicts, ...closed].map((refusal) => refusal.file.name));
  return { ...settlement, files: settlement.files.filter((file) => !dropped.has(file.name)) };
}

/**
 * How a result ends its attempt: DONE with its files, or a failure retried or final; a result
 * naming any file outside its job's place fails with STAGE_OUT_LOCATION_REFUSED, registering
 * nothing, not even a log that is in its place.
 */
function settlementOf(deps: ResultDeps, task: ImmutableTaskSpec, result: JobResultMessage): Settlement {
  const refusals = refusedLocations(task, deps.dataBucket, result.outputs);
  if (refusals.length > 0) return locationRefused(deps, task, result, refusals);
  if (result.outcome === 'DONE') return completion(result);
  return failure(deps, task, result, result, logsOf(result.outputs));
}

/** The job DONE with all its outputs and its log. */
function completion(result: JobResultMessage): Settlement {
  return {
    end: { to: 'DONE', outputs: result.outputs, exitCode: result.exitCode, phaseTimes: result.phaseTimes },
    files: result.outputs,
    taskEnded: false,
    outcome: (events) => ({ kind: 'done', events }),
  };
}

/** A failed attempt retried with its backoff, or FAILED, with `files` (its log) kept either way. */
function failure(
  deps: ResultDeps,
  task: ImmutableTaskSpec,
  result: JobResultMessage,
  error: { errorCode: number; errorMessage?: string | undefined },
  files: OutputFile[],
  refusal?: string,
): Settlement {
  const details = {
    errorCode: error.errorCode,
    errorMessage: error.errorMessage,
    exitCode: result.exitCode,
    phaseTimes: result.phaseTimes,
  };
  const decision = planRetry({
    errorCode: error.errorCode,
    attempt: result.attempt,
    maxRetries: task.maxRetries,
    policy: deps.retryPolicy,
    now: deps.clock?.() ?? new Date(),
  });
  const refused = refusal === undefined ? {} : { refusal };
  if (decision.action === 'retry') {
    const { retryAfter } = decision;
    return {
      end: { to: 'READY', ...details, retryAfter },
      files,
      taskEnded: false,
      ...refused,
      outcome: (events) => ({
        kind: 'retried',
        nextAttempt: decision.nextAttempt,
        retryAfter,
        events,
        ...refused,
      }),
    };
  }
  return {
    end: { to: 'FAILED', ...details },
    files,
    taskEnded: false,
    ...refused,
    outcome: (events) => ({
      kind: 'failed',
      errorCode: error.errorCode,
      reason: decision.reason,
      events,
      ...refused,
    }),
  };
}

/**
 * A result naming files outside its job's place: none registered, the attempt failed with
 * STAGE_OUT_LOCATION_REFUSED and the places named. The pilot's own error, if it reported one,
 * stays in the message.
 */
function locationRefused(
  deps: ResultDeps,
  task: ImmutableTaskSpec,
  result: JobResultMessage,
  refusals: readonly string[],
): Settlement {
  const reported = result.outcome === 'FAILED' ? ` (the pilot reported error ${result.errorCode})` : '';
  const refusal = `result refused, nothing registered: ${refusals.join('; ')}${reported}`;
  const error = {
    errorCode: ERRORS.STAGE_OUT_LOCATION_REFUSED.code,
    errorMessage: refusal.slice(0, MAX_ERROR_MESSAGE_LENGTH),
  };
  return failure(deps, task, result, error, [], refusal);
}

/** A DONE result whose outputs take names registered with other content: FAILED, log kept. */
function nameConflict(result: JobResultMessage, conflicts: readonly FileRefusal[]): Settlement {
  const reason = conflicts.map(describeOutputConflict).join('; ');
  const errorCode = ERRORS.STAGE_OUT_NAME_CONFLICT.code;
  const taken = new Set(conflicts.map((conflict) => conflict.file.name));
  return {
    end: {
      to: 'FAILED',
      errorCode,
      errorMessage: reason.slice(0, MAX_ERROR_MESSAGE_LENGTH),
      exitCode: result.exitCode,
      phaseTimes: result.phaseTimes,
    },
    files: logsOf(result.outputs).filter((file) => !taken.has(file.name)),
    taskEnded: false,
    outcome: (events) => ({ kind: 'failed', errorCode, reason, events }),
  };
}

/**
 * The result of a job whose task is no longer RUNNING (cancelled): CANCELLED, log kept unless
 * the result was refused for its files' places.
 */
function cancellation(result: JobResultMessage, refusal?: string): Settlement {
  const refused = refusal === undefined ? {} : { refusal };
  return {
    end: { to: 'CANCELLED' },
    files: refusal === undefined ? logsOf(result.outputs) : [],
    taskEnded: true,
    ...refused,
    outcome: (events) => ({ kind: 'cancelled', events, ...refused }),
  };
}

/** The longest error message a job keeps (JobRecord.errorMessage). */
const MAX_ERROR_MESSAGE_LENGTH = 4096;

function logsOf(outputs: readonly OutputFile[]): OutputFile[] {
  return outputs.filter((file) => file.kind === 'log');
}

function newFileOf(task: ImmutableTaskSpec, jobId: string, file: OutputFile): NewFile {
  return { datasetUid: taskDatasetOf(task, file.kind).uid, jobId, ...file };
}

function describeOutputConflict(conflict: FileRefusal): string {
  const owner = conflict.current?.jobId === undefined ? 'another producer' : `job ${conflict.current.jobId}`;
  return `output ${conflict.file.name} is already registered in ${conflict.file.datasetUid} by ${owner} with other content`;
}

/** The files of a repeated result that are registered as this job's, to announce again. */
async function announceRegistered(
  deps: ResultDeps,
  task: ImmutableTaskSpec,
  result: JobResultMessage,
): Promise<PutEventsRequestEntry[]> {
  const files = result.outcome === 'DONE' ? result.outputs : logsOf(result.outputs);
  const byDataset = new Map<string, OutputFile[]>();
  for (const file of files) {
    const uid = taskDatasetOf(task, file.kind).uid;
    byDataset.set(uid, [...(byDataset.get(uid) ?? []), file]);
  }
  const registered: FileRecord[] = [];
  for (const [uid, wanted] of byDataset) {
    const found = await deps.repos.files.getMany(
      uid,
      wanted.map((file) => file.name),
    );
    registered.push(
      ...found.filter((file) =>
        wanted.some(
          (want) => want.name === file.name && want.checksum === file.checksum && file.jobId === result.jobId,
        ),
      ),
    );
  }
  return fileEvents(deps, task, result.jobId, registered);
}

function fileEvents(
  deps: ResultDeps,
  task: ImmutableTaskSpec,
  jobId: string,
  files: readonly FileRecord[],
): PutEventsRequestEntry[] {
  return files.map((file) => {
    const kind = file.kind === 'log' ? 'log' : 'output';
    return buildPutEventsEntry({
      detailType: DETAIL_TYPES.fileRegistered,
      source: EVENT_SOURCES.wms,
      eventBusName: deps.eventBusName,
      detail: {
        datasetUid: file.datasetUid,
        datasetName: taskDatasetOf(task, kind).name,
        kind,
        file: { name: file.name, location: file.location, size: file.size, checksum: file.checksum },
        jobId,
        taskId: task.taskId,
        at: file.registeredAt,
      },
    });
  });
}
