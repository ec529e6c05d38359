import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { taskSpec } from '../../test/support/factories.js';
import { ValidationError } from '../errors/index.js';
import { JOB_STATES, type JobCounts, type JobRecord, TaskRecord } from '../model/index.js';
import { initialSchedulerState, planDispatch, type SchedulableTask } from '../scheduler/index.js';
import {
  freeSlots,
  jobMessage,
  pilotSlots,
  SEND_BATCH_BYTES,
  SEND_BATCH_ENTRIES,
  schedulableTasks,
  sendBatches,
  takenSlotsByDevice,
} from './dispatch.js';

const NOW = '2026-01-01T00:00:00.000Z';

function counts(nonZero: Partial<JobCounts>): JobCounts {
  return { ...(Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as JobCounts), ...nonZero };
}

function task(taskId: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return TaskRecord.parse({
    ...taskSpec({ outputDataset: `${taskId}-out`, logDataset: `${taskId}-logs` }),
    taskId,
    state: 'RUNNING',
    baseRank: 5,
    counts: counts({}),
    jobsTotal: 0,
    generationComplete: false,
    createdAt: NOW,
    updatedAt: NOW,
    version: 1,
    ...overrides,
  });
}

function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: 'j-1',
    taskId: 't-1',
    state: 'READY',
    attempt: 2,
    device: 'CPU',
    rank: 7,
    inputs: [
      {
        name: 'a.raw',
        location: { bucket: 'spd-data', key: 'raw/a.raw' },
        size: 10,
        checksum: 'adler32:0badc0de',
      },
    ],
    createdAt: NOW,
    updatedAt: NOW,
    ...overrides,
  };
}

describe('capacity', () => {
  it('sums the slots of ACTIVE and IDLE pilots only, by device', () => {
    const pilots = [
      { device: 'CPU', slots: 8, state: 'ACTIVE' },
      { device: 'CPU', slots: 4, state: 'IDLE' },
      { device: 'GPU', slots: 2, state: 'ACTIVE' },
      { device: 'CPU', slots: 16, state: 'LOST' },
      { device: 'GPU', slots: 16, state: 'EXITED' },
    ] as const;
    expect(pilotSlots(pilots)).toEqual({ CPU: 12, GPU: 2 });
  });

  it('counts queued and running jobs by the device of their task', () => {
    const tasks = [
      { device: 'CPU', counts: counts({ QUEUED: 2, RUNNING: 3, READY: 9, DONE: 9 }) },
      { device: 'GPU', counts: counts({ QUEUED: 1, LOST: 4 }) },
      { device: 'CPU', counts: counts({ RUNNING: 1 }) },
    ] as const;
    expect(takenSlotsByDevice(tasks)).toEqual({ CPU: 6, GPU: 1 });
  });

  it('adds the headroom and charges CPU jobs beyond the CPU slots to the GPU slots', () => {
    expect(freeSlots({ CPU: 10, GPU: 4 }, { CPU: 3, GPU: 1 }, 0)).toEqual({ CPU: 7, GPU: 3 });
    expect(freeSlots({ CPU: 10, GPU: 4 }, { CPU: 3, GPU: 1 }, 0.2)).toEqual({ CPU: 9, GPU: 3 });
    expect(freeSlots({ CPU: 0, GPU: 4 }, { CPU: 3, GPU: 0 }, 0)).toEqual({ CPU: 0, GPU: 1 });
    expect(freeSlots({ CPU: 2, GPU: 4 }, { CPU: 9, GPU: 1 }, 0)).toEqual({ CPU: 0, GPU: 0 });
  });

  it('never lets the jobs in flight exceed the slots plus headroom, whatever the plan picks', () => {
    const taskArb = fc.record({
      rank: fc.integer({ min: 1, max: 10 }),
      device: fc.constantFrom('CPU' as const, 'GPU' as const),
      readyJobs: fc.nat(30),
    });
    fc.assert(
      fc.property(
        fc.record({ CPU: fc.nat(50), GPU: fc.nat(50) }),
        fc.record({ CPU: fc.nat(60), GPU: fc.nat(60) }),
        fc.constantFrom(0, 0.1, 0.5),
        fc.array(taskArb, { maxLength: 6 }),
        (slots, inFlight, headroom, specs) => {
          // Prepare
          const tasks: SchedulableTask[] = specs.map((spec, index) => ({ ...spec, taskId: `t-${index}` }));
          const capacity = {
            CPU: Math.floor(slots.CPU * (1 + headroom)),
            GPU: Math.floor(slots.GPU * (1 + headroom)),
          };
          // Act
          const free = freeSlots(slots, inFlight, headroom);
          const plan = planDispatch(initialSchedulerState(), tasks, free);
          // Assess
          const picked = { CPU: 0, GPU: 0 };
          for (const pick of plan.picks) picked[pick.device] += 1;
          const gpuAfter = inFlight.GPU + picked.GPU;
          const cpuAfter = inFlight.CPU + picked.CPU;
          if (inFlight.GPU + Math.max(0, inFlight.CPU - capacity.CPU) <= capacity.GPU) {
            // GPU jobs only ever use GPU slots; CPU jobs use CPU slots and what GPU jobs leave.
            expect(gpuAfter + Math.max(0, cpuAfter - capacity.CPU)).toBeLessThanOrEqual(capacity.GPU);
          }
          expect(plan.picks.length).toBeLessThanOrEqual(free.CPU + free.GPU);
          expect(free.CPU + inFlight.CPU).toBeLessThanOrEqual(Math.max(capacity.CPU, inFlight.CPU));
        },
      ),
    );
  });
});

