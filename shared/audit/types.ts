import type {
  DatasetRecord,
  FileKind,
  FileRecord,
  JobCounts,
  JobRecord,
  OutputFile,
  PilotRecord,
  TaskRecord,
} from '../model/index.js';
import type { INVARIANTS } from './constants.js';

export type Invariant = (typeof INVARIANTS)[number];

/** A task with the jobs found for it. */
export interface TaskSnapshot {
  task: TaskRecord;
  /** The jobs found for the task, each read consistently. */
  jobs: readonly JobRecord[];
  /**
   * True when the task's counters were the same before and after its jobs were read, so
   * they can be compared with the jobs; false skips the counter check (jobs were moving).
   */
  countersStable: boolean;
}

export interface DatasetSnapshot {
  dataset: DatasetRecord;
  files: readonly FileRecord[];
}

/** An object as storage reports it; `sha256Hex` only when the store returned a whole-object SHA-256. */
export interface StoredObject {
  size: number;
  sha256Hex?: string;
}

/** What the audit looks at. Entries absent from `objects` or `pilots` were not looked up and are not judged. */
export interface AuditSnapshot {
  tasks: readonly TaskSnapshot[];
  datasets: readonly DatasetSnapshot[];
  /** By `objectId(location)`; null: the object does not exist. */
  objects: ReadonlyMap<string, StoredObject | null>;
  /** By pilot id; null: no such pilot. */
  pilots: ReadonlyMap<string, PilotRecord | null>;
  /**
   * A pilot that exited or was lost after this time may still have results on their way
   * (a pilot reports, then says it exited): its RUNNING jobs are not judged yet.
   */
  pilotsSettledBefore?: string;
}

export type AuditEntity =
  | { kind: 'task'; id: string }
  | { kind: 'job'; id: string }
  | { kind: 'dataset'; id: string }
  | { kind: 'file'; id: string };

/** A safe repair of one finding. */
export type AuditRepair =
  | {
      /** Sets the counters to the recount, only if they still hold `expected`. */
      kind: 'recount-task';
      taskId: string;
      counts: JobCounts;
      jobsTotal: number;
      expected: { counts: JobCounts; jobsTotal: number };
    }
  | {
      /** Registers a DONE job's output or log that storage holds but its OPEN dataset lacks. */
      kind: 'register-file';
      file: {
        datasetUid: string;
        name: string;
        kind: Exclude<FileKind, 'input'>;
        location: OutputFile['location'];
        size: number;
        checksum: string;
        jobId: string;
      };
    }
  | {
      /** RUNNING → LOST for a job whose pilot is gone (only while that pilot still holds it). */
      kind: 'mark-job-lost';
      job: { jobId: string; taskId: string; attempt: number; pilotId?: string };
    };

interface FindingBase {
  invariant: Invariant;
  entity: AuditEntity;
  detail: string;
}

export type AuditFinding =
  | (FindingBase & { repairable: true; repair: AuditRepair })
  | (FindingBase & { repairable: false });
