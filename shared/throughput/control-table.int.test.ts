/** The Control table's per-minute record on the emulator: concurrent batches all count, and items expire. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RepositoryFixture, repositoryFixture } from '../../test/support/index.js';
import {
  ControlTableHistory,
  ControlTableRecorder,
  THROUGHPUT_KEY_PREFIX,
  THROUGHPUT_RECORD_SECONDS,
} from './control-table.js';

let fixture: RepositoryFixture;

beforeAll(async () => {
  fixture = await repositoryFixture('throughput');
});

describe('the Control table throughput record', () => {
  it('counts every one of concurrent batches in their minute, with one update each and none for an empty batch', async () => {
    // Prepare
    const recorder = new ControlTableRecorder(fixture.repos.control);
    const at = new Date('2026-05-04T08:15:42.000Z');

    // Act
    await Promise.all(
      Array.from({ length: 20 }, (_, index) => recorder.record({ done: 2, failed: index % 2 }, at)),
    );
    // A batch that finished nothing writes nothing.
    await recorder.record({ done: 0, failed: 0 }, at);
    const calls = fixture.calls.snapshot();
    const points = await new ControlTableHistory(fixture.repos.control).recent(
      2,
      new Date('2026-05-04T08:16:01Z'),
    );
    const item = await fixture.clients.doc.send(
      new GetCommand({
        TableName: fixture.tables.control,
        Key: { key: `${THROUGHPUT_KEY_PREFIX}2026-05-04T08:15:00.000Z` },
      }),
    );

    // Assess
    expect(calls).toEqual([{ service: 'DynamoDB', operation: 'UpdateItem', calls: 20 }]);
    expect(points).toEqual([
      { minute: '2026-05-04T08:15:00.000Z', done: 40, failed: 10 },
      { minute: '2026-05-04T08:16:00.000Z', done: 0, failed: 0 },
    ]);
    expect(item.Item?.expiresAt).toBe(Math.floor(at.getTime() / 1000) + THROUGHPUT_RECORD_SECONDS);
  });
});
