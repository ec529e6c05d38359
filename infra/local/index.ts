/**
 * The embedded runtime: the stack's resources in a local emulator, its Lambda handlers in
 * worker threads, driven by the event sources the synthesized template declares.
 */
export { type Emulator, type EmulatorOptions, startEmulator } from './emulator.js';
export { FilterPatternError, RuntimeConfigurationError, TemplateError } from './errors.js';
export { compileFilterCriteria, compileFilterPattern } from './filter-pattern.js';
export type { LogEntry, LogLevel, RuntimeLog } from './log.js';
export {
  type LocalFunctionInfo,
  type LocalResource,
  type LocalRuntime,
  type LocalRuntimeOptions,
  type MintedCredentials,
  type RuntimeStats,
  startLocalRuntime,
} from './runtime.js';
export { EMULATED_RESOURCE_TYPES, NOT_EMULATED_RESOURCE_TYPES, PROPERTY_TABLES } from './template.js';
export type * from './types.js';
export { describeWiring } from './wiring.js';
