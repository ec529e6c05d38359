/**
 * The watchdog's run (design §4.10): pilots whose heartbeat stopped are declared LOST and
 * their jobs retried, jobs whose queue message is gone are re-queued, task ranks age, control
 * queues nobody owns are deleted, and a sample of tasks is audited.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  QueueDoesNotExist,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { PilotControlCommand } from '../../events/index.js';
import { ConditionFailedError, ERRORS, type ErrorEntry } from '../errors/index.js';
import type { Device, PilotRecord, TaskRecord, UnreportedJob } from '../model/index.js';
import { nextRank, type RankParamsInput } from '../rank/index.js';
import { type JobRef, type JobSummary, listAllPages, type Repositories } from '../repositories/index.js';
import { planRetry, type RetryPolicyInput } from '../retry/index.js';
import { isOneOf, LIVE_PILOT_STATES, TERMINAL_TASK_STATES } from '../states/index.js';
import { type ArchivalReport, type ArchivalSettings, runArchival } from './archival.js';
import { type AuditReport, runAudit } from './audit.js';

/** Pages of the listings; a run settles at most one page of LOST and stuck jobs. */
const LIST_PAGE_SIZE = 1000;
/** SendMessageBatch takes at most 10 entries. */
const SEND_BATCH_ENTRIES = 10;
/** Attempts to write a rank when another writer changes the task in between. */
const RANK_WRITE_ATTEMPTS = 3;
/** A pilot's record lists at most this many unreported jobs; more wait for a later run. */
const UNREPORTED_LISTED_MAX = 1024;

/** Time a task has waited without being served: since its last dispatch (or creation) while it has READY jobs. */
export function waitedSeconds(
  task: Pick<TaskRecord, 'counts' | 'lastServedAt' | 'createdAt'>,
  now: Date,
): number {
  if (task.counts.READY === 0) return 0;
  return Math.max(0, (now.getTime() - Date.parse(task.lastServedAt ?? task.createdAt)) / 1000);
}

/**
 * Writes the task's next rank when it differs from the current one, guarded by the task's
 * version; on a concurrent change the task is read again and the rank recomputed. Returns
 * the rank written, or undefined when none was (unchanged, task gone or final, or contended).
 */
export async function updateRank(
  repos: Pick<Repositories, 'tasks'>,
  initial: TaskRecord,
  compute: (task: TaskRecord) => number,
): Promise<number | undefined> {
  let task: TaskRecord | undefined = initial;
  for (let attempt = 1; task && !TERMINAL_TASK_STATES.includes(task.state); attempt += 1) {
    const rank = compute(task);
    if (rank === task.rank) return undefined;
    try {
      await repos.tasks.setRank({ taskId: task.taskId, rank, expectedVersion: task.version });
      return rank;
    } catch (error) {
      if (!(error instanceof ConditionFailedError) || attempt >= RANK_WRITE_ATTEMPTS) throw error;
      task = await repos.tasks.find(task.taskId);
    }
  }
  return undefined;
}

export interface WatchdogSettings {
  pilotLostAfterSeconds: number;
  /** Time a live pilot may go on not reporting one of its RUNNING jobs before the job is retried. */
  jobUnreportedAfterSeconds: number;
  queuedStuckAfterSeconds: number;
  controlQueuePrefix: string;
  jobsCpuQueueUrl: string;
  jobsGpuQueueUrl: string;
  rank: RankParamsInput;
  /** The retry policy (JOB_RETRY_*) status reads too; it retries a LOST attempt at once. */
  retryPolicy: RetryPolicyInput;
  /** Tasks and objects audited per run. */
  auditTasks: number;
  auditObjects: number;
  eventBusName: string;
  /** Archival of finished tasks (shared/services/archival.ts); none when absent. */
  archive?: ArchivalSettings;
}

export interface WatchdogDeps {
  repos: Repositories;
  sqs: SQSClient;
  s3: S3Client;
  settings: WatchdogSettings;
  logger: Logger;
  metrics: Metrics;
  clock?: () => Date;
  random?: () => number;
  /** Fires shortly before the invocation's deadline: the run stops between steps. */
  signal?: AbortSignal;
}

