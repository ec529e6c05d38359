/** Helpers of the integration suites: tables and their streams in the emulator, a deadline poller, a clock, record factories. */
export { steppingClock } from './clock.js';
export {
  type ControlPlane,
  type ControlPlaneOptions,
  type QueueName,
  startControlPlane,
} from './control-plane.js';
export { type EventuallyOptions, eventually } from './eventually.js';
export { fileRef, newFile, outputFile, pilotRegistration, sha256Of, taskSpec } from './factories.js';
export { type JobScenes, jobCounts, jobScenes, jobsFixture } from './jobs.js';
export { type RepositoryFixture, repositoryFixture } from './repositories.js';
export { readTableStream, type TableChange } from './streams.js';
export { createTables, uniquePrefix } from './tables.js';
