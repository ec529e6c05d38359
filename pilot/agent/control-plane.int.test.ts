/**
 * Pilot processes against the real control plane (the stack on the embedded runtime): a task
 * over a closed input dataset is dispatched, claimed, run, reported and finished; a cancelled
 * task's running payload is killed within seconds.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskView } from '../../events/api.js';
import { createAwsClients } from '../../shared/aws/index.js';
import { type ControlPlane, eventually, startControlPlane, taskSpec } from '../../test/support/index.js';
import { sha256Of } from '../test-support/factories.js';
import { type LoggingProcess, startPilot } from '../test-support/pilot-process.js';
import { liveGroupMembers } from '../test-support/processes.js';
import { getObjectBytes, putObject } from '../test-support/storage.js';

const { s3 } = createAwsClients();
let plane: ControlPlane;
let root: string;
const pilots: LoggingProcess[] = [];

beforeAll(async () => {
  plane = await startControlPlane();
  root = await mkdtemp(path.join(tmpdir(), 'pilot-control-plane-'));
}, 120_000);
afterAll(async () => {
  for (const pilot of pilots) if (!pilot.hasExited) pilot.kill('SIGKILL');
  await plane?.stop();
  await rm(root, { recursive: true, force: true });
});

async function taskView(taskId: string): Promise<TaskView> {
  return TaskView.parse((await plane.api('GET', `/tasks/${taskId}`)).body);
}

/**
 * Announces and closes an input dataset of `names`, registers a CPU task over it running
 * `sh -c <script> sh {input} {outdir}`, and waits until its jobs exist.
 */
async function submitTask(taskId: string, names: readonly string[], script: string): Promise<void> {
  const datasetName = `raw.${taskId}`;
  const datasetUid = `ds-${taskId}`;
  for (const name of names) {
    const data = `events of ${name}\n`;
    const key = `input/${datasetName}/${name}`;
    await putObject(s3, plane.bucket, key, data);
    await plane.putEvent('file.input', 'spd.dsm', {
      datasetUid,
      datasetName,
      file: { name, url: `s3://${plane.bucket}/${key}`, size: data.length, checksum: sha256Of(data) },
    });
  }
  await plane.putEvent('dataset.close', 'spd.dsm', { datasetUid, datasetName, files: [...names] });
  const registered = await plane.api('POST', '/tasks', {
    body: {
      taskId,
      ...taskSpec({
        executable: 'sh',
        args: ['-c', script, 'sh', '{input}', '{outdir}'],
        device: 'CPU',
        inputDatasetUid: datasetUid,
        outputDataset: `out.${taskId}`,
        logDataset: `logs.${taskId}`,
      }),
    },
  });
  expect(registered.status).toBe(201);
  await eventually(async () => expect((await taskView(taskId)).progress.jobsTotal).toBe(names.length), {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
}

/** A pilot process on the control plane's queues and API. */
async function startPlanePilot(name: string, settings: Record<string, unknown>): Promise<LoggingProcess> {
  const configFile = path.join(root, `${name}.json`);
  await writeFile(
    configFile,
    JSON.stringify({
      apiUrl: plane.apiUrl,
      jobQueueUrls: { CPU: plane.queueUrls.jobsCpu, GPU: plane.queueUrls.jobsGpu },
      statusQueueUrl: plane.queueUrls.status,
      workDir: path.join(root, `${name}-work`),
      spoolDir: path.join(root, `${name}-spool`),
      device: 'CPU',
      ...settings,
    }),
  );
  const pilot = startPilot(configFile);
  pilots.push(pilot);
  return pilot;
}

describe('pilots against the control plane', () => {
  it('run every job of a task to DONE, each job exactly once', async () => {
    const names = ['slice-1.raw', 'slice-2.raw', 'slice-3.raw'];
    await submitTask('t-pilot-e2e', names, 'tr a-z A-Z < "$1" > "$2/$(basename "$1").upper"');

    const both = [
      await startPlanePilot('first', { slots: 2, idleExitSeconds: 8 }),
      await startPlanePilot('second', { slots: 2, idleExitSeconds: 8 }),
    ];
    const done = await eventually(
      async () => {
        const task = await taskView('t-pilot-e2e');
        expect(task.state).toBe('DONE');
        return task;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );

    expect(done.progress.jobs.DONE).toBe(3);
    expect(done.progress.files).toMatchObject({ output: { count: 3 }, log: { count: 3 } });
    const claims = both.flatMap((pilot) => pilot.lines.filter((line) => line.message === 'job claimed'));
    expect(claims).toHaveLength(3);
    expect(new Set(claims.map((line) => line.jobId)).size).toBe(3);
    expect(await Promise.all(both.map((pilot) => pilot.exit(60_000)))).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    const listed = await plane.api('GET', '/tasks/t-pilot-e2e/files', { query: { kind: 'output' } });
    const outputs = (listed.body as { items: { name: string; location: { bucket: string; key: string } }[] })
      .items;
    expect(outputs.map((file) => file.name).sort()).toEqual(names.map((name) => `${name}.upper`));
    const first = outputs.find((file) => file.name === 'slice-1.raw.upper')!;
    expect((await getObjectBytes(s3, first.location.bucket, first.location.key)).toString()).toBe(
      'EVENTS OF SLICE-1.RAW\n',
    );
  }, 180_000);

  it('kills the running payload of a cancelled task within 10 s of the cancel', async () => {
    await submitTask('t-pilot-cancel', ['long.raw'], 'sleep 300 & sleep 300; wait');
    const pilot = await startPlanePilot('cancel', { slots: 1 });
    const started = await pilot.waitForLine((line) => line.message === 'payload started', 60_000);

    const cancelledAt = Date.now();
    const cancel = await plane.api('POST', '/tasks/t-pilot-cancel/cancel', { body: { reason: 'e2e test' } });
    await pilot.waitForLine((line) => line.message === 'job finished', 10_000);
    await eventually(() => expect(liveGroupMembers(started.pid as number)).toEqual([]), {
      timeoutMs: 10_000,
    });
    const latency = Date.now() - cancelledAt;

    console.log(`cancel request → payload process group gone: ${latency} ms`);
    expect(cancel.status).toBe(200);
    expect(latency).toBeLessThan(10_000);
    expect(pilot.lines.find((line) => line.message === 'job finished')).toMatchObject({
      outcome: 'FAILED',
      errorName: 'KILLED_CANCELLED',
    });
    await eventually(async () => expect((await taskView('t-pilot-cancel')).state).toBe('CANCELLED'), {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    pilot.kill('SIGTERM');
    expect(await pilot.exit()).toEqual({ code: 0, signal: null });
  }, 180_000);
});
