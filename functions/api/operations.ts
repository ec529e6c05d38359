/** What each route does, by operationId: its request schemas and a call into the services. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { z } from 'zod';
import {
  AuditRequest,
  buildOpenApiDocument,
  CancelTaskRequest,
  ClaimRequest,
  DashboardHistoryQuery,
  DeadLetterMessagesQuery,
  EVENT_SOURCES,
  FileListQuery,
  JobListQuery,
  JobLogQuery,
  JobQuery,
  PilotHeartbeat,
  PilotListQuery,
  PilotRegistration,
  PurgeRequest,
  RankUpdateRequest,
  RedriveRequest,
  RegisterTaskRequest,
  TaskListQuery,
} from '../../events/index.js';
import { NotFoundError, PilotIdentityMismatchError, ValidationError } from '../../shared/errors/index.js';
import type { CallerIdentity } from '../../shared/identity/index.js';
import { datasetUidFor } from '../../shared/ids/index.js';
import { PILOT_STATES, TASK_STATES, type TaskRecord } from '../../shared/model/index.js';
import type { Repositories } from '../../shared/repositories/index.js';
import {
  type ArchiveStore,
  archivedFilesPage,
  archivedJob,
  archivedJobsPage,
  attemptLogs,
  attemptLogsOf,
  cancelContinuationEntry,
  cancelTask,
  claimJob,
  commandPilot,
  type ExplainServiceDeps,
  explainJob,
  explainTask,
  holdTask,
  type OperatorDeps,
  type PilotServiceDeps,
  readJobLog,
  recordHeartbeat,
  registerPilot,
  registerTask,
  releaseTask,
  retryFailedJobs,
  retryJob,
  runAudit,
  setTaskRank,
  type TaskServiceDeps,
} from '../../shared/services/index.js';
import type { ThroughputHistory } from '../../shared/throughput/index.js';
import { publishEvents } from '../common/index.js';
import type { ApiConfig } from './config.js';
import { dashboardHistory, dashboardSummary } from './dashboard.js';
import { DASHBOARD_HEADERS, DASHBOARD_HTML } from './dashboard-page.js';
import {
  listDeadLetterQueues,
  purgeDeadLetters,
  redriveDeadLetters,
  showDeadLetters,
} from './dead-letters.js';
import { type PageSource, pageAcross } from './paging.js';
import { pilotViewOf, taskSummaryOf, taskViewOf } from './views.js';

export interface ApiDeps {
  repos: Repositories;
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
  /** Read by the audit: registered outputs and logs exist in storage. */
  s3: S3Client;
  config: ApiConfig;
  logger: Logger;
  /** The jobs finished per minute, where `config.THROUGHPUT_HISTORY` keeps them. */
  throughput: ThroughputHistory;
  clock?: () => Date;
}

/** Per request: its id, the time left, and the base URL the caller used. */
export interface Invocation {
  requestId: string;
  /** True once too little of the Lambda's time is left to start another page of work. */
  pastDeadline: () => boolean;
  serverUrl: string | undefined;
}

export interface OperationRequest<Query, Body> {
  params: Readonly<Record<string, string>>;
  query: Query;
  body: Body;
  /** The principal API Gateway verified; undefined for an unsigned request. */
  caller: CallerIdentity | undefined;
}

/** `status` defaults to the route's one success status in ROUTE_CONTRACTS. */
export interface OperationResult {
  status?: 200 | 201;
  body: unknown;
  /** For a page (an `html` response): its own content type and policies. */
  headers?: Readonly<Record<string, string>>;
}

export interface Operation<Query = undefined, Body = undefined> {
  query?: z.ZodType<Query>;
  body?: z.ZodType<Body>;
  // Method syntax: operations with different schemas share one table.
  run(
    request: OperationRequest<Query, Body>,
    deps: ApiDeps,
    invocation: Invocation,
  ): Promise<OperationResult>;
}

function operation<Query = undefined, Body = undefined>(
  spec: Operation<Query, Body>,
): Operation<unknown, unknown> {
  return spec as Operation<unknown, unknown>;
}

function taskDeps(deps: ApiDeps): TaskServiceDeps {
  return {
    repos: deps.repos,
    sqs: deps.sqs,
    jobGenerationQueueUrl: deps.config.JOB_GENERATION_QUEUE_URL,
    logger: deps.logger,
    counterShards: deps.config.TASK_COUNTER_SHARDS,
    clock: deps.clock,
  };
}

function pilotDeps(deps: ApiDeps): PilotServiceDeps {
  return {
    repos: deps.repos,
    sqs: deps.sqs,
    controlQueuePrefix: deps.config.PILOT_CONTROL_QUEUE_PREFIX,
    controlDeadLetterArn: deps.config.PILOT_CONTROL_DEAD_LETTER_ARN,
    heartbeatIntervalSeconds: deps.config.HEARTBEAT_INTERVAL_SECONDS,
    logger: deps.logger,
    clock: deps.clock,
  };
}

