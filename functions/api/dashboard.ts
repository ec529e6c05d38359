/**
 * GET /dashboard/summary: active tasks, live pilots and dead-letter depths, read in one call;
 * GET /dashboard/history: jobs finished per minute, kept on the server so a reload shows them.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DASHBOARD_LIMITS, type DashboardHistory, type DashboardSummary } from '../../events/index.js';
import type { ThroughputHistoryKind } from '../../shared/config/index.js';
import type { TaskState } from '../../shared/model/index.js';
import type { Repositories } from '../../shared/repositories/index.js';
import {
  isOneOf,
  LIVE_PILOT_STATES,
  STARTED_TASK_STATES,
  UNFINISHED_TASK_STATES,
} from '../../shared/states/index.js';
import type { ThroughputHistory } from '../../shared/throughput/index.js';
import { type DeadLetterQueues, deadLetterDepths } from './dead-letters.js';
import { type PageSource, pageAcross } from './paging.js';
import { pilotViewOf, taskSummaryOf } from './views.js';

/** The unfinished tasks, the started ones first: they are what an operator watches. */
const WATCHED_TASK_STATES: readonly TaskState[] = [
  ...STARTED_TASK_STATES,
  ...UNFINISHED_TASK_STATES.filter((state) => !isOneOf(STARTED_TASK_STATES, state)),
];

export interface DashboardDeps {
  repos: Repositories;
  sqs: SQSClient;
  deadLetterQueues: DeadLetterQueues;
  clock?: () => Date;
}

/** One more than shown: a page fills across states, so an extra item is how "more" shows. */
async function firstOf<T>(sources: readonly PageSource<T>[], limit: number) {
  const { items } = await pageAcross(sources, limit + 1, undefined);
  return { items: items.slice(0, limit), truncated: items.length > limit };
}

export async function dashboardSummary(deps: DashboardDeps): Promise<DashboardSummary> {
  const { repos } = deps;
  const [tasks, pilots, deadLetters] = await Promise.all([
    firstOf(
      WATCHED_TASK_STATES.map((state) => (page) => repos.tasks.listByState(state, page)),
      DASHBOARD_LIMITS.tasks,
    ),
    firstOf(
      LIVE_PILOT_STATES.map((state) => (page) => repos.pilots.listByState(state, page)),
      DASHBOARD_LIMITS.pilots,
    ),
    deadLetterDepths(deps.sqs, deps.deadLetterQueues),
  ]);
  return {
    generatedAt: (deps.clock ?? (() => new Date()))().toISOString(),
    tasks: tasks.items.map(taskSummaryOf),
    tasksTruncated: tasks.truncated,
    pilots: pilots.items.map(pilotViewOf),
    pilotsTruncated: pilots.truncated,
    deadLetters,
  };
}

export interface DashboardHistoryDeps {
  throughput: ThroughputHistory;
  source: ThroughputHistoryKind;
  clock?: () => Date;
}

export async function dashboardHistory(
  deps: DashboardHistoryDeps,
  minutes: number,
): Promise<DashboardHistory> {
  const now = (deps.clock ?? (() => new Date()))();
  return {
    generatedAt: now.toISOString(),
    source: deps.source,
    points: await deps.throughput.recent(minutes, now),
  };
}
