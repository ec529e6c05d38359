import { matchChecklist } from '../checklist/index.js';
import { compareNames, datasetUidFor } from '../ids/index.js';
import {
  type FileRecord,
  JOB_STATES,
  type JobCounts,
  type JobRecord,
  type OutputFile,
  printableName,
} from '../model/index.js';
import { isOneOf, LIVE_PILOT_STATES, TERMINAL_TASK_STATES } from '../states/index.js';
import { CLOSED_DATASET_STATES, INVARIANTS, SHA256_PREFIX } from './constants.js';
import type { AuditFinding, AuditSnapshot, DatasetSnapshot, StoredObject, TaskSnapshot } from './types.js';

type Location = OutputFile['location'];

interface IndexedDataset {
  dataset: DatasetSnapshot['dataset'];
  byName: ReadonlyMap<string, FileRecord>;
}

/** The key of an object in `AuditSnapshot.objects`. */
export function objectId(location: Location): string {
  return `${location.bucket}/${location.key}`;
}

function fileId(datasetUid: string, name: string): string {
  return `${datasetUid}/${name}`;
}

function zeroCounts(): JobCounts {
  return Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as JobCounts;
}

/** Counts jobs by state. */
export function countJobs(jobs: readonly Pick<JobRecord, 'state'>[]): JobCounts {
  const counts = zeroCounts();
  for (const job of jobs) counts[job.state] += 1;
  return counts;
}

/**
 * Whether a stored object's checksum agrees with the recorded one. Only a recorded
 * `sha256:` checksum and a whole-object SHA-256 from the store can be compared; otherwise
 * the size alone decides.
 */
function checksumAgrees(recorded: string, stored: StoredObject): boolean {
  if (stored.sha256Hex === undefined || !recorded.startsWith(SHA256_PREFIX)) return true;
  return recorded.slice(SHA256_PREFIX.length) === stored.sha256Hex;
}

/** Why a stored object does not match what was recorded, or null when it does. */
function storageMismatch(
  recorded: { size: number; checksum: string },
  stored: StoredObject | null,
): string | null {
  if (stored === null) return 'does not exist in storage';
  if (stored.size !== recorded.size) return `has size ${stored.size} in storage, ${recorded.size} recorded`;
  if (!checksumAgrees(recorded.checksum, stored)) {
    return `has checksum sha256:${stored.sha256Hex} in storage, ${recorded.checksum} recorded`;
  }
  return null;
}

function sameLocation(a: Location, b: Location): boolean {
  return a.bucket === b.bucket && a.key === b.key;
}

function checkTaskCounters({ task, jobs, countersStable }: TaskSnapshot): AuditFinding[] {
  if (!countersStable) return [];
  const counted = countJobs(jobs);
  const differences = JOB_STATES.filter((state) => counted[state] !== task.counts[state]).map(
    (state) => `${state} ${task.counts[state]} (jobs: ${counted[state]})`,
  );
  if (jobs.length !== task.jobsTotal) differences.push(`jobsTotal ${task.jobsTotal} (jobs: ${jobs.length})`);
  if (differences.length === 0) return [];
  const detail = `counters differ from the jobs: ${differences.join(', ')}`;
  const base = { invariant: 'task-counters', entity: { kind: 'task', id: task.taskId } } as const;
  // The job index can lag behind a job just created, never invent one: fewer jobs than
  // jobsTotal may be the lag, so only a listing at least as long as jobsTotal is trusted.
  if (jobs.length < task.jobsTotal) {
    return [
      {
        ...base,
        detail: `${detail}; fewer jobs were found than jobsTotal, which the job index may only lag behind: audit again`,
        repairable: false,
      },
    ];
  }
  return [
    {
      ...base,
      detail,
      repairable: true,
      repair: {
        kind: 'recount-task',
        taskId: task.taskId,
        counts: counted,
        jobsTotal: jobs.length,
        expected: { counts: task.counts, jobsTotal: task.jobsTotal },
      },
    },
  ];
}

/** Why a missing output cannot safely be registered now, or null when it can. */
function registrationObstacle(
  dataset: IndexedDataset,
  output: OutputFile,
  stored: StoredObject | null | undefined,
): string | null {
  if (dataset.dataset.state !== 'OPEN') return `the dataset is ${dataset.dataset.state}`;
  if (stored === undefined) return 'its object was not looked up';
  const mismatch = storageMismatch(output, stored);
  return mismatch === null ? null : `its object ${mismatch}`;
}

