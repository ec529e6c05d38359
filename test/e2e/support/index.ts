/** Helpers of the end-to-end scenarios: the whole system, the DSM's and the WfMS's sides, and the checks every scenario ends with. */
export { expectNothingLost } from './consistency.js';
export { type DeadLetteredMessage, readDeadLetters } from './dead-letters.js';
export { announceInOrder, type InputDataset, inputFiles, publish, storeInputDataset } from './dsm.js';
export { livePayloadProcesses, type StartedPayload, startedPayloads } from './payload-processes.js';
export { pilotAwsCalls } from './pilot-logs.js';
export { type E2ePilotOptions, type System, type SystemOptions, startSystem } from './system.js';
export { POLL_MS, taskEnd } from './waits.js';
export { taskSubmitted, type WorkerBehaviour, type WorkerTaskOptions, workerTask } from './wfms.js';
export { type JobItem, type TaskSpecInput, type WmsApi, wmsApi } from './wms-api.js';
