import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { datasetUidFor } from '../ids/index.js';
import {
  type DatasetRecord,
  type FileRecord,
  JOB_STATES,
  type JobRecord,
  type JobState,
  type OutputFile,
  type PilotRecord,
  type PilotState,
  type TaskRecord,
  type TaskState,
} from '../model/index.js';
import {
  type AuditFinding,
  type AuditSnapshot,
  auditSnapshot,
  countJobs,
  type DatasetSnapshot,
  objectId,
  type StoredObject,
  type TaskSnapshot,
} from './index.js';

const BUCKET = 'spd-data';
const CREATED = '2026-01-01T00:00:00.000Z';
const REGISTERED = '2026-01-01T01:00:00.000Z';
const CLOSED = '2026-01-01T02:00:00.000Z';

function sha256Hex(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

function taskRecord(taskId: string, state: TaskState, jobs: readonly JobRecord[]): TaskRecord {
  return {
    taskId,
    name: `task-${taskId}`,
    executable: '/opt/spd/bin/reco',
    args: [],
    device: 'CPU',
    mode: 'map',
    filesPerJob: 1,
    maxRetries: 3,
    rank: 1,
    baseRank: 1,
    inputDatasetUid: 'ds-input',
    outputDataset: `${taskId}-out`,
    logDataset: `${taskId}-logs`,
    streaming: false,
    failureTolerance: 0,
    wallTimeSeconds: 3600,
    coresPerJob: 1,
    state,
    counts: countJobs(jobs),
    jobsTotal: jobs.length,
    generationComplete: true,
    createdAt: CREATED,
    updatedAt: CREATED,
    version: 1,
  };
}

function outputOf(taskId: string, name: string, kind: 'output' | 'log'): OutputFile {
  const folder = kind === 'output' ? `${taskId}-out` : `${taskId}-logs`;
  return {
    name,
    kind,
    location: { bucket: BUCKET, key: `datasets/${folder}/${name}` },
    size: 1000 + name.length,
    checksum: `sha256:${sha256Hex(name)}`,
  };
}

function jobRecord(
  taskId: string,
  index: number,
  state: JobState,
  pilotId: string,
  outputs: number,
): JobRecord {
  const jobId = `j-${taskId}-${index}`;
  return {
    jobId,
    taskId,
    state,
    attempt: 0,
    device: 'CPU',
    rank: 1,
    inputs: [
      {
        name: `in-${index}.raw`,
        location: { bucket: BUCKET, key: `raw/in-${index}.raw` },
        size: 10,
        checksum: `sha256:${sha256Hex(`in-${index}`)}`,
      },
    ],
    createdAt: CREATED,
    updatedAt: CREATED,
    ...(state === 'RUNNING' ? { pilotId, claimToken: 'token-0123456789abcdef' } : {}),
    ...(state === 'DONE'
      ? {
          outputs: [
            ...Array.from({ length: outputs }, (_, k) => outputOf(taskId, `${jobId}-o${k}.root`, 'output')),
            outputOf(taskId, `${jobId}.0.log`, 'log'),
          ],
        }
      : {}),
  };
}

function datasetRecord(
  name: string,
  kind: 'output' | 'log',
  producerTaskId: string,
  closed: boolean,
  files: readonly FileRecord[],
): DatasetRecord {
  return {
    uid: datasetUidFor(name),
    name,
    kind,
    state: closed ? 'CLOSED' : 'OPEN',
    fileCount: files.length,
    totalBytes: files.reduce((sum, file) => sum + file.size, 0),
    producerTaskId,
    createdAt: CREATED,
    ...(closed ? { closedAt: CLOSED } : {}),
    version: closed ? 1 : 0,
  };
}

function pilotRecord(pilotId: string, state: PilotState): PilotRecord {
  return {
    pilotId,
    host: 'node01',
    device: 'CPU',
    slots: 8,
    busySlots: 0,
    state,
    version: '1.0.0',
    startedAt: CREATED,
    lastHeartbeatAt: CREATED,
  };
}

interface TaskPlan {
  state: TaskState;
  jobs: { state: JobState; pilot: number; outputs: number }[];
  outputClosed: boolean;
  logClosed: boolean;
}

interface SnapshotPlan {
  pilots: ('ACTIVE' | 'IDLE')[];
  tasks: TaskPlan[];
  /** Whether storage returned a SHA-256 for the objects. */
  storeChecksums: boolean;
}

/** A consistent snapshot: every invariant holds by construction. */
function buildSnapshot(plan: SnapshotPlan): AuditSnapshot {
  const pilots = new Map<string, PilotRecord | null>(
    plan.pilots.map((state, index) => [`p-${index}`, pilotRecord(`p-${index}`, state)]),
  );
  const objects = new Map<string, StoredObject | null>();
  const tasks: TaskSnapshot[] = [];
  const datasets: DatasetSnapshot[] = [];
  plan.tasks.forEach((taskPlan, taskIndex) => {
    const taskId = `t-${taskIndex}`;
    const jobs = taskPlan.jobs.map((job, index) =>
      jobRecord(taskId, index, job.state, `p-${job.pilot % plan.pilots.length}`, job.outputs),
    );
    const task = taskRecord(taskId, taskPlan.state, jobs);
    tasks.push({ task, jobs, countersStable: true });
    const produced = jobs.flatMap((job) => (job.outputs ?? []).map((output) => ({ job, output })));
    for (const kind of ['output', 'log'] as const) {
      const name = kind === 'output' ? task.outputDataset : task.logDataset;
      const files: FileRecord[] = produced
        .filter(({ output }) => output.kind === kind)
        .map(({ job, output }) => ({
          datasetUid: datasetUidFor(name),
          name: output.name,
          kind,
          location: output.location,
          size: output.size,
          checksum: output.checksum,
          jobId: job.jobId,
          registeredAt: REGISTERED,
        }));
      const closed = kind === 'output' ? taskPlan.outputClosed : taskPlan.logClosed;
      datasets.push({ dataset: datasetRecord(name, kind, taskId, closed, files), files });
    }
    for (const { output } of produced) {
      objects.set(objectId(output.location), {
        size: output.size,
        ...(plan.storeChecksums ? { sha256Hex: output.checksum.slice('sha256:'.length) } : {}),
      });
    }
  });
  return { tasks, datasets, objects, pilots };
}

const taskPlanArb: fc.Arbitrary<TaskPlan> = fc.record({
  state: fc.constantFrom<TaskState>('RUNNING', 'DONE', 'FAILED', 'CANCELLED'),
  jobs: fc.array(
    fc.record({
      state: fc.constantFrom<JobState>(...JOB_STATES),
      pilot: fc.nat(5),
      outputs: fc.integer({ min: 0, max: 2 }),
    }),
    { maxLength: 8 },
  ),
  outputClosed: fc.boolean(),
  logClosed: fc.boolean(),
});

const snapshotPlanArb: fc.Arbitrary<SnapshotPlan> = fc.record({
  pilots: fc.array(fc.constantFrom<'ACTIVE' | 'IDLE'>('ACTIVE', 'IDLE'), { minLength: 1, maxLength: 3 }),
  tasks: fc.array(taskPlanArb, { minLength: 1, maxLength: 3 }),
  storeChecksums: fc.boolean(),
});

function invariantsOf(findings: readonly AuditFinding[]): string[] {
  return [...new Set(findings.map((finding) => finding.invariant))];
}

/** The snapshot with one task replaced. */
function withTask(
  snapshot: AuditSnapshot,
  index: number,
  change: (entry: TaskSnapshot) => TaskSnapshot,
): AuditSnapshot {
  return { ...snapshot, tasks: snapshot.tasks.map((entry, i) => (i === index ? change(entry) : entry)) };
}

function withDataset(
  snapshot: AuditSnapshot,
  uid: string,
  change: (entry: DatasetSnapshot) => DatasetSnapshot,
): AuditSnapshot {
  return {
    ...snapshot,
    datasets: snapshot.datasets.map((entry) => (entry.dataset.uid === uid ? change(entry) : entry)),
  };
}

describe('auditSnapshot on consistent snapshots', () => {
  it('finds nothing', () => {
    fc.assert(
      fc.property(snapshotPlanArb, (plan) => {
        expect(auditSnapshot(buildSnapshot(plan))).toEqual([]);
      }),
    );
  });
});

describe('auditSnapshot with one injected corruption', () => {
  it('reports a wrong counter as task-counters, repairable by the recount', () => {
    fc.assert(
      fc.property(
        snapshotPlanArb,
        fc.nat(),
        fc.constantFrom<JobState>(...JOB_STATES),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        (plan, taskPick, state, amount, up) => {
          // Prepare
          const snapshot = buildSnapshot(plan);
          const index = taskPick % snapshot.tasks.length;
          const original = snapshot.tasks[index]!.task;
          const delta = up ? amount : -Math.min(amount, original.counts[state]);
          fc.pre(delta !== 0);
          const corrupt = withTask(snapshot, index, (entry) => ({
            ...entry,
            task: {
              ...entry.task,
              counts: { ...entry.task.counts, [state]: entry.task.counts[state] + delta },
            },
          }));
          // Act
          const findings = auditSnapshot(corrupt);
          // Assess
          expect(findings).toHaveLength(1);
          expect(findings[0]).toMatchObject({
            invariant: 'task-counters',
            entity: { kind: 'task', id: original.taskId },
            repairable: true,
            repair: {
              kind: 'recount-task',
              taskId: original.taskId,
              counts: original.counts,
              jobsTotal: original.jobsTotal,
              expected: { counts: { ...original.counts, [state]: original.counts[state] + delta } },
            },
          });
        },
      ),
    );
  });

  it('repairs a jobsTotal above the jobs found only when no job can be missing from the listing', () => {
    fc.assert(
      fc.property(snapshotPlanArb, fc.nat(), fc.integer({ min: 1, max: 5 }), (plan, taskPick, amount) => {
        const snapshot = buildSnapshot(plan);
        const index = taskPick % snapshot.tasks.length;
        const { jobsTotal } = snapshot.tasks[index]!.task;
        const setTotal = (total: number) =>
          auditSnapshot(
            withTask(snapshot, index, (entry) => ({ ...entry, task: { ...entry.task, jobsTotal: total } })),
          );

        const tooHigh = setTotal(jobsTotal + amount);
        expect(tooHigh).toHaveLength(1);
        expect(tooHigh[0]).toMatchObject({ invariant: 'task-counters', repairable: false });
        expect(tooHigh[0]?.detail).toContain('audit again');

        fc.pre(jobsTotal >= amount);
        const tooLow = setTotal(jobsTotal - amount);
        expect(tooLow).toHaveLength(1);
        expect(tooLow[0]).toMatchObject({
          invariant: 'task-counters',
          repairable: true,
          repair: { jobsTotal },
        });
      }),
    );
  });

  it('reports a DONE job output missing from its OPEN dataset, repairable by registering it', () => {
    fc.assert(
      fc.property(snapshotPlanArb, fc.nat(), (plan, pick) => {
        // Prepare: every dataset open, then one registered file dropped.
        const snapshot = buildSnapshot({
          ...plan,
          tasks: plan.tasks.map((t) => ({ ...t, outputClosed: false, logClosed: false })),
        });
        const registered = snapshot.datasets.flatMap((entry) => entry.files);
        fc.pre(registered.length > 0);
        const dropped = registered[pick % registered.length]!;
        const corrupt = withDataset(snapshot, dropped.datasetUid, (entry) => {
          const files = entry.files.filter((file) => file.name !== dropped.name);
          return {
            dataset: {
              ...entry.dataset,
              fileCount: files.length,
              totalBytes: files.reduce((sum, file) => sum + file.size, 0),
            },
            files,
          };
        });
        // Act
        const findings = auditSnapshot(corrupt);
        // Assess
        expect(findings).toHaveLength(1);
        expect(findings[0]).toMatchObject({
          invariant: 'done-job-files-registered',
          entity: { kind: 'job', id: dropped.jobId },
          repairable: true,
          repair: {
            kind: 'register-file',
            file: {
              datasetUid: dropped.datasetUid,
              name: dropped.name,
              kind: dropped.kind,
              location: dropped.location,
              size: dropped.size,
              checksum: dropped.checksum,
              jobId: dropped.jobId,
            },
          },
        });
      }),
    );
  });

  it('reports a registered file whose object is gone or differs as registered-file-stored', () => {
    const damages = ['missing', 'size', 'checksum'] as const;
    fc.assert(
      fc.property(snapshotPlanArb, fc.nat(), fc.constantFrom(...damages), (plan, pick, damage) => {
        const snapshot = buildSnapshot({
          ...plan,
          storeChecksums: damage === 'checksum' || plan.storeChecksums,
        });
        const registered = snapshot.datasets.flatMap((entry) => entry.files);
        fc.pre(registered.length > 0);
        const target = registered[pick % registered.length]!;
        const id = objectId(target.location);
        const stored = snapshot.objects.get(id)!;
        const objects = new Map(snapshot.objects);
        if (damage === 'missing') objects.set(id, null);
        if (damage === 'size') objects.set(id, { ...stored, size: stored.size + 1 });
        if (damage === 'checksum') objects.set(id, { ...stored, sha256Hex: sha256Hex('something else') });

        const findings = auditSnapshot({ ...snapshot, objects });

        expect(findings).toHaveLength(1);
        expect(findings[0]).toMatchObject({
          invariant: 'registered-file-stored',
          entity: { kind: 'file', id: `${target.datasetUid}/${target.name}` },
          repairable: false,
        });
      }),
    );
  });

  it('reports every RUNNING job of a pilot that is gone, repairable by marking it LOST', () => {
    fc.assert(
      fc.property(
        snapshotPlanArb,
        fc.nat(),
        fc.constantFrom<PilotState | 'absent'>('LOST', 'EXITED', 'absent'),
        (plan, pick, fate) => {
          const snapshot = buildSnapshot(plan);
          const running = snapshot.tasks.flatMap((entry) =>
            entry.jobs.filter((job) => job.state === 'RUNNING'),
          );
          fc.pre(running.length > 0);
          const pilotId = running[pick % running.length]!.pilotId!;
          const pilots = new Map(snapshot.pilots);
          pilots.set(pilotId, fate === 'absent' ? null : pilotRecord(pilotId, fate));

          const findings = auditSnapshot({ ...snapshot, pilots });

          const orphans = running.filter((job) => job.pilotId === pilotId);
          expect(invariantsOf(findings)).toEqual(['running-job-has-live-pilot']);
          expect(findings.map((finding) => finding.entity.id).sort()).toEqual(
            orphans.map((job) => job.jobId).sort(),
          );
          for (const finding of findings) {
            expect(finding).toMatchObject({
              repairable: true,
              repair: { kind: 'mark-job-lost', job: { pilotId } },
            });
          }
        },
      ),
    );
  });

  it('waits for the results of a pilot that exited or was lost only moments ago', () => {
    fc.assert(
      fc.property(
        snapshotPlanArb,
        fc.nat(),
        fc.constantFrom<PilotState>('LOST', 'EXITED'),
        (plan, pick, fate) => {
          const snapshot = buildSnapshot(plan);
          const running = snapshot.tasks.flatMap((entry) =>
            entry.jobs.filter((job) => job.state === 'RUNNING'),
          );
          fc.pre(running.length > 0);
          const pilotId = running[pick % running.length]!.pilotId!;
          const pilots = new Map(snapshot.pilots);
          pilots.set(pilotId, pilotRecord(pilotId, fate));
          const justBefore = new Date(Date.parse(CREATED) - 1000).toISOString();
          const justAfter = new Date(Date.parse(CREATED) + 1000).toISOString();

          const settling = auditSnapshot({ ...snapshot, pilots, pilotsSettledBefore: justBefore });
          const settled = auditSnapshot({ ...snapshot, pilots, pilotsSettledBefore: justAfter });

          expect(invariantsOf(settling)).toEqual([]);
          expect(invariantsOf(settled)).toEqual(['running-job-has-live-pilot']);
        },
      ),
    );
  });

  it('reports a closed dataset whose files differ from its checklist', () => {
    fc.assert(
      fc.property(snapshotPlanArb, fc.nat(), fc.integer({ min: 1, max: 3 }), (plan, pick, extra) => {
        const snapshot = buildSnapshot({
          ...plan,
          tasks: plan.tasks.map((t) => ({ ...t, outputClosed: true })),
        });
        const closed = snapshot.datasets.filter((entry) => entry.dataset.state === 'CLOSED');
        const target = closed[pick % closed.length]!.dataset;

        const findings = auditSnapshot(
          withDataset(snapshot, target.uid, (entry) => ({
            ...entry,
            dataset: { ...entry.dataset, fileCount: entry.dataset.fileCount + extra },
          })),
        );

        expect(findings).toHaveLength(1);
        expect(findings[0]).toMatchObject({
          invariant: 'closed-dataset-matches-checklist',
          entity: { kind: 'dataset', id: target.uid },
          repairable: false,
        });
      }),
    );
  });
});

describe('auditSnapshot, particular cases', () => {
  const plan: SnapshotPlan = {
    pilots: ['ACTIVE'],
    tasks: [
      {
        state: 'RUNNING',
        jobs: [
          { state: 'DONE', pilot: 0, outputs: 1 },
          { state: 'RUNNING', pilot: 0, outputs: 0 },
          { state: 'READY', pilot: 0, outputs: 0 },
        ],
        outputClosed: false,
        logClosed: false,
      },
    ],
    storeChecksums: true,
  };

  it('skips the counter check of a task whose counters moved while its jobs were read', () => {
    const snapshot = withTask(buildSnapshot(plan), 0, (entry) => ({
      ...entry,
      countersStable: false,
      task: { ...entry.task, counts: { ...entry.task.counts, READY: 7 } },
    }));
    expect(auditSnapshot(snapshot)).toEqual([]);
  });

  it('does not offer to register an output into a closed dataset, nor one whose object is missing', () => {
    const snapshot = buildSnapshot({ ...plan, tasks: [{ ...plan.tasks[0]!, outputClosed: true }] });
    const output = snapshot.datasets.find((entry) => entry.dataset.kind === 'output')!;
    const emptied = withDataset(snapshot, output.dataset.uid, (entry) => ({ ...entry, files: [] }));
    const missingOutput = auditSnapshot(emptied).find((f) => f.invariant === 'done-job-files-registered');
    expect(missingOutput).toMatchObject({ repairable: false });
    expect(missingOutput?.detail).toContain('the dataset is CLOSED');

    const open = buildSnapshot(plan);
    const openOutput = open.datasets.find((entry) => entry.dataset.kind === 'output')!;
    const file = openOutput.files[0]!;
    const objects = new Map(open.objects);
    objects.set(objectId(file.location), null);
    const withoutObject = withDataset({ ...open, objects }, openOutput.dataset.uid, (entry) => ({
      dataset: { ...entry.dataset, fileCount: 0, totalBytes: 0 },
      files: [],
    }));
    const [finding] = auditSnapshot(withoutObject);
    expect(finding).toMatchObject({ invariant: 'done-job-files-registered', repairable: false });
    expect(finding?.detail).toContain('does not exist in storage');
  });

  it('compares checksums only when the store returned a SHA-256 and the record is sha256', () => {
    const snapshot = buildSnapshot({ ...plan, storeChecksums: false });
    const file = snapshot.datasets.flatMap((entry) => entry.files)[0]!;
    const adler = withDataset(snapshot, file.datasetUid, (entry) => ({
      ...entry,
      files: entry.files.map((f) => (f.name === file.name ? { ...f, checksum: 'adler32:0badc0de' } : f)),
    }));
    const objects = new Map(adler.objects);
    objects.set(objectId(file.location), { size: file.size, sha256Hex: sha256Hex('whatever') });
    const registeredFindings = auditSnapshot({ ...adler, objects }).filter(
      (finding) => finding.invariant === 'registered-file-stored',
    );
    expect(registeredFindings).toEqual([]);
  });

  it('judges nothing it did not look up: objects and pilots absent from the snapshot', () => {
    const snapshot = buildSnapshot(plan);
    expect(auditSnapshot({ ...snapshot, objects: new Map(), pilots: new Map() })).toEqual([]);
  });

  it('reports a file registered in a closed dataset after its close, and a RUNNING job without a pilot', () => {
    const snapshot = buildSnapshot({ ...plan, tasks: [{ ...plan.tasks[0]!, logClosed: true }] });
    const log = snapshot.datasets.find((entry) => entry.dataset.kind === 'log')!;
    const late = withDataset(snapshot, log.dataset.uid, (entry) => ({
      ...entry,
      files: entry.files.map((file) => ({ ...file, registeredAt: '2026-01-01T03:00:00.000Z' })),
    }));
    const orphan = withTask(late, 0, (entry) => ({
      ...entry,
      jobs: entry.jobs.map((job) => (job.state === 'RUNNING' ? { ...job, pilotId: undefined } : job)),
    }));

    const findings = auditSnapshot(orphan);

    expect(findings.map((finding) => finding.invariant)).toEqual([
      'running-job-has-live-pilot',
      'closed-dataset-matches-checklist',
    ]);
    const [orphanFinding] = findings;
    // No pilot to guard on: the repair must not name one.
    expect(orphanFinding?.repairable && orphanFinding.repair).toStrictEqual({
      kind: 'mark-job-lost',
      job: { jobId: 'j-t-0-1', taskId: 't-0', attempt: 0 },
    });
    expect(findings[0]?.detail).toContain('names no pilot');
    expect(findings[1]?.detail).toContain('registered after closing');
  });

  it('reports files of a finished task output dataset that no DONE job produced', () => {
    const finished: SnapshotPlan = {
      ...plan,
      tasks: [{ ...plan.tasks[0]!, state: 'CANCELLED', outputClosed: true }],
    };
    const snapshot = buildSnapshot(finished);
    const output = snapshot.datasets.find((entry) => entry.dataset.kind === 'output')!;
    const stray: FileRecord = { ...output.files[0]!, name: 'stray.root', jobId: 'j-other' };
    const corrupt = withDataset(snapshot, output.dataset.uid, (entry) => ({
      dataset: {
        ...entry.dataset,
        fileCount: entry.dataset.fileCount + 1,
        totalBytes: entry.dataset.totalBytes + stray.size,
      },
      files: [...entry.files, stray],
    }));

    const findings = auditSnapshot(corrupt);

    expect(findings).toHaveLength(1);
    expect(findings[0]?.detail).toContain('not produced by a DONE job stray.root');
  });
});
