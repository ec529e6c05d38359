/**
 * The claiming pilot's results: its phase reports, and the end of its attempt — DONE, FAILED,
 * READY (retried) or CANCELLED — with the attempt's files registered in the files and datasets
 * tables in the same transaction.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import { NotFoundError, StateConflictError, ValidationError } from '../errors/index.js';
import {
  type FileRecord,
  JOB_PHASES,
  type JobPhase,
  JobRecord,
  type OutputFile,
  type PhaseTimes,
  TaskCounterShard,
  type TaskState,
} from '../model/index.js';
import { assertTransition, isPhaseAdvance } from '../states/index.js';
import { TRANSACTION_ITEM_LIMIT } from './constants.js';
import {
  conditionalWrite,
  type ItemRefusal,
  parseStored,
  rejectDuplicates,
  transactWrite,
} from './dynamo.js';
import { Expression } from './expressions.js';
import {
  closedDatasetRefusal,
  datasetCounterUpdate,
  type FileRefusal,
  fileKey,
  filePut,
  type NewFile,
  type RegisterFilesResult,
  takenNameOutcome,
} from './file-writes.js';
import { FilesRepo } from './files.js';
import { type AttemptEnd, completionSpec, endSpec, OutputFiles } from './job-attempt-ends.js';
import type { JobMove } from './job-counters.js';
import {
  checked,
  checkOf,
  entryOf,
  type JobTransitions,
  refusalError,
  refused,
  type TransitionEntry,
  type TransitionSpec,
} from './job-transitions.js';
import type { JobRef, RepositoryDeps } from './types.js';

/** A report from the pilot holding the job's claim. */
export interface PilotReportRef extends JobRef {
  claimToken: string;
}

export interface PhaseUpdate extends PilotReportRef {
  phase: JobPhase;
  at: string;
}

export interface CompleteRequest extends PilotReportRef {
  outputs: z.input<typeof OutputFile>[];
  exitCode?: number;
  phaseTimes?: z.input<typeof PhaseTimes>;
}

export interface CompleteWithOutputsRequest extends CompleteRequest {
  /** Where the outputs go: kind `output` to `output`, kind `log` to `log` (dataset uids). */
  datasets: { output: string; log: string };
}

export interface CompleteWithOutputsResult {
  /** False when the job was DONE already (a repeated report). */
  applied: boolean;
  files: RegisterFilesResult;
}

export interface EndAttemptRequest extends PilotReportRef {
  end: AttemptEnd;
  /** Files registered with the change (outputs, logs), each with its dataset. */
  files: readonly NewFile[];
  /** States the task must be in (checked by its counter update); any existing task when absent. */
  taskStates?: readonly TaskState[];
}

export type EndAttemptResult =
  /** The job changed, its task's counters moved and every file is registered (now or before, same content). */
  | { status: 'applied'; files: { created: FileRecord[]; existing: FileRecord[] } }
  /** The job is not this RUNNING attempt with this claim token; `current` is the job as it is. */
  | { status: 'job-refused'; current?: JobRecord }
  /** The task is missing (`current` absent) or not in `taskStates` (`current`: the job's counter shard, with its copy of the task's state). */
  | { status: 'task-refused'; current?: TaskCounterShard }
  /** Names taken by other content, or datasets missing or not OPEN; the job is unchanged. */
  | { status: 'files-refused'; refused: FileRefusal[] };

/**
 * Splits files into the first that fit `room` transaction items (each file one item, each of
 * their datasets one counter item) and the rest.
 */
function takeForTransaction(files: readonly FileRecord[], room: number): [FileRecord[], FileRecord[]] {
  const taken: FileRecord[] = [];
  const datasets = new Set<string>();
  for (const file of files) {
    const items = taken.length + 1 + datasets.size + (datasets.has(file.datasetUid) ? 0 : 1);
    if (items > room) break;
    taken.push(file);
    datasets.add(file.datasetUid);
  }
  return [taken, files.slice(taken.length)];
}