describe('schedulableTasks', () => {
  it('keeps RUNNING tasks with READY jobs, with their effective rank', () => {
    const tasks = [
      task('t-a', { rank: 9, counts: counts({ READY: 3 }) }),
      task('t-b', { counts: counts({ QUEUED: 3 }) }),
      task('t-c', { state: 'REGISTERED', counts: counts({ READY: 3 }) }),
    ];
    expect(schedulableTasks(tasks)).toEqual([{ taskId: 't-a', rank: 9, device: 'CPU', readyJobs: 3 }]);
  });
});

describe('jobMessage', () => {
  it('carries the attempt, the task payload and dataset prefixes without a trailing slash', () => {
    const message = jobMessage(task('t-1'), job(), 'spd-data', NOW);
    expect(message).toMatchObject({
      type: 'job',
      jobId: 'j-1',
      attempt: 2,
      rank: 7,
      executable: '/opt/spd/bin/reco',
      output: { dataset: 't-1-out', bucket: 'spd-data', prefix: 'outputs/t-1-out' },
      log: { dataset: 't-1-logs', prefix: 'outputs/t-1-logs' },
      dispatchedAt: NOW,
    });
  });

  it("carries the task's memory limit when it sets one, and none otherwise", () => {
    const limited = jobMessage({ ...task('t-1'), memoryBytes: 2 * 1024 ** 3 }, job(), 'spd-data', NOW);
    const unlimited = jobMessage(task('t-1'), job(), 'spd-data', NOW);

    expect(limited.memoryBytes).toBe(2 * 1024 ** 3);
    expect('memoryBytes' in unlimited).toBe(false);
  });

  it('refuses to build a message that does not validate, naming the field', () => {
    expect(() => jobMessage(task('t-1'), job(), 'Not_A_Bucket', NOW)).toThrow(ValidationError);
    expect(() => jobMessage(task('t-1'), job(), 'Not_A_Bucket', NOW)).toThrow(/output\.bucket/);
  });
});

describe('sendBatches', () => {
  it('keeps every message once, in order, in batches of at most 10 entries and 256 KiB', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 120 * 1024 }), { maxLength: 40 }), (sizes) => {
        const messages = sizes.map((size, index) => ({ index, body: 'x'.repeat(size) }));
        const batches = sendBatches(messages);
        expect(batches.flat()).toEqual(messages);
        for (const batch of batches) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(SEND_BATCH_ENTRIES);
          expect(batch.reduce((sum, message) => sum + message.body.length, 0)).toBeLessThanOrEqual(
            SEND_BATCH_BYTES,
          );
        }
      }),
    );
  });

  it('fills batches of ten small messages', () => {
    const messages = Array.from({ length: 25 }, (_, index) => ({ body: String(index) }));
    expect(sendBatches(messages).map((batch) => batch.length)).toEqual([10, 10, 5]);
  });
});
