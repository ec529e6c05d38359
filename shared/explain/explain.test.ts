import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobWaiting } from '../../events/api.js';
import { DEVICES, JOB_STATES, RANK_MAX, TASK_STATES } from '../model/index.js';
import { explainWaiting, type WaitingContext, type WaitingJob, type WaitingTask } from './index.js';

const NOW = '2030-01-01T12:00:00.000Z';
const LATER = '2030-01-01T12:00:30.000Z';
const EARLIER = '2030-01-01T11:59:30.000Z';

const runningTask: WaitingTask = { state: 'RUNNING', rank: 5 };
const context: WaitingContext = { now: NOW, activePilotsForDevice: 2, queueDepth: 7, higherRankedTasks: 0 };

describe('explainWaiting', () => {
  it.each(['RUNNING', 'DONE', 'FAILED', 'CANCELLED'] as const)('gives no reason for a %s job', (state) => {
    expect(explainWaiting({ state, device: 'CPU' }, runningTask, context)).toBeUndefined();
  });

  it.each(['REGISTERED', 'CANCELLED', 'DONE'] as const)(
    'says a job of a %s task waits for its task',
    (state) => {
      const waiting = explainWaiting({ state: 'READY', device: 'GPU' }, { state, rank: 3 }, context);
      expect(waiting).toEqual({
        reason: 'task-not-running',
        device: 'GPU',
        taskRank: 3,
        activePilotsForDevice: 2,
      });
    },
  );

  it('says a LOST job waits for the watchdog to retry it', () => {
    expect(explainWaiting({ state: 'LOST', device: 'CPU' }, runningTask, context)?.reason).toBe(
      'lost-awaiting-retry',
    );
  });

  it('says a retried job waits out its backoff until retryAfter', () => {
    const job: WaitingJob = { state: 'READY', device: 'CPU', retryAfter: LATER };
    expect(explainWaiting(job, runningTask, context)?.reason).toBe('retry-backoff');
    expect(explainWaiting({ ...job, retryAfter: EARLIER }, runningTask, context)?.reason).toBe('queue-full');
  });

  it('says no pilot serves the device when none is active', () => {
    const noPilots = { ...context, activePilotsForDevice: 0 };
    expect(explainWaiting({ state: 'READY', device: 'GPU' }, runningTask, noPilots)?.reason).toBe(
      'no-pilot-for-device',
    );
    expect(explainWaiting({ state: 'QUEUED', device: 'GPU' }, runningTask, noPilots)?.reason).toBe(
      'no-pilot-for-device',
    );
  });

  it('gives a queued job its approximate position: at most the depth less its own message', () => {
    expect(explainWaiting({ state: 'QUEUED', device: 'CPU' }, runningTask, context)).toEqual({
      reason: 'queued',
      device: 'CPU',
      taskRank: 5,
      activePilotsForDevice: 2,
      queuePosition: 6,
    });
    const emptyQueue = { ...context, queueDepth: 0 };
    expect(explainWaiting({ state: 'QUEUED', device: 'CPU' }, runningTask, emptyQueue)?.queuePosition).toBe(
      0,
    );
    const known = { ...context, queuePosition: 2 };
    expect(explainWaiting({ state: 'QUEUED', device: 'CPU' }, runningTask, known)?.queuePosition).toBe(2);
  });

  it('says a READY job waits behind tasks of higher rank when there are some', () => {
    const competing = { ...context, higherRankedTasks: 3 };
    expect(explainWaiting({ state: 'READY', device: 'CPU' }, runningTask, competing)?.reason).toBe(
      'lower-rank',
    );
  });

  it('says a READY job of the top rank waits for room in its device queue', () => {
    expect(explainWaiting({ state: 'READY', device: 'CPU' }, runningTask, context)?.reason).toBe(
      'queue-full',
    );
  });

  it('explains exactly the waiting states, always with a valid JobWaiting that carries the task rank', () => {
    const job = fc.record(
      {
        state: fc.constantFrom(...JOB_STATES),
        device: fc.constantFrom(...DEVICES),
        retryAfter: fc.constantFrom(EARLIER, LATER),
      },
      { requiredKeys: ['state', 'device'] },
    );
    const task = fc.record({
      state: fc.constantFrom(...TASK_STATES),
      rank: fc.integer({ min: 1, max: RANK_MAX }),
    });
    const around = fc.record(
      {
        now: fc.constant(NOW),
        activePilotsForDevice: fc.nat(50),
        queueDepth: fc.nat(10_000),
        queuePosition: fc.nat(10_000),
        higherRankedTasks: fc.nat(20),
      },
      { requiredKeys: ['now', 'activePilotsForDevice', 'queueDepth', 'higherRankedTasks'] },
    );
    fc.assert(
      fc.property(job, task, around, (j, t, c) => {
        const waiting = explainWaiting(j, t, c);
        expect(waiting === undefined).toBe(!['READY', 'QUEUED', 'LOST'].includes(j.state));
        if (waiting === undefined) return;
        expect(JobWaiting.parse(waiting)).toEqual(waiting);
        expect(waiting.taskRank).toBe(t.rank);
        expect(waiting.device).toBe(j.device);
        if (t.state === 'HELD') expect(waiting.reason).toBe('task-held');
        else if (t.state !== 'RUNNING') expect(waiting.reason).toBe('task-not-running');
        expect(waiting.queuePosition !== undefined).toBe(waiting.reason === 'queued');
      }),
    );
  });
});