function checkDoneJobFiles(
  { task, jobs }: TaskSnapshot,
  datasets: ReadonlyMap<string, IndexedDataset>,
  objects: AuditSnapshot['objects'],
): AuditFinding[] {
  const findings: AuditFinding[] = [];
  const datasetOf = { output: datasetUidFor(task.outputDataset), log: datasetUidFor(task.logDataset) };
  for (const job of jobs) {
    if (job.state !== 'DONE') continue;
    for (const output of job.outputs ?? []) {
      const datasetUid = datasetOf[output.kind];
      const dataset = datasets.get(datasetUid);
      if (!dataset) continue;
      const base = {
        invariant: 'done-job-files-registered',
        entity: { kind: 'job', id: job.jobId },
      } as const;
      const what = `${output.kind} ${output.name} of DONE job ${job.jobId}`;
      const registered = dataset.byName.get(output.name);
      if (registered) {
        const differences = [
          ...(registered.size === output.size ? [] : [`size ${registered.size}`]),
          ...(registered.checksum === output.checksum ? [] : [`checksum ${registered.checksum}`]),
          ...(sameLocation(registered.location, output.location)
            ? []
            : [`location ${objectId(registered.location)}`]),
          ...(registered.jobId === undefined || registered.jobId === job.jobId
            ? []
            : [`job ${registered.jobId}`]),
        ];
        if (differences.length > 0) {
          findings.push({
            ...base,
            detail: `${what} is registered in dataset ${datasetUid} with other ${differences.join(', ')}`,
            repairable: false,
          });
        }
        continue;
      }
      const detail = `${what} is not registered in dataset ${datasetUid}`;
      const obstacle = registrationObstacle(dataset, output, objects.get(objectId(output.location)));
      if (obstacle !== null) {
        findings.push({ ...base, detail: `${detail}; not repairable: ${obstacle}`, repairable: false });
        continue;
      }
      findings.push({
        ...base,
        detail,
        repairable: true,
        repair: {
          kind: 'register-file',
          file: {
            datasetUid,
            name: output.name,
            kind: output.kind,
            location: output.location,
            size: output.size,
            checksum: output.checksum,
            jobId: job.jobId,
          },
        },
      });
    }
  }
  return findings;
}

function checkStoredFiles(
  { dataset, files }: DatasetSnapshot,
  objects: AuditSnapshot['objects'],
): AuditFinding[] {
  const findings: AuditFinding[] = [];
  for (const file of files) {
    if (file.kind === 'input') continue;
    const stored = objects.get(objectId(file.location));
    if (stored === undefined) continue;
    const mismatch = storageMismatch(file, stored);
    if (mismatch === null) continue;
    findings.push({
      invariant: 'registered-file-stored',
      entity: { kind: 'file', id: fileId(dataset.uid, file.name) },
      detail: `${file.kind} ${file.name} of dataset ${dataset.uid} at ${objectId(file.location)} ${mismatch}`,
      repairable: false,
    });
  }
  return findings;
}

function checkRunningJobs(
  { jobs }: TaskSnapshot,
  pilots: AuditSnapshot['pilots'],
  settledBefore: string | undefined,
): AuditFinding[] {
  const findings: AuditFinding[] = [];
  for (const job of jobs) {
    if (job.state !== 'RUNNING') continue;
    const pilot = job.pilotId === undefined ? null : pilots.get(job.pilotId);
    if (pilot === undefined) continue;
    if (pilot !== null && isOneOf(LIVE_PILOT_STATES, pilot.state)) continue;
    if (pilot !== null && settledBefore !== undefined && pilot.lastHeartbeatAt >= settledBefore) continue;
    const why =
      job.pilotId === undefined
        ? 'names no pilot'
        : pilot === null
          ? `names pilot ${job.pilotId}, which does not exist`
          : `is run by pilot ${job.pilotId}, which is ${pilot.state}`;
    findings.push({
      invariant: 'running-job-has-live-pilot',
      entity: { kind: 'job', id: job.jobId },
      detail: `RUNNING job ${job.jobId} (attempt ${job.attempt}) ${why}`,
      repairable: true,
      repair: {
        kind: 'mark-job-lost',
        job: {
          jobId: job.jobId,
          taskId: job.taskId,
          attempt: job.attempt,
          ...(job.pilotId === undefined ? {} : { pilotId: job.pilotId }),
        },
      },
    });
  }
  return findings;
}

