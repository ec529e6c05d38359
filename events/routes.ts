/**
 * The REST API's routes: one table read by the CDK stack (API Gateway resources and the
 * least-privilege policies), the `api` function's router, the embedded HTTP server and the
 * OpenAPI document.
 */
export type Caller = 'wfms' | 'operator' | 'pilot';

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT';
  /** API Gateway style path with `{param}` segments. */
  path: string;
  operationId: string;
  summary: string;
  /** Which client policies may call it (operators may call everything). */
  callers: readonly Caller[];
}

const CONTROL: readonly Caller[] = ['wfms', 'operator'];
const READ: readonly Caller[] = ['wfms', 'operator'];
const PILOT: readonly Caller[] = ['pilot', 'operator'];
/** Inspection and repair of the whole system, and the dashboard. */
const OPERATOR: readonly Caller[] = ['operator'];

export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'POST',
    path: '/tasks',
    operationId: 'registerTask',
    summary: 'Register a task',
    callers: CONTROL,
  },
  { method: 'GET', path: '/tasks', operationId: 'listTasks', summary: 'List tasks', callers: READ },
  {
    method: 'GET',
    path: '/tasks/{taskId}',
    operationId: 'getTask',
    summary: 'Task status and progress',
    callers: READ,
  },
  {
    method: 'POST',
    path: '/tasks/{taskId}/cancel',
    operationId: 'cancelTask',
    summary: 'Cancel a task',
    callers: CONTROL,
  },
  {
    method: 'PUT',
    path: '/tasks/{taskId}/rank',
    operationId: 'setTaskRank',
    summary: 'Change a task rank',
    callers: CONTROL,
  },
  {
    method: 'GET',
    path: '/tasks/{taskId}/jobs',
    operationId: 'listTaskJobs',
    summary: 'Jobs of a task',
    callers: READ,
  },
  {
    method: 'GET',
    path: '/tasks/{taskId}/files',
    operationId: 'listTaskFiles',
    summary: 'Outputs and logs of a task',
    callers: READ,
  },
  {
    method: 'GET',
    path: '/jobs/{jobId}',
    operationId: 'getJob',
    summary: 'A job, and why it is not running',
    callers: READ,
  },
  {
    method: 'GET',
    path: '/datasets/{datasetUid}',
    operationId: 'getDataset',
    summary: 'A dataset',
    callers: READ,
  },
  { method: 'GET', path: '/pilots', operationId: 'listPilots', summary: 'Pilots', callers: READ },
  {
    method: 'POST',
    path: '/pilots',
    operationId: 'registerPilot',
    summary: 'Register a pilot',
    callers: PILOT,
  },
  {
    method: 'POST',
    path: '/pilots/{pilotId}/heartbeat',
    operationId: 'pilotHeartbeat',
    summary: 'Pilot heartbeat',
    callers: PILOT,
  },
  {
    method: 'POST',
    path: '/jobs/{jobId}/claim',
    operationId: 'claimJob',
    summary: 'Claim a queued job',
    callers: PILOT,
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This API as OpenAPI 3',
    callers: READ,
  },
  {
    method: 'POST',
    path: '/audit',
    operationId: 'runAudit',
    summary: 'Consistency audit, with safe repairs on request',
    callers: OPERATOR,
  },
  {
    method: 'GET',
    path: '/dead-letters',
    operationId: 'listDeadLetters',
    summary: 'Dead-letter queues: depth and why their messages are there',
    callers: OPERATOR,
  },
  {
    method: 'POST',
    path: '/dead-letters/{queue}/redrive',
    operationId: 'redriveDeadLetters',
    summary: 'Move dead-lettered messages back to their source queue',
    callers: OPERATOR,
  },
  {
    method: 'GET',
    path: '/dashboard',
    operationId: 'getDashboard',
    summary: 'The operator dashboard (HTML)',
    callers: OPERATOR,
  },
  {
    method: 'GET',
    path: '/dashboard/summary',
    operationId: 'getDashboardSummary',
    summary: 'What the dashboard shows',
    callers: OPERATOR,
  },
  {
    method: 'GET',
    path: '/dashboard/history',
    operationId: 'getDashboardHistory',
    summary: 'Jobs done and failed per minute, for the last hour by default',
    callers: OPERATOR,
  },
  // Operator control: hold, release, retry, pilot commands, logs, dead-letter view and purge.
  {
    method: 'GET',
    path: '/pilot-config',
    operationId: 'getPilotEndpoints',
    summary: "The endpoints a pilot's configuration takes from this deployment",
    callers: OPERATOR,
  },
  {
    method: 'GET',
    path: '/tasks/{taskId}/analysis',
    operationId: 'getTaskAnalysis',
    summary: "A task's failures by error and exit code, the pilots involved, and why its jobs wait",
    callers: OPERATOR,
  },
  {
    method: 'POST',
    path: '/tasks/{taskId}/hold',
    operationId: 'holdTask',
    summary: 'Hold a task: its READY jobs are not dispatched, its running jobs finish',
    callers: OPERATOR,
  },
  {
    method: 'POST',
    path: '/tasks/{taskId}/release',
    operationId: 'releaseTask',
    summary: 'Release a held task',
    callers: OPERATOR,
  },
  {
    method: 'POST',
    path: '/tasks/{taskId}/retry',
    operationId: 'retryTaskJobs',
    summary: "Retry a task's failed jobs with their next attempt",
    callers: OPERATOR,
  },
  {
    method: 'POST',
    path: '/jobs/{jobId}/retry',
    operationId: 'retryJob',
    summary: 'Retry a failed job with its next attempt',
    callers: OPERATOR,
  },
  {
    method: 'GET',
    path: '/jobs/{jobId}/log',
    operationId: 'getJobLog',
    summary: "An attempt's log",
    callers: OPERATOR,
  },
  {
    method: 'POST',
    path: '/pilots/{pilotId}/drain',
    operationId: 'drainPilot',
    summary: 'Drain a pilot: it finishes its running jobs, takes no new ones and exits',
    callers: OPERATOR,
  },
  {
    method: 'POST',
    path: '/pilots/{pilotId}/kill',
    operationId: 'killPilot',
    summary: 'Stop a pilot now: its running jobs go back for another attempt',
    callers: OPERATOR,
  },
  {
    method: 'GET',
    path: '/dead-letters/{queue}/messages',
    operationId: 'showDeadLetters',
    summary: 'Messages of a dead-letter queue, left in the queue',
    callers: OPERATOR,
  },
  {
    method: 'POST',
    path: '/dead-letters/{queue}/purge',
    operationId: 'purgeDeadLetters',
    summary: 'Delete every message of a dead-letter queue',
    callers: OPERATOR,
  },
];