export interface WatchdogReport {
  pilotsLost: string[];
  /** RUNNING jobs of silent pilots marked LOST. */
  jobsLost: number;
  /** RUNNING jobs their live pilot stopped reporting, marked LOST. */
  unreportedJobsLost: number;
  /** Kill commands sent to pilots that heartbeated again after their jobs were given away. */
  killsSent: number;
  lostJobs: { retried: number; failed: number; cancelled: number };
  requeued: number;
  ranksChanged: number;
  controlQueuesDeleted: number;
  archival?: ArchivalReport;
  audit?: AuditReport;
  /** The deadline came before every step ran. */
  stoppedEarly: boolean;
}

function secondsBefore(now: Date, seconds: number): string {
  return new Date(now.getTime() - seconds * 1000).toISOString();
}

async function deleteQueue(deps: WatchdogDeps, queueUrl: string): Promise<boolean> {
  try {
    await deps.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }), { abortSignal: deps.signal });
    return true;
  } catch (error) {
    if (error instanceof QueueDoesNotExist) return false;
    throw error;
  }
}

/** Tells a pilot that came back to kill the jobs it no longer holds. */
async function sendKills(
  deps: WatchdogDeps,
  pilot: PilotRecord,
  jobs: readonly JobRef[],
  now: Date,
): Promise<number> {
  if (pilot.controlQueueUrl === undefined || jobs.length === 0) return 0;
  let sent = 0;
  for (let start = 0; start < jobs.length; start += SEND_BATCH_ENTRIES) {
    const batch = jobs.slice(start, start + SEND_BATCH_ENTRIES);
    const response = await deps.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: pilot.controlQueueUrl,
        Entries: batch.map((job, index) => {
          const command: PilotControlCommand = {
            type: 'job.kill',
            jobId: job.jobId,
            attempt: job.attempt,
            reason: 'lost',
            issuedAt: now.toISOString(),
          };
          return { Id: String(index), MessageBody: JSON.stringify(command) };
        }),
      }),
      { abortSignal: deps.signal },
    );
    sent += response.Successful?.length ?? 0;
  }
  return sent;
}

/**
 * Pilots silent for PILOT_LOST_AFTER_SECONDS: their RUNNING jobs become LOST first, then the
 * pilot (conditional on its heartbeat still being stale), then its control queue is deleted.
 * In this order a run that dies midway leaves the pilot ACTIVE/IDLE and stale, so the next
 * run finds it again and repeats each (idempotent) step. A pilot that heartbeats in between
 * stays live, and is told to kill the jobs it lost.
 */
async function declareSilentPilotsLost(deps: WatchdogDeps, now: Date, report: WatchdogReport): Promise<void> {
  const { repos, logger } = deps;
  const cutoff = secondsBefore(now, deps.settings.pilotLostAfterSeconds);
  for (const state of LIVE_PILOT_STATES) {
    const silent = await listAllPages((cursor) =>
      repos.pilots.listByState(state, { heartbeatBefore: cutoff, limit: LIST_PAGE_SIZE, cursor }),
    );
    for (const pilot of silent) {
      const held = (
        await listAllPages((cursor) =>
          repos.jobs.listByPilot(pilot.pilotId, { limit: LIST_PAGE_SIZE, cursor }),
        )
      )
        .filter((job) => job.state === 'RUNNING')
        .map((job) => ({
          jobId: job.jobId,
          taskId: job.taskId,
          attempt: job.attempt,
          from: 'RUNNING' as const,
          pilotId: pilot.pilotId,
        }));
      const marked = held.length > 0 ? await repos.jobs.markLost(held) : undefined;
      report.jobsLost += marked?.applied.length ?? 0;
      try {
        const change = await repos.pilots.transition({
          pilotId: pilot.pilotId,
          from: state,
          to: 'LOST',
          heartbeatBefore: cutoff,
        });
        if (change.applied) {
          report.pilotsLost.push(pilot.pilotId);
          deps.metrics.addMetric('PilotsLost', MetricUnit.Count, 1);
          logger.warn('pilot lost: no heartbeat', {
            pilotId: pilot.pilotId,
            lastHeartbeatAt: pilot.lastHeartbeatAt,
            jobsLost: marked?.applied.length ?? 0,
          });
        }
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
        const current = await repos.pilots.find(pilot.pilotId);
        if (current && isOneOf(LIVE_PILOT_STATES, current.state)) {
          report.killsSent += await sendKills(deps, current, marked?.applied ?? [], now);
          logger.warn('pilot heartbeated again after its jobs were declared LOST; told to kill them', {
            pilotId: pilot.pilotId,
            jobs: marked?.applied.length ?? 0,
          });
        }
        continue;
      }
      if (pilot.controlQueueUrl !== undefined && (await deleteQueue(deps, pilot.controlQueueUrl))) {
        report.controlQueuesDeleted += 1;
      }
    }
  }
}

