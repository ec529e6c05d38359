import { DynamoDBStreamSchema, EventBridgeSchema, SqsSchema } from '@aws-lambda-powertools/parser/schemas';
import { describe, expect, it } from 'vitest';
import { proxyResponse } from './api-server.js';
import type { InvocationOutcome } from './function-pool.js';
import { scheduledEvent } from './schedule-source.js';
import { failedItemIds, toSqsEventRecord } from './sqs-source.js';
import { firstFailedIndex, type StreamEventRecord, toStreamEventRecord } from './stream-source.js';

const QUEUE_ARN = 'arn:aws:sqs:eu-north-1:123456789012:wms-status';
const STREAM_ARN = 'arn:aws:dynamodb:eu-north-1:123456789012:table/wms-jobs/stream/2025-01-01T00:00:00.000';

function success(result: unknown): InvocationOutcome {
  return { ok: true, requestId: 'r-1', result };
}

describe('SQS records', () => {
  it('are shaped as Lambda delivers them, binary attributes in base64', () => {
    const record = toSqsEventRecord(
      {
        MessageId: 'm-1',
        ReceiptHandle: 'rh-1',
        Body: '{"jobId":"j-1"}',
        MD5OfBody: 'md5-body',
        MD5OfMessageAttributes: 'md5-attributes',
        Attributes: {
          ApproximateReceiveCount: '2',
          SentTimestamp: '1',
          SenderId: 'AIDA',
          ApproximateFirstReceiveTimestamp: '2',
        },
        MessageAttributes: {
          'wms-error-code': { DataType: 'String', StringValue: 'E100' },
          blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
        },
      },
      QUEUE_ARN,
      'eu-north-1',
    );

    expect(SqsSchema.parse({ Records: [record] }).Records[0]).toEqual(record);
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE_ARN,
      awsRegion: 'eu-north-1',
      attributes: { ApproximateReceiveCount: '2' },
      messageAttributes: {
        'wms-error-code': {
          stringValue: 'E100',
          stringListValues: [],
          binaryListValues: [],
          dataType: 'String',
        },
        blob: { binaryValue: 'AQID', dataType: 'Binary' },
      },
    });
  });
});

describe('failedItemIds (SQS ReportBatchItemFailures)', () => {
  const batch = new Set(['m-1', 'm-2']);

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['an empty object', {}],
    ['an empty list', { batchItemFailures: [] }],
    ['a null list', { batchItemFailures: null }],
  ])('counts %s as complete success', (_label, response) => {
    expect(failedItemIds(response, batch)).toEqual(new Set());
  });

  it('keeps exactly the listed messages', () => {
    expect(failedItemIds({ batchItemFailures: [{ itemIdentifier: 'm-2' }] }, batch)).toEqual(
      new Set(['m-2']),
    );
  });

  it.each([
    ['a string', 'ok'],
    ['a list', [{ itemIdentifier: 'm-1' }]],
    ['a non-list', { batchItemFailures: 'm-1' }],
    ['an empty identifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null identifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a misspelt key', { batchItemFailures: [{ itemId: 'm-1' }] }],
    ['an unknown message id', { batchItemFailures: [{ itemIdentifier: 'm-9' }] }],
  ])('fails the whole batch on %s', (_label, response) => {
    expect(failedItemIds(response, batch)).toBeNull();
  });
});

