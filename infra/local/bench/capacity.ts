/**
 * The emulator's raw capacity: concurrent clients repeat a cycle of cheap calls the control
 * plane and the pilots make all the time (SQS SendMessage, ReceiveMessage and DeleteMessage,
 * DynamoDB GetItem and UpdateItem) for a few seconds, in several windows one after another; capacity is the
 * calls completed per second in the best window. Anything else on the machine (another
 * process, a hypervisor taking the CPU) can only lower a window's rate, so the best window is
 * the closest to what the emulator can do. The emulator's CPU time per call in that window is
 * what one of these calls costs it, to set beside what the WMS's calls cost it in a run.
 */
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createAwsClients } from '../../../shared/aws/index.js';
import { readProcessCpu } from './cpu.js';

export interface CapacityOptions {
  clients: number;
  /** Length of one window. */
  durationMs: number;
  windows: number;
  /** The emulator's process, whose CPU time is read around each window. */
  emulatorPid: number;
}

export interface Capacity {
  /** The best window's calls per second. */
  callsPerSecond: number;
  /** Every window's, in order. */
  windows: number[];
  /** The emulator's CPU time per call in the best window, in ms; null where /proc cannot be read. */
  emulatorCpuMsPerCall: number | null;
}

/** Calls per second the emulator answers at the current AWS_ENDPOINT_URL. */
export async function measureCapacity(options: CapacityOptions): Promise<Capacity> {
  const aws = createAwsClients();
  const name = `bench-capacity-${randomBytes(4).toString('hex')}`;
  await aws.dynamo.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  const { QueueUrl: queueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: name }));
  try {
    const windows: number[] = [];
    const cpuMsPerCall: (number | null)[] = [];
    for (let window = 0; window < options.windows; window++) {
      let calls = 0;
      const cpuBefore = readProcessCpu(options.emulatorPid);
      const started = performance.now();
      const deadline = started + options.durationMs;
      const loop = async (client: number) => {
        const key = { id: `item-${client}` };
        while (performance.now() < deadline) {
          await aws.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `${client}` }));
          const received = await aws.sqs.send(
            new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }),
          );
          // Deleted, as the WMS deletes what it has handled: messages left in flight would pile
          // up and slow every later receive (moto looks through them all), window after window.
          const handle = received.Messages?.[0]?.ReceiptHandle;
          if (handle !== undefined) {
            await aws.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: handle }));
            calls += 1;
          }
          await aws.doc.send(
            new UpdateCommand({
              TableName: name,
              Key: key,
              UpdateExpression: 'ADD #n :one',
              ExpressionAttributeNames: { '#n': 'n' },
              ExpressionAttributeValues: { ':one': 1 },
            }),
          );
          await aws.doc.send(new GetCommand({ TableName: name, Key: key }));
          calls += 4;
        }
      };
      await Promise.all(Array.from({ length: options.clients }, (_, client) => loop(client)));
      windows.push(calls / ((performance.now() - started) / 1000));
      const cpuAfter = readProcessCpu(options.emulatorPid);
      cpuMsPerCall.push(cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / calls);
    }
    const best = windows.indexOf(Math.max(...windows));
    return { callsPerSecond: windows[best]!, windows, emulatorCpuMsPerCall: cpuMsPerCall[best] ?? null };
  } finally {
    await aws.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    await aws.dynamo.send(new DeleteTableCommand({ TableName: name }));
  }
}
