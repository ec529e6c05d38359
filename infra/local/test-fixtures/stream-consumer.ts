/**
 * DynamoDB stream consumer of the runtime tests: observes every record it receives; an item
 * whose `behaviour` is `fail` is reported as a batch item failure.
 */
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas';
import type { Context, DynamoDBBatchResponse } from 'aws-lambda';
import { observe } from './observations.js';

export async function handler(event: unknown, context: Context): Promise<DynamoDBBatchResponse> {
  const { Records } = DynamoDBStreamSchema.parse(event);
  const failures: DynamoDBBatchResponse['batchItemFailures'] = [];
  for (const record of Records) {
    if (!('SequenceNumber' in record.dynamodb)) throw new Error('a stream record without SequenceNumber');
    const sequenceNumber = record.dynamodb.SequenceNumber;
    const image = record.dynamodb.NewImage ?? {};
    const id = String(record.dynamodb.Keys.pk);
    await observe('stream', id, {
      itemId: id,
      eventName: record.eventName,
      kind: image.kind ?? null,
      sequenceNumber,
      eventSourceARN: record.eventSourceARN,
      functionName: context.functionName,
    });
    if (image.behaviour === 'fail') failures.push({ itemIdentifier: sequenceNumber });
  }
  return { batchItemFailures: failures };
}
