import type {
  DATASET_KINDS,
  DATASET_STATES,
  DEGRADED_CAPABILITIES,
  DEVICES,
  FILE_KINDS,
  JOB_MODES,
  JOB_PHASES,
  JOB_STATES,
  PILOT_STATES,
  TASK_STATES,
} from './constants.js';

export type TaskState = (typeof TASK_STATES)[number];
export type JobState = (typeof JOB_STATES)[number];
export type JobPhase = (typeof JOB_PHASES)[number];
export type PilotState = (typeof PILOT_STATES)[number];
export type DegradedCapability = (typeof DEGRADED_CAPABILITIES)[number];
export type DatasetState = (typeof DATASET_STATES)[number];
export type DatasetKind = (typeof DATASET_KINDS)[number];
export type FileKind = (typeof FILE_KINDS)[number];
export type Device = (typeof DEVICES)[number];
export type JobMode = (typeof JOB_MODES)[number];
