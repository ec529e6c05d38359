/**
 * Inbound messages as at-least-once delivery makes them: duplicated, out of order, a close
 * before its last file, and poison (malformed or of the wrong shape) on every consumer queue.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPutEventsEntry, EVENT_SOURCES } from '../../events/index.js';
import { datasetUidFor } from '../../shared/ids/index.js';
import { eventually, type QueueName } from '../support/index.js';
import {
  announceInOrder,
  expectNothingLost,
  inputFiles,
  POLL_MS,
  publish,
  readDeadLetters,
  type System,
  startSystem,
  storeInputDataset,
  type TaskSpecInput,
  taskEnd,
  taskSubmitted,
  type WmsApi,
  wmsApi,
  workerTask,
} from './support/index.js';

/** The queues whose consumers validate what they receive and dead-letter what they cannot use. */
const CONSUMER_QUEUES = [
  'inboundFiles',
  'datasetClose',
  'datasetAdmin',
  'taskCommands',
  'jobGeneration',
  'status',
] as const satisfies readonly QueueName[];

/** Dead letters anywhere that mention one of `markers` (a dataset uid, a task id). */
async function deadLettersMentioning(system: System, markers: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const queue of CONSUMER_QUEUES) {
    for (const letter of await readDeadLetters(system, queue)) {
      if (markers.some((marker) => letter.body.includes(marker))) found.push(`${queue}: ${letter.reason}`);
    }
  }
  return found;
}

