/**
 * The consistency audit (design §9) against the live tables and storage: takes a snapshot of
 * a task, a sample of tasks or all of them, checks it with shared/audit and applies the safe
 * repairs when asked. The watchdog runs it on a sample every run; `wms audit` on demand.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { HeadObjectCommand, NotFound, type S3Client } from '@aws-sdk/client-s3';
import { buildPutEventsEntry, DETAIL_TYPES, EVENT_SOURCES } from '../../events/index.js';
import {
  type AuditFinding,
  type AuditRepair,
  auditSnapshot,
  type DatasetSnapshot,
  objectId,
  type StoredObject,
  type TaskSnapshot,
} from '../audit/index.js';
import { datasetUidFor } from '../ids/index.js';
import {
  JOB_STATES,
  type JobRecord,
  type PilotRecord,
  TASK_STATES,
  type TaskRecord,
} from '../model/index.js';
import { listAllPages, type Repositories } from '../repositories/index.js';
import { LIVE_PILOT_STATES } from '../states/index.js';
import { archivedFiles, archivedJobs } from './archived-reads.js';

/** Pages of the task, job and file listings. */
const LIST_PAGE_SIZE = 1000;
/** Storage lookups in flight at once. */
const HEAD_CONCURRENCY = 8;

export interface AuditDeps {
  repos: Repositories;
  s3: S3Client;
  logger: Logger;
  /** When given, each file a repair registers gets its `file.registered` event in the report. */
  eventBusName?: string;
  /** The data bucket, where archived tasks' exports are: their jobs and files are audited from them. */
  dataBucket?: string;
  clock?: () => Date;
  /** A source of numbers in [0, 1) to draw samples. */
  random?: () => number;
  signal?: AbortSignal;
}

export interface AuditOptions {
  /** Audit this task only; otherwise every task (or a sample of `maxTasks`). */
  taskId?: string;
  /** Draw the sample from these tasks instead of all tasks. */
  candidates?: readonly TaskRecord[];
  /** Apply the safe repairs of what is found. */
  repair: boolean;
  /** Audit at most this many tasks, drawn at random. */
  maxTasks?: number;
  /** Look up at most this many objects in storage, drawn at random; the others are not judged. */
  maxObjects?: number;
  /**
   * How long after a pilot's last heartbeat its results may still be arriving; its RUNNING
   * jobs are judged only after that (default 60 s).
   */
  pilotSettleSeconds?: number;
}

const DEFAULT_PILOT_SETTLE_SECONDS = 60;

export interface RepairOutcome {
  finding: AuditFinding;
  /** False when the entity changed since the snapshot: the repair's guard refused it. */
  applied: boolean;
}

export interface AuditReport {
  /** What the snapshot held. */
  tasks: number;
  jobs: number;
  datasets: number;
  objects: number;
  /** Live (ACTIVE or IDLE) pilots, all of them: not only those running audited jobs. */
  pilots: number;
  /** Objects storage did not answer for (other than "does not exist"): not judged. */
  unreadableObjects: string[];
  findings: AuditFinding[];
  repairs: RepairOutcome[];
  /** `file.registered` of the files the repairs registered, for the caller to publish. */
  events: PutEventsRequestEntry[];
}

/** Up to `count` of `items` drawn without replacement. */
export function sample<T>(items: readonly T[], count: number | undefined, random: () => number): T[] {
  if (count === undefined || count >= items.length) return [...items];
  const pool = [...items];
  for (let index = 0; index < count; index += 1) {
    const pick = index + Math.floor(random() * (pool.length - index));
    [pool[index], pool[pick]] = [pool[pick]!, pool[index]!];
  }
  return pool.slice(0, count);
}

function sameCounters(a: TaskRecord, b: TaskRecord): boolean {
  return a.jobsTotal === b.jobsTotal && JOB_STATES.every((state) => a.counts[state] === b.counts[state]);
}