export class JobResults {
  readonly #deps: RepositoryDeps;
  readonly #transitions: JobTransitions;

  constructor(deps: RepositoryDeps, transitions: JobTransitions) {
    this.#deps = deps;
    this.#transitions = transitions;
  }

  /**
   * Records a sub-phase of a RUNNING job (one UpdateItem, no counter moves). Phases only move
   * forward: a repeated or backward report returns false and changes nothing.
   */
  async updatePhase(update: PhaseUpdate): Promise<boolean> {
    const earlier = JOB_PHASES.filter((phase) => isPhaseAdvance(phase, update.phase));
    const expression = new Expression();
    const phaseGuard = [
      `attribute_not_exists(${expression.name('phase')})`,
      ...(earlier.length > 0 ? [expression.oneOf('phase', earlier)] : []),
    ].join(' OR ');
    const condition = [
      `${expression.name('state')} = ${expression.value('RUNNING')}`,
      `${expression.name('taskId')} = ${expression.value(update.taskId)}`,
      `${expression.name('attempt')} = ${expression.value(update.attempt)}`,
      `${expression.name('claimToken')} = ${expression.value(update.claimToken)}`,
      `(${phaseGuard})`,
    ].join(' AND ');
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#deps.tables.jobs,
          Key: { jobId: update.jobId },
          UpdateExpression: expression.update({
            set: {
              phase: update.phase,
              [`phaseTimes.${update.phase}`]: update.at,
              updatedAt: this.#transitions.now(),
            },
          }),
          ConditionExpression: condition,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return true;
    const current = result.current ? parseStored(JobRecord, result.current, 'job') : undefined;
    const error = refusalError(entryOf(update, 'RUNNING', { claimToken: update.claimToken }), current);
    // Right job, attempt and token, still RUNNING: only the phase guard refused, it did not advance.
    if (error instanceof StateConflictError && current?.state === 'RUNNING') return false;
    throw error;
  }

