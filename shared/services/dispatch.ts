/**
 * One dispatch pass (design §4.5, §7): controlled loading of the device queues from the live
 * pilots' slots, interleaved weighted round-robin over the RUNNING tasks with READY jobs,
 * READY → QUEUED in transactions, then the job messages in batches.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { JobMessage } from '../../events/index.js';
import { sleep } from '../async/index.js';
import { ConditionFailedError, ValidationError } from '../errors/index.js';
import type { Device, JobRecord, PilotRecord, TaskRecord } from '../model/index.js';
import { type JobRef, listAllPages, type Repositories } from '../repositories/index.js';
import {
  type DispatchPick,
  type FreeSlots,
  initialSchedulerState,
  planDispatch,
  type SchedulableTask,
  SchedulerState,
} from '../scheduler/index.js';
import { isOneOf, LIVE_PILOT_STATES, SLOT_TAKING_JOB_STATES } from '../states/index.js';
import { datasetTarget } from './dataset-locations.js';
import type { ReadyJobBuffer, ReadyJobReader } from './ready-jobs.js';

/** The Control item holding the round-robin cursors between passes, and the pass lease. */
export const SCHEDULER_STATE_KEY = 'dispatcher/scheduler-state';
/**
 * A pass holds the lease for at most this long: longer than the dispatcher's 60 s timeout, so
 * a pass never outlives it; one killed mid-pass blocks the next for this long at most.
 */
export const DISPATCH_LEASE_TTL_MS = 75_000;
/** How long a pass waits for another to end before leaving the work to the next trigger. */
export const DISPATCH_LEASE_WAIT_MS = 10_000;
const LEASE_POLL_MS = 100;
/** SendMessageBatch limits: 10 entries and 256 KiB of bodies per call. */
export const SEND_BATCH_ENTRIES = 10;
export const SEND_BATCH_BYTES = 256 * 1024;
/** A page of the pilot and task listings. */
const LIST_PAGE_SIZE = 1000;

export type DeviceSlots = Record<Device, number>;

export interface DispatchSettings {
  jobsCpuQueueUrl: string;
  jobsGpuQueueUrl: string;
  dataBucket: string;
  /** Jobs queued beyond the free slots, as a fraction of the slots (controlled loading). */
  headroomFraction: number;
}

export interface DispatchDeps {
  repos: Pick<Repositories, 'tasks' | 'jobs' | 'pilots' | 'control'>;
  sqs: SQSClient;
  settings: DispatchSettings;
  logger: Logger;
  metrics: Metrics;
  clock?: () => Date;
  /** Fires shortly before the invocation's deadline; SQS calls stop with it. */
  signal?: AbortSignal;
  /** READY jobs kept between the passes of a warm dispatcher; every pass queries when absent. */
  readyJobs?: ReadyJobBuffer;
}

export type DispatchOutcome = 'no-capacity' | 'busy' | 'nothing-to-dispatch' | 'dispatched';

export interface DispatchReport {
  outcome: DispatchOutcome;
  slots: DeviceSlots;
  /** Slots taken: jobs queued or running (SLOT_TAKING_JOB_STATES), by device. */
  inFlight: DeviceSlots;
  free: FreeSlots;
  /** Jobs the plan chose. */
  planned: number;
  /** Jobs marked QUEUED and sent. */
  dispatched: number;
  /** Jobs another pass or a cancel changed first: not sent by this pass. */
  skipped: number;
  /** Jobs marked QUEUED whose message could not be sent: returned to READY. */
  returned: number;
}

/** Job slots of the live pilots, by device. */
export function pilotSlots(pilots: readonly Pick<PilotRecord, 'device' | 'slots' | 'state'>[]): DeviceSlots {
  const slots: DeviceSlots = { CPU: 0, GPU: 0 };
  for (const pilot of pilots) if (isOneOf(LIVE_PILOT_STATES, pilot.state)) slots[pilot.device] += pilot.slots;
  return slots;
}

/** Slots taken by jobs queued or running (SLOT_TAKING_JOB_STATES), by the device of their task. */
export function takenSlotsByDevice(tasks: readonly Pick<TaskRecord, 'device' | 'counts'>[]): DeviceSlots {
  const taken: DeviceSlots = { CPU: 0, GPU: 0 };
  for (const task of tasks) {
    for (const state of SLOT_TAKING_JOB_STATES) taken[task.device] += task.counts[state];
  }
  return taken;
}

