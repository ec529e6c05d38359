/**
 * The large-dataset scenario's pure parts: the tally of a task's jobs read page by page (so a
 * 100,000-job task is checked without holding its jobs), the figures from the scenario's
 * moments, and a process's memory read from `/proc/<pid>/status`.
 */
import { readFileSync } from 'node:fs';

/** What the check of a task's jobs needs of each job. */
export interface TalliedJob {
  state: string;
  createdAt: string;
  inputs: readonly { name: string }[];
}

/**
 * Jobs counted as their pages are read: how many, how many of them read an input file that an
 * earlier job read already (a job generated twice), how many are not DONE, and when the last
 * one was created. Holds the input names seen, not the jobs.
 */
export class JobTally {
  jobs = 0;
  duplicates = 0;
  notDone = 0;
  lastCreatedMs = Number.NEGATIVE_INFINITY;
  private readonly inputsSeen = new Set<string>();

  add(page: readonly TalliedJob[]): void {
    for (const job of page) {
      this.jobs += 1;
      if (job.state !== 'DONE') this.notDone += 1;
      const created = Date.parse(job.createdAt);
      if (created > this.lastCreatedMs) this.lastCreatedMs = created;
      for (const input of job.inputs) {
        if (this.inputsSeen.has(input.name)) this.duplicates += 1;
        else this.inputsSeen.add(input.name);
      }
    }
  }
}

/** The scenario's moments, in ms since the epoch on this machine's clock. */
export interface DatasetMoments {
  files: number;
  /** The first file stored. */
  announceStarted: number;
  /** The dataset seen holding every file. */
  allRegistered: number;
  /** The dataset.close published. */
  closePublished: number;
  /** The last job's creation, from the job records. */
  lastJobCreated: number;
  /** The task seen DONE. */
  taskDone: number;
  /** The task's output and log datasets seen CLOSED. */
  outputsClosed: number;
}

export interface DatasetFigures {
  /** Files registered a second, from the first file stored to the last one registered. */
  announce_files_per_s: number;
  announce_s: number;
  /** From the close published to the last job created. */
  close_to_last_job_s: number;
  /** From the close published to the task DONE. */
  close_to_task_done_s: number;
  /** From the close published to the outputs closed. */
  close_to_output_closed_s: number;
  /** From the task DONE to its outputs closed. */
  done_to_output_closed_s: number;
}

function seconds(from: number, to: number): number {
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from)
    throw new Error(`moments out of order: ${from} → ${to}`);
  return Math.round(to - from) / 1000;
}

export function datasetFigures(moments: DatasetMoments): DatasetFigures {
  if (!Number.isFinite(moments.lastJobCreated)) throw new Error('moments out of order: no job was created');
  const announce = seconds(moments.announceStarted, moments.allRegistered);
  return {
    announce_files_per_s: announce === 0 ? moments.files : Math.round((moments.files / announce) * 10) / 10,
    announce_s: announce,
    // Jobs can be created a little before the close is seen published (clocks of one machine).
    close_to_last_job_s: seconds(
      moments.closePublished,
      Math.max(moments.closePublished, moments.lastJobCreated),
    ),
    close_to_task_done_s: seconds(moments.closePublished, moments.taskDone),
    close_to_output_closed_s: seconds(moments.closePublished, moments.outputsClosed),
    done_to_output_closed_s: seconds(moments.taskDone, moments.outputsClosed),
  };
}

/** A process's resident memory in MiB: now (VmRSS) and its peak (VmHWM), from its status text. */
export function memoryOfStatus(status: string): { rss_mib: number; peak_rss_mib: number } {
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) throw new Error(`no ${field} in the process status`);
    return Math.round(Number(match[1]) / 102.4) / 10;
  };
  return { rss_mib: kib('VmRSS'), peak_rss_mib: kib('VmHWM') };
}

/** The memory of process `pid`, or null where /proc cannot be read. */
export function processMemory(pid: number): { rss_mib: number; peak_rss_mib: number } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  return memoryOfStatus(status);
}
