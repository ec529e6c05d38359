import { describe, expect, it } from 'vitest';
import { perJob, subtractCalls, sumCalls, totalCalls } from './calls.js';

const call = (service: string, operation: string, calls: number) => ({ service, operation, calls });

describe('call arithmetic', () => {
  it('adds and subtracts by service and operation, dropping what nets to zero', () => {
    const after = [call('SQS', 'ReceiveMessage', 10), call('DynamoDB', 'GetItem', 4)];
    const before = [call('SQS', 'ReceiveMessage', 3), call('DynamoDB', 'GetItem', 4)];
    expect(subtractCalls(after, before)).toEqual([call('SQS', 'ReceiveMessage', 7)]);
    expect(sumCalls(after, [call('S3', 'PutObject', 2)])).toEqual([
      call('DynamoDB', 'GetItem', 4),
      call('S3', 'PutObject', 2),
      call('SQS', 'ReceiveMessage', 10),
    ]);
    expect(totalCalls(after)).toBe(14);
  });

  it('gives calls per job by service and in total, to hundredths', () => {
    const calls = [
      call('SQS', 'ReceiveMessage', 7),
      call('SQS', 'DeleteMessage', 3),
      call('S3', 'GetObject', 1),
    ];
    expect(perJob(calls, 3)).toEqual({ S3: 0.33, SQS: 3.33, total: 3.67 });
  });
});
