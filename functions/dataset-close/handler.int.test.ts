import { createHash, randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DetailInputOf, DetailType } from '../../events/index.js';
import { toSqsEventRecord } from '../../infra/local/index.js';
import { compareCodePoints } from '../../shared/ids/index.js';
import {
  checklistObjectOpener,
  checklistReadPlaces,
  JobGenerationMessage,
} from '../../shared/services/index.js';
import {
  fileRef,
  newFile,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { DEAD_LETTER_ATTRIBUTES } from '../common/index.js';
import { createFileInputHandler } from '../file-input/handler.js';
import { createDatasetCloseHandler } from './handler.js';

/** Received messages as Lambda's SQS event source passes them (the embedded runtime's record builder). */
function sqsEvent(messages: readonly Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((message) => toSqsEventRecord(message, queueArn, 'us-east-1')),
  } as unknown as SQSEvent;
}

const context = {
  functionName: 'dataset-close',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 60_000,
} as Context;
const logger = new Logger({ logLevel: 'SILENT' });
let fixture: RepositoryFixture;
let counter = 0;
let dataBucket: string;

beforeAll(async () => {
  fixture = await repositoryFixture('fn-dataset-close');
  dataBucket = uniquePrefix('close-data');
  await fixture.clients.s3.send(new CreateBucketCommand({ Bucket: dataBucket }));
});

interface Queue {
  url: string;
  arn: string;
}

async function createQueue(name: string): Promise<Queue> {
  const { sqs } = fixture.clients;
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return { url, arn: attributes.Attributes!.QueueArn! };
}

async function receive(url: string, count: number, waitSeconds = 1): Promise<Message[]> {
  const messages: Message[] = [];
  const deadline = Date.now() + 15_000;
  while (messages.length < count && Date.now() < deadline) {
    const response = await fixture.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    messages.push(...(response.Messages ?? []));
  }
  return messages;
}

function envelope<T extends DetailType>(detailType: T, source: string, detail: DetailInputOf<T>): string {
  return JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
  });
}

/** Sends one event to `queue` as its bus rule would, and receives it as Lambda would get it. */
async function deliver(queue: Queue, body: string): Promise<SQSEvent> {
  await fixture.clients.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body }));
  return redeliver(queue);
}

async function redeliver(queue: Queue): Promise<SQSEvent> {
  const messages = await receive(queue.url, 1);
  return sqsEvent(messages, queue.arn);
}

/** The queues of both consumers and the job-generation queue, fresh for one test. */
async function setUp(closeAttempts: number) {
  const prefix = uniquePrefix('close');
  const [closeQueue, closeDeadLetter, filesQueue, filesDeadLetter, generation] = await Promise.all(
    ['close', 'close-dlq', 'files', 'files-dlq', 'generation'].map((name) =>
      createQueue(`${prefix}-${name}`),
    ),
  );
  const consumerQueue = (source: Queue, deadLetter: Queue) => ({
    SOURCE_QUEUE_URL: source.url,
    DEAD_LETTER_QUEUE_URL: deadLetter!.url,
    SOURCE_MAX_RECEIVE_COUNT: 20,
  });
  const close = createDatasetCloseHandler({
    repos: fixture.repos,
    sqs: fixture.clients.sqs,
    logger,
    queue: consumerQueue(closeQueue!, closeDeadLetter!),
    jobGenerationQueueUrl: generation!.url,
    openChecklist: checklistObjectOpener(fixture.clients.s3, checklistReadPlaces(dataBucket)),
    deferral: { baseSeconds: 1, maxSeconds: 1, maxAttempts: closeAttempts },
  });
  const fileInput = createFileInputHandler({
    repos: fixture.repos,
    sqs: fixture.clients.sqs,
    logger,
    queue: consumerQueue(filesQueue!, filesDeadLetter!),
  });
  counter += 1;
  const datasetUid = `ds-close-${counter}`;
  /** Announces `name` with the content of the file `content` names (the same by default). */
  const announce = async (name: string, content = name) =>
    fileInput(
      await deliver(
        filesQueue!,
        envelope('file.input', 'spd.dsm', {
          datasetUid,
          datasetName: datasetUid,
          file: {
            name,
            url: `s3://spd-data/raw/${name}`,
            size: fileRef(content).size,
            checksum: fileRef(content).checksum,
          },
        }),
      ),
      context,
    );
  const closeEvent = (files: string[]) => envelope('dataset.close', 'spd.dsm', { datasetUid, files });
  /** Registers `names` straight in the repository, as many file.input would. */
  const register = async (names: readonly string[]) => {
    await fixture.repos.datasets.create({ uid: datasetUid, name: datasetUid, kind: 'input' });
    const batches = [];
    for (let start = 0; start < names.length; start += 99) batches.push(names.slice(start, start + 99));
    for (let start = 0; start < batches.length; start += 8) {
      await Promise.all(
        batches.slice(start, start + 8).map(async (batch) => {
          const result = await fixture.repos.files.registerMany(
            batch.map((name) => newFile(datasetUid, name)),
          );
          expect(result.created).toHaveLength(batch.length);
        }),
      );
    }
  };
  /** Stores `names` as a checklist object the way the DSM does, and the close that refers to it. */
  const closeByReference = async (
    names: readonly string[],
    reference: { key?: string; count?: number; store?: boolean } = {},
  ) => {
    const body = names.map((name) => `${name}\n`).join('');
    const key = reference.key ?? `datasets/${datasetUid}.checklist`;
    if (reference.store !== false) {
      await fixture.clients.s3.send(new PutObjectCommand({ Bucket: dataBucket, Key: key, Body: body }));
    }
    return envelope('dataset.close', 'spd.dsm', {
      datasetUid,
      checklistObject: {
        url: `s3://${dataBucket}/${key}`,
        count: reference.count ?? names.length,
        sha256: createHash('sha256').update(body).digest('hex'),
      },
    });
  };
  return {
    datasetUid,
    register,
    closeByReference,
    close,
    closeQueue: closeQueue!,
    closeDeadLetter: closeDeadLetter!,
    generation: generation!,
    announce,
    closeEvent,
  };
}

