import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import {
  type DispatchPlan,
  initialSchedulerState,
  planDispatch,
  type SchedulableTask,
  SchedulerState,
} from './index.js';

function cpuTask(taskId: string, rank: number, readyJobs = 1000): SchedulableTask {
  return { taskId, rank, device: 'CPU', readyJobs };
}

function gpuTask(taskId: string, rank: number, readyJobs = 1000): SchedulableTask {
  return { taskId, rank, device: 'GPU', readyJobs };
}

const ids = (plan: DispatchPlan) => plan.picks.map((pick) => pick.taskId).join('');

describe('planDispatch: interleaved weighted round-robin', () => {
  it('serves ranks 1, 2, 4 as A B C | B C | C | C, then again', () => {
    const tasks = [cpuTask('C', 4), cpuTask('A', 1), cpuTask('B', 2)];

    const plan = planDispatch(initialSchedulerState(), tasks, { CPU: 14, GPU: 0 });

    expect(ids(plan)).toBe('ABCBCCC'.repeat(2));
    expect(plan.state.CPU).toEqual({ round: 4, lastTaskId: 'C' });
  });

  it('continues the round where the previous call stopped', () => {
    const tasks = [cpuTask('A', 1), cpuTask('B', 2), cpuTask('C', 4)];

    const first = planDispatch(initialSchedulerState(), tasks, { CPU: 2, GPU: 0 });
    const second = planDispatch(first.state, tasks, { CPU: 3, GPU: 0 });
    const third = planDispatch(second.state, tasks, { CPU: 4, GPU: 0 });

    expect([ids(first), ids(second), ids(third)]).toEqual(['AB', 'CBC', 'CCAB']);
    expect(first.state.CPU).toEqual({ round: 1, lastTaskId: 'B' });
  });

  it('accepts a state that went through JSON', () => {
    const tasks = [cpuTask('A', 1), cpuTask('B', 3)];
    const first = planDispatch(initialSchedulerState(), tasks, { CPU: 3, GPU: 0 });

    const stored = JSON.parse(JSON.stringify(first.state));

    expect(SchedulerState.parse(stored)).toEqual(first.state);
    expect(ids(planDispatch(stored, tasks, { CPU: 3, GPU: 0 }))).toBe('BAB');
  });

  it('takes no more jobs of a task than it has ready and serves the others on', () => {
    const tasks = [cpuTask('A', 3, 1), cpuTask('B', 1, 2), cpuTask('C', 2, 0)];

    const plan = planDispatch(initialSchedulerState(), tasks, { CPU: 10, GPU: 0 });

    expect(ids(plan)).toBe('ABB');
  });

  it('makes no picks without free slots and keeps the state', () => {
    const state = { CPU: { round: 2, lastTaskId: 'B' }, GPU: { round: 1, lastTaskId: null } };

    const plan = planDispatch(state, [cpuTask('A', 3), gpuTask('G', 2)], { CPU: 0, GPU: 0 });

    expect(plan).toEqual({ picks: [], state });
  });

  it('makes no picks without ready jobs', () => {
    expect(planDispatch(initialSchedulerState(), [cpuTask('A', 3, 0)], { CPU: 5, GPU: 5 }).picks).toEqual([]);
    expect(planDispatch(initialSchedulerState(), [], { CPU: 5, GPU: 5 }).picks).toEqual([]);
  });

  it('orders tasks within a round by task id in code-unit order', () => {
    const tasks = [cpuTask('b', 1), cpuTask('B', 1), cpuTask('a', 1), cpuTask('A10', 1), cpuTask('A2', 1)];

    expect(ids(planDispatch(initialSchedulerState(), tasks, { CPU: 5, GPU: 0 }))).toBe('A10A2Bab');
  });

  it('restarts at round 1 when the stored round is past the highest rank', () => {
    const state = { CPU: { round: 7, lastTaskId: 'B' }, GPU: { round: 1, lastTaskId: null } };

    expect(ids(planDispatch(state, [cpuTask('A', 2), cpuTask('B', 1)], { CPU: 3, GPU: 0 }))).toBe('ABA');
  });
});

