/** "Why is this job not running?": gathers what surrounds a job and asks shared/explain. */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { JobWaiting } from '../../events/index.js';
import { analyzeTask, explainWaiting, type TaskAnalysis } from '../explain/index.js';
import type { Device, JobRecord, PilotRecord, TaskRecord } from '../model/index.js';
import type { Page, PageRequest, Repositories } from '../repositories/index.js';
import { isOneOf, LIVE_PILOT_STATES, WAITING_JOB_STATES } from '../states/index.js';
import type { ArchiveStore } from './archive-store.js';
import { archivedJobs } from './archived-reads.js';

export interface ExplainServiceDeps {
  repos: Pick<Repositories, 'tasks' | 'pilots'> & Partial<Pick<Repositories, 'jobs'>>;
  sqs: SQSClient;
  /** The device queues the dispatcher fills. */
  deviceQueueUrls: Readonly<Record<Device, string>>;
  /** Where an archived task's export is read; its jobs are analysed from it. */
  archive?: ArchiveStore;
  clock?: () => Date;
}

const LIST_PAGE_SIZE = 1000;

async function everyItem<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ limit: LIST_PAGE_SIZE, cursor });
    items.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return items;
}

/** GPU pilots fall back to CPU jobs, so a CPU job can run on any pilot. */
function serves(pilot: PilotRecord, device: Device): boolean {
  return device === 'CPU' || pilot.device === 'GPU';
}

async function activePilotsFor(deps: ExplainServiceDeps, device: Device): Promise<number> {
  const [active, idle] = await Promise.all(
    LIVE_PILOT_STATES.map((state) => everyItem((page) => deps.repos.pilots.listByState(state, page))),
  );
  return [...(active ?? []), ...(idle ?? [])].filter((pilot) => serves(pilot, device)).length;
}

async function queueDepth(deps: ExplainServiceDeps, device: Device): Promise<number> {
  const response = await deps.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: deps.deviceQueueUrls[device],
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  return Number(response.Attributes?.ApproximateNumberOfMessages ?? 0);
}

async function higherRankedTasks(deps: ExplainServiceDeps, task: TaskRecord): Promise<number> {
  const running = await everyItem((page) => deps.repos.tasks.listByState('RUNNING', page));
  return running.filter(
    (other) =>
      other.taskId !== task.taskId &&
      other.device === task.device &&
      other.counts.READY > 0 &&
      other.rank > task.rank,
  ).length;
}

/**
 * Why `job` is not running, or undefined when it does not wait. Reads its task, the live
 * pilots, and — only where the answer depends on them — the depth of its device queue (a
 * QUEUED job) or the competing RUNNING tasks (a READY job).
 */
export async function explainJob(deps: ExplainServiceDeps, job: JobRecord): Promise<JobWaiting | undefined> {
  if (!isOneOf(WAITING_JOB_STATES, job.state)) return undefined;
  const task = await deps.repos.tasks.get(job.taskId);
  const [activePilotsForDevice, depth, competing] = await Promise.all([
    activePilotsFor(deps, job.device),
    job.state === 'QUEUED' ? queueDepth(deps, job.device) : 0,
    job.state === 'READY' && task.state === 'RUNNING' ? higherRankedTasks(deps, task) : 0,
  ]);
  return explainWaiting(job, task, {
    now: (deps.clock?.() ?? new Date()).toISOString(),
    activePilotsForDevice,
    queueDepth: depth,
    higherRankedTasks: competing,
  });
}

/** Jobs a task analysis reads at most (in pages); a larger task is analysed on its first ones. */
export const ANALYSIS_MAX_JOBS = 10_000;
/** Pilots whose host an analysis looks up at most. */
const ANALYSIS_MAX_PILOTS = 100;

export interface TaskAnalysisResult extends TaskAnalysis {
  taskId: string;
  state: TaskRecord['state'];
  /** True when the task has more jobs than ANALYSIS_MAX_JOBS: the counts are of the first ones. */
  truncated: boolean;
}

/**
 * `wms analyze <task>`: the task's jobs (paged, bounded), what surrounds them read once (live
 * pilots of its device, its queue's depth, higher-ranked tasks), the hosts of the pilots
 * involved, and shared/explain's analysis of them.
 */
export async function explainTask(
  deps: ExplainServiceDeps & { repos: Pick<Repositories, 'jobs'> },
  taskId: string,
): Promise<TaskAnalysisResult> {
  const task = await deps.repos.tasks.get(taskId);
  const jobs: JobRecord[] = [];
  let more = false;
  if (task.archive !== undefined && deps.archive !== undefined) {
    const archived = await archivedJobs(deps.archive, task, ANALYSIS_MAX_JOBS);
    jobs.push(...archived.jobs);
    more = archived.truncated;
  } else {
    let cursor: string | undefined;
    do {
      const page = await deps.repos.jobs.listByTask(taskId, { limit: LIST_PAGE_SIZE, cursor });
      jobs.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined && jobs.length < ANALYSIS_MAX_JOBS);
    more = cursor !== undefined;
  }
  const analysed = jobs.slice(0, ANALYSIS_MAX_JOBS);
  const [activePilotsForDevice, depth, competing] = await Promise.all([
    activePilotsFor(deps, task.device),
    queueDepth(deps, task.device),
    task.state === 'RUNNING' ? higherRankedTasks(deps, task) : 0,
  ]);
  const pilotIds = [...new Set(analysed.flatMap((job) => (job.pilotId === undefined ? [] : [job.pilotId])))];
  const hosts = new Map<string, string>();
  for (const pilotId of pilotIds.slice(0, ANALYSIS_MAX_PILOTS)) {
    const pilot = await deps.repos.pilots.find(pilotId);
    if (pilot) hosts.set(pilotId, pilot.host);
  }
  const analysis = analyzeTask(
    task,
    analysed,
    {
      now: (deps.clock?.() ?? new Date()).toISOString(),
      activePilotsForDevice,
      queueDepth: depth,
      higherRankedTasks: competing,
    },
    hosts,
  );
  return {
    taskId,
    state: task.state,
    truncated: more || jobs.length > ANALYSIS_MAX_JOBS,
    ...analysis,
  };
}
