import { ValidationError } from '../errors/index.js';
import { compareNames, jobIdFor } from '../ids/index.js';
import { JobPlanTask } from './schemas.js';
import type { FileRef, JobPlan, JobPlanOptions, PlannedJob } from './types.js';

function rejectDuplicateNames(files: readonly FileRef[]): void {
  const seen = new Set<string>();
  const issues = [];
  for (const [index, file] of files.entries()) {
    if (seen.has(file.name))
      issues.push({ path: `files.${index}.name`, message: `duplicate file name ${file.name}` });
    seen.add(file.name);
  }
  if (issues.length > 0) throw new ValidationError('invalid job inputs', issues);
}

function jobOf(taskId: string, inputs: FileRef[]): PlannedJob {
  return {
    jobId: jobIdFor(
      taskId,
      inputs.map((file) => file.name),
    ),
    inputs,
  };
}

/**
 * Chunks a task's input files into jobs. `map`: one job per file. `merge`: jobs of
 * `filesPerJob` files in name order; the last, smaller chunk becomes a job only when
 * `final` (the input dataset is closed), otherwise it is returned as `unplanned` for a later
 * call. Files are sorted by name first, so the plan and its job ids do not depend on the
 * order the files are given in.
 */
export function planJobs(task: JobPlanTask, files: readonly FileRef[], options: JobPlanOptions): JobPlan {
  const parsed = JobPlanTask.safeParse(task);
  if (!parsed.success) throw ValidationError.fromZod('job plan task', parsed.error);
  const { taskId, mode, filesPerJob } = parsed.data;
  rejectDuplicateNames(files);

  const sorted = [...files].sort((a, b) => compareNames(a.name, b.name));
  if (mode === 'map') return { jobs: sorted.map((file) => jobOf(taskId, [file])), unplanned: [] };

  const jobs: PlannedJob[] = [];
  let start = 0;
  for (; start + filesPerJob <= sorted.length; start += filesPerJob) {
    jobs.push(jobOf(taskId, sorted.slice(start, start + filesPerJob)));
  }
  const rest = sorted.slice(start);
  if (rest.length > 0 && options.final) return { jobs: [...jobs, jobOf(taskId, rest)], unplanned: [] };
  return { jobs, unplanned: rest };
}
