/**
 * SQS consumer of the runtime tests. Each message body (or its EventBridge `detail`) is a
 * sample `{ id, behaviour? }`: `fail` is reported as a batch item failure, `throw` fails the
 * whole invocation. Every delivery is observed with its receive count.
 */
import { SqsSchema } from '@aws-lambda-powertools/parser/schemas';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { z } from 'zod';
import { observe } from './observations.js';

const Sample = z.object({ id: z.string(), behaviour: z.enum(['ok', 'fail', 'throw']).default('ok') });
const Body = z.union([z.object({ detail: Sample }).transform((body) => body.detail), Sample]);

export async function handler(event: unknown, context: Context): Promise<SQSBatchResponse> {
  const { Records } = SqsSchema.parse(event);
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  let mustThrow = false;
  for (const record of Records) {
    const sample = Body.parse(JSON.parse(record.body));
    await observe('sqs', sample.id, {
      sampleId: sample.id,
      behaviour: sample.behaviour,
      messageId: record.messageId,
      receiveCount: Number(record.attributes.ApproximateReceiveCount),
      batchSize: Records.length,
      eventSourceARN: record.eventSourceARN,
      awsRegion: record.awsRegion,
      messageAttributes: record.messageAttributes,
      functionName: context.functionName,
      remainingMs: context.getRemainingTimeInMillis(),
    });
    if (sample.behaviour === 'fail') failures.push({ itemIdentifier: record.messageId });
    if (sample.behaviour === 'throw') mustThrow = true;
  }
  if (mustThrow) throw new Error('a sample asked the whole batch to fail');
  return { batchItemFailures: failures };
}