/**
 * The jobs each device queue may still take: slots plus headroom, less the jobs queued or
 * running. CPU jobs beyond the CPU slots are taken by GPU pilots (their fallback queue), so
 * they occupy GPU slots too.
 */
export function freeSlots(slots: DeviceSlots, inFlight: DeviceSlots, headroomFraction: number): FreeSlots {
  const capacity = (device: Device) => Math.floor(slots[device] * (1 + headroomFraction));
  const cpuOverflow = Math.max(0, inFlight.CPU - capacity('CPU'));
  return {
    CPU: Math.max(0, capacity('CPU') - inFlight.CPU),
    GPU: Math.max(0, capacity('GPU') - inFlight.GPU - cpuOverflow),
  };
}

/** RUNNING tasks with READY jobs, as the scheduler sees them. */
export function schedulableTasks(tasks: readonly TaskRecord[]): SchedulableTask[] {
  return tasks
    .filter((task) => task.state === 'RUNNING' && task.counts.READY > 0)
    .map((task) => ({
      taskId: task.taskId,
      rank: task.rank,
      device: task.device,
      readyJobs: task.counts.READY,
    }));
}

/** The message a pilot receives for one attempt of a job. */
export function jobMessage(
  task: TaskRecord,
  job: JobRecord,
  bucket: string,
  dispatchedAt: string,
): JobMessage {
  const parsed = JobMessage.safeParse({
    type: 'job',
    jobId: job.jobId,
    taskId: job.taskId,
    attempt: job.attempt,
    device: job.device,
    rank: job.rank,
    executable: task.executable,
    args: task.args,
    inputs: job.inputs,
    output: datasetTarget(task.outputDataset, bucket),
    log: datasetTarget(task.logDataset, bucket),
    wallTimeSeconds: task.wallTimeSeconds,
    coresPerJob: task.coresPerJob,
    ...(task.memoryBytes !== undefined && { memoryBytes: task.memoryBytes }),
    dispatchedAt,
  });
  if (!parsed.success) throw ValidationError.fromZod(`job message of ${job.jobId}`, parsed.error);
  return parsed.data;
}

/** Splits message bodies into SendMessageBatch calls: at most 10 entries and 256 KiB each. */
export function sendBatches<T extends { body: string }>(messages: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = Buffer.byteLength(message.body, 'utf8');
    if (current.length > 0 && (current.length === SEND_BATCH_ENTRIES || bytes + size > SEND_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

interface Outgoing {
  task: TaskRecord;
  job: JobRecord;
  queue: Device;
  body: string;
}

/**
 * Pairs the picks, in the plan's interleaved order, with the READY jobs of their tasks whose
 * retry backoff is over, and builds each message. A job whose message does not validate stays
 * READY and is reported.
 */
async function outgoingMessages(
  deps: DispatchDeps,
  picks: readonly DispatchPick[],
  tasks: ReadonlyMap<string, TaskRecord>,
  now: string,
): Promise<Outgoing[]> {
  const wanted = new Map<string, number>();
  for (const pick of picks) wanted.set(pick.taskId, (wanted.get(pick.taskId) ?? 0) + 1);
  const read: ReadyJobReader = (taskId, limit) => deps.repos.jobs.listReady(taskId, limit, { readyBy: now });
  const ready = new Map(
    await Promise.all(
      [...wanted].map(
        async ([taskId, count]) =>
          [
            taskId,
            await (deps.readyJobs ? deps.readyJobs.take(taskId, count, read) : read(taskId, count)),
          ] as const,
      ),
    ),
  );
  const outgoing: Outgoing[] = [];
  for (const pick of picks) {
    const job = ready.get(pick.taskId)?.shift();
    const task = tasks.get(pick.taskId);
    if (!job || !task) continue;
    try {
      outgoing.push({
        task,
        job,
        queue: pick.queue,
        body: JSON.stringify(jobMessage(task, job, deps.settings.dataBucket, now)),
      });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      deps.logger.error('job left READY: its message does not validate', {
        taskId: task.taskId,
        jobId: job.jobId,
        issues: error.issues,
      });
    }
  }
  return outgoing;
}

/**
 * Sends the messages to their device queues, all batches at once (a pass's jobs wait for the
 * slowest batch, not for the sum); returns the jobs whose message was not sent.
 */
async function sendMessages(
  deps: DispatchDeps,
  messages: readonly Outgoing[],
): Promise<{ unsent: Outgoing[]; errors: unknown[] }> {
  const unsent: Outgoing[] = [];
  const errors: unknown[] = [];
  const queueUrl = { CPU: deps.settings.jobsCpuQueueUrl, GPU: deps.settings.jobsGpuQueueUrl };
  const send = async (queue: Device, batch: readonly Outgoing[]) => {
    const entries: SendMessageBatchRequestEntry[] = batch.map((message, index) => ({
      Id: String(index),
      MessageBody: message.body,
    }));
    try {
      const response = await deps.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl[queue], Entries: entries }),
        { abortSignal: deps.signal },
      );
      for (const failed of response.Failed ?? []) {
        const message = batch[Number(failed.Id)];
        if (!message) continue;
        unsent.push(message);
        deps.logger.warn('job message refused by its queue', {
          taskId: message.task.taskId,
          jobId: message.job.jobId,
          code: failed.Code,
          reason: failed.Message,
        });
      }
    } catch (error) {
      unsent.push(...batch);
      errors.push(error);
    }
  };
  await Promise.all(
    (['GPU', 'CPU'] as const).flatMap((queue) =>
      sendBatches(messages.filter((message) => message.queue === queue)).map((batch) => send(queue, batch)),
    ),
  );
  return { unsent, errors };
}

