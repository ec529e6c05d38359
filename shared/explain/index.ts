/** Why a job is not running: a pure reading of the job, its task and what surrounds them. */

export { type AnalyzedJob, analyzeTask, type TaskAnalysis, TOP_MESSAGES } from './analysis.js';
export { explainWaiting } from './explain.js';
export type { WaitingContext, WaitingJob, WaitingTask } from './types.js';
