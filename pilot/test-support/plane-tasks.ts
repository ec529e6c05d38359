/**
 * The control plane as the DSM, the WfMS and an operator use it in the pilot's tests: input
 * datasets stored and announced, tasks with a shell payload registered through the API, job
 * slots held by a registration nobody polls for, and waits on what the API shows.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { TaskView } from '../../events/index.js';
import { JobMessage } from '../../events/pilot.js';
import type { Device, TaskState } from '../../shared/model/index.js';
import { type JobItem, type TaskSpecInput, type WmsApi, wmsApi } from '../../test/e2e/support/wms-api.js';
import { type ControlPlane, eventually } from '../../test/support/index.js';
import { sha256Of } from './factories.js';
import { putObject } from './storage.js';

export { type JobItem, type WmsApi, wmsApi };

/** How often the tests look at the API while they wait. */
const POLL_MS = 200;

export interface InputDataset {
  uid: string;
  name: string;
  /** File name → content. */
  files: ReadonlyMap<string, string>;
}

function unique(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/**
 * Stores the files, announces each (`file.input`, with its checksum unless `announcedChecksums`
 * says otherwise, as a DSM that registered another content would), then closes the dataset.
 */
export async function announceDataset(
  plane: ControlPlane,
  s3: S3Client,
  files: Readonly<Record<string, string>>,
  announcedChecksums: Readonly<Record<string, string>> = {},
): Promise<InputDataset> {
  const name = unique('pilot-input');
  const uid = `dsm-${name}`;
  for (const [fileName, content] of Object.entries(files)) {
    const key = `input/${name}/${fileName}`;
    await putObject(s3, plane.bucket, key, content);
    await plane.putEvent('file.input', 'spd.dsm', {
      datasetUid: uid,
      datasetName: name,
      file: {
        name: fileName,
        url: `s3://${plane.bucket}/${key}`,
        size: Buffer.byteLength(content),
        checksum: announcedChecksums[fileName] ?? sha256Of(content),
      },
    });
  }
  await plane.putEvent('dataset.close', 'spd.dsm', {
    datasetUid: uid,
    datasetName: name,
    files: Object.keys(files),
  });
  return { uid, name, files: new Map(Object.entries(files)) };
}

/**
 * A map task over `input` whose payload is `sh -c <script> sh <input> <outdir> <attempt>`: in
 * the script, $1 is the staged input file, $2 the output directory and $3 the attempt.
 */
export function shellTask(
  input: InputDataset,
  script: string,
  overrides: Partial<TaskSpecInput> = {},
): TaskSpecInput & { taskId: string } {
  const taskId = unique('t-pilot');
  return {
    taskId,
    name: 'pilot-test',
    executable: 'sh',
    args: ['-c', script, 'sh', '{input}', '{outdir}', '{attempt}'],
    device: 'CPU',
    mode: 'map',
    maxRetries: 0,
    rank: 1,
    inputDatasetUid: input.uid,
    outputDataset: `out.${taskId}`,
    logDataset: `log.${taskId}`,
    wallTimeSeconds: 600,
    ...overrides,
  };
}

/** The task once it is in `state`; the error names the state it was in. */
export function waitForTask(
  wms: WmsApi,
  taskId: string,
  state: TaskState,
  timeoutMs = 60_000,
): Promise<TaskView> {
  return eventually(
    async () => {
      const task = await wms.task(taskId);
      if (task.state !== state) {
        throw new Error(`task ${taskId} is ${task.state}, not ${state}: ${JSON.stringify(task.counts)}`);
      }
      return task;
    },
    { timeoutMs, intervalMs: POLL_MS },
  );
}

/** The task's jobs once `check` passes on them (it throws, e.g. with expect, until then). */
export function waitForJobs(
  wms: WmsApi,
  taskId: string,
  check: (jobs: JobItem[]) => void,
  timeoutMs = 60_000,
): Promise<JobItem[]> {
  return eventually(
    async () => {
      const jobs = await wms.jobs(taskId);
      check(jobs);
      return jobs;
    },
    { timeoutMs, intervalMs: POLL_MS },
  );
}

export interface SlotHolder {
  pilotId: string;
  /** Says the holder exited: its slots no longer count. */
  release(): Promise<void>;
}

/**
 * Registers, through the pilot route, a pilot that never polls: the dispatcher then queues jobs
 * for its slots, which a test can take off the device queue before any pilot sees them.
 */
export async function holdSlots(plane: ControlPlane, device: Device, slots: number): Promise<SlotHolder> {
  const pilotId = unique('slot-holder');
  const registered = await plane.api('POST', 'pilots', {
    body: { pilotId, host: 'test-holder', device, slots, version: 'test' },
  });
  if (registered.status !== 200) throw new Error(`holder registration: HTTP ${registered.status}`);
  return {
    pilotId,
    async release() {
      const exited = await plane.api('POST', `pilots/${pilotId}/heartbeat`, {
        body: { pilotId, state: 'EXITED', busySlots: 0, jobs: [], at: new Date().toISOString() },
      });
      // 409: the watchdog found it silent and declared it LOST; its slots no longer count either.
      if (exited.status !== 200 && exited.status !== 409)
        throw new Error(`holder exit: HTTP ${exited.status}`);
    },
  };
}

/** The URL of one of the stack's queues on the embedded runtime. */
export function queueUrlOf(plane: ControlPlane, queue: 'jobsCpu' | 'jobsGpu' | 'status'): string {
  const url = plane.queueUrls[queue];
  if (url === undefined) throw new Error(`the control plane has no ${queue} queue`);
  return url;
}

/**
 * Takes the next message of a job of `taskId` off a device queue (it stays in flight for the
 * queue's visibility timeout); messages of other jobs met on the way are made visible again.
 */
export async function takeJobMessage(
  sqs: SQSClient,
  queueUrl: string,
  taskId: string,
  timeoutMs = 30_000,
): Promise<{ message: Message; job: JobMessage }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
    );
    for (const message of Messages) {
      const job = parseJob(message.Body);
      if (job?.taskId === taskId) return { message, job };
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
  }
  throw new Error(`no job message of task ${taskId} on ${queueUrl} within ${timeoutMs} ms`);
}

function parseJob(body: string | undefined): JobMessage | undefined {
  try {
    return JobMessage.safeParse(JSON.parse(body ?? '')).data;
  } catch {
    return undefined;
  }
}