function refOf(job: JobRecord): JobRef {
  return { jobId: job.jobId, taskId: job.taskId, attempt: job.attempt };
}

/**
 * Takes the pass lease, waiting while another pass holds it; undefined when that pass outlasts
 * the wait (or the invocation ends first).
 */
async function takePassLease(deps: DispatchDeps, owner: string) {
  const deadline = Date.now() + DISPATCH_LEASE_WAIT_MS;
  for (;;) {
    const lease = await deps.repos.control.lease(SCHEDULER_STATE_KEY, SchedulerState, {
      owner,
      ttlMs: DISPATCH_LEASE_TTL_MS,
    });
    if (lease.taken) return lease;
    if (Date.now() + LEASE_POLL_MS > deadline || deps.signal?.aborted) {
      deps.logger.warn('another dispatch pass holds the lease; this pass leaves its work to the next', {
        heldBy: lease.heldBy.owner,
        until: new Date(lease.heldBy.until).toISOString(),
      });
      return undefined;
    }
    await sleep(LEASE_POLL_MS);
  }
}

/**
 * Runs one dispatch pass. Passes run one at a time, under a lease on the scheduler state: a
 * pass reads the task counters only after the previous pass has marked its jobs, so two passes
 * never plan from the same free slots. (On AWS the dispatcher's reserved concurrency of 1
 * already serialises invocations; the lease makes it hold wherever passes run.)
 *
 * Jobs are marked QUEUED before their message is sent: a pilot can then never receive a
 * message for a job that is not QUEUED yet, and a job is sent at most once (only one
 * conditional READY → QUEUED wins). A job marked but not sent is returned to READY at once; if
 * the pass dies in between, the watchdog re-queues it after QUEUED_STUCK_AFTER_SECONDS. The
 * scheduler state is saved last, giving up the lease in the same write.
 */
