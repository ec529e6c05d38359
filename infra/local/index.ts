/**
 * The embedded runtime: the stack's resources in a local emulator, its Lambda handlers in
 * worker threads, driven by the event sources the synthesized template declares.
 *
 * This file is its only entry: the demo, the bench and tests elsewhere import nothing else of
 * `infra/local/` (`.dependency-cruiser.cjs` checks it); the rest of the system does not import
 * it at all. What it emulates and what it does not: README.md beside this file.
 */

// Any template on an emulator.
export { configuredEndpoint, type ServiceEndpoint, startOrAttach } from './attach.js';
// The WMS stack on it, and pilots against it.
export {
  type EmbeddedControlPlane,
  type EmbeddedControlPlaneOptions,
  type QueueName,
  stackResourceNames,
  startEmbeddedControlPlane,
} from './embedded.js';
export {
  type EmbeddedSystem,
  type EmbeddedSystemOptions,
  type LoggedControlPlane,
  type LoggedControlPlaneOptions,
  type PilotHost,
  type PilotOptions,
  type PilotProcess,
  startEmbeddedSystem,
  startLoggedControlPlane,
  startPilot,
} from './embedded-system.js';
export { type Emulator, type EmulatorOptions, startEmulator, useEmulatorEndpoint } from './emulator.js';
export { RuntimeConfigurationError, TemplateError } from './errors.js';
// Lambda's event filtering, for tests of the filters a stack declares.
export { compileFilterCriteria } from './filter-pattern.js';
export type { LogEntry, LogLevel, RuntimeLog } from './log.js';
export { credentialsFileEnv } from './pilot-credentials.js';
export {
  type LocalFunctionInfo,
  type LocalResource,
  type LocalRuntime,
  type LocalRuntimeOptions,
  type MintedCredentials,
  type RuntimeStats,
  startLocalRuntime,
} from './runtime.js';
// Lambda's event records, as the runtime builds them, for tests that call a handler directly.
export { type SqsEventRecord, toSqsEventRecord } from './sqs-source.js';
export { type StreamEventRecord, toStreamEventRecord } from './stream-source.js';
export type { Wiring } from './types.js';
export { describeWiring } from './wiring.js';