/**
 * Checks a live pilot's RUNNING jobs against its last heartbeat. A pilot reports each job it
 * claimed until SQS has accepted the job's result, so a job its heartbeats stop reporting has
 * no result coming (its pilot lost it, or its result was lost); left alone it would stay
 * RUNNING for as long as the pilot lives. A job is unreported when the last heartbeat, though
 * later than the job's last change (its claim or last phase), leaves it out; it stays listed
 * with the first such heartbeat, and is `lost` once unreported for `unreportedAfterSeconds`
 * (time for a result SQS had accepted to be applied). A report or a change of the job ends
 * its listing. A pilot that has not reported its jobs yet is not judged.
 */
export function reconcileReportedJobs(
  pilot: Pick<PilotRecord, 'lastHeartbeatAt' | 'reportedJobs' | 'unreportedJobs'>,
  held: readonly JobSummary[],
  unreportedAfterSeconds: number,
): { lost: JobSummary[]; unreported: UnreportedJob[] } {
  const result = { lost: [] as JobSummary[], unreported: [] as UnreportedJob[] };
  if (pilot.reportedJobs === undefined) return result;
  const key = (job: { jobId: string; attempt: number }) => `${job.jobId}:${job.attempt}`;
  const reported = new Set(pilot.reportedJobs.map(key));
  const listedSince = new Map((pilot.unreportedJobs ?? []).map((job) => [key(job), job.since]));
  const reportedAt = Date.parse(pilot.lastHeartbeatAt);
  for (const job of held) {
    if (job.state !== 'RUNNING' || reported.has(key(job))) continue;
    if (Date.parse(job.updatedAt) >= reportedAt) continue;
    const since = listedSince.get(key(job)) ?? pilot.lastHeartbeatAt;
    if (reportedAt - Date.parse(since) >= unreportedAfterSeconds * 1000) result.lost.push(job);
    else if (result.unreported.length < UNREPORTED_LISTED_MAX)
      result.unreported.push({ jobId: job.jobId, attempt: job.attempt, since });
  }
  return result;
}

/**
 * Live pilots' RUNNING jobs left unreported too long (reconcileReportedJobs) become LOST, and
 * are then settled like any LOST job; the others stay listed on the pilot. The pilot is told
 * to kill the lost ones, in case it runs one after all: its result would be refused.
 */
