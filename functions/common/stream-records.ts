import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { z } from 'zod';
import { parseOrThrow } from '../../events/index.js';

/** One stream record with its images unmarshalled and validated. */
export interface ChangeRecord<T> {
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  sequenceNumber: string;
  oldImage?: T;
  newImage?: T;
}

/** Unmarshals and validates the images of one DynamoDB stream record. */
export function parseChangeRecord<Schema extends z.ZodType>(
  record: DynamoDBRecord,
  imageSchema: Schema,
): ChangeRecord<z.output<Schema>> {
  const image = (raw: unknown, which: string) =>
    raw === undefined
      ? undefined
      : parseOrThrow(imageSchema, unmarshall(raw as Record<string, AttributeValue>), `stream ${which} image`);
  return {
    eventName: record.eventName ?? 'MODIFY',
    sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
    oldImage: image(record.dynamodb?.OldImage, 'old'),
    newImage: image(record.dynamodb?.NewImage, 'new'),
  };
}

/**
 * A stream consumer that handles records one by one with partial batch responses: a
 * failed record is retried from its sequence number without replaying those before it.
 */
export function createStreamRecordConsumer<Schema extends z.ZodType>(
  imageSchema: Schema,
  handleRecord: (change: ChangeRecord<z.output<Schema>>) => Promise<void>,
) {
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  return (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> =>
    processPartialResponse(
      event,
      (record: DynamoDBRecord) => handleRecord(parseChangeRecord(record, imageSchema)),
      processor,
      {
        context,
      },
    );
}
