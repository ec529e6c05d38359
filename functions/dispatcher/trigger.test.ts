import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors/index.js';
import { parseTrigger } from './trigger.js';

const scheduled = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/DispatchSchedule'],
  detail: {},
};

const streamBatch = {
  Records: [
    {
      eventID: '1',
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/Jobs/stream/2026',
      dynamodb: {
        Keys: { jobId: { S: 'j-1' } },
        SequenceNumber: '100',
        SizeBytes: 10,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    },
  ],
};

describe('parseTrigger', () => {
  it('accepts the schedule and a stream batch, and tells them apart', () => {
    expect(parseTrigger(scheduled).kind).toBe('schedule');
    expect(parseTrigger(streamBatch).kind).toBe('stream');
  });

  it('refuses other events, naming what is wrong', () => {
    const parse = (event: unknown) => () => parseTrigger(event);
    expect(parse({ ...scheduled, 'detail-type': 'task.cancel', source: 'spd.wfms' })).toThrow(
      ValidationError,
    );
    expect(parse({ ...scheduled, 'detail-type': 'task.cancel' })).toThrow(/detail-type/);
    expect(parse({ Records: [] })).toThrow(/Records/);
    expect(parse({ Records: [{ ...streamBatch.Records[0], eventSource: 'aws:sqs' }] })).toThrow(
      /Records\[0\]\.eventSource/,
    );
    expect(parse(null)).toThrow(ValidationError);
  });
});