/** Where the export of an archived task is read, or undefined for a task that is not archived. */
function archiveStoreOf(deps: AuditDeps, task: TaskRecord) {
  if (task.archive === undefined) return undefined;
  if (deps.dataBucket === undefined)
    throw new Error(`task ${task.taskId} is archived and the audit has no data bucket`);
  return { s3: deps.s3, bucket: deps.dataBucket, ...(deps.signal ? { signal: deps.signal } : {}) };
}

/**
 * A task and its jobs. The jobs are found through the task index and read consistently; the
 * task is read (consistently) before and after, so a job change in between, which moves the
 * counters in its transaction, marks the counters unstable rather than wrong.
 */
async function snapshotTask(deps: AuditDeps, taskId: string): Promise<TaskSnapshot> {
  const before = await deps.repos.tasks.get(taskId);
  const store = archiveStoreOf(deps, before);
  if (store !== undefined) {
    // Archived: its jobs are the export's, checked against its sha256; its counters no longer move.
    return { task: before, jobs: (await archivedJobs(store, before)).jobs, countersStable: true };
  }
  const listed = await listAllPages((cursor) =>
    deps.repos.jobs.listByTask(taskId, { limit: LIST_PAGE_SIZE, cursor }),
  );
  const jobs = await deps.repos.jobs.getMany(listed.map((job) => job.jobId));
  const after = await deps.repos.tasks.get(taskId);
  return { task: before, jobs, countersStable: sameCounters(before, after) };
}

async function snapshotDatasets(deps: AuditDeps, tasks: readonly TaskRecord[]): Promise<DatasetSnapshot[]> {
  const uids = [
    ...new Set(tasks.flatMap((task) => [datasetUidFor(task.outputDataset), datasetUidFor(task.logDataset)])),
  ];
  const snapshots: DatasetSnapshot[] = [];
  for (const uid of uids) {
    const dataset = await deps.repos.datasets.find(uid);
    if (!dataset) continue;
    const producer = tasks.find((task) => task.taskId === dataset.producerTaskId);
    const store = producer === undefined ? undefined : archiveStoreOf(deps, producer);
    const files =
      producer !== undefined && store !== undefined
        ? await archivedFiles(store, producer, uid)
        : await listAllPages((cursor) => deps.repos.files.list(uid, { limit: LIST_PAGE_SIZE, cursor }));
    snapshots.push({ dataset, files });
  }
  return snapshots;
}

/** Size and (when the store keeps a whole-object SHA-256) checksum of an object; null if absent. */
export async function headObject(
  s3: S3Client,
  location: { bucket: string; key: string },
  signal?: AbortSignal,
): Promise<StoredObject | null> {
  try {
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: location.bucket, Key: location.key, ChecksumMode: 'ENABLED' }),
      { abortSignal: signal },
    );
    // A multipart upload's checksum is a checksum of part checksums (`<base64>-<parts>`): not comparable.
    const wholeObject =
      head.ChecksumSHA256 !== undefined &&
      (head.ChecksumType === 'FULL_OBJECT' ||
        (head.ChecksumType === undefined && !head.ChecksumSHA256.includes('-')));
    return {
      size: head.ContentLength ?? 0,
      ...(wholeObject ? { sha256Hex: Buffer.from(head.ChecksumSHA256!, 'base64').toString('hex') } : {}),
    };
  } catch (error) {
    if (
      error instanceof NotFound ||
      (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
    ) {
      return null;
    }
    throw error;
  }
}

