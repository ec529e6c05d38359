/**
 * A streaming task through the real control plane (the stack's template in the embedded
 * runtime): registered on an open dataset that already has files, it gets their jobs at once,
 * a job per file announced after it, and its generation completes when the dataset closes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClients } from '../../shared/aws/index.js';
import { createRepositories, type Repositories } from '../../shared/repositories/index.js';
import {
  type ControlPlane,
  eventually,
  sha256Of,
  startControlPlane,
  taskSpec,
} from '../../test/support/index.js';

let plane: ControlPlane;
let repos: Repositories;

beforeAll(async () => {
  plane = await startControlPlane();
  repos = createRepositories({ doc: awsClients().doc, tables: plane.tables });
}, 120_000);

afterAll(async () => {
  await plane?.stop();
});

const INPUT = 'ds-cp-streaming';

function announce(name: string) {
  return plane.putEvent('file.input', 'spd.dsm', {
    datasetUid: INPUT,
    datasetName: INPUT,
    file: { name, url: `s3://spd-data/raw/${name}`, size: 1000, checksum: sha256Of(name) },
  });
}

describe('a streaming task in the embedded control plane', () => {
  it('gets jobs for the files before it, each file after it, and completes its generation at the close', async () => {
    // Prepare: two files registered in the open input before the task exists.
    await announce('a.raw');
    await announce('b.raw');
    await eventually(async () => expect((await repos.datasets.get(INPUT)).fileCount).toBe(2), {
      timeoutMs: 30_000,
    });
    const spec = taskSpec({
      inputDatasetUid: INPUT,
      outputDataset: 'cp-streaming-out',
      logDataset: 'cp-streaming-logs',
      streaming: true,
    });

    // Act 1
    await plane.putEvent('task.submitted', 'spd.wfms', { taskId: 't-cp-streaming', ...spec });

    // Assess 1: the files already there got their jobs, though no close has come.
    await eventually(
      async () =>
        expect(await repos.tasks.get('t-cp-streaming')).toMatchObject({
          state: 'RUNNING',
          jobsTotal: 2,
          generationComplete: false,
        }),
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    // Act 2: a third file, then the close.
    await announce('c.raw');
    await eventually(async () => expect((await repos.tasks.get('t-cp-streaming')).jobsTotal).toBe(3), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await plane.putEvent('dataset.close', 'spd.dsm', {
      datasetUid: INPUT,
      files: ['a.raw', 'b.raw', 'c.raw'],
    });

    // Assess 2: the close completes the generation without a job twice.
    await eventually(
      async () =>
        expect(await repos.tasks.get('t-cp-streaming')).toMatchObject({
          jobsTotal: 3,
          generationComplete: true,
        }),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const jobs = await repos.jobs.listByTask('t-cp-streaming');
    expect(jobs.items.map((job) => job.inputs.map((file) => file.name)).sort()).toEqual([
      ['a.raw'],
      ['b.raw'],
      ['c.raw'],
    ]);
  }, 120_000);
});