describe('inbound delivery faults', () => {
  let system: System;
  let wms: WmsApi;

  beforeAll(async () => {
    system = await startSystem({
      name: 'event-delivery',
      tunables: {
        DATASET_CLOSE_BASE_SECONDS: '1',
        DATASET_CLOSE_MAX_SECONDS: '2',
        POWERTOOLS_LOG_LEVEL: 'WARN',
      },
      scheduleScale: 0.05,
    });
    wms = wmsApi(system.api);
    system.startPilot({ name: 'delivery-node', slots: 4 });
  });
  afterAll(() => system?.stop());

  it('every inbound event delivered twice and out of order ends in the same state as delivered once', async () => {
    // Prepare: the same files and the same task twice over.
    const files = inputFiles(4, 'twice');
    const once = await storeInputDataset(system, files);
    const twice = await storeInputDataset(system, files);
    const onceSpec = {
      ...workerTask(system, { name: 'once', inputDatasetUid: once.uid }),
      taskId: `t-${randomUUID()}`,
    };
    const twiceSpec = {
      ...workerTask(system, { name: 'twice', inputDatasetUid: twice.uid }),
      taskId: `t-${randomUUID()}`,
    };
    const [last, ...earlier] = twice.fileInputs.toReversed();

    // Act: the task announced twice, the files but the last in reverse order and twice, the
    // close twice before the last file, which comes twice after it.
    await publish(system, [taskSubmitted(system, onceSpec), ...once.fileInputs, once.close]);
    await publish(system, [
      taskSubmitted(system, twiceSpec),
      ...earlier,
      ...earlier,
      twice.close,
      twice.close,
    ]);
    await eventually(async () => expect((await wms.dataset(twice.uid)).fileCount).toBe(files.size - 1), {
      timeoutMs: 30_000,
      intervalMs: POLL_MS,
    });
    await publish(system, [last!, last!, taskSubmitted(system, twiceSpec)]);
    const [onceTask, twiceTask] = await Promise.all([
      taskEnd(wms, onceSpec.taskId, 90_000),
      taskEnd(wms, twiceSpec.taskId, 90_000),
    ]);

    // Assess
    const finalState = async (taskId: string, spec: TaskSpecInput, inputUid: string) => {
      const task = await wms.task(taskId);
      const input = await wms.dataset(inputUid);
      const output = await wms.dataset(datasetUidFor(spec.outputDataset));
      const log = await wms.dataset(datasetUidFor(spec.logDataset));
      const jobs = await wms.jobs(taskId);
      const outputs = await wms.files(taskId, 'output');
      return {
        task: { state: task.state, counts: task.counts, jobsTotal: task.jobsTotal },
        input: { state: input.state, fileCount: input.fileCount, totalBytes: input.totalBytes },
        output: { state: output.state, fileCount: output.fileCount, totalBytes: output.totalBytes },
        log: { state: log.state, fileCount: log.fileCount },
        jobs: jobs.map((job) => [job.inputs[0]!.name, job.state, job.attempt]).sort(),
        outputs: outputs.map((file) => [file.name, file.size, file.checksum]).sort(),
      };
    };
    // A task's datasets close just after it ends.
    const settled = { timeoutMs: 30_000, intervalMs: POLL_MS };
    const expected = await eventually(async () => {
      const state = await finalState(onceTask.taskId, onceSpec, once.uid);
      expect([state.output.state, state.log.state]).toEqual(['CLOSED', 'CLOSED']);
      return state;
    }, settled);
    expect(expected.task).toMatchObject({ state: 'DONE', jobsTotal: files.size });
    expect(expected.outputs).toHaveLength(files.size);
    await eventually(
      async () => expect(await finalState(twiceTask.taskId, twiceSpec, twice.uid)).toEqual(expected),
      settled,
    );
    expect(
      await deadLettersMentioning(system, [once.uid, twice.uid, onceSpec.taskId, twiceSpec.taskId]),
    ).toEqual([]);
    await expectNothingLost(system, [onceSpec.taskId, twiceSpec.taskId]);
  });

  it('a dataset.close arriving before its last file.input is deferred, then accepted once the file is registered', async () => {
    // Prepare
    const files = inputFiles(3, 'late');
    const input = await storeInputDataset(system, files);
    const taskId = await wms.registerTask(
      workerTask(system, { name: 'late-file', inputDatasetUid: input.uid }),
    );
    const [lastFile] = input.fileInputs.slice(-1);
    await publish(system, input.fileInputs.slice(0, -1));
    await eventually(async () => expect((await wms.dataset(input.uid)).fileCount).toBe(files.size - 1), {
      timeoutMs: 30_000,
      intervalMs: POLL_MS,
    });
    const closeInvocations = () => system.plane.runtime.stats().functions['dataset-close']?.invocations ?? 0;
    const invocationsBefore = closeInvocations();

    // Act: the close, then the last file a few deferrals later.
    await publish(system, [input.close]);
    const observeUntil = Date.now() + 4_000;
    while (Date.now() < observeUntil) {
      const dataset = await wms.dataset(input.uid);
      expect(dataset).toMatchObject({ state: 'OPEN', fileCount: files.size - 1 });
      expect((await wms.task(taskId)).jobsTotal).toBe(0);
      await sleep(POLL_MS);
    }
    const deliveriesWhileDeferred = closeInvocations() - invocationsBefore;
    await publish(system, [lastFile!]);

    // Assess
    expect(deliveriesWhileDeferred, 'deliveries of the deferred dataset.close').toBeGreaterThanOrEqual(2);
    const closed = await eventually(
      async () => {
        const dataset = await wms.dataset(input.uid);
        expect(dataset).toMatchObject({ state: 'CLOSED', fileCount: files.size });
        return dataset;
      },
      { timeoutMs: 30_000, intervalMs: POLL_MS },
    );
    const inputs = await wms.files(taskId, 'input');
    const lastRegistered = inputs
      .map((file) => file.registeredAt)
      .sort()
      .at(-1)!;
    expect(closed.closedAt! >= lastRegistered).toBe(true);
    const task = await taskEnd(wms, taskId, 60_000);
    expect(task).toMatchObject({ state: 'DONE', jobsTotal: files.size });
    expect(await deadLettersMentioning(system, [input.uid, taskId])).toEqual([]);
    await expectNothingLost(system, [taskId]);
  });

  it('poison messages on every consumer queue end in its dead-letter queue with their reason, and everything else is done', async () => {
    // Prepare: per queue, one malformed body and one of the wrong shape, each with a marker.
    const marker = `poison-${randomUUID()}`;
    const { busName } = system.plane;
    const wrongShape = (detailType: string, source: string, detail: unknown): PutEventsRequestEntry => ({
      EventBusName: busName,
      DetailType: detailType,
      Source: source,
      Detail: JSON.stringify(detail),
    });
    /** Per queue: the wrong-shape message, and the field its reason must name. */
    const poisonEvents: Record<
      'inboundFiles' | 'datasetClose' | 'datasetAdmin' | 'taskCommands',
      [PutEventsRequestEntry, string]
    > = {
      inboundFiles: [
        wrongShape('file.input', EVENT_SOURCES.dsm, {
          datasetUid: marker,
          datasetName: 'poison',
          file: {
            name: 'a.dat',
            url: `s3://${system.plane.bucket}/a.dat`,
            size: -1,
            checksum: `sha256:${'0'.repeat(64)}`,
          },
        }),
        'size',
      ],
      datasetClose: [
        wrongShape('dataset.close', EVENT_SOURCES.dsm, { datasetUid: marker, files: 'all' }),
        'files',
      ],
      datasetAdmin: [
        wrongShape('dataset.upload', EVENT_SOURCES.dsm, { datasetUid: marker, bucket: 'b' }),
        'bucket',
      ],
      taskCommands: [
        wrongShape('task.submitted', EVENT_SOURCES.wfms, { taskId: marker, name: 'poison' }),
        'executable',
      ],
    };
    const poisonMessages: Record<'jobGeneration' | 'status', [string, string]> = {
      jobGeneration: [JSON.stringify({ taskId: marker, cursor: 7 }), 'cursor'],
      status: [
        JSON.stringify({
          type: 'job.progress',
          jobId: marker,
          taskId: marker,
          attempt: 'first',
          pilotId: 'p-1',
          claimToken: 'c-1',
          at: new Date().toISOString(),
          phase: 'EXECUTING',
        }),
        'attempt',
      ],
    };
    const files = inputFiles(3, 'healthy');
    const input = await storeInputDataset(system, files);
    const spec = workerTask(system, { name: 'healthy', inputDatasetUid: input.uid });
    const taskId = await wms.registerTask(spec);

    // Act
    for (const queue of CONSUMER_QUEUES) {
      await system.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: system.plane.queueUrls[queue],
          MessageBody: `{"marker":"${marker}",`,
        }),
      );
    }
    for (const [queue, [body]] of Object.entries(poisonMessages)) {
      await system.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: system.plane.queueUrls[queue as QueueName], MessageBody: body }),
      );
    }
    await publish(
      system,
      Object.values(poisonEvents).map(([entry]) => entry),
    );
    await announceInOrder(system, input);
    const task = await taskEnd(wms, taskId, 60_000);
    // Only a CLOSED dataset can be marked for upload.
    await eventually(
      async () => expect((await wms.dataset(datasetUidFor(spec.outputDataset))).state).toBe('CLOSED'),
      { timeoutMs: 30_000, intervalMs: POLL_MS },
    );
    await publish(system, [
      buildPutEventsEntry({
        detailType: 'dataset.upload',
        source: EVENT_SOURCES.dsm,
        eventBusName: busName,
        detail: { datasetUid: datasetUidFor(spec.outputDataset) },
      }),
    ]);

    // Assess
    expect(task).toMatchObject({ state: 'DONE', jobsTotal: files.size });
    await eventually(
      async () => expect((await wms.dataset(datasetUidFor(spec.outputDataset))).state).toBe('TO_UPLOAD'),
      { timeoutMs: 30_000, intervalMs: POLL_MS },
    );
    const expectedFields: Record<string, string> = Object.fromEntries([
      ...Object.entries(poisonEvents).map(([queue, [, field]]) => [queue, field]),
      ...Object.entries(poisonMessages).map(([queue, [, field]]) => [queue, field]),
    ]);
    for (const queue of CONSUMER_QUEUES) {
      const letters = await eventually(
        async () => {
          const found = (await readDeadLetters(system, queue)).filter((letter) =>
            letter.body.includes(marker),
          );
          expect(found, `dead letters of ${queue}`).toHaveLength(2);
          return found;
        },
        { timeoutMs: 30_000, intervalMs: POLL_MS },
      );
      const malformed = letters.find((letter) => letter.body.endsWith(','));
      const misshapen = letters.find((letter) => !letter.body.endsWith(','));
      expect(malformed, `malformed message in the DLQ of ${queue}`).toMatchObject({ code: 'VALIDATION' });
      expect(malformed?.reason, queue).toMatch(/\S/);
      expect(misshapen, `wrong-shape message in the DLQ of ${queue}`).toMatchObject({ code: 'VALIDATION' });
      expect(misshapen?.reason, queue).toContain(expectedFields[queue]);
    }
    expect(await deadLettersMentioning(system, [input.uid, taskId])).toEqual([]);
    await expectNothingLost(system, [taskId]);
  });
});
