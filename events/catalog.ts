/**
 * Every schema that crosses a boundary of the WMS, under a stable name. The name is the
 * file name of its generated JSON Schema (`events/json-schema/<name>.json`) and of its
 * sample (`events/samples/<name>.json`).
 */
import { z } from 'zod';
import {
  AuditReportView,
  AuditRequest,
  CancelTaskRequest,
  DashboardHistory,
  DashboardHistoryQuery,
  DashboardSummary,
  DatasetView,
  DeadLetterList,
  DeadLetterMessages,
  DeadLetterMessagesQuery,
  ErrorResponse,
  FileList,
  FileListQuery,
  JobList,
  JobListQuery,
  JobLogQuery,
  JobLogView,
  JobQuery,
  JobView,
  PilotCommandResponse,
  PilotEndpoints,
  PilotList,
  PilotListQuery,
  PurgeReport,
  PurgeRequest,
  RankUpdateRequest,
  RedriveReport,
  RedriveRequest,
  RegisterTaskRequest,
  RegisterTaskResponse,
  RetryReportView,
  TaskAnalysisView,
  TaskHoldResponse,
  TaskList,
  TaskListQuery,
  TaskSummary,
  TaskView,
} from './api.js';
import { type DetailType, EVENT_CATALOG } from './eventbridge.js';
import {
  ClaimRequest,
  ClaimResponse,
  JobMessage,
  PilotControlCommand,
  PilotHeartbeat,
  PilotHeartbeatResponse,
  PilotRegistration,
  PilotRegistrationResponse,
  PilotStatusMessage,
} from './pilot.js';

/**
 * Which side of a schema the JSON Schema describes: `input` for what the WMS receives (what a
 * producer may send: defaults make fields optional, an s3:// URL is a string), `output` for
 * what the WMS sends (every default filled in).
 */
export type SchemaIo = 'input' | 'output';

export interface CatalogEntry {
  readonly schema: z.ZodType;
  readonly io: SchemaIo;
  readonly description: string;
}

const EVENT_DESCRIPTIONS: Record<DetailType, string> = {
  'file.input': 'EventBridge detail of file.input: the DSM announces a new file of an input dataset.',
  'dataset.close':
    'EventBridge detail of dataset.close: a dataset holds exactly its checklist of files (from the DSM, or from the WMS for output and log datasets).',
  'dataset.upload':
    'EventBridge detail of dataset.upload: the DSM marks a dataset for upload to external storage.',
  'dataset.delete':
    'EventBridge detail of dataset.delete: the DSM marks a dataset for deletion from internal storage.',
  'task.submitted': 'EventBridge detail of task.submitted: the WfMS registers a task under an id it chose.',
  'task.cancel': 'EventBridge detail of task.cancel: the WfMS or an operator cancels a task.',
  'task.priority': 'EventBridge detail of task.priority: the WfMS or an operator sets a task rank.',
  'task.status-changed': 'EventBridge detail of task.status-changed: the WMS reports a task state change.',
  'file.registered': 'EventBridge detail of file.registered: the WMS registered an output or log file.',
};

type EventEntryName = `event.${DetailType}`;

const eventEntries = Object.fromEntries(
  (Object.keys(EVENT_CATALOG) as DetailType[]).map((detailType): [EventEntryName, CatalogEntry] => {
    const { schema, direction } = EVENT_CATALOG[detailType];
    const io = direction === 'outbound' ? 'output' : 'input';
    return [`event.${detailType}`, { schema, io, description: EVENT_DESCRIPTIONS[detailType] }];
  }),
) as Record<EventEntryName, CatalogEntry>;