  /** RUNNING → DONE with the outputs, reported by the claiming pilot. False if already done. */
  async complete(request: CompleteRequest): Promise<boolean> {
    return this.#transitions.transitionOne(
      entryOf(request, 'RUNNING', { claimToken: request.claimToken }),
      completionSpec({ to: 'DONE', ...request }),
    );
  }

  /**
   * RUNNING → DONE and the outputs registered in their output/log datasets, in ONE
   * transaction (job, task counters, files, dataset counters), so a job is DONE exactly when
   * its outputs are registered. A refused job registers nothing (a stale result's outputs
   * never enter a dataset). Files whose name is taken with the same content count as
   * existing; conflicting files, or files of a dataset missing or no longer OPEN, are reported
   * and left out while the job completes. A repeated report (job already DONE) registers the
   * files idempotently and returns `applied: false`. Outputs too many for one transaction are
   * registered first, in transactions that check the job is still this RUNNING attempt.
   */
  async completeWithOutputs(request: CompleteWithOutputsRequest): Promise<CompleteWithOutputsResult> {
    const entry = entryOf(request, 'RUNNING', { claimToken: request.claimToken });
    const spec = completionSpec({ to: 'DONE', ...request });
    const files = checked(OutputFiles, request.outputs, 'job outputs').map((output) => ({
      ...output,
      datasetUid: output.kind === 'log' ? request.datasets.log : request.datasets.output,
      jobId: request.jobId,
    }));
    const refusedFiles: FileRefusal[] = [];
    let pending = this.#transitions.fileRecords(files);
    for (;;) {
      const outcome = await this.#transitionWithFiles(entry, spec, pending, undefined);
      switch (outcome.status) {
        case 'applied':
          return { applied: true, files: { ...outcome.files, refused: refusedFiles } };
        case 'job-refused': {
          const { current } = outcome;
          if (current && current.taskId === entry.taskId && spec.isRepeat(entry, current)) {
            return { applied: false, files: await new FilesRepo(this.#deps).registerMany(files) };
          }
          throw refusalError(entry, current);
        }
        case 'task-refused':
          throw new NotFoundError('task', entry.taskId);
        case 'files-refused': {
          refusedFiles.push(...outcome.refused);
          const left = new Set(outcome.refused.map((refusal) => fileKey(refusal.file)));
          pending = pending.filter((file) => !left.has(fileKey(file)));
        }
      }
    }
  }

  /**
   * Ends a RUNNING attempt as its pilot's result decides — DONE, FAILED, READY (retried) or
   * CANCELLED — and registers `files` with it, in ONE transaction guarded by the job's state,
   * attempt and claim token, the task's state (`taskStates`), each file's name being free and
   * each dataset being OPEN. Files registered before with the same content count as existing
   * and are left out of a second try. Nothing is written when a guard refuses: the result says
   * which one, with the item as it is, for the caller to decide. Files too many for one
   * transaction are registered first, in transactions checking the same job and task guards.
   */
  async endAttempt(request: EndAttemptRequest): Promise<EndAttemptResult> {
    const spec = endSpec(request.end);
    assertTransition('job', 'RUNNING', spec.to);
    const entry = entryOf(request, 'RUNNING', { claimToken: request.claimToken });
    return this.#transitionWithFiles(
      entry,
      spec,
      this.#transitions.fileRecords(request.files),
      request.taskStates,
    );
  }

  /**
   * Ends several RUNNING attempts in ONE transaction: for each, the same guarded job write and
   * file registrations as `endAttempt`, with the counters of each task and dataset moved by one
   * update for all of them. All are applied, or none when any guard refuses (undefined): the
   * caller then ends them one by one, where each refusal has its own answer. The jobs must be
   * distinct and, with their files and counters, fit one transaction.
   */
  async endAttemptsTogether(requests: readonly EndAttemptRequest[]): Promise<FileRecord[][] | undefined> {
    rejectDuplicates(
      requests.map((request) => request.jobId),
      'jobs',
    );
    const now = this.#transitions.now();
    const files = requests.map((request) => this.#transitions.fileRecords(request.files));
    rejectDuplicates(files.flat().map(fileKey), 'files');
    const moves = new Map<string, JobMove[]>();
    const taskStates = new Map<string, readonly TaskState[] | undefined>();
    const jobWrites = requests.map((request, index) => {
      const spec = endSpec(request.end);
      assertTransition('job', 'RUNNING', spec.to);
      const known = taskStates.get(request.taskId);
      if (moves.has(request.taskId) && known?.join() !== request.taskStates?.join()) {
        throw new ValidationError('attempts ending together', [
          { path: `${index}.taskStates`, message: `differ from another attempt's of task ${request.taskId}` },
        ]);
      }
      taskStates.set(request.taskId, request.taskStates);
      moves.set(request.taskId, [
        ...(moves.get(request.taskId) ?? []),
        { jobId: request.jobId, from: 'RUNNING', to: spec.to },
      ]);
      return this.#transitions.jobUpdate(
        entryOf(request, 'RUNNING', { claimToken: request.claimToken }),
        spec,
        now,
      );
    });
    const shardsOf = await this.#transitions.counterShardsOf(moves.keys());
    const byDataset = new Map<string, FileRecord[]>();
    for (const file of files.flat())
      byDataset.set(file.datasetUid, [...(byDataset.get(file.datasetUid) ?? []), file]);
    const items = [
      ...jobWrites,
      ...[...moves].flatMap(([taskId, taskMoves]) =>
        this.#transitions.countersUpdates(
          taskId,
          shardsOf(taskId),
          taskMoves,
          undefined,
          taskStates.get(taskId),
        ),
      ),
      ...files.flat().map((file) => filePut(this.#deps.tables.files, file)),
      ...[...byDataset].map(([uid, datasetFiles]) =>
        datasetCounterUpdate(this.#deps.tables.datasets, uid, datasetFiles),
      ),
    ];
    if (items.length > TRANSACTION_ITEM_LIMIT) {
      throw new ValidationError('attempts ending together', [
        {
          path: '',
          message: `${items.length} items do not fit one transaction of ${TRANSACTION_ITEM_LIMIT}`,
        },
      ]);
    }
    return (await transactWrite(this.#deps.doc, items)) ? undefined : files;
  }

  /**
   * One job change with files registered in the same transaction. The job item comes first,
   * the task's counters second, then the files and their datasets' counters; files beyond one
   * transaction go first, each chunk with ConditionChecks of the job and task instead of their
   * writes, so a stale or foreign report registers nothing.
   */
  async #transitionWithFiles(
    entry: TransitionEntry,
    spec: TransitionSpec,
    files: readonly FileRecord[],
    taskStates: readonly TaskState[] | undefined,
  ): Promise<EndAttemptResult> {
    const shardsOf = await this.#transitions.counterShardsOf([entry.taskId]);
    const now = this.#transitions.now();
    const jobWrite = this.#transitions.jobUpdate(entry, spec, now);
    const taskWrite = this.#transitions.counterUpdate(
      entry.taskId,
      shardsOf(entry.taskId),
      { jobId: entry.jobId, from: entry.from, to: spec.to },
      undefined,
      taskStates,
    );
    const registered = { created: [] as FileRecord[], existing: [] as FileRecord[] };
    let pending = [...files];
    for (;;) {
      const [chunk, rest] = takeForTransaction(pending, TRANSACTION_ITEM_LIMIT - 2);
      const last = rest.length === 0;
      const guards = last ? [jobWrite, taskWrite] : [checkOf(jobWrite), checkOf(taskWrite)];
      const datasets = [...new Set(chunk.map((file) => file.datasetUid))];
      const reasons = await transactWrite(this.#deps.doc, [
        ...guards,
        ...chunk.map((file) => filePut(this.#deps.tables.files, file)),
        ...datasets.map((uid) =>
          datasetCounterUpdate(
            this.#deps.tables.datasets,
            uid,
            chunk.filter((file) => file.datasetUid === uid),
          ),
        ),
      ]);
      if (!reasons) {
        registered.created.push(...chunk);
        if (last) return { status: 'applied', files: registered };
        pending = rest;
        continue;
      }
      const [jobReason, taskReason] = reasons;
      if (refused(jobReason)) {
        return jobReason.item
          ? { status: 'job-refused', current: parseStored(JobRecord, jobReason.item, 'job') }
          : { status: 'job-refused' };
      }
      if (refused(taskReason)) {
        return taskReason.item
          ? {
              status: 'task-refused',
              current: parseStored(TaskCounterShard, taskReason.item, 'task counter shard'),
            }
          : { status: 'task-refused' };
      }
      const closedDatasets = new Map<string, ItemRefusal>();
      datasets.forEach((uid, index) => {
        const reason = reasons[2 + chunk.length + index];
        if (refused(reason)) closedDatasets.set(uid, reason);
      });
      const refusals: FileRefusal[] = [];
      const existing = new Set<string>();
      chunk.forEach((file, index) => {
        const reason = reasons[2 + index];
        const datasetRefusal = closedDatasets.get(file.datasetUid);
        if (refused(reason)) {
          const taken = takenNameOutcome(file, reason);
          if ('existing' in taken) {
            registered.existing.push(taken.existing);
            existing.add(fileKey(file));
          } else refusals.push(taken.refused);
        } else if (datasetRefusal) {
          refusals.push(closedDatasetRefusal(file, datasetRefusal));
        }
      });
      if (refusals.length > 0) return { status: 'files-refused', refused: refusals };
      pending = pending.filter((file) => !existing.has(fileKey(file)));
    }
  }
}
