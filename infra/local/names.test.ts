import { describe, expect, it } from 'vitest';
import { RuntimeConfigurationError } from './errors.js';
import { physicalNames, readableName } from './names.js';

describe('readableName', () => {
  it.each([
    ['InboundFilesDlq3F2A9C1B', 'inbound-files-dlq'],
    ['JobsTable', 'jobs-table'],
    ['DLQQueueABCDEF12', 'dlq-queue'],
    ['Gpu2Jobs0A1B2C3D', 'gpu2-jobs'],
    ['A1B2C3D4', 'a1-b2-c3-d4'],
  ])('%s → %s', (logicalId, readable) => {
    expect(readableName(logicalId)).toBe(readable);
  });
});

describe('physicalNames', () => {
  it('prefixes readable names and keeps the .fifo suffix of FIFO queues', () => {
    const names = physicalNames('wms', [
      { logicalId: 'JobsTable0A1B2C3D', type: 'AWS::DynamoDB::Table' },
      { logicalId: 'OrderedQueue0A1B2C3D', type: 'AWS::SQS::Queue', suffix: '.fifo' },
    ]);

    expect(Object.fromEntries(names)).toEqual({
      JobsTable0A1B2C3D: 'wms-jobs-table',
      OrderedQueue0A1B2C3D: 'wms-ordered-queue.fifo',
    });
  });

  it('gives logical ids with the same readable name distinct, stable names', () => {
    const requests = [
      { logicalId: 'QueueAAAAAAAA', type: 'AWS::SQS::Queue' as const },
      { logicalId: 'QueueBBBBBBBB', type: 'AWS::SQS::Queue' as const },
    ];

    const first = physicalNames('wms', requests);
    const again = physicalNames('wms', requests);

    expect(new Set(first.values()).size).toBe(2);
    expect([...first.values()].every((name) => /^wms-queue-[0-9a-f]{8}$/.test(name))).toBe(true);
    expect(again).toEqual(first);
  });

  it('shortens names past the limit of their type, keeping them unique', () => {
    const long = `${'VeryLongRuleName'.repeat(6)}0A1B2C3D`;
    const names = physicalNames('wms-test', [{ logicalId: long, type: 'AWS::Events::Rule' }]);
    const name = names.get(long) ?? '';

    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^wms-test-very-long-rule-name.*-[0-9a-f]{8}$/);
  });

  it.each(['', 'W', 'Wms', '9wms', 'wms-', 'w_ms', 'a'.repeat(21)])('refuses the prefix %j', (prefix) => {
    expect(() => physicalNames(prefix, [])).toThrow(RuntimeConfigurationError);
  });
});
