/** The bench's workloads: input datasets, tasks registered through the API, and waits on their jobs. */
import { createHash, randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { buildPutEventsEntry, EVENT_SOURCES, RegisterTaskResponse } from '../../../events/index.js';
import { publishEvents } from '../../../functions/common/index.js';
import { sleep } from '../../../shared/async/index.js';
import type { SignedHttp } from '../../../shared/aws/index.js';
import { datasetUidFor } from '../../../shared/ids/index.js';
import type { JobRecord, TaskRecord, TaskSpec } from '../../../shared/model/index.js';
import { listAllPages } from '../../../shared/repositories/index.js';
import { datasetCloseChecklist } from '../demo/dsm.js';
import type { BenchSystem } from './system.js';

/**
 * The trivial payload: copies its one tiny input into its output directory and exits 0 (every
 * job of a stage must leave an output, or it fails with PAYLOAD_OUTPUT_MISSING).
 */
export const TRIVIAL_PAYLOAD = { executable: 'cp', args: ['{input}', '{outdir}'] } as const;
/** A payload that runs until it is killed (a minute at most). */
export const SLEEP_PAYLOAD = { executable: 'sleep', args: ['60'] } as const;
/** Runs until killed on its first attempt, then copies like TRIVIAL_PAYLOAD. */
export const HANG_ONCE_PAYLOAD = {
  executable: 'sh',
  args: [
    '-c',
    'if [ "$1" = 0 ]; then exec sleep 600; fi; exec cp "$2" "$3"',
    'hang-once',
    '{attempt}',
    '{input}',
    '{outdir}',
  ],
} as const;

export interface InputDataset {
  uid: string;
  name: string;
  fileNames: string[];
}

const UPLOAD_CONCURRENCY = 16;
/** Jobs read per query. */
const JOB_PAGE = 1000;
const EVENTS_PER_CALL = 10;

/** The `file.input` event of one stored file of a few bytes. */
async function storedFile(system: BenchSystem, dataset: { uid: string; name: string }, fileName: string) {
  const content = Buffer.from(`${fileName}\n`);
  const key = `datasets/${dataset.name}/${fileName}`;
  const checksum = createHash('sha256').update(content).digest();
  await system.clients.s3.send(
    new PutObjectCommand({
      Bucket: system.plane.bucket,
      Key: key,
      Body: content,
      ChecksumSHA256: checksum.toString('base64'),
    }),
  );
  return buildPutEventsEntry({
    detailType: 'file.input',
    source: EVENT_SOURCES.dsm,
    eventBusName: system.plane.busName,
    detail: {
      datasetUid: dataset.uid,
      datasetName: dataset.name,
      file: {
        name: fileName,
        url: `s3://${system.plane.bucket}/${key}`,
        size: content.length,
        checksum: `sha256:${checksum.toString('hex')}`,
      },
    },
  });
}

/**
 * Stores `fileNames` as files of a few bytes of `dataset` and announces each with `file.input`,
 * `UPLOAD_CONCURRENCY` at a time, as a DSM would while it writes them: nothing but the current
 * batch is held. `onBatch` sees how many were announced so far.
 */
export async function announceFiles(
  system: BenchSystem,
  dataset: { uid: string; name: string },
  fileNames: readonly string[],
  onBatch?: (announced: number) => void,
): Promise<void> {
  for (let start = 0; start < fileNames.length; start += UPLOAD_CONCURRENCY) {
    const events = await Promise.all(
      fileNames
        .slice(start, start + UPLOAD_CONCURRENCY)
        .map((fileName) => storedFile(system, dataset, fileName)),
    );
    for (let first = 0; first < events.length; first += EVENTS_PER_CALL) {
      await publishEvents(system.clients.eventBridge, events.slice(first, first + EVENTS_PER_CALL));
    }
    onBatch?.(start + events.length);
  }
}

/** `count` names in code-point order (zero-padded), as the bench's input files are named. */
export function benchFileNames(count: number): string[] {
  const width = Math.max(6, String(count - 1).length);
  return Array.from({ length: count }, (_, index) => `f-${String(index).padStart(width, '0')}.dat`);
}

/**
 * `count` files of a few bytes, stored and announced with `file.input`, then — once all are
 * registered, as a DSM that waits for its acknowledgements would — closed with `dataset.close`.
 */
export async function closedInputDataset(system: BenchSystem, count: number): Promise<InputDataset> {
  const id = randomUUID();
  const dataset = { uid: `bench-${id}`, name: `bench.input.${id}` };
  const fileNames = benchFileNames(count);
  await announceFiles(system, dataset, fileNames);
  const timeoutMs = 120_000 + count * 100;
  await waitUntil(async () => (await system.repos.datasets.find(dataset.uid))?.fileCount === count, {
    timeoutMs,
    what: `the ${count} files of ${dataset.name} registered`,
  });
  await closeDataset(system, dataset, fileNames);
  await waitUntil(async () => (await system.repos.datasets.find(dataset.uid))?.state === 'CLOSED', {
    timeoutMs,
    what: `input dataset ${dataset.name} closed`,
  });
  return { ...dataset, fileNames };
}

/** Stores one file of an open dataset and announces it with `file.input`. */
export async function announceFile(
  system: BenchSystem,
  dataset: { uid: string; name: string },
  fileName: string,
): Promise<void> {
  await publishEvents(system.clients.eventBridge, [await storedFile(system, dataset, fileName)]);
}

/**
 * Closes an input dataset with its checklist, as the DSM does: inline up to
 * DSM_INLINE_CHECKLIST_MAX_FILES names, by a checklist object above (`inlineChecklistMaxFiles`
 * chooses another limit). Says how the checklist went.
 */
export async function closeDataset(
  system: BenchSystem,
  dataset: { uid: string; name: string },
  fileNames: readonly string[],
  inlineChecklistMaxFiles?: number,
): Promise<'inline' | 'object'> {
  const checklist = await datasetCloseChecklist(
    {
      bucket: system.plane.bucket,
      ...(inlineChecklistMaxFiles === undefined ? {} : { inlineChecklistMaxFiles }),
    },
    dataset.name,
    fileNames,
  );
  await publishEvents(system.clients.eventBridge, [
    buildPutEventsEntry({
      detailType: 'dataset.close',
      source: EVENT_SOURCES.dsm,
      eventBusName: system.plane.busName,
      detail: { datasetUid: dataset.uid, datasetName: dataset.name, ...checklist },
    }),
  ]);
  return 'files' in checklist ? 'inline' : 'object';
}

export type TaskRequest = Pick<TaskSpec, 'name' | 'executable' | 'inputDatasetUid'> &
  Partial<Pick<TaskSpec, 'rank' | 'streaming' | 'maxRetries'>> & { args: readonly string[] };

/** Registers a CPU map task through the API; its output and log datasets are named after it. */
export async function registerTask(api: SignedHttp, request: TaskRequest): Promise<string> {
  const suffix = `${request.name}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const response = await api('POST', 'tasks', {
    body: {
      device: 'CPU',
      mode: 'map',
      maxRetries: 3,
      rank: 1,
      wallTimeSeconds: 900,
      ...request,
      args: [...request.args],
      outputDataset: `bench.${suffix}.out`,
      logDataset: `bench.${suffix}.log`,
    },
  });
  if (response.status >= 300)
    throw new Error(`task ${request.name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  return RegisterTaskResponse.parse(response.body).taskId;
}

export async function cancelTask(api: SignedHttp, taskId: string): Promise<void> {
  const response = await api('POST', `tasks/${taskId}/cancel`, {
    body: { reason: 'benchmark: cancel-to-kill time' },
  });
  if (response.status >= 300)
    throw new Error(`cancel ${taskId}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
}

export async function allJobs(system: BenchSystem, taskId: string): Promise<JobRecord[]> {
  return listAllPages((cursor) => system.repos.jobs.listByTask(taskId, { limit: JOB_PAGE, cursor }));
}

/** Reads a task's jobs a page at a time, for a task too large to hold (see allJobs). */
export async function forEachJobPage(
  system: BenchSystem,
  taskId: string,
  onPage: (jobs: readonly JobRecord[]) => void,
): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await system.repos.jobs.listByTask(taskId, { limit: JOB_PAGE, cursor });
    onPage(page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
}

/**
 * Polls `condition` until it holds; throws after `timeoutMs`, naming `what`, also when a look
 * itself never answers (the SDK waits on a silent endpoint forever).
 */
export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  options: { timeoutMs: number; what: string; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const timedOut = () => new Error(`timed out waiting for ${options.what}`);
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut()), Math.max(0, deadline - Date.now()));
    });
    try {
      if (await Promise.race([condition(), expired])) return;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() > deadline) throw timedOut();
    await sleep(options.intervalMs ?? 250);
  }
}

/** Waits for the task to end DONE; `onProgress` sees it on every look. */
export async function waitForTaskDone(
  system: BenchSystem,
  taskId: string,
  timeoutMs: number,
  onProgress?: (task: TaskRecord) => void,
): Promise<TaskRecord> {
  let task = await system.repos.tasks.get(taskId);
  await waitUntil(
    async () => {
      task = await system.repos.tasks.get(taskId);
      onProgress?.(task);
      if (task.state === 'FAILED' || task.state === 'CANCELLED')
        throw new Error(`task ${taskId} ended ${task.state}`);
      return task.state === 'DONE';
    },
    { timeoutMs, what: `task ${taskId} DONE`, intervalMs: 250 },
  );
  return task;
}

/** Waits until the task's output and log datasets are closed: the last work the task causes. */
export async function waitForOutputsClosed(
  system: BenchSystem,
  task: TaskRecord,
  timeoutMs = 60_000,
): Promise<void> {
  for (const name of [task.outputDataset, task.logDataset]) {
    await waitUntil(async () => (await system.repos.datasets.find(datasetUidFor(name)))?.state === 'CLOSED', {
      timeoutMs,
      what: `dataset ${name} closed`,
    });
  }
}
