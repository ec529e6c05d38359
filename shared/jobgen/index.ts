/** Chunking a task's input files into jobs with deterministic ids. */
export { planJobs } from './jobgen.js';
export { JobPlanTask } from './schemas.js';
export type { FileRef, JobPlan, JobPlanOptions, PlannedJob } from './types.js';