async function declareUnreportedJobsLost(
  deps: WatchdogDeps,
  now: Date,
  report: WatchdogReport,
): Promise<void> {
  const { repos, logger } = deps;
  for (const state of LIVE_PILOT_STATES) {
    const pilots = await listAllPages((cursor) =>
      repos.pilots.listByState(state, { limit: LIST_PAGE_SIZE, cursor }),
    );
    for (const pilot of pilots) {
      if (pilot.reportedJobs === undefined) continue;
      const held = await listAllPages((cursor) =>
        repos.jobs.listByPilot(pilot.pilotId, { limit: LIST_PAGE_SIZE, cursor }),
      );
      const { lost, unreported } = reconcileReportedJobs(
        pilot,
        held,
        deps.settings.jobUnreportedAfterSeconds,
      );
      if (JSON.stringify(unreported) !== JSON.stringify(pilot.unreportedJobs ?? [])) {
        await repos.pilots.setUnreportedJobs(pilot.pilotId, unreported);
      }
      if (lost.length === 0) continue;
      const marked = await repos.jobs.markLost(
        lost.map((job) => ({
          jobId: job.jobId,
          taskId: job.taskId,
          attempt: job.attempt,
          from: 'RUNNING' as const,
          pilotId: pilot.pilotId,
        })),
      );
      if (marked.applied.length === 0) continue;
      // Settled now, so the retry records why; a run cut short here leaves them to settleLostJobs.
      await settleLost(deps, marked.applied, ERRORS.LOST_UNREPORTED, report);
      report.unreportedJobsLost += marked.applied.length;
      deps.metrics.addMetric('UnreportedJobsLost', MetricUnit.Count, marked.applied.length);
      report.killsSent += await sendKills(deps, pilot, marked.applied, now);
      logger.warn('RUNNING jobs their live pilot stopped reporting: declared LOST', {
        pilotId: pilot.pilotId,
        lastHeartbeatAt: pilot.lastHeartbeatAt,
        jobs: marked.applied.map((job) => `${job.jobId}:${job.attempt}`),
      });
    }
  }
}

/** LOST jobs: retried (attempt + 1) while the task allows, FAILED past that, CANCELLED in a final task. */
async function settleLostJobs(deps: WatchdogDeps, report: WatchdogReport): Promise<void> {
  const lost = (await deps.repos.jobs.listInFlight('LOST', { limit: LIST_PAGE_SIZE })).items;
  await settleLost(deps, lost, ERRORS.LOST_HEARTBEAT, report);
}

/** Settles these LOST jobs, recording `cause` on each retried or failed one. */
async function settleLost(
  deps: WatchdogDeps,
  lost: readonly JobRef[],
  cause: ErrorEntry,
  report: WatchdogReport,
): Promise<void> {
  const { repos, logger } = deps;
  const tasks = new Map<string, TaskRecord | undefined>();
  for (const job of lost) {
    if (!tasks.has(job.taskId)) tasks.set(job.taskId, await repos.tasks.find(job.taskId));
    const task = tasks.get(job.taskId);
    const ref = { jobId: job.jobId, taskId: job.taskId, attempt: job.attempt, from: 'LOST' as const };
    const log = { taskId: job.taskId, jobId: job.jobId, attempt: job.attempt };
    if (!task) {
      logger.error('LOST job of a task that does not exist: left as it is', log);
      continue;
    }
    try {
      if (TERMINAL_TASK_STATES.includes(task.state)) {
        report.lostJobs.cancelled += (await repos.jobs.cancel([ref])).applied.length;
        continue;
      }
      const failure = {
        ...ref,
        errorCode: cause.code,
        errorMessage: cause.message,
      };
      const decision = planRetry({
        errorCode: failure.errorCode,
        attempt: job.attempt,
        maxRetries: task.maxRetries,
        policy: deps.settings.retryPolicy,
        now: deps.clock?.() ?? new Date(),
        ...(deps.random ? { random: deps.random } : {}),
      });
      if (decision.action === 'retry') {
        if (await repos.jobs.retry({ ...failure, retryAfter: decision.retryAfter }))
          report.lostJobs.retried += 1;
        logger.info('lost job retried', {
          ...log,
          nextAttempt: decision.nextAttempt,
          retryAfter: decision.retryAfter,
        });
      } else {
        if (await repos.jobs.fail(failure)) {
          report.lostJobs.failed += 1;
          deps.metrics.addMetric('JobsFailed', MetricUnit.Count, 1);
        }
        logger.warn('lost job failed', { ...log, reason: decision.reason });
      }
    } catch (error) {
      // The index lags the table: the job moved on since it was listed.
      if (!(error instanceof ConditionFailedError)) throw error;
      logger.info('lost job already moved on', { ...log, reason: error.message });
    }
  }
}

