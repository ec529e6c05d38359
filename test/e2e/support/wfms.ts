/**
 * The WfMS's side: tasks that run the e2e payload (payloads/worker.mjs) over an input dataset,
 * registered through the API or announced with `task.submitted`.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { buildPutEventsEntry, EVENT_SOURCES } from '../../../events/index.js';
import type { SystemCore } from './system.js';
import type { TaskSpecInput } from './wms-api.js';

const WORKER = fileURLToPath(new URL('../payloads/worker.mjs', import.meta.url));

/** What the payload does besides its output (see payloads/worker.mjs). */
export interface WorkerBehaviour {
  sleepMs?: number;
  /** Sleep only on inputs whose name has this part. */
  sleepIfNameHas?: string;
  /** Probability that an attempt fails, drawn from the seed, input name and attempt. */
  failRate?: number;
  seed?: string;
  /** Record each payload's process id in the system's pid directory. */
  recordPid?: boolean;
  ignoreSigterm?: boolean;
  withChild?: boolean;
}

export interface WorkerTaskOptions {
  name: string;
  inputDatasetUid: string;
  worker?: WorkerBehaviour;
  maxRetries?: number;
  rank?: number;
  failureTolerance?: number;
}

/** The payload's arguments, placeholders included, for the pilot to expand. */
function workerArgs(system: SystemCore, behaviour: WorkerBehaviour = {}): string[] {
  return [
    WORKER,
    '--input',
    '{input}',
    '--outdir',
    '{outdir}',
    '--job',
    '{jobId}',
    '--attempt',
    '{attempt}',
    ...(behaviour.sleepMs === undefined ? [] : ['--sleep-ms', String(behaviour.sleepMs)]),
    ...(behaviour.sleepIfNameHas === undefined ? [] : ['--sleep-if-name-has', behaviour.sleepIfNameHas]),
    ...(behaviour.failRate === undefined ? [] : ['--fail-rate', String(behaviour.failRate)]),
    ...(behaviour.seed === undefined ? [] : ['--seed', behaviour.seed]),
    ...(behaviour.recordPid ? ['--pid-dir', system.pidDir] : []),
    ...(behaviour.ignoreSigterm ? ['--ignore-sigterm'] : []),
    ...(behaviour.withChild ? ['--with-child'] : []),
  ];
}

/** A map task over the input dataset, with output and log datasets of its own. */
export function workerTask(system: SystemCore, options: WorkerTaskOptions): TaskSpecInput {
  const suffix = randomUUID().slice(0, 8);
  return {
    name: options.name,
    workflowId: 'e2e',
    executable: process.execPath,
    args: workerArgs(system, options.worker),
    device: 'CPU',
    mode: 'map',
    maxRetries: options.maxRetries ?? 0,
    rank: options.rank ?? 1,
    failureTolerance: options.failureTolerance ?? 0,
    inputDatasetUid: options.inputDatasetUid,
    outputDataset: `${options.name}.out.${suffix}`,
    logDataset: `${options.name}.log.${suffix}`,
    wallTimeSeconds: 120,
  };
}

/** The `task.submitted` event of a task whose id the WfMS chose. */
export function taskSubmitted(
  system: SystemCore,
  spec: TaskSpecInput & { taskId: string },
): PutEventsRequestEntry {
  return buildPutEventsEntry({
    detailType: 'task.submitted',
    source: EVENT_SOURCES.wfms,
    eventBusName: system.plane.busName,
    detail: spec,
  });
}