/** Where archived tasks' exports are read from. */
function archiveStore(deps: ApiDeps): ArchiveStore {
  return { s3: deps.s3, bucket: deps.config.DATA_BUCKET };
}

function explainDeps(deps: ApiDeps): ExplainServiceDeps & { repos: Repositories } {
  return {
    repos: deps.repos,
    sqs: deps.sqs,
    deviceQueueUrls: { CPU: deps.config.JOBS_CPU_QUEUE_URL, GPU: deps.config.JOBS_GPU_QUEUE_URL },
    archive: archiveStore(deps),
    clock: deps.clock,
  };
}

/** The caller a pilot route acts as: every pilot route is signed, and an unsigned one acts for nobody. */
function pilotCaller(request: OperationRequest<unknown, unknown>, pilotId: string): CallerIdentity {
  if (request.caller === undefined) throw new PilotIdentityMismatchError(pilotId);
  return request.caller;
}

function operatorDeps(deps: ApiDeps): OperatorDeps {
  return {
    repos: deps.repos,
    sqs: deps.sqs,
    s3: deps.s3,
    archive: archiveStore(deps),
    ...(deps.clock ? { clock: deps.clock } : {}),
  };
}

function param(request: OperationRequest<unknown, unknown>, name: string): string {
  const value = request.params[name];
  if (value === undefined) throw new Error(`route has no path parameter ${name}`);
  return value;
}

async function datasetsOf(repos: Repositories, task: TaskRecord) {
  const [input, output, log] = await Promise.all([
    repos.datasets.find(task.inputDatasetUid),
    repos.datasets.find(datasetUidFor(task.outputDataset)),
    repos.datasets.find(datasetUidFor(task.logDataset)),
  ]);
  return { input, output, log };
}