async function messagesIn(deps: WatchdogDeps, queueUrl: string): Promise<number> {
  const response = await deps.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
    { abortSignal: deps.signal },
  );
  const attributes = response.Attributes ?? {};
  return (
    Number(attributes.ApproximateNumberOfMessages ?? 0) +
    Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/**
 * How many of the QUEUED jobs of each device queue have no message in it: jobs queued beyond
 * the free slots wait in their queue as long as a slot takes to free, so age alone does not
 * make a job stuck; a queue holding fewer messages than it has QUEUED jobs does.
 */
export function missingMessages(
  queued: Record<Device, number>,
  messages: Record<Device, number>,
): Record<Device, number> {
  return { CPU: Math.max(0, queued.CPU - messages.CPU), GPU: Math.max(0, queued.GPU - messages.GPU) };
}

/**
 * QUEUED jobs older than QUEUED_STUCK_AFTER_SECONDS, as many per device as its queue lacks
 * messages, oldest first, go back to READY at the same attempt (QUEUED → READY). A message
 * that still turns up is harmless: its claim needs the job QUEUED at that attempt, and only
 * one claim of an attempt wins.
 */
async function requeueStuckJobs(
  deps: WatchdogDeps,
  now: Date,
  running: readonly TaskRecord[],
  report: WatchdogReport,
): Promise<void> {
  const cutoff = secondsBefore(now, deps.settings.queuedStuckAfterSeconds);
  const stale = (
    await deps.repos.jobs.listInFlight('QUEUED', { updatedBefore: cutoff, limit: LIST_PAGE_SIZE })
  ).items;
  if (stale.length === 0) return;
  const deviceOf = new Map(running.map((task) => [task.taskId, task.device]));
  const queued = { CPU: 0, GPU: 0 };
  for (const task of running) queued[task.device] += task.counts.QUEUED;
  const missing = missingMessages(queued, {
    CPU: await messagesIn(deps, deps.settings.jobsCpuQueueUrl),
    GPU: await messagesIn(deps, deps.settings.jobsGpuQueueUrl),
  });
  const chosen: JobSummary[] = [];
  for (const job of stale) {
    const device = deviceOf.get(job.taskId);
    if (device === undefined || missing[device] === 0) continue;
    missing[device] -= 1;
    chosen.push(job);
  }
  if (chosen.length === 0) return;
  const result = await deps.repos.jobs.requeue(
    chosen.map((job) => ({ jobId: job.jobId, taskId: job.taskId, attempt: job.attempt })),
  );
  report.requeued = result.applied.length;
  for (const job of result.applied)
    deps.logger.warn('stuck QUEUED job re-queued', { taskId: job.taskId, jobId: job.jobId });
}

/** Ages the rank of every RUNNING task: it grows while READY jobs wait and decays back once served. */
async function ageRanks(
  deps: WatchdogDeps,
  now: Date,
  running: readonly TaskRecord[],
  report: WatchdogReport,
): Promise<void> {
  for (const task of running) {
    const compute = (current: TaskRecord) =>
      nextRank(
        {
          baseRank: current.baseRank,
          rank: current.rank,
          waitedSeconds: waitedSeconds(current, now),
          retryJobs: 0,
        },
        deps.settings.rank,
      );
    try {
      const rank = await updateRank(deps.repos, task, compute);
      if (rank === undefined) continue;
      report.ranksChanged += 1;
      deps.logger.info('task rank aged', { taskId: task.taskId, from: task.rank, to: rank });
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      deps.logger.info('task rank left for the next run: the task kept changing', { taskId: task.taskId });
    }
  }
}

function queueName(queueUrl: string): string {
  return queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
}

/**
 * Control queues that no live pilot owns (its pilot exited or was lost, and the queue's
 * deletion did not happen). A queue younger than PILOT_LOST_AFTER_SECONDS is left alone: the
 * registration creating it may not have written its pilot yet.
 */
async function deleteOrphanControlQueues(
  deps: WatchdogDeps,
  now: Date,
  report: WatchdogReport,
): Promise<void> {
  const queues: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.sqs.send(
      new ListQueuesCommand({
        QueueNamePrefix: deps.settings.controlQueuePrefix,
        MaxResults: LIST_PAGE_SIZE,
        NextToken: nextToken,
      }),
      { abortSignal: deps.signal },
    );
    queues.push(...(page.QueueUrls ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  if (queues.length === 0) return;
  const owned = new Set<string>();
  for (const state of LIVE_PILOT_STATES) {
    for (const pilot of await listAllPages((cursor) =>
      deps.repos.pilots.listByState(state, { limit: LIST_PAGE_SIZE, cursor }),
    )) {
      if (pilot.controlQueueUrl !== undefined) owned.add(queueName(pilot.controlQueueUrl));
    }
  }
  const graceStart = now.getTime() / 1000 - deps.settings.pilotLostAfterSeconds;
  for (const queueUrl of queues) {
    if (owned.has(queueName(queueUrl))) continue;
    try {
      const attributes = await deps.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['CreatedTimestamp'] }),
        { abortSignal: deps.signal },
      );
      if (Number(attributes.Attributes?.CreatedTimestamp ?? now.getTime() / 1000) > graceStart) continue;
    } catch (error) {
      if (error instanceof QueueDoesNotExist) continue;
      throw error;
    }
    if (await deleteQueue(deps, queueUrl)) {
      report.controlQueuesDeleted += 1;
      deps.logger.info('orphan pilot control queue deleted', { queue: queueName(queueUrl) });
    }
  }
}

