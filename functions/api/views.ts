/** Response bodies built from stored records: task progress, summaries, the task view and pilots. */
import type { FileTotals, JobProgress, PilotView, TaskSummary, TaskView } from '../../events/index.js';
import type { DatasetRecord, FileKind, PilotRecord, TaskRecord } from '../../shared/model/index.js';
import { TERMINAL_JOB_STATES } from '../../shared/states/index.js';

/** Job progress from the counters kept on the task item: no job is read. */
export function progressOf(task: TaskRecord): JobProgress {
  const finished = TERMINAL_JOB_STATES.reduce((sum, state) => sum + task.counts[state], 0);
  const percentDone = task.jobsTotal === 0 ? 0 : Math.round((10_000 * finished) / task.jobsTotal) / 100;
  return { jobs: task.counts, jobsTotal: task.jobsTotal, percentDone: Math.min(100, percentDone) };
}

export function taskSummaryOf(task: TaskRecord): TaskSummary {
  return { ...task, progress: progressOf(task) };
}

function totalsOf(dataset: DatasetRecord | undefined): FileTotals {
  return { count: dataset?.fileCount ?? 0, bytes: dataset?.totalBytes ?? 0 };
}

/** The task, its job progress and the files of its input, output and log datasets (absent ones count 0). */
export function taskViewOf(
  task: TaskRecord,
  datasets: Readonly<Record<FileKind, DatasetRecord | undefined>>,
): TaskView {
  return {
    ...task,
    progress: {
      ...progressOf(task),
      files: {
        input: totalsOf(datasets.input),
        output: totalsOf(datasets.output),
        log: totalsOf(datasets.log),
      },
    },
  };
}

/** The pilot with its reported jobs counted, not listed. */
export function pilotViewOf(pilot: PilotRecord): PilotView {
  const { reportedJobs, ...view } = pilot;
  return reportedJobs === undefined ? view : { ...view, reportedJobCount: reportedJobs.length };
}
