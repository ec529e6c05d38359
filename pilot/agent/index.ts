/** The pilot: its loops, its job pipeline and the pure decisions they use. */
export { ApiClient, type ApiClientOptions, type PilotApi } from './api-client.js';
export { type ArgContext, expandArgs } from './args.js';
export { type BackoffPolicy, backoffDelayMs } from './backoff.js';
export { Adler32, type ChecksumAlgorithm, checksumAlgorithm, createChecksum } from './checksum.js';
export { configArgument, runMain } from './cli.js';
export {
  applyEnvironmentOverrides,
  defaultPilotId,
  loadPilotConfig,
  PilotConfig,
  PilotEnvironment,
  parsePilotConfig,
  printableConfig,
  readConfigFile,
  resolveRegion,
  validateConfig,
} from './config.js';
export { DEFAULTS, PILOT_EXIT, PILOT_VERSION } from './constants.js';
export {
  credentialsFileOf,
  fileCredentials,
  refuseEnvironmentCredentials,
  SECRET_ENV_VARIABLES,
} from './credentials.js';
export { type DeleteBatchSender, MessageDeletions, type MessageDeletionsOptions } from './deletions.js';
export {
  ClaimRefusedError,
  ControlPlaneProtocolError,
  ControlPlaneUnavailableError,
  errorForSpawnFailure,
  JobFailure,
  PayloadArgsError,
  PilotLostError,
  StageInError,
  StageOutError,
  UnsafePathError,
} from './errors.js';
export {
  type JobServices,
  type JobStopReason,
  jobPaths,
  logFileName,
  objectKeyFor,
  RunningJob,
} from './job.js';
export {
  type ParsedJobMessage,
  parseControlCommand,
  parseJobMessage,
  pollPlan,
  receiveCapacity,
} from './messages.js';
export { nextBatchSize, StatusOutbox } from './outbox.js';
export { createFileInside, openRegularFileInside, resolveInside } from './paths.js';
export {
  groupExists,
  type PayloadOutcome,
  type PayloadProcess,
  type PayloadSpec,
  payloadEnvironment,
  signalGroup,
  startPayload,
} from './payload.js';
export { Pilot, type PilotDependencies, type StopReason } from './pilot.js';
export {
  computeSlots,
  detectGpuIndexes,
  detectResources,
  type NodeResources,
  parseGpuIndexes,
  type Slot,
} from './resources.js';
export { ResultSpool, spoolFileName } from './spool.js';
export { downloadInput, splitRanges, totalFromContentRange, uploadFile } from './staging.js';