export async function runDispatchPass(deps: DispatchDeps): Promise<DispatchReport> {
  const { repos, logger } = deps;
  const now = (deps.clock ?? (() => new Date()))();
  const livePilots = await Promise.all(
    LIVE_PILOT_STATES.map((state) =>
      listAllPages((cursor) => repos.pilots.listByState(state, { limit: LIST_PAGE_SIZE, cursor })),
    ),
  );
  const slots = pilotSlots(livePilots.flat());
  const report: DispatchReport = {
    outcome: 'no-capacity',
    slots,
    inFlight: { CPU: 0, GPU: 0 },
    free: { CPU: 0, GPU: 0 },
    planned: 0,
    dispatched: 0,
    skipped: 0,
    returned: 0,
  };
  if (slots.CPU + slots.GPU === 0) return report;

  const owner = randomUUID();
  const lease = await takePassLease(deps, owner);
  if (!lease) {
    report.outcome = 'busy';
    return report;
  }
  let released = false;
  try {
    const running = await listAllPages((cursor) =>
      repos.tasks.listByState('RUNNING', { limit: LIST_PAGE_SIZE, cursor }),
    );
    report.inFlight = takenSlotsByDevice(running);
    report.free = freeSlots(slots, report.inFlight, deps.settings.headroomFraction);
    if (report.free.CPU + report.free.GPU === 0) return report;
    const candidates = schedulableTasks(running);
    deps.readyJobs?.retainOnly(new Set(candidates.map((task) => task.taskId)));
    report.outcome = 'nothing-to-dispatch';
    if (candidates.length === 0) return report;

    const plan = planDispatch(lease.stored?.value ?? initialSchedulerState(), candidates, report.free);
    report.planned = plan.picks.length;
    if (plan.picks.length === 0) return report;

    const tasks = new Map(running.map((task) => [task.taskId, task]));
    const outgoing = await outgoingMessages(deps, plan.picks, tasks, now.toISOString());
    const marked = await repos.jobs.markQueued(outgoing.map((message) => refOf(message.job)));
    const applied = new Set(marked.applied.map((job) => job.jobId));
    report.skipped = outgoing.length - applied.size;
    for (const refusal of marked.refused) {
      deps.readyJobs?.forget(refusal.job.taskId);
      logger.info('job not dispatched: it changed since it was read', {
        taskId: refusal.job.taskId,
        jobId: refusal.job.jobId,
        reason: refusal.error.message,
      });
    }

    const toSend = outgoing.filter((message) => applied.has(message.job.jobId));
    const { unsent, errors } = await sendMessages(deps, toSend);
    if (unsent.length > 0) {
      const returned = await repos.jobs.requeue(unsent.map((message) => refOf(message.job)));
      report.returned = returned.applied.length;
    }
    const sent = toSend.filter((message) => !unsent.includes(message));
    report.dispatched = sent.length;
    report.outcome = 'dispatched';
    recordDispatch(deps, sent, now);
    released = await saveSchedulerState(deps, plan.state, lease.stored?.version, owner);
    if (errors.length > 0) {
      throw new AggregateError(
        errors,
        `${unsent.length} job message(s) could not be sent; the jobs are READY again`,
      );
    }
    return report;
  } finally {
    if (!released) await releasePassLease(deps, owner);
  }
}

/**
 * Saves the round-robin cursors and gives up the lease. A pass that outlived its lease (another
 * took it and may have saved newer cursors) keeps what is stored: its jobs went out once each
 * all the same, and the next pass starts from the newer cursors.
 */
async function saveSchedulerState(
  deps: DispatchDeps,
  state: SchedulerState,
  readVersion: number | undefined,
  owner: string,
): Promise<boolean> {
  try {
    await deps.repos.control.put(SCHEDULER_STATE_KEY, state, readVersion, { leaseOwner: owner });
    return true;
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    deps.logger.warn('the dispatch lease was taken over during this pass; its scheduler state is not saved', {
      readVersion,
    });
    return false;
  }
}

async function releasePassLease(deps: DispatchDeps, owner: string): Promise<void> {
  try {
    await deps.repos.control.release(SCHEDULER_STATE_KEY, owner);
  } catch (error) {
    // The lease then expires by itself; the pass's own outcome (or error) matters more.
    deps.logger.error('could not give up the dispatch lease', { error });
  }
}

function recordDispatch(deps: DispatchDeps, sent: readonly Outgoing[], now: Date): void {
  deps.metrics.addMetric('JobsDispatched', MetricUnit.Count, sent.length);
  const perTask = new Map<string, number>();
  for (const { job } of sent) {
    perTask.set(job.taskId, (perTask.get(job.taskId) ?? 0) + 1);
    // The job's last change was its move to READY (creation, retry or re-queue).
    deps.metrics.addMetric(
      'DispatchLatencyMs',
      MetricUnit.Milliseconds,
      now.getTime() - Date.parse(job.updatedAt),
    );
  }
  for (const [taskId, jobs] of perTask) deps.logger.info('jobs dispatched', { taskId, jobs });
}