describe('planDispatch: changes between calls', () => {
  it('applies a lowered rank from the current position on', () => {
    // Prepare: A=1, D=4 serve A D | D | D | D; stop after the first D of round 2.
    const before = planDispatch(initialSchedulerState(), [cpuTask('A', 1), cpuTask('D', 4)], {
      CPU: 3,
      GPU: 0,
    });
    expect(ids(before)).toBe('ADD');

    // Act: D drops to 2, so round 2 is its last.
    const after = planDispatch(before.state, [cpuTask('A', 1), cpuTask('D', 2)], { CPU: 6, GPU: 0 });

    // Assess
    expect(ids(after)).toBe('ADDADD');
  });

  it('applies a raised rank from the current position on', () => {
    const before = planDispatch(initialSchedulerState(), [cpuTask('A', 1), cpuTask('B', 1)], {
      CPU: 1,
      GPU: 0,
    });
    expect(ids(before)).toBe('A');

    const after = planDispatch(before.state, [cpuTask('A', 1), cpuTask('B', 3)], { CPU: 8, GPU: 0 });

    expect(ids(after)).toBe('BBBABBBA');
  });

  it('continues after a task that left, with the next task id', () => {
    const before = planDispatch(
      initialSchedulerState(),
      [cpuTask('A', 1), cpuTask('B', 1), cpuTask('C', 1)],
      {
        CPU: 2,
        GPU: 0,
      },
    );
    expect(before.state.CPU.lastTaskId).toBe('B');

    const after = planDispatch(before.state, [cpuTask('A', 1), cpuTask('C', 1)], { CPU: 3, GPU: 0 });

    expect(ids(after)).toBe('CAC');
  });

  it('serves a task that joined in the current round if its id comes after the position', () => {
    const before = planDispatch(initialSchedulerState(), [cpuTask('A', 1), cpuTask('C', 1)], {
      CPU: 1,
      GPU: 0,
    });

    const after = planDispatch(
      before.state,
      [cpuTask('A', 1), cpuTask('B', 1), cpuTask('C', 1), cpuTask('0', 1)],
      {
        CPU: 5,
        GPU: 0,
      },
    );

    expect(ids(after)).toBe('BC0AB');
  });
});

describe('planDispatch: device routing', () => {
  it('sends GPU tasks to the GPU queue and CPU tasks to the CPU queue', () => {
    const plan = planDispatch(initialSchedulerState(), [gpuTask('G', 1), cpuTask('C', 1)], {
      CPU: 2,
      GPU: 2,
    });

    expect(plan.picks).toEqual([
      { taskId: 'G', device: 'GPU', queue: 'GPU' },
      { taskId: 'G', device: 'GPU', queue: 'GPU' },
      { taskId: 'C', device: 'CPU', queue: 'CPU' },
      { taskId: 'C', device: 'CPU', queue: 'CPU' },
    ]);
  });

  it('fills GPU slots left after every GPU job with CPU jobs for the CPU queue', () => {
    const plan = planDispatch(initialSchedulerState(), [gpuTask('G', 5, 1), cpuTask('C', 1)], {
      CPU: 1,
      GPU: 3,
    });

    expect(plan.picks).toEqual([
      { taskId: 'G', device: 'GPU', queue: 'GPU' },
      { taskId: 'C', device: 'CPU', queue: 'CPU' },
      { taskId: 'C', device: 'CPU', queue: 'CPU' },
      { taskId: 'C', device: 'CPU', queue: 'CPU' },
    ]);
  });

  it('never puts a GPU task on CPU slots', () => {
    const plan = planDispatch(initialSchedulerState(), [gpuTask('G', 5)], { CPU: 4, GPU: 1 });

    expect(plan.picks).toEqual([{ taskId: 'G', device: 'GPU', queue: 'GPU' }]);
  });

  it('keeps a separate round for each device', () => {
    const tasks = [gpuTask('G1', 1), gpuTask('G2', 2), cpuTask('C1', 2), cpuTask('C2', 1)];

    const plan = planDispatch(initialSchedulerState(), tasks, { CPU: 1, GPU: 2 });

    expect(ids(plan)).toBe('G1G2C1');
    expect(plan.state).toEqual({ CPU: { round: 1, lastTaskId: 'C1' }, GPU: { round: 1, lastTaskId: 'G2' } });
  });
});

describe('planDispatch: validation', () => {
  const state = initialSchedulerState();

  it('refuses duplicate task ids', () => {
    expect(() => planDispatch(state, [cpuTask('A', 1), cpuTask('A', 2)], { CPU: 1, GPU: 0 })).toThrow(
      ValidationError,
    );
  });

  it('refuses a rank outside 1..RANK_MAX, negative ready jobs and negative slots', () => {
    expect(() => planDispatch(state, [cpuTask('A', 0)], { CPU: 1, GPU: 0 })).toThrow(/rank/);
    expect(() => planDispatch(state, [cpuTask('A', 101)], { CPU: 1, GPU: 0 })).toThrow(/rank/);
    expect(() => planDispatch(state, [cpuTask('A', 1.5)], { CPU: 1, GPU: 0 })).toThrow(/rank/);
    expect(() => planDispatch(state, [cpuTask('A', 1, -1)], { CPU: 1, GPU: 0 })).toThrow(/readyJobs/);
    expect(() => planDispatch(state, [cpuTask('A', 1)], { CPU: -1, GPU: 0 })).toThrow(/CPU/);
  });

  it('refuses a corrupt stored state', () => {
    const corrupt = { CPU: { round: 0, lastTaskId: null }, GPU: { round: 1, lastTaskId: null } };
    expect(() => planDispatch(corrupt, [cpuTask('A', 1)], { CPU: 1, GPU: 0 })).toThrow(/scheduler state/);
    expect(() => planDispatch({} as SchedulerState, [cpuTask('A', 1)], { CPU: 1, GPU: 0 })).toThrow(
      ValidationError,
    );
  });
});