async function lookUpObjects(
  deps: AuditDeps,
  locations: readonly { bucket: string; key: string }[],
): Promise<{ objects: Map<string, StoredObject | null>; unreadable: string[] }> {
  const objects = new Map<string, StoredObject | null>();
  const unreadable: string[] = [];
  const pending = [...locations];
  const worker = async () => {
    for (let location = pending.shift(); location; location = pending.shift()) {
      try {
        objects.set(objectId(location), await headObject(deps.s3, location, deps.signal));
      } catch (error) {
        unreadable.push(objectId(location));
        deps.logger.warn('object not readable: not audited', {
          object: objectId(location),
          error: String(error),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: HEAD_CONCURRENCY }, worker));
  return { objects, unreadable };
}

/** Every object the audit would judge: registered outputs and logs, and the files of DONE jobs. */
function objectsToCheck(tasks: readonly TaskSnapshot[], datasets: readonly DatasetSnapshot[]) {
  const locations = new Map<string, { bucket: string; key: string }>();
  for (const { files } of datasets) {
    for (const file of files)
      if (file.kind !== 'input') locations.set(objectId(file.location), file.location);
  }
  for (const { jobs } of tasks) {
    for (const job of jobs) {
      if (job.state !== 'DONE') continue;
      for (const output of job.outputs ?? []) locations.set(objectId(output.location), output.location);
    }
  }
  return [...locations.values()];
}

async function lookUpPilots(
  deps: AuditDeps,
  tasks: readonly TaskSnapshot[],
): Promise<Map<string, PilotRecord | null>> {
  const pilotIds = new Set(
    tasks.flatMap(({ jobs }) =>
      jobs.filter((job) => job.state === 'RUNNING' && job.pilotId).map((job) => job.pilotId!),
    ),
  );
  const pilots = new Map<string, PilotRecord | null>();
  for (const pilotId of pilotIds) pilots.set(pilotId, (await deps.repos.pilots.find(pilotId)) ?? null);
  return pilots;
}

/** ACTIVE and IDLE pilots, counted page by page: the fleet the audit saw live. */
async function countLivePilots(deps: AuditDeps): Promise<number> {
  let count = 0;
  for (const state of LIVE_PILOT_STATES) {
    let cursor: string | undefined;
    do {
      const page = await deps.repos.pilots.listByState(state, { limit: 1000, cursor });
      count += page.items.length;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  return count;
}

/** The ids of the tasks to audit: the one asked for, or a sample of the candidates or of all tasks. */
async function tasksToAudit(deps: AuditDeps, options: AuditOptions): Promise<string[]> {
  if (options.taskId !== undefined) return [options.taskId];
  const random = deps.random ?? Math.random;
  const pool: Pick<TaskRecord, 'taskId'>[] = options.candidates ? [...options.candidates] : [];
  if (!options.candidates) {
    for (const state of TASK_STATES) {
      pool.push(
        ...(await listAllPages((cursor) =>
          deps.repos.tasks.listByState(state, { limit: LIST_PAGE_SIZE, cursor }),
        )),
      );
    }
  }
  return sample(pool, options.maxTasks, random).map((task) => task.taskId);
}

function fileRegisteredEvent(
  eventBusName: string,
  file: Extract<AuditRepair, { kind: 'register-file' }>['file'],
  dataset: DatasetSnapshot['dataset'] | undefined,
  taskId: string,
  at: string,
): PutEventsRequestEntry {
  const { datasetUid, kind, jobId, name, location, size, checksum } = file;
  return buildPutEventsEntry({
    detailType: DETAIL_TYPES.fileRegistered,
    source: EVENT_SOURCES.wms,
    eventBusName,
    detail: {
      datasetUid,
      datasetName: dataset?.name ?? datasetUid,
      kind,
      file: { name, location, size, checksum },
      jobId,
      taskId,
      at,
    },
  });
}

async function applyRepair(
  deps: AuditDeps,
  finding: AuditFinding & { repairable: true },
  context: {
    datasets: ReadonlyMap<string, DatasetSnapshot>;
    jobTasks: ReadonlyMap<string, string>;
    taskJobs: ReadonlyMap<string, readonly JobRecord[]>;
    now: string;
  },
  report: AuditReport,
): Promise<boolean> {
  const { repair } = finding;
  switch (repair.kind) {
    case 'recount-task':
      return deps.repos.tasks.recountJobs({
        taskId: repair.taskId,
        jobs: context.taskJobs.get(repair.taskId) ?? [],
        expected: repair.expected,
      });
    case 'mark-job-lost': {
      const result = await deps.repos.jobs.markLost([{ ...repair.job, from: 'RUNNING' }]);
      return result.applied.length === 1;
    }
    case 'register-file': {
      const result = await deps.repos.files.registerMany([{ ...repair.file, registeredAt: context.now }]);
      const created = result.created.length === 1;
      const taskId = context.jobTasks.get(repair.file.jobId);
      if (created && deps.eventBusName !== undefined && taskId !== undefined) {
        const dataset = context.datasets.get(repair.file.datasetUid)?.dataset;
        report.events.push(fileRegisteredEvent(deps.eventBusName, repair.file, dataset, taskId, context.now));
      }
      return created;
    }
  }
}

/**
 * Audits one task, a random sample of tasks or all tasks, with their output and log
 * datasets, the objects of their files and the pilots of their RUNNING jobs; with `repair`,
 * applies each safe repair under its guard (a refused guard is reported, not retried).
 */
export async function runAudit(deps: AuditDeps, options: AuditOptions): Promise<AuditReport> {
  const taskSnapshots: TaskSnapshot[] = [];
  for (const taskId of await tasksToAudit(deps, options))
    taskSnapshots.push(await snapshotTask(deps, taskId));
  const datasets = await snapshotDatasets(
    deps,
    taskSnapshots.map((entry) => entry.task),
  );
  const { objects, unreadable } = await lookUpObjects(
    deps,
    sample(objectsToCheck(taskSnapshots, datasets), options.maxObjects, deps.random ?? Math.random),
  );
  const pilots = await lookUpPilots(deps, taskSnapshots);
  const auditedAt = (deps.clock ?? (() => new Date()))();
  const settleMs = (options.pilotSettleSeconds ?? DEFAULT_PILOT_SETTLE_SECONDS) * 1000;
  const pilotsSettledBefore = new Date(auditedAt.getTime() - settleMs).toISOString();
  const findings = auditSnapshot({ tasks: taskSnapshots, datasets, objects, pilots, pilotsSettledBefore });
  const report: AuditReport = {
    tasks: taskSnapshots.length,
    jobs: taskSnapshots.reduce((sum, entry) => sum + entry.jobs.length, 0),
    datasets: datasets.length,
    objects: objects.size,
    pilots: await countLivePilots(deps),
    unreadableObjects: unreadable,
    findings,
    repairs: [],
    events: [],
  };
  for (const finding of findings) {
    deps.logger.warn('audit finding', {
      invariant: finding.invariant,
      [`${finding.entity.kind}Id`]: finding.entity.id,
      detail: finding.detail,
      repairable: finding.repairable,
    });
  }
  if (!options.repair) return report;
  const now = auditedAt.toISOString();
  const context = {
    datasets: new Map(datasets.map((entry) => [entry.dataset.uid, entry])),
    jobTasks: new Map(
      taskSnapshots.flatMap(({ jobs }) => jobs.map((job) => [job.jobId, job.taskId] as const)),
    ),
    taskJobs: new Map(taskSnapshots.map(({ task, jobs }) => [task.taskId, jobs] as const)),
    now,
  };
  for (const finding of findings) {
    if (!finding.repairable) continue;
    const applied = await applyRepair(deps, finding, context, report);
    report.repairs.push({ finding, applied });
    deps.logger.info(
      applied ? 'audit repair applied' : 'audit repair refused: the entity changed since the snapshot',
      {
        invariant: finding.invariant,
        [`${finding.entity.kind}Id`]: finding.entity.id,
        repair: finding.repair.kind,
      },
    );
  }
  return report;
}
