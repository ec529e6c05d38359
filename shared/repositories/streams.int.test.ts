import { beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  fileRef,
  outputFile,
  pilotRegistration,
  type RepositoryFixture,
  readTableStream,
  repositoryFixture,
  taskSpec,
} from '../../test/support/index.js';
import { DEFAULT_COUNTER_SHARDS, shardOf, sumCounters } from '../counters/index.js';
import { planJobs } from '../jobgen/index.js';
import type { TaskCounterShard } from '../model/index.js';

let fixture: RepositoryFixture;

beforeAll(async () => {
  fixture = await repositoryFixture('streams');
});

describe('table streams', () => {
  it('carry every job transition with its old and new state, and nothing of a refused batch', async () => {
    // Prepare
    const taskId = 't-stream';
    await fixture.repos.tasks.create(taskId, taskSpec());
    const { task } = await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
    await fixture.repos.pilots.register(pilotRegistration('pilot-s'));
    const plan = planJobs({ taskId, mode: 'map', filesPerJob: 1 }, [fileRef('s0.raw'), fileRef('s1.raw')], {
      final: true,
    });
    const [kept, cancelled] = plan.jobs.map((job) => ({ jobId: job.jobId, taskId, attempt: 0 })) as [
      { jobId: string; taskId: string; attempt: number },
      { jobId: string; taskId: string; attempt: number },
    ];

    // Act
    await fixture.repos.jobs.createJobs(task, plan.jobs);
    await fixture.repos.jobs.cancel([{ ...cancelled, from: 'READY' }]);
    await fixture.repos.jobs.markQueued([kept, cancelled]);
    const claimToken = await fixture.repos.jobs.claim({ ...kept, pilotId: 'pilot-s' });
    await fixture.repos.jobs.complete({ ...kept, claimToken, outputs: [outputFile('s0.root')] });

    // Assess
    const transitions = await eventually(async () => {
      const changes = await readTableStream(fixture.clients, fixture.tables.jobs);
      expect(changes).toHaveLength(6);
      return changes.map((change) => [
        change.keys.jobId,
        change.eventName,
        change.oldImage?.state,
        change.newImage?.state,
      ]);
    });
    expect(transitions).toEqual([
      [expect.any(String), 'INSERT', undefined, 'READY'],
      [expect.any(String), 'INSERT', undefined, 'READY'],
      [cancelled.jobId, 'MODIFY', 'READY', 'CANCELLED'],
      [kept.jobId, 'MODIFY', 'READY', 'QUEUED'],
      [kept.jobId, 'MODIFY', 'QUEUED', 'RUNNING'],
      [kept.jobId, 'MODIFY', 'RUNNING', 'DONE'],
    ]);
    const taskChanges = await readTableStream(fixture.clients, fixture.tables.tasks);
    const ofTaskItem = taskChanges.filter((change) => change.keys.taskId === taskId);
    expect(
      ofTaskItem.map((change) => [change.eventName, change.oldImage?.state, change.newImage?.state]),
    ).toEqual([
      ['INSERT', undefined, 'REGISTERED'],
      ['MODIFY', 'REGISTERED', 'RUNNING'],
    ]);
    // Each job change moves its job's counter shard: the creation one per shard the two jobs
    // count on, the cancel, the dispatch of the kept job (the cancelled one is refused), its
    // claim and its completion.
    const ofShards = taskChanges.filter((change) => change.newImage?.counterOf === taskId);
    const counterMoves = ofShards.filter(
      (change) =>
        change.eventName === 'MODIFY' &&
        JSON.stringify(change.oldImage?.counts) !== JSON.stringify(change.newImage?.counts),
    );
    const creationShards = new Set(plan.jobs.map((job) => shardOf(job.jobId, DEFAULT_COUNTER_SHARDS))).size;
    expect(counterMoves).toHaveLength(creationShards + 4);
    const latest = new Map(
      ofShards.map((change) => [change.keys.taskId, change.newImage as TaskCounterShard]),
    );
    expect(latest.size).toBe(DEFAULT_COUNTER_SHARDS);
    expect(sumCounters([...latest.values()])).toEqual({
      counts: { READY: 0, QUEUED: 0, RUNNING: 0, DONE: 1, FAILED: 0, CANCELLED: 1, LOST: 0 },
      jobsTotal: 2,
    });
  });

  it('carry pilot registrations and state changes', async () => {
    await fixture.repos.pilots.register({
      pilotId: 'pilot-stream',
      host: 'n1',
      device: 'GPU',
      slots: 4,
      version: '1',
    });
    await fixture.repos.pilots.transition({ pilotId: 'pilot-stream', from: 'ACTIVE', to: 'IDLE' });

    const changes = await eventually(async () => {
      const all = await readTableStream(fixture.clients, fixture.tables.pilots);
      const ofPilot = all.filter((change) => change.keys.pilotId === 'pilot-stream');
      expect(ofPilot).toHaveLength(2);
      return ofPilot;
    });
    expect(
      changes.map((change) => [change.eventName, change.oldImage?.state, change.newImage?.state]),
    ).toEqual([
      ['INSERT', undefined, 'ACTIVE'],
      ['MODIFY', 'ACTIVE', 'IDLE'],
    ]);
  });
});