describe('dataset-close handler', () => {
  it('defers a close whose files are missing, then closes it after the missing file.input and starts the waiting task', async () => {
    const flow = await setUp(12);
    await flow.announce('a.raw');
    await flow.announce('b.raw');
    const taskId = `t-close-${counter}`;
    await fixture.repos.tasks.create(taskId, taskSpec({ inputDatasetUid: flow.datasetUid }));

    const early = await flow.close(
      await deliver(flow.closeQueue, flow.closeEvent(['a.raw', 'b.raw', 'c.raw'])),
      context,
    );
    await flow.announce('c.raw');
    const retried = await redeliver(flow.closeQueue);
    const accepted = await flow.close(retried, context);

    expect(early.batchItemFailures).toHaveLength(1);
    expect(retried.Records[0]?.attributes.ApproximateReceiveCount).toBe('2');
    expect(accepted.batchItemFailures).toEqual([]);
    expect(await fixture.repos.datasets.get(flow.datasetUid)).toMatchObject({
      state: 'CLOSED',
      fileCount: 3,
    });
    expect((await fixture.repos.tasks.get(taskId)).state).toBe('RUNNING');
    const [message] = await receive(flow.generation.url, 1);
    expect(JobGenerationMessage.parse(JSON.parse(message!.Body!))).toEqual({ taskId });
  });

  it('dead-letters a close that still does not match on its last try, listing the mismatch', async () => {
    const flow = await setUp(1);
    await flow.announce('a.raw');
    await flow.announce('stray.raw');

    const response = await flow.close(
      await deliver(flow.closeQueue, flow.closeEvent(['a.raw', 'b.raw'])),
      context,
    );

    expect(response.batchItemFailures).toEqual([]);
    const [dead] = await receive(flow.closeDeadLetter.url, 1);
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue).toBe('DEFERRED_TOO_LONG');
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe(
      `dataset ${flow.datasetUid} does not match its checklist: 2 registered, 2 listed; missing: b.raw; extra: stray.raw`,
    );
    expect((await fixture.repos.datasets.get(flow.datasetUid)).state).toBe('OPEN');
  });

  it('takes a file name in NFC and in NFD as one file, and closes with a checklist in either spelling', async () => {
    const flow = await setUp(1);
    const nfc = 'caf\u00e9.raw';
    const nfd = 'cafe\u0301.raw';
    await flow.announce(nfc);
    await flow.announce(nfd, nfc);

    const response = await flow.close(await deliver(flow.closeQueue, flow.closeEvent([nfd])), context);

    expect(response.batchItemFailures).toEqual([]);
    expect(await fixture.repos.datasets.get(flow.datasetUid)).toMatchObject({
      state: 'CLOSED',
      fileCount: 1,
    });
    const { items } = await fixture.repos.files.list(flow.datasetUid);
    expect(items.map((file) => file.name)).toEqual([nfc]);
  });

  it('shows names outside ASCII as escaped code points in a mismatch, so look-alikes read differently', async () => {
    const flow = await setUp(1);
    await flow.announce('caf\u00e9.raw');

    await flow.close(await deliver(flow.closeQueue, flow.closeEvent(['caf\u00e8.raw'])), context);

    const [dead] = await receive(flow.closeDeadLetter.url, 1);
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe(
      `dataset ${flow.datasetUid} does not match its checklist: 1 registered, 1 listed; missing: caf\\u00e8.raw; extra: caf\\u00e9.raw`,
    );
  });

  it('changes nothing on a repeated close, and dead-letters a close that contradicts a closed dataset', async () => {
    const flow = await setUp(12);
    await flow.announce('a.raw');
    await flow.close(await deliver(flow.closeQueue, flow.closeEvent(['a.raw'])), context);
    const closed = await fixture.repos.datasets.get(flow.datasetUid);

    const repeated = await flow.close(await deliver(flow.closeQueue, flow.closeEvent(['a.raw'])), context);
    const contradicting = await flow.close(
      await deliver(flow.closeQueue, flow.closeEvent(['a.raw', 'z.raw'])),
      context,
    );

    expect(repeated.batchItemFailures).toEqual([]);
    expect(contradicting.batchItemFailures).toEqual([]);
    expect(await fixture.repos.datasets.get(flow.datasetUid)).toEqual(closed);
    const [dead] = await receive(flow.closeDeadLetter.url, 1);
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue).toBe(
      'DATASET_CLOSED_MISMATCH',
    );
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toContain('missing: z.raw');
  });

  describe('with its checklist in an object', () => {
    const names = (count: number, prefix = 'spd.run00421.slice') =>
      Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(6, '0')}.raw`);

    it('closes a dataset of 20,000 files whose checklist object lists them, names beyond U+FFFF included', async () => {
      const flow = await setUp(12);
      // Code-unit and code-point order differ on these two: the walk must follow DynamoDB's.
      const listed = [...names(19_998), 'z\uff0e.raw', 'z\u{1f600}.raw'].sort(compareCodePoints);
      await flow.register(listed);
      const taskId = `t-close-ref-${counter}`;
      await fixture.repos.tasks.create(taskId, taskSpec({ inputDatasetUid: flow.datasetUid }));

      const response = await flow.close(
        await deliver(flow.closeQueue, await flow.closeByReference(listed)),
        context,
      );

      expect(response.batchItemFailures).toEqual([]);
      expect(await fixture.repos.datasets.get(flow.datasetUid)).toMatchObject({
        state: 'CLOSED',
        fileCount: 20_000,
      });
      expect((await fixture.repos.tasks.get(taskId)).state).toBe('RUNNING');
    }, 120_000);

    it('defers a close whose object lists other files, then dead-letters it with the first differences and the counts', async () => {
      const flow = await setUp(2);
      const registered = names(20_000);
      await flow.register(registered);
      const listed = [...registered.slice(0, 5_000), ...registered.slice(5_020), 'zz-missing.raw'];
      const close = await flow.closeByReference(listed);

      const first = await flow.close(await deliver(flow.closeQueue, close), context);
      const last = await flow.close(await redeliver(flow.closeQueue), context);

      expect(first.batchItemFailures).toHaveLength(1);
      expect(last.batchItemFailures).toEqual([]);
      const [dead] = await receive(flow.closeDeadLetter.url, 1);
      expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue).toBe('DEFERRED_TOO_LONG');
      const extra = registered.slice(5_000, 5_010).join(',');
      expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe(
        `dataset ${flow.datasetUid} does not match its checklist: 20000 registered, 19981 listed; ` +
          `missing: zz-missing.raw; extra: ${extra},… (20 in all)`,
      );
      expect((await fixture.repos.datasets.get(flow.datasetUid)).state).toBe('OPEN');
    }, 120_000);

    it('defers a close whose object is not there yet, and closes once it is', async () => {
      const flow = await setUp(12);
      await flow.register(['a.raw', 'b.raw']);
      const close = await flow.closeByReference(['a.raw', 'b.raw'], { store: false });

      const deferred = await flow.close(await deliver(flow.closeQueue, close), context);
      await flow.closeByReference(['a.raw', 'b.raw']);
      const accepted = await flow.close(await redeliver(flow.closeQueue), context);

      expect(deferred.batchItemFailures).toHaveLength(1);
      expect(accepted.batchItemFailures).toEqual([]);
      expect((await fixture.repos.datasets.get(flow.datasetUid)).state).toBe('CLOSED');
    });

    it('dead-letters at once a reference outside the checklist places, or to an object that differs from it', async () => {
      const flow = await setUp(12);
      await flow.register(['a.raw', 'b.raw']);

      await flow.close(
        await deliver(
          flow.closeQueue,
          await flow.closeByReference(['a.raw', 'b.raw'], { key: 'outputs/x/list.txt' }),
        ),
        context,
      );
      await flow.close(
        await deliver(flow.closeQueue, await flow.closeByReference(['a.raw', 'b.raw'], { count: 3 })),
        context,
      );
      await flow.close(
        await deliver(flow.closeQueue, await flow.closeByReference(['b.raw', 'a.raw'])),
        context,
      );

      const dead = await receive(flow.closeDeadLetter.url, 3);
      const reasons = Object.fromEntries(
        dead.map((message) => [
          message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue,
          message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue,
        ]),
      );
      expect(reasons).toEqual({
        CHECKLIST_LOCATION_REFUSED: `dataset ${flow.datasetUid}: checklist object s3://${dataBucket}/outputs/x/list.txt is outside the places checklists are read from (s3://${dataBucket}/checklists/, s3://${dataBucket}/datasets/)`,
        CHECKLIST_OBJECT_MISMATCH: `dataset ${flow.datasetUid}: checklist object s3://${dataBucket}/datasets/${flow.datasetUid}.checklist holds 2 names, not the 3 its reference says`,
        CHECKLIST_LINE_INVALID: `dataset ${flow.datasetUid}: checklist object s3://${dataBucket}/datasets/${flow.datasetUid}.checklist line 2: comes before the line before it in code-point order`,
      });
      expect((await fixture.repos.datasets.get(flow.datasetUid)).state).toBe('OPEN');
    });
  });
});