/** One watchdog run; each step is idempotent, so a run cut short is completed by the next. */
export async function runWatchdog(deps: WatchdogDeps): Promise<WatchdogReport> {
  const now = (deps.clock ?? (() => new Date()))();
  const report: WatchdogReport = {
    pilotsLost: [],
    jobsLost: 0,
    unreportedJobsLost: 0,
    killsSent: 0,
    lostJobs: { retried: 0, failed: 0, cancelled: 0 },
    requeued: 0,
    ranksChanged: 0,
    controlQueuesDeleted: 0,
    stoppedEarly: false,
  };
  const stop = () => {
    report.stoppedEarly = deps.signal?.aborted ?? false;
    return report.stoppedEarly;
  };
  await declareSilentPilotsLost(deps, now, report);
  if (stop()) return report;
  await declareUnreportedJobsLost(deps, now, report);
  if (stop()) return report;
  await settleLostJobs(deps, report);
  if (stop()) return report;
  const running = await listAllPages((cursor) =>
    deps.repos.tasks.listByState('RUNNING', { limit: LIST_PAGE_SIZE, cursor }),
  );
  await requeueStuckJobs(deps, now, running, report);
  if (stop()) return report;
  await ageRanks(deps, now, running, report);
  if (stop()) return report;
  await deleteOrphanControlQueues(deps, now, report);
  if (stop()) return report;
  if (deps.settings.archive !== undefined) {
    report.archival = await runArchival({
      repos: deps.repos,
      store: {
        s3: deps.s3,
        bucket: deps.settings.archive.dataBucket,
        ...(deps.signal ? { signal: deps.signal } : {}),
      },
      settings: deps.settings.archive,
      logger: deps.logger,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
  }
  if (stop() || deps.settings.auditTasks === 0) return report;
  report.audit = await runAudit(
    {
      repos: deps.repos,
      s3: deps.s3,
      logger: deps.logger,
      eventBusName: deps.settings.eventBusName,
      ...(deps.settings.archive ? { dataBucket: deps.settings.archive.dataBucket } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.random ? { random: deps.random } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
    },
    {
      repair: true,
      candidates: running,
      maxTasks: deps.settings.auditTasks,
      maxObjects: deps.settings.auditObjects,
      pilotSettleSeconds: deps.settings.pilotLostAfterSeconds,
    },
  );
  return report;
}
