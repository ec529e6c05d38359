import { LIMITS } from '../shared/model/index.js';

/** The `source` of every event on the WMS bus: who produced it. */
export const EVENT_SOURCES = {
  dsm: 'spd.dsm',
  wfms: 'spd.wfms',
  wms: 'spd.wms',
  operator: 'spd.operator',
} as const;

/** The `detail-type` of every event the WMS consumes or emits. */
export const DETAIL_TYPES = {
  fileInput: 'file.input',
  datasetClose: 'dataset.close',
  datasetUpload: 'dataset.upload',
  datasetDelete: 'dataset.delete',
  taskSubmitted: 'task.submitted',
  taskCancel: 'task.cancel',
  taskPriority: 'task.priority',
  taskStatusChanged: 'task.status-changed',
  fileRegistered: 'file.registered',
} as const;

/**
 * EventBridge refuses a PutEvents entry whose Source, DetailType, Detail, Resources and Time
 * together exceed 256 KB.
 */
export const PUT_EVENTS_ENTRY_MAX_BYTES = 256 * 1024;
/** What EventBridge counts for an entry's `Time`, whatever its value. */
export const PUT_EVENTS_TIME_BYTES = 14;

/** Page sizes of the list routes. */
export const PAGE_LIMIT = { min: 1, max: 1000, default: 100 } as const;
/** Bound on the opaque pagination token (an encoded DynamoDB key). */
export const NEXT_TOKEN_MAX_LENGTH = 2048;
/** Bound on a free-text reason (cancellation), so a producer cannot bloat an item. */
export const REASON_MAX_LENGTH = 1024;
/** Bound on an S3 URL: `s3://` + a bucket name + '/' + a key. */
export const S3_URL_MAX_LENGTH = 's3://'.length + 63 + 1 + LIMITS.objectKeyLength;
