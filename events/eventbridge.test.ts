import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { parser } from '@aws-lambda-powertools/batch/parser';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../shared/errors/index.js';
import { DETAIL_TYPES, EVENT_SOURCES } from './constants.js';
import {
  buildPutEventsEntry,
  EVENT_CATALOG,
  EventTooLargeError,
  eventBridgeEventSchema,
  putEventsEntrySize,
  type SqsEventBridgeRecordOf,
  sqsEventBridgeRecordSchema,
} from './eventbridge.js';
import fileInputSample from './samples/event.file.input.json' with { type: 'json' };
import taskCancelSample from './samples/event.task.cancel.json' with { type: 'json' };
import { formatIssues } from './validation.js';

function eventBridgeEvent(detailType: string, source: string, detail: unknown) {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': detailType,
    source,
    account: '123456789012',
    time: '2025-11-14T09:12:40Z',
    region: 'eu-central-1',
    resources: [],
    detail,
  };
}

function sqsRecord(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `AQEB${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1763111560000',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1763111560012',
    },
    messageAttributes: {},
    md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-central-1:123456789012:wms-dsm-files',
    awsRegion: 'eu-central-1',
  };
}

const recordOf = (detailType: string, source: string, detail: unknown, messageId = 'm-1') =>
  sqsRecord(messageId, JSON.stringify(eventBridgeEvent(detailType, source, detail)));

describe('EVENT_CATALOG', () => {
  it('has an entry for every detail type, each with at least one source', () => {
    // Act
    const detailTypes = Object.keys(EVENT_CATALOG).sort();

    // Assess
    expect(detailTypes).toEqual(Object.values(DETAIL_TYPES).sort());
    for (const entry of Object.values(EVENT_CATALOG)) expect(entry.sources.length).toBeGreaterThan(0);
  });

  it('lets only the WMS emit outbound events, and lets it close datasets like the DSM', () => {
    // Assess
    expect(EVENT_CATALOG['task.status-changed'].sources).toEqual([EVENT_SOURCES.wms]);
    expect(EVENT_CATALOG['file.registered'].sources).toEqual([EVENT_SOURCES.wms]);
    expect(EVENT_CATALOG['dataset.close'].sources).toEqual([EVENT_SOURCES.dsm, EVENT_SOURCES.wms]);
    expect(EVENT_CATALOG['dataset.close'].direction).toBe('both');
  });
});

describe('eventBridgeEventSchema', () => {
  it('parses the event and its detail, turning the s3 URL into a location', () => {
    // Act
    const event = eventBridgeEventSchema('file.input').parse(
      eventBridgeEvent('file.input', 'spd.dsm', fileInputSample),
    );

    // Assess
    expect(event.detail.file.location).toEqual({
      bucket: 'spd-online-buffer',
      key: `input/${fileInputSample.datasetName}/${fileInputSample.file.name}`,
    });
    expect(event.detail.file).not.toHaveProperty('url');
  });

  it('refuses a source the catalog does not allow for the detail type', () => {
    // Act
    const result = eventBridgeEventSchema('file.input').safeParse(
      eventBridgeEvent('file.input', 'spd.wfms', fileInputSample),
    );

    // Assess
    expect(result.success).toBe(false);
    expect(formatIssues(result.error!).map((issue) => issue.path)).toEqual(['source']);
  });
});

describe('sqsEventBridgeRecordSchema', () => {
  it('parses a record whose body is an event of the given detail type', () => {
    // Prepare
    const schema = sqsEventBridgeRecordSchema('task.cancel');

    // Act
    const record = schema.parse(recordOf('task.cancel', 'spd.operator', taskCancelSample));

    // Assess
    expect(record.body['detail-type']).toBe('task.cancel');
    expect(record.body.detail).toEqual(taskCancelSample);
    expect(record.messageId).toBe('m-1');
  });

  it('names the bad field of the detail inside the body', () => {
    // Prepare
    const schema = sqsEventBridgeRecordSchema('file.input');
    const detail = {
      ...fileInputSample,
      file: { ...fileInputSample.file, url: 's3://spd-online-buffer/input/../etc' },
    };

    // Act
    const result = schema.safeParse(recordOf('file.input', 'spd.dsm', detail));

    // Assess
    expect(formatIssues(result.error!).map((issue) => issue.path)).toEqual(['body.detail.file.url.key']);
  });

  it('refuses an event of another detail type', () => {
    // Prepare
    const schema = sqsEventBridgeRecordSchema('task.cancel');

    // Act
    const result = schema.safeParse(recordOf('task.priority', 'spd.wfms', { taskId: 't-1', rank: 3 }));

    // Assess
    expect(formatIssues(result.error!).map((issue) => issue.path)).toContain('body["detail-type"]');
  });

  it('accepts any of several detail types and parses each with its own schema', () => {
    // Prepare
    const schema = sqsEventBridgeRecordSchema('task.cancel', 'task.priority');

    // Act
    const cancel = schema.parse(recordOf('task.cancel', 'spd.wfms', taskCancelSample));
    const priority = schema.parse(recordOf('task.priority', 'spd.wfms', { taskId: 't-1', rank: 3 }));
    const wrongDetail = schema.safeParse(recordOf('task.priority', 'spd.wfms', { taskId: 't-1', rank: 0 }));

    // Assess
    const reasonOf = (record: typeof cancel) =>
      record.body['detail-type'] === 'task.cancel' ? record.body.detail.reason : undefined;
    expect(reasonOf(cancel)).toBe(taskCancelSample.reason);
    expect(reasonOf(priority)).toBeUndefined();
    expect(priority.body.detail).toEqual({ taskId: 't-1', rank: 3 });
    expect(formatIssues(wrongDetail.error!).map((issue) => issue.path)).toEqual(['body.detail.rank']);
  });

  it('refuses a body that is not JSON at the body path', () => {
    // Act
    const result = sqsEventBridgeRecordSchema('task.cancel').safeParse(sqsRecord('m-1', 'cancel t-1'));

    // Assess
    expect(formatIssues(result.error!).map((issue) => issue.path)).toEqual(['body']);
  });

  it('makes the batch parser fail a bad record alone', async () => {
    // Prepare
    const schema = sqsEventBridgeRecordSchema('task.cancel');
    const processor = new BatchProcessor(EventType.SQS, { parser, schema });
    const handled: string[] = [];
    const event: SQSEvent = {
      Records: [
        recordOf('task.cancel', 'spd.wfms', taskCancelSample, 'good-1'),
        recordOf('task.cancel', 'spd.wfms', { taskId: '../t', reason: 'x' }, 'bad'),
        recordOf('task.cancel', 'spd.operator', taskCancelSample, 'good-2'),
      ],
    };

    // Act
    const response = await processPartialResponse(
      event,
      async (record: SqsEventBridgeRecordOf<'task.cancel'>) => {
        handled.push(`${record.messageId}:${record.body.detail.taskId}`);
      },
      processor,
      { context: {} as Context },
    );

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
    expect(handled).toEqual([`good-1:${taskCancelSample.taskId}`, `good-2:${taskCancelSample.taskId}`]);
  });
});

describe('buildPutEventsEntry', () => {
  const closeDetail = {
    datasetUid: 'ds-out1',
    datasetName: 'input.test.raw.output.1',
    files: ['a.root', 'b.root'],
  };

  it('builds an entry carrying the detail as JSON', () => {
    // Act
    const entry = buildPutEventsEntry({
      detailType: 'dataset.close',
      source: 'spd.wms',
      detail: closeDetail,
      eventBusName: 'wms-bus',
      resources: ['arn:aws:dynamodb:eu-central-1:123456789012:table/wms'],
    });

    // Assess
    expect(entry).toEqual({
      EventBusName: 'wms-bus',
      Source: 'spd.wms',
      DetailType: 'dataset.close',
      Detail: JSON.stringify(closeDetail),
      Resources: ['arn:aws:dynamodb:eu-central-1:123456789012:table/wms'],
    });
  });

  it('refuses an invalid detail, naming the field', () => {
    // Act
    const build = () =>
      buildPutEventsEntry({
        detailType: 'dataset.close',
        source: 'spd.wms',
        detail: { ...closeDetail, files: ['a.root', 'a.root'] },
        eventBusName: 'wms-bus',
      });

    // Assess
    expect(build).toThrow(ValidationError);
    expect(build).toThrow(/files\[1\]/);
  });

  it('refuses a source the catalog does not allow, even when the type system is bypassed', () => {
    // Prepare
    const source = 'spd.dsm' as 'spd.wms';

    // Act
    const build = () =>
      buildPutEventsEntry({
        detailType: 'file.registered',
        source,
        detail: {} as never,
        eventBusName: 'wms-bus',
      });

    // Assess
    expect(build).toThrow(ValidationError);
    expect(build).toThrow(/source of file.registered/);
  });

  it('refuses an entry EventBridge would refuse for its size', () => {
    // Prepare
    const files = Array.from(
      { length: 12_000 },
      (_, index) => `spd.run00421.slice${String(index).padStart(6, '0')}.raw`,
    );

    // Act
    const build = () =>
      buildPutEventsEntry({
        detailType: 'dataset.close',
        source: 'spd.dsm',
        detail: { datasetUid: 'ds-in1', files },
        eventBusName: 'wms-bus',
      });

    // Assess
    expect(build).toThrow(EventTooLargeError);
  });
});

describe('putEventsEntrySize', () => {
  it('counts UTF-8 bytes of source, detail type, detail and resources, and 14 for a time', () => {
    // Prepare
    const entry = {
      Source: 'spd.wms',
      DetailType: 'x',
      Detail: '"é"',
      Resources: ['ab', 'c'],
      Time: new Date(0),
    };

    // Act
    const size = putEventsEntrySize(entry);

    // Assess
    expect(size).toBe(7 + 1 + 4 + 3 + 14);
    expect(putEventsEntrySize({ Source: 'a', DetailType: 'b' })).toBe(2);
  });
});