export const SCHEMA_CATALOG = {
  ...eventEntries,
  'pilot.job-message': {
    schema: JobMessage,
    io: 'output',
    description: 'The job message a pilot receives from the jobs-cpu or jobs-gpu queue.',
  },
  'pilot.status-message': {
    schema: PilotStatusMessage,
    io: 'input',
    description: 'A pilot report on the status queue: a phase change of a running job, or its final result.',
  },
  'pilot.claim-request': {
    schema: ClaimRequest,
    io: 'input',
    description: 'POST /jobs/{id}/claim body: a pilot claims a queued job for one attempt.',
  },
  'pilot.claim-response': {
    schema: ClaimResponse,
    io: 'output',
    description: 'POST /jobs/{id}/claim response: the claim token the pilot presents with its reports.',
  },
  'pilot.registration': {
    schema: PilotRegistration,
    io: 'input',
    description: 'POST /pilots body: a pilot registers at start.',
  },
  'pilot.registration-response': {
    schema: PilotRegistrationResponse,
    io: 'output',
    description: 'POST /pilots response: the pilot control queue and heartbeat interval.',
  },
  'pilot.heartbeat': {
    schema: PilotHeartbeat,
    io: 'input',
    description: 'POST /pilots/{id}/heartbeat body: liveness and the jobs a pilot runs.',
  },
  'pilot.heartbeat-response': {
    schema: PilotHeartbeatResponse,
    io: 'output',
    description: 'POST /pilots/{id}/heartbeat response: the pilot state as the control plane sees it.',
  },
  'pilot.control-command': {
    schema: PilotControlCommand,
    io: 'output',
    description: 'A command on a pilot control queue: kill a job, or drain the pilot.',
  },
  'api.register-task-request': {
    schema: RegisterTaskRequest,
    io: 'input',
    description: 'POST /tasks body: a task specification, optionally with the task id the caller chose.',
  },
  'api.register-task-response': {
    schema: RegisterTaskResponse,
    io: 'output',
    description: 'POST /tasks response: the task id, its state and whether this call created it.',
  },
  'api.task-list-query': {
    schema: TaskListQuery,
    io: 'input',
    description: 'GET /tasks query string.',
  },
  'api.task-list': { schema: TaskList, io: 'output', description: 'GET /tasks response: one page of tasks.' },
  'api.task-summary': {
    schema: TaskSummary,
    io: 'output',
    description: 'A task with its job progress (list items, cancel and rank responses).',
  },
  'api.task-view': {
    schema: TaskView,
    io: 'output',
    description: 'GET /tasks/{id} response: a task, its job progress and its files by kind.',
  },
  'api.cancel-task-request': {
    schema: CancelTaskRequest,
    io: 'input',
    description: 'POST /tasks/{id}/cancel body.',
  },
  'api.rank-update-request': {
    schema: RankUpdateRequest,
    io: 'input',
    description: 'PUT /tasks/{id}/rank body.',
  },
  'api.job-list-query': {
    schema: JobListQuery,
    io: 'input',
    description: 'GET /tasks/{id}/jobs query string.',
  },
  'api.job-list': {
    schema: JobList,
    io: 'output',
    description: 'GET /tasks/{id}/jobs response: one page of jobs.',
  },
  'api.job-view': {
    schema: JobView,
    io: 'output',
    description: 'GET /jobs/{id} response: a job and, when it waits, why.',
  },
  'api.file-list-query': {
    schema: FileListQuery,
    io: 'input',
    description: 'GET /tasks/{id}/files query string.',
  },
  'api.file-list': {
    schema: FileList,
    io: 'output',
    description: 'GET /tasks/{id}/files response: one page of files.',
  },
  'api.dataset-view': {
    schema: DatasetView,
    io: 'output',
    description: 'GET /datasets/{uid} response.',
  },
  'api.pilot-list-query': {
    schema: PilotListQuery,
    io: 'input',
    description: 'GET /pilots query string.',
  },
  'api.pilot-list': {
    schema: PilotList,
    io: 'output',
    description: 'GET /pilots response: one page of pilots.',
  },
  'api.audit-request': {
    schema: AuditRequest,
    io: 'input',
    description: 'POST /audit body: audit one task or every task (or a sample), and whether to repair.',
  },
  'api.audit-report': {
    schema: AuditReportView,
    io: 'output',
    description: 'POST /audit response: what the consistency audit looked at, found and repaired.',
  },
  'api.dead-letter-list': {
    schema: DeadLetterList,
    io: 'output',
    description: 'GET /dead-letters response: every dead-letter queue, its depth and a peek at its messages.',
  },
  'api.redrive-request': {
    schema: RedriveRequest,
    io: 'input',
    description: 'POST /dead-letters/{queue}/redrive body: how many messages to move at most.',
  },
  'api.redrive-report': {
    schema: RedriveReport,
    io: 'output',
    description: 'POST /dead-letters/{queue}/redrive response: messages moved back to the source queue.',
  },
  'api.dashboard-summary': {
    schema: DashboardSummary,
    io: 'output',
    description: 'GET /dashboard/summary response: active tasks, live pilots and dead-letter depths.',
  },
  'api.dashboard-history-query': {
    schema: DashboardHistoryQuery,
    io: 'input',
    description: 'GET /dashboard/history query: how many minutes back (60 when absent).',
  },
  'api.dashboard-history': {
    schema: DashboardHistory,
    io: 'output',
    description: 'GET /dashboard/history response: jobs done and failed per minute, oldest first.',
  },
  'api.task-hold-response': {
    schema: TaskHoldResponse,
    io: 'output',
    description: 'POST /tasks/{id}/hold and /release response: the task, and whether this call changed it.',
  },
  'api.retry-report': {
    schema: RetryReportView,
    io: 'output',
    description:
      'POST /jobs/{id}/retry and /tasks/{id}/retry response: the jobs retried, already retried or refused.',
  },
  'api.pilot-command-response': {
    schema: PilotCommandResponse,
    io: 'output',
    description: 'POST /pilots/{id}/drain and /kill response: the command sent to the pilot.',
  },
  'api.job-query': {
    schema: JobQuery,
    io: 'input',
    description:
      "GET /jobs/{id} query: the job's task, to find a job of an archived task whose items expired.",
  },
  'api.job-log-query': {
    schema: JobLogQuery,
    io: 'input',
    description: 'GET /jobs/{id}/log query: the attempt (its latest when absent).',
  },
  'api.job-log': {
    schema: JobLogView,
    io: 'output',
    description: "GET /jobs/{id}/log response: an attempt's log, or its end when long.",
  },
  'api.dead-letter-messages-query': {
    schema: DeadLetterMessagesQuery,
    io: 'input',
    description: 'GET /dead-letters/{queue}/messages query: how many messages to show.',
  },
  'api.dead-letter-messages': {
    schema: DeadLetterMessages,
    io: 'output',
    description: 'GET /dead-letters/{queue}/messages response: bodies and reasons, left in the queue.',
  },
  'api.purge-request': {
    schema: PurgeRequest,
    io: 'input',
    description: "POST /dead-letters/{queue}/purge body: the queue's name again, as confirmation.",
  },
  'api.purge-report': {
    schema: PurgeReport,
    io: 'output',
    description: 'POST /dead-letters/{queue}/purge response: messages deleted.',
  },
  'api.task-analysis': {
    schema: TaskAnalysisView,
    io: 'output',
    description:
      'GET /tasks/{id}/analysis response: failures by error and exit code, pilots involved, why jobs wait.',
  },
  'api.pilot-endpoints': {
    schema: PilotEndpoints,
    io: 'output',
    description:
      "GET /pilot-config response: the endpoints a pilot's configuration file takes from the deployment.",
  },
  'api.error-response': {
    schema: ErrorResponse,
    io: 'output',
    description: 'The body of every error response; a 400 names each bad field in issues.',
  },
} as const satisfies Record<string, CatalogEntry>;

export type SchemaName = keyof typeof SCHEMA_CATALOG;
export const SCHEMA_NAMES = Object.keys(SCHEMA_CATALOG).sort() as SchemaName[];

/** The JSON Schema (draft 2020-12) of one catalog entry. */
export function jsonSchemaOf(name: SchemaName): Record<string, unknown> {
  const { schema, io, description }: CatalogEntry = SCHEMA_CATALOG[name];
  const { $schema, ...body } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'throw',
  });
  return { $schema, title: name, description, ...body };
}
