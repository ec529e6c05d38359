/**
 * How every scenario ends: the consistency audit finds nothing, and no job or file is lost —
 * every job is terminal and counted, the task's datasets are closed, what is registered is in
 * storage with its size, and what is in storage under a task's datasets is registered.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { datasetUidFor } from '../../../shared/ids/index.js';
import { JOB_STATES, type JobCounts } from '../../../shared/model/index.js';
import { runAudit, wmsDatasetPrefix } from '../../../shared/services/index.js';
import { isTerminal } from '../../../shared/states/index.js';
import { eventually } from '../../support/index.js';
import type { SystemCore } from './system.js';
import { POLL_MS } from './waits.js';
import { wmsApi } from './wms-api.js';

/** Dataset states a finished task's output and log datasets may be in. */
const CLOSED_OR_LATER: readonly string[] = ['CLOSED', 'TO_UPLOAD', 'TO_DELETE'];

/** Object key → size of every object under `prefix`. */
async function storedObjects(system: SystemCore, prefix: string): Promise<Map<string, number>> {
  const objects = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await system.clients.s3.send(
      new ListObjectsV2Command({ Bucket: system.plane.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) objects.set(object.Key!, object.Size ?? 0);
    token = page.NextContinuationToken;
  } while (token);
  return objects;
}

function countsOf(states: readonly string[]): JobCounts {
  return Object.fromEntries(
    JOB_STATES.map((state) => [state, states.filter((s) => s === state).length]),
  ) as JobCounts;
}

export async function expectNothingLost(system: SystemCore, taskIds: readonly string[]): Promise<void> {
  const wms = wmsApi(system.api);
  const logger = new Logger({ logLevel: 'SILENT' });
  for (const taskId of taskIds) {
    const task = await wms.task(taskId);
    expect(isTerminal('task', task.state), `task ${taskId} is ${task.state}`).toBe(true);
    const jobs = await wms.jobs(taskId);
    expect(jobs, `jobs of ${taskId}`).toHaveLength(task.jobsTotal);
    expect(countsOf(jobs.map((job) => job.state)), `counters of ${taskId}`).toEqual(task.counts);
    for (const job of jobs)
      expect(isTerminal('job', job.state), `job ${job.jobId} is ${job.state}`).toBe(true);

    const audit = await runAudit(
      { repos: system.repos, s3: system.clients.s3, logger },
      { taskId, repair: false },
    );
    expect(audit.findings, `audit of ${taskId}`).toEqual([]);
    expect(audit.unreadableObjects).toEqual([]);
    expect(audit.jobs).toBe(task.jobsTotal);

    for (const kind of ['output', 'log'] as const) {
      const datasetName = kind === 'output' ? task.outputDataset : task.logDataset;
      // A finished task's datasets close (just after it ends), or downstream tasks never start.
      await eventually(
        async () =>
          expect(CLOSED_OR_LATER, `${kind} dataset of ${taskId}`).toContain(
            (await wms.dataset(datasetUidFor(datasetName))).state,
          ),
        { timeoutMs: 30_000, intervalMs: POLL_MS },
      );
      const registered = (await wms.files(taskId, kind)).filter(
        (file) => file.datasetUid === datasetUidFor(datasetName),
      );
      const stored = await storedObjects(system, `${wmsDatasetPrefix(datasetName)}/`);
      for (const file of registered)
        expect(stored.get(file.location.key), `${kind} ${file.location.key} in storage`).toBe(file.size);
      const registeredKeys = new Set(registered.map((file) => file.location.key));
      const unregistered = [...stored.keys()].filter((key) => !registeredKeys.has(key));
      expect(unregistered, `${kind} objects of ${taskId} in storage but not registered`).toEqual([]);
      for (const job of jobs.filter((j) => j.state === 'DONE')) {
        for (const output of (job.outputs ?? []).filter((file) => file.kind === kind)) {
          expect(
            registered.some((file) => file.name === output.name && file.jobId === job.jobId),
            `${kind} ${output.name} of ${job.jobId} registered`,
          ).toBe(true);
        }
      }
    }
  }
}