export const OPERATIONS: Readonly<Record<string, Operation<unknown, unknown>>> = {
  registerTask: operation({
    body: RegisterTaskRequest,
    async run({ body }, deps) {
      const { task, created } = await registerTask(taskDeps(deps), body);
      return { status: created ? 201 : 200, body: { taskId: task.taskId, state: task.state, created } };
    },
  }),

  listTasks: operation({
    query: TaskListQuery,
    async run({ query }, deps) {
      const states = query.state === undefined ? TASK_STATES : [query.state];
      const sources = states.map(
        (state): PageSource<TaskRecord> =>
          (page) =>
            deps.repos.tasks.listByState(state, page),
      );
      const page = await pageAcross(sources, query.limit, query.nextToken);
      return { body: { ...page, items: page.items.map(taskSummaryOf) } };
    },
  }),

  getTask: operation({
    async run(request, deps) {
      const task = await deps.repos.tasks.get(param(request, 'taskId'));
      return { body: taskViewOf(task, await datasetsOf(deps.repos, task)) };
    },
  }),

  cancelTask: operation({
    body: CancelTaskRequest,
    async run(request, deps, invocation) {
      const taskId = param(request, 'taskId');
      const result = await cancelTask(taskDeps(deps), taskId, request.body.reason, {
        pastDeadline: invocation.pastDeadline,
      });
      if (!result.complete) {
        // The consumer of task commands finishes the sweep.
        const entry = cancelContinuationEntry(
          deps.config.EVENT_BUS_NAME,
          taskId,
          request.body.reason,
          EVENT_SOURCES.wms,
        );
        await publishEvents(deps.eventBridge, [entry]);
        deps.logger.info('task cancellation continues in the task-commands consumer', { taskId });
      }
      return { body: taskSummaryOf(await deps.repos.tasks.get(taskId)) };
    },
  }),

  setTaskRank: operation({
    body: RankUpdateRequest,
    async run(request, deps) {
      const { task } = await setTaskRank(taskDeps(deps), param(request, 'taskId'), request.body.rank);
      return { body: taskSummaryOf(task) };
    },
  }),

  listTaskJobs: operation({
    query: JobListQuery,
    async run(request, deps) {
      const task = await deps.repos.tasks.get(param(request, 'taskId'));
      const { state, limit, nextToken } = request.query;
      const filter = state === undefined ? {} : { state };
      const page = await pageAcross(
        [
          task.archive === undefined
            ? (page) => deps.repos.jobs.listByTask(task.taskId, { ...page, ...filter })
            : (page) => archivedJobsPage(archiveStore(deps), task, { ...page, ...filter }),
        ],
        limit,
        nextToken,
      );
      return { body: page };
    },
  }),

  listTaskFiles: operation({
    query: FileListQuery,
    async run(request, deps) {
      const task = await deps.repos.tasks.get(param(request, 'taskId'));
      const uids = {
        input: task.inputDatasetUid,
        output: datasetUidFor(task.outputDataset),
        log: datasetUidFor(task.logDataset),
      };
      const { kind, limit, nextToken } = request.query;
      const listed = kind === undefined ? [uids.output, uids.log] : [uids[kind]];
      // An archived task's outputs and logs are read from its export; inputs are the DSM's dataset's.
      const fromExport = (uid: string) => task.archive !== undefined && uid !== uids.input;
      const page = await pageAcross(
        listed.map((uid) =>
          fromExport(uid)
            ? (page) => archivedFilesPage(archiveStore(deps), task, uid, page)
            : (page) => deps.repos.files.list(uid, page),
        ),
        limit,
        nextToken,
      );
      return { body: page };
    },
  }),

  getJob: operation({
    query: JobQuery,
    async run(request, deps) {
      const jobId = param(request, 'jobId');
      const named = request.query.taskId;
      const found = await deps.repos.jobs.find(jobId);
      const taskId = found?.taskId ?? named;
      if (taskId === undefined || (named !== undefined && taskId !== named))
        throw new NotFoundError('job', jobId);
      const task = await deps.repos.tasks.find(taskId);
      if (task?.archive !== undefined) {
        // Its task's export is the job's record now, whether or not its item has expired yet.
        const archived = await archivedJob(archiveStore(deps), task, jobId, datasetUidFor(task.logDataset));
        if (archived.job === undefined) throw new NotFoundError('job', jobId);
        return { body: { ...archived.job, logs: attemptLogsOf(archived.job, archived.files) } };
      }
      if (found === undefined) throw new NotFoundError('job', jobId);
      const live = found;
      const [waiting, logs] = await Promise.all([
        explainJob(explainDeps(deps), live),
        attemptLogs(deps, live),
      ]);
      return { body: { ...live, ...(waiting === undefined ? {} : { waiting }), logs } };
    },
  }),

  getDataset: operation({
    async run(request, deps) {
      return { body: await deps.repos.datasets.get(param(request, 'datasetUid')) };
    },
  }),

  listPilots: operation({
    query: PilotListQuery,
    async run({ query }, deps) {
      const states = query.state === undefined ? PILOT_STATES : [query.state];
      const page = await pageAcross(
        states.map((state) => (page) => deps.repos.pilots.listByState(state, page)),
        query.limit,
        query.nextToken,
      );
      return { body: { ...page, items: page.items.map(pilotViewOf) } };
    },
  }),

  registerPilot: operation({
    body: PilotRegistration,
    async run(request, deps) {
      const { body } = request;
      return { body: await registerPilot(pilotDeps(deps), body, pilotCaller(request, body.pilotId)) };
    },
  }),

  pilotHeartbeat: operation({
    body: PilotHeartbeat,
    async run(request, deps) {
      if (request.body.pilotId !== param(request, 'pilotId')) {
        throw new ValidationError('invalid body', [
          { path: 'pilotId', message: 'must be the pilot of the path' },
        ]);
      }
      return {
        body: await recordHeartbeat(
          pilotDeps(deps),
          request.body,
          pilotCaller(request, request.body.pilotId),
        ),
      };
    },
  }),

  claimJob: operation({
    body: ClaimRequest,
    async run(request, deps) {
      const caller = pilotCaller(request, request.body.pilotId);
      return { body: await claimJob(pilotDeps(deps), param(request, 'jobId'), request.body, caller) };
    },
  }),

  getOpenApi: operation({
    async run(_request, _deps, invocation) {
      return { body: buildOpenApiDocument(invocation.serverUrl) };
    },
  }),

  runAudit: operation({
    body: AuditRequest,
    async run({ body }, deps) {
      const { events, ...report } = await runAudit(
        {
          repos: deps.repos,
          s3: deps.s3,
          logger: deps.logger,
          eventBusName: deps.config.EVENT_BUS_NAME,
          dataBucket: deps.config.DATA_BUCKET,
          ...(deps.clock ? { clock: deps.clock } : {}),
        },
        {
          repair: body.repair,
          ...(body.taskId === undefined ? {} : { taskId: body.taskId }),
          ...(body.maxTasks === undefined ? {} : { maxTasks: body.maxTasks }),
        },
      );
      await publishEvents(deps.eventBridge, events);
      return { body: { ...report, eventsPublished: events.length } };
    },
  }),

  listDeadLetters: operation({
    async run(_request, deps) {
      return {
        body: { queues: await listDeadLetterQueues(deps.sqs, deps.config.OPERATOR_DEAD_LETTER_QUEUES) },
      };
    },
  }),

  redriveDeadLetters: operation({
    body: RedriveRequest,
    async run(request, deps, invocation) {
      const report = await redriveDeadLetters(
        deps.sqs,
        deps.config.OPERATOR_DEAD_LETTER_QUEUES,
        param(request, 'queue'),
        { maxMessages: request.body.maxMessages, pastDeadline: invocation.pastDeadline },
      );
      deps.logger.info('dead letters redriven', { ...report });
      return { body: report };
    },
  }),

  getDashboard: operation({
    async run() {
      return { body: DASHBOARD_HTML, headers: DASHBOARD_HEADERS };
    },
  }),

  getDashboardSummary: operation({
    async run(_request, deps) {
      return {
        body: await dashboardSummary({
          repos: deps.repos,
          sqs: deps.sqs,
          deadLetterQueues: deps.config.OPERATOR_DEAD_LETTER_QUEUES,
          ...(deps.clock ? { clock: deps.clock } : {}),
        }),
      };
    },
  }),

  getDashboardHistory: operation({
    query: DashboardHistoryQuery,
    async run(request, deps) {
      return {
        body: await dashboardHistory(
          {
            throughput: deps.throughput,
            source: deps.config.THROUGHPUT_HISTORY,
            ...(deps.clock ? { clock: deps.clock } : {}),
          },
          request.query.minutes,
        ),
      };
    },
  }),

  getPilotEndpoints: operation({
    async run(_request, deps) {
      return {
        body: {
          region: await deps.sqs.config.region(),
          jobQueueUrls: { CPU: deps.config.JOBS_CPU_QUEUE_URL, GPU: deps.config.JOBS_GPU_QUEUE_URL },
          statusQueueUrl: deps.config.STATUS_QUEUE_URL,
        },
      };
    },
  }),

  getTaskAnalysis: operation({
    async run(request, deps) {
      return { body: await explainTask(explainDeps(deps), param(request, 'taskId')) };
    },
  }),

  holdTask: operation({
    async run(request, deps) {
      const { task, changed } = await holdTask(operatorDeps(deps), param(request, 'taskId'));
      deps.logger.info('task held', { taskId: task.taskId, changed });
      return { body: { task: taskSummaryOf(task), changed } };
    },
  }),

  releaseTask: operation({
    async run(request, deps) {
      const { task, changed } = await releaseTask(operatorDeps(deps), param(request, 'taskId'));
      deps.logger.info('task released', { taskId: task.taskId, changed });
      return { body: { task: taskSummaryOf(task), changed } };
    },
  }),

  retryJob: operation({
    async run(request, deps) {
      const report = await retryJob(operatorDeps(deps), param(request, 'jobId'));
      deps.logger.info('job retried by an operator', {
        jobId: param(request, 'jobId'),
        retried: report.retried.length,
      });
      return { body: report };
    },
  }),

  retryTaskJobs: operation({
    async run(request, deps) {
      const taskId = param(request, 'taskId');
      const report = await retryFailedJobs(operatorDeps(deps), taskId);
      deps.logger.info("task's failed jobs retried by an operator", {
        taskId,
        retried: report.retried.length,
      });
      return { body: report };
    },
  }),

  getJobLog: operation({
    query: JobLogQuery,
    async run(request, deps) {
      const { attempt, taskId } = request.query;
      const log = await readJobLog(operatorDeps(deps), param(request, 'jobId'), attempt, taskId);
      const { bucket, key, ...rest } = log;
      return { body: { ...rest, location: { bucket, key } } };
    },
  }),

  drainPilot: operation({
    async run(request, deps) {
      const pilot = await commandPilot(operatorDeps(deps), param(request, 'pilotId'), 'pilot.drain');
      deps.logger.info('pilot drain sent', { pilotId: pilot.pilotId });
      return { body: { pilotId: pilot.pilotId, command: 'pilot.drain', state: pilot.state } };
    },
  }),

  killPilot: operation({
    async run(request, deps) {
      const pilot = await commandPilot(operatorDeps(deps), param(request, 'pilotId'), 'pilot.kill');
      deps.logger.info('pilot kill sent', { pilotId: pilot.pilotId });
      return { body: { pilotId: pilot.pilotId, command: 'pilot.kill', state: pilot.state } };
    },
  }),

  showDeadLetters: operation({
    query: DeadLetterMessagesQuery,
    async run(request, deps) {
      return {
        body: await showDeadLetters(
          deps.sqs,
          deps.config.OPERATOR_DEAD_LETTER_QUEUES,
          param(request, 'queue'),
          request.query.limit,
        ),
      };
    },
  }),

  purgeDeadLetters: operation({
    body: PurgeRequest,
    async run(request, deps) {
      const report = await purgeDeadLetters(
        deps.sqs,
        deps.config.OPERATOR_DEAD_LETTER_QUEUES,
        param(request, 'queue'),
        request.body.confirm,
      );
      deps.logger.info('dead-letter queue purged', { ...report });
      return { body: report };
    },
  }),
};