describe('stream records', () => {
  const record = toStreamEventRecord(
    {
      eventID: 'e-1',
      eventName: 'MODIFY',
      dynamodb: {
        ApproximateCreationDateTime: new Date('2025-03-01T12:00:00Z'),
        Keys: { pk: { S: 'job#1' } },
        NewImage: {
          pk: { S: 'job#1' },
          attempt: { N: '2' },
          payload: { B: new Uint8Array([255]) },
          tags: { L: [{ S: 'a' }] },
        },
        OldImage: { pk: { S: 'job#1' }, attempt: { N: '1' } },
        SequenceNumber: '100',
        SizeBytes: 42,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    },
    STREAM_ARN,
    'eu-north-1',
  );

  it('are shaped as Lambda delivers them, in attribute-value JSON', () => {
    expect(record).toEqual({
      eventID: 'e-1',
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-north-1',
      dynamodb: {
        ApproximateCreationDateTime: 1740830400,
        Keys: { pk: { S: 'job#1' } },
        NewImage: {
          pk: { S: 'job#1' },
          attempt: { N: '2' },
          payload: { B: '/w==' },
          tags: { L: [{ S: 'a' }] },
        },
        OldImage: { pk: { S: 'job#1' }, attempt: { N: '1' } },
        SequenceNumber: '100',
        SizeBytes: 42,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: STREAM_ARN,
    });
    expect(DynamoDBStreamSchema.parse({ Records: [record] }).Records[0]?.dynamodb.NewImage).toMatchObject({
      attempt: 2,
    });
  });

  it('retry from the lowest failed sequence number, or from the start when the response is unusable', () => {
    const records: StreamEventRecord[] = ['1', '2', '3'].map((sequence) => ({
      ...record,
      dynamodb: { ...record.dynamodb, SequenceNumber: sequence },
    }));

    expect(
      firstFailedIndex(
        success({ batchItemFailures: [{ itemIdentifier: '3' }, { itemIdentifier: '2' }] }),
        records,
        true,
      ),
    ).toBe(1);
    expect(firstFailedIndex(success({ batchItemFailures: [] }), records, true)).toBe(-1);
    expect(firstFailedIndex(success({ batchItemFailures: [{ itemIdentifier: '9' }] }), records, true)).toBe(
      0,
    );
    expect(firstFailedIndex(success('done'), records, true)).toBe(0);
    expect(firstFailedIndex(success({ batchItemFailures: [{ itemIdentifier: '2' }] }), records, false)).toBe(
      -1,
    );
    expect(
      firstFailedIndex(
        { ok: false, requestId: 'r', error: { errorType: 'Error', errorMessage: 'x', stackTrace: [] } },
        records,
        true,
      ),
    ).toBe(0);
  });
});

describe('scheduled events', () => {
  it('are EventBridge Scheduled Events naming their rule', () => {
    const event = scheduledEvent(
      'arn:aws:events:eu-north-1:123456789012:rule/wms-watchdog',
      'eu-north-1',
      '123456789012',
      new Date('2025-03-01T12:00:00.250Z'),
    );

    expect(EventBridgeSchema.parse(event)).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2025-03-01T12:00:00Z',
      resources: ['arn:aws:events:eu-north-1:123456789012:rule/wms-watchdog'],
      detail: {},
    });
  });
});

describe('proxyResponse', () => {
  it('maps a Lambda proxy result to status, lower-case headers and body', () => {
    const response = proxyResponse(
      {
        statusCode: 201,
        headers: { 'X-Task': 't-1' },
        multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
        body: '{"ok":true}',
      },
      'req-1',
    );

    expect(response?.statusCode).toBe(201);
    expect(response?.headers).toEqual({
      'x-task': 't-1',
      'set-cookie': ['a=1', 'b=2'],
      'content-type': 'application/json',
      'x-amzn-requestid': 'req-1',
    });
    expect(response?.body.toString()).toBe('{"ok":true}');
  });

  it('decodes base64 bodies', () => {
    expect(proxyResponse({ statusCode: 200, body: 'AQID', isBase64Encoded: true }, 'r')?.body).toEqual(
      Buffer.from([1, 2, 3]),
    );
  });

  it.each([
    ['no status code', { body: 'x' }],
    ['a status code that is not a number', { statusCode: '200' }],
    ['a non-string body', { statusCode: 200, body: { ok: true } }],
    ['an unknown field', { statusCode: 200, cookies: ['a=1'] }],
    ['a header holding an object', { statusCode: 200, headers: { a: { b: 1 } } }],
    ['a string', 'ok'],
  ])('refuses a result with %s', (_label, result) => {
    expect(proxyResponse(result, 'r')).toBeUndefined();
  });
});
