import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type RepositoryFixture,
  repositoryFixture,
  steppingClock,
  taskSpec,
} from '../../test/support/index.js';
import { zeroCounts } from '../counters/index.js';
import {
  CorruptItemError,
  InvalidTransitionError,
  NotFoundError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import { counterShardKey } from './counter-shards.js';
import { createRepositories } from './index.js';

let fixture: RepositoryFixture;

beforeAll(async () => {
  fixture = await repositoryFixture('tasks');
});

describe('TasksRepo.create', () => {
  it('registers a task with zero counters and returns the stored one for the same id again', async () => {
    // Prepare
    const clock = () => new Date('2026-11-21T08:00:00.000Z');
    const tasks = createRepositories({ doc: fixture.clients.doc, tables: fixture.tables, clock }).tasks;

    // Act
    const first = await tasks.create('t-create', taskSpec({ rank: 9 }));
    const second = await tasks.create('t-create', taskSpec({ rank: 2, name: 'other' }));

    // Assess
    expect(first.created).toBe(true);
    expect(first.task).toMatchObject({
      taskId: 't-create',
      state: 'REGISTERED',
      rank: 9,
      baseRank: 9,
      jobsTotal: 0,
      generationComplete: false,
      version: 0,
      mode: 'map',
      filesPerJob: 1,
      createdAt: '2026-11-21T08:00:00.000Z',
      counts: { READY: 0, QUEUED: 0, RUNNING: 0, DONE: 0, FAILED: 0, CANCELLED: 0, LOST: 0 },
    });
    expect(second).toEqual({ task: first.task, created: false });
    expect(await tasks.get('t-create')).toEqual(first.task);
  });

  it('refuses an invalid spec naming the field', async () => {
    await expect(
      fixture.repos.tasks.create('t-bad', taskSpec({ executable: 'rm -rf / ; echo' })),
    ).rejects.toThrow(/executable: must be a program/);
    await expect(fixture.repos.tasks.create('bad id!', taskSpec())).rejects.toThrow(ValidationError);
    await expect(fixture.repos.tasks.get('t-bad')).rejects.toThrow(NotFoundError);
  });
});

describe('TasksRepo.transition', () => {
  it('moves state guarded by the expected state and version, bumping the version and stamping endedAt', async () => {
    const { task } = await fixture.repos.tasks.create('t-transition', taskSpec());

    const running = await fixture.repos.tasks.transition({
      taskId: task.taskId,
      from: 'REGISTERED',
      to: 'RUNNING',
      expectedVersion: 0,
    });
    const staleVersion = fixture.repos.tasks.transition({
      taskId: task.taskId,
      from: 'RUNNING',
      to: 'DONE',
      expectedVersion: 0,
    });
    await expect(staleVersion).rejects.toThrow(/version 1, not 0/);
    const done = await fixture.repos.tasks.transition({
      taskId: task.taskId,
      from: 'RUNNING',
      to: 'DONE',
      expectedVersion: 1,
    });
    const repeated = await fixture.repos.tasks.transition({
      taskId: task.taskId,
      from: 'RUNNING',
      to: 'DONE',
    });

    expect(running.applied).toBe(true);
    expect(running.task).toMatchObject({ state: 'RUNNING', version: 1 });
    expect(running.task.endedAt).toBeUndefined();
    expect(done.task).toMatchObject({ state: 'DONE', version: 2 });
    expect(done.task.endedAt).toBeDefined();
    expect(repeated).toEqual({ task: done.task, applied: false });
  });

  it('refuses a task in another state, an unknown task and a transition the machine forbids', async () => {
    const { task } = await fixture.repos.tasks.create('t-refuse', taskSpec());
    fixture.calls.reset();

    await expect(
      fixture.repos.tasks.transition({ taskId: task.taskId, from: 'RUNNING', to: 'DONE' }),
    ).rejects.toThrow(StateConflictError);
    await expect(
      fixture.repos.tasks.transition({ taskId: 't-none', from: 'REGISTERED', to: 'RUNNING' }),
    ).rejects.toThrow(NotFoundError);
    await expect(
      fixture.repos.tasks.transition({ taskId: task.taskId, from: 'DONE', to: 'RUNNING' }),
    ).rejects.toThrow(InvalidTransitionError);
    expect(fixture.calls.count()).toBe(2);
  });
});

describe('TasksRepo ranks, generation and service', () => {
  it('sets the rank under optimistic concurrency', async () => {
    const { task } = await fixture.repos.tasks.create('t-rank', taskSpec({ rank: 3 }));

    const aged = await fixture.repos.tasks.setRank({ taskId: task.taskId, rank: 6, expectedVersion: 0 });
    await expect(
      fixture.repos.tasks.setRank({ taskId: task.taskId, rank: 7, expectedVersion: 0 }),
    ).rejects.toThrow(/version 1, not 0/);
    const operator = await fixture.repos.tasks.setRank({ taskId: task.taskId, rank: 10, baseRank: 10 });

    expect(aged).toMatchObject({ rank: 6, baseRank: 3, version: 1 });
    expect(operator).toMatchObject({ rank: 10, baseRank: 10, version: 2 });
    await expect(fixture.repos.tasks.setRank({ taskId: task.taskId, rank: 0 })).rejects.toThrow(
      ValidationError,
    );
    await expect(fixture.repos.tasks.setRank({ taskId: 't-none', rank: 1 })).rejects.toThrow(NotFoundError);
  });

  it('marks generation complete idempotently', async () => {
    const { task } = await fixture.repos.tasks.create('t-generated', taskSpec());

    const first = await fixture.repos.tasks.markGenerationComplete(task.taskId);
    const second = await fixture.repos.tasks.markGenerationComplete(task.taskId);

    expect(first.generationComplete).toBe(true);
    expect(second).toEqual(first);
    await expect(fixture.repos.tasks.markGenerationComplete('t-none')).rejects.toThrow(NotFoundError);
  });

  it('moves lastServedAt forward only', async () => {
    const { task } = await fixture.repos.tasks.create('t-served', taskSpec());

    const first = await fixture.repos.tasks.markServed(task.taskId, '2026-11-21T10:00:00.000Z');
    const older = await fixture.repos.tasks.markServed(task.taskId, '2026-11-21T09:00:00.000Z');
    const newer = await fixture.repos.tasks.markServed(task.taskId, '2026-11-21T11:00:00.000Z');

    expect([first, older, newer]).toEqual([true, false, true]);
    expect((await fixture.repos.tasks.get(task.taskId)).lastServedAt).toBe('2026-11-21T11:00:00.000Z');
    await expect(fixture.repos.tasks.markServed('t-none', '2026-11-21T11:00:00.000Z')).rejects.toThrow(
      NotFoundError,
    );
  });
});

describe('TasksRepo.listByState', () => {
  it('pages through the tasks of a state, oldest first', async () => {
    // Prepare: own tables, so other tests' tasks do not appear.
    const own = await repositoryFixture('tasks-list');
    const tasks = createRepositories({
      doc: own.clients.doc,
      tables: own.tables,
      clock: steppingClock('2026-11-21T08:00:01.000Z', 1_000),
    }).tasks;
    for (const id of ['t-5', 't-4', 't-3', 't-2', 't-1']) await tasks.create(id, taskSpec());
    await tasks.transition({ taskId: 't-3', from: 'REGISTERED', to: 'RUNNING' });

    // Act
    const seen: string[][] = [];
    let page = await tasks.listByState('REGISTERED', { limit: 2 });
    seen.push(page.items.map((task) => task.taskId));
    while (page.cursor) {
      page = await tasks.listByState('REGISTERED', { limit: 2, cursor: page.cursor });
      seen.push(page.items.map((task) => task.taskId));
    }

    // Assess
    expect(seen.flat()).toEqual(['t-5', 't-4', 't-2', 't-1']);
    expect(seen.every((ids) => ids.length <= 2)).toBe(true);
    expect((await tasks.listByState('RUNNING')).items.map((task) => task.taskId)).toEqual(['t-3']);
  });
});

describe('TasksRepo.listByInputDataset', () => {
  it('pages through the tasks reading a dataset, oldest first, in every state', async () => {
    // Prepare
    const tasks = createRepositories({
      doc: fixture.clients.doc,
      tables: fixture.tables,
      clock: steppingClock('2026-11-22T08:00:01.000Z', 1_000),
    }).tasks;
    for (const id of ['t-in-3', 't-in-2', 't-in-1']) {
      await tasks.create(id, taskSpec({ inputDatasetUid: 'ds-read-by-three' }));
    }
    await tasks.create('t-in-other', taskSpec({ inputDatasetUid: 'ds-read-by-one' }));
    await tasks.transition({ taskId: 't-in-2', from: 'REGISTERED', to: 'CANCELLED' });

    // Act
    const first = await tasks.listByInputDataset('ds-read-by-three', { limit: 2 });
    const second = await tasks.listByInputDataset('ds-read-by-three', { limit: 2, cursor: first.cursor });

    // Assess
    expect([...first.items, ...second.items].map((task) => [task.taskId, task.state])).toEqual([
      ['t-in-3', 'REGISTERED'],
      ['t-in-2', 'CANCELLED'],
      ['t-in-1', 'REGISTERED'],
    ]);
    expect((await tasks.listByInputDataset('ds-read-by-none')).items).toEqual([]);
  });
});

describe('TasksRepo.recountJobs', () => {
  const zero = { READY: 0, QUEUED: 0, RUNNING: 0, DONE: 0, FAILED: 0, CANCELLED: 0, LOST: 0 };

  it('sets the counters to a recount only while they hold what it was compared with', async () => {
    // Prepare
    const { task } = await fixture.repos.tasks.create('t-recount', taskSpec());
    const jobs = [
      { jobId: 'j-recount-a', state: 'READY' as const },
      { jobId: 'j-recount-b', state: 'READY' as const },
    ];
    const recount = { taskId: task.taskId, jobs };

    // Act
    const stale = await fixture.repos.tasks.recountJobs({
      ...recount,
      expected: { counts: { ...zero, READY: 1 }, jobsTotal: 0 },
    });
    const applied = await fixture.repos.tasks.recountJobs({
      ...recount,
      expected: { counts: task.counts, jobsTotal: task.jobsTotal },
    });
    const repeated = await fixture.repos.tasks.recountJobs({
      ...recount,
      expected: { counts: task.counts, jobsTotal: task.jobsTotal },
    });

    // Assess
    expect([stale, applied, repeated]).toEqual([false, true, false]);
    expect(await fixture.repos.tasks.get(task.taskId)).toMatchObject({
      counts: { ...zero, READY: 2 },
      jobsTotal: 2,
      version: task.version + 1,
    });
    await expect(
      fixture.repos.tasks.recountJobs({
        ...recount,
        taskId: 't-never',
        expected: { counts: zero, jobsTotal: 0 },
      }),
    ).rejects.toThrow(NotFoundError);
  });
});

describe('counter shards', () => {
  async function item(key: { taskId: string }) {
    const response = await fixture.clients.doc.send(
      new GetCommand({ TableName: fixture.tables.tasks, Key: key, ConsistentRead: true }),
    );
    return response.Item;
  }

  it('are created with the task, hold its counters and its state, and stay out of its indexes', async () => {
    // Prepare
    const tasks = fixture.repos.tasks;
    await tasks.create('t-sharded', taskSpec({ inputDatasetUid: 'ds-sharded' }), { counterShards: 4 });

    // Act
    await tasks.transition({ taskId: 't-sharded', from: 'REGISTERED', to: 'RUNNING' });

    // Assess: the task item holds the shard count, no counter; each shard a zero and the state.
    const stored = await item({ taskId: 't-sharded' });
    expect(stored).toMatchObject({ counterShards: 4, state: 'RUNNING' });
    expect(stored).not.toHaveProperty('counts');
    expect(stored).not.toHaveProperty('jobsTotal');
    for (let shard = 0; shard < 4; shard += 1) {
      expect(await item(counterShardKey('t-sharded', shard))).toMatchObject({
        counterOf: 't-sharded',
        shard,
        taskState: 'RUNNING',
        jobsTotal: 0,
      });
    }
    expect(await item(counterShardKey('t-sharded', 4))).toBeUndefined();
    expect((await tasks.listByInputDataset('ds-sharded')).items.map((task) => task.taskId)).toEqual([
      't-sharded',
    ]);
    expect((await tasks.get('t-sharded')).counts).toEqual(zeroCounts());
  });

  it('refuses a shard count outside 1 to 64, naming the field', async () => {
    for (const counterShards of [0, 65, 2.5]) {
      await expect(
        fixture.repos.tasks.create('t-bad-shards', taskSpec(), { counterShards }),
      ).rejects.toMatchObject({ issues: [{ path: 'counterShards' }] });
    }
    expect(await fixture.repos.tasks.find('t-bad-shards')).toBeUndefined();
  });

  it('reads a task whose shard is missing as corrupt, never as smaller counters', async () => {
    // Prepare
    await fixture.repos.tasks.create('t-lost-shard', taskSpec(), { counterShards: 2 });
    await fixture.clients.doc.send(
      new DeleteCommand({ TableName: fixture.tables.tasks, Key: counterShardKey('t-lost-shard', 1) }),
    );

    // Act
    const read = fixture.repos.tasks.get('t-lost-shard');

    // Assess
    await expect(read).rejects.toBeInstanceOf(CorruptItemError);
  });
});