/**
 * The checklist of a closed dataset is the set of files registered when it closed: files
 * can only be registered while a dataset is OPEN, and the close is conditional on the file
 * count, so the count and size recorded on the dataset are the checklist's. For a dataset
 * the WMS produced, the checklist is also recomputed from the producer's DONE jobs once the
 * producer is final and all its jobs were found.
 */
function checkClosedDataset(
  { dataset, files }: DatasetSnapshot,
  producer: TaskSnapshot | undefined,
): AuditFinding[] {
  if (!(CLOSED_DATASET_STATES as readonly string[]).includes(dataset.state)) return [];
  const problems: string[] = [];
  const totalBytes = files.reduce((sum, file) => sum + file.size, 0);
  if (files.length !== dataset.fileCount) {
    problems.push(`${files.length} files registered, ${dataset.fileCount} at closing`);
  }
  if (totalBytes !== dataset.totalBytes) {
    problems.push(`${totalBytes} bytes registered, ${dataset.totalBytes} at closing`);
  }
  const late =
    dataset.closedAt === undefined ? [] : files.filter((file) => file.registeredAt > dataset.closedAt!);
  if (late.length > 0) {
    problems.push(
      `registered after closing: ${late
        .map((file) => file.name)
        .sort(compareNames)
        .join(', ')}`,
    );
  }
  if (
    producer &&
    dataset.kind === 'output' &&
    TERMINAL_TASK_STATES.includes(producer.task.state) &&
    producer.jobs.length >= producer.task.jobsTotal
  ) {
    const produced = producer.jobs
      .filter((job) => job.state === 'DONE')
      .flatMap((job) => job.outputs ?? [])
      .filter((output) => output.kind === 'output')
      .map((output) => output.name);
    const match = matchChecklist(
      files.map((file) => file.name),
      produced,
    );
    if (match.status === 'mismatch') {
      const parts = [
        ...(match.missing.length > 0 ? [`missing ${match.missing.map(printableName).join(', ')}`] : []),
        ...(match.extra.length > 0
          ? [`not produced by a DONE job ${match.extra.map(printableName).join(', ')}`]
          : []),
        ...(match.duplicates.length > 0
          ? [`produced twice ${match.duplicates.map(printableName).join(', ')}`]
          : []),
      ];
      problems.push(`files differ from the outputs of task ${producer.task.taskId}: ${parts.join('; ')}`);
    }
  }
  if (problems.length === 0) return [];
  return [
    {
      invariant: 'closed-dataset-matches-checklist',
      entity: { kind: 'dataset', id: dataset.uid },
      detail: `${dataset.state} dataset ${dataset.uid} (${dataset.name}): ${problems.join('; ')}`,
      repairable: false,
    },
  ];
}

/**
 * Checks the invariants of design §9 on a snapshot and returns every violation found, with
 * the safe repair of those that have one. Pure: it reads the snapshot only, and judges only
 * what the snapshot holds (an object or pilot that was not looked up is not judged).
 */
export function auditSnapshot(snapshot: AuditSnapshot): AuditFinding[] {
  const datasets = new Map<string, IndexedDataset>(
    snapshot.datasets.map(({ dataset, files }) => [
      dataset.uid,
      { dataset, byName: new Map(files.map((file) => [file.name, file])) },
    ]),
  );
  const tasks = new Map(snapshot.tasks.map((entry) => [entry.task.taskId, entry]));
  const findings: AuditFinding[] = [
    ...snapshot.tasks.flatMap((entry) => [
      ...checkTaskCounters(entry),
      ...checkDoneJobFiles(entry, datasets, snapshot.objects),
      ...checkRunningJobs(entry, snapshot.pilots, snapshot.pilotsSettledBefore),
    ]),
    ...snapshot.datasets.flatMap((entry) => [
      ...checkStoredFiles(entry, snapshot.objects),
      ...checkClosedDataset(
        entry,
        entry.dataset.producerTaskId === undefined ? undefined : tasks.get(entry.dataset.producerTaskId),
      ),
    ]),
  ];
  return findings.sort(
    (a, b) =>
      INVARIANTS.indexOf(a.invariant) - INVARIANTS.indexOf(b.invariant) ||
      compareNames(a.entity.id, b.entity.id),
  );
}
