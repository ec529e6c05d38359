import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextRank } from '../rank/index.js';
import {
  type DispatchPick,
  type FreeSlots,
  initialSchedulerState,
  planDispatch,
  type SchedulableTask,
  SchedulerState,
} from './index.js';

/** Effectively unlimited ready jobs: the long-run properties assume tasks never run dry. */
const ALWAYS_READY = 1_000_000;

/** 1 to 8 CPU tasks with distinct ids and ranks in 1..maxRank, always ready. */
const cpuTasksArb = (maxRank = 20) =>
  fc
    .uniqueArray(fc.stringMatching(/^t-[a-z0-9]{1,6}$/), { minLength: 1, maxLength: 8 })
    .chain((taskIds) =>
      fc.tuple(
        ...taskIds.map((taskId) => fc.integer({ min: 1, max: maxRank }).map((rank) => ({ taskId, rank }))),
      ),
    )
    .map((ranked) =>
      ranked.map(({ taskId, rank }) => ({ taskId, rank, device: 'CPU' as const, readyJobs: ALWAYS_READY })),
    );

const budgetsArb = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 });

/** Dispatches `total` picks through calls of the given sizes (cycled), one device, tasks always ready. */
function runCpu(tasks: SchedulableTask[], budgets: number[], total: number): string[] {
  const sequence: string[] = [];
  let state = initialSchedulerState();
  for (let call = 0; sequence.length < total; call += 1) {
    const budget = Math.min(budgets[call % budgets.length] as number, total - sequence.length);
    const plan = planDispatch(state, tasks, { CPU: budget, GPU: 0 });
    sequence.push(...plan.picks.map((pick) => pick.taskId));
    state = plan.state;
  }
  return sequence;
}

/** Single-pick calls, recording the round each pick belongs to (the cursor's round after it). */
function runCpuWithRounds(tasks: SchedulableTask[], state: SchedulerState, picks: number) {
  const recorded: { taskId: string; round: number }[] = [];
  let current = state;
  for (let i = 0; i < picks; i += 1) {
    const plan = planDispatch(current, tasks, { CPU: 1, GPU: 0 });
    current = plan.state;
    recorded.push({ taskId: (plan.picks[0] as DispatchPick).taskId, round: current.CPU.round });
  }
  return { recorded, state: current };
}

/** Splits picks into rounds: a round ends when the round number changes or task ids stop increasing. */
function splitRounds(recorded: { taskId: string; round: number }[]) {
  const rounds: { round: number; taskIds: string[] }[] = [];
  for (const { taskId, round } of recorded) {
    const last = rounds.at(-1);
    const lastId = last?.taskIds.at(-1);
    if (last && last.round === round && lastId !== undefined && lastId < taskId) last.taskIds.push(taskId);
    else rounds.push({ round, taskIds: [taskId] });
  }
  return rounds;
}

const sumRanks = (tasks: SchedulableTask[]) => tasks.reduce((sum, task) => sum + task.rank, 0);

describe('planDispatch properties', () => {
  it('(a) gives each task a share of dispatches within 5% of rank / Σrank over a long run', () => {
    fc.assert(
      fc.property(cpuTasksArb(), budgetsArb, (tasks, budgets) => {
        const total = 100 * sumRanks(tasks);

        const sequence = runCpu(tasks, budgets, total);

        for (const task of tasks) {
          const share = sequence.filter((taskId) => taskId === task.taskId).length / total;
          const expected = task.rank / sumRanks(tasks);
          expect(Math.abs(share - expected)).toBeLessThanOrEqual(0.05 * expected);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('(b) lets no active task wait more than one round: at most Σrank picks of others between its picks', () => {
    fc.assert(
      fc.property(cpuTasksArb(), budgetsArb, (tasks, budgets) => {
        const sequence = runCpu(tasks, budgets, 5 * sumRanks(tasks));

        for (const task of tasks) {
          const positions = sequence.flatMap((taskId, index) => (taskId === task.taskId ? [index] : []));
          expect(positions[0]).toBeLessThanOrEqual(sumRanks(tasks) - task.rank);
          for (let i = 1; i < positions.length; i += 1) {
            const othersBetween = (positions[i] as number) - (positions[i - 1] as number) - 1;
            expect(othersBetween).toBeLessThanOrEqual(sumRanks(tasks) - task.rank);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('gives the same sequence through many small calls as through one large call', () => {
    fc.assert(
      fc.property(cpuTasksArb(), budgetsArb, (tasks, budgets) => {
        const total = 3 * sumRanks(tasks);
        expect(runCpu(tasks, budgets, total)).toEqual(runCpu(tasks, [total], total));
      }),
    );
  });

  it('(c) serves every round after a rank change by the new ranks: round r holds exactly the tasks of rank ≥ r', () => {
    fc.assert(
      fc.property(
        cpuTasksArb(8),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 60 }),
        (tasks, newRanks, picksBefore) => {
          // Prepare: run under the old ranks, then change every rank.
          const before = runCpuWithRounds(tasks, initialSchedulerState(), picksBefore);
          const changed = tasks.map((task, i) => ({ ...task, rank: newRanks[i] as number }));
          const maxRank = Math.max(...changed.map((task) => task.rank));

          // Act
          const after = runCpuWithRounds(changed, before.state, 4 * sumRanks(changed));

          // Assess: drop the round in progress at the change and the last, possibly partial, round.
          const rounds = splitRounds(after.recorded).slice(1, -1);
          for (const [i, { round, taskIds }] of rounds.entries()) {
            const expected = changed
              .filter((task) => task.rank >= round)
              .map((task) => task.taskId)
              .sort();
            expect(taskIds).toEqual(expected);
            const previous = rounds[i - 1];
            if (previous) expect(round).toBe(previous.round === maxRank ? 1 : previous.round + 1);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('(c) makes the share after a rank change follow the new ranks', () => {
    fc.assert(
      fc.property(
        cpuTasksArb(),
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 500 }),
        budgetsArb,
        (tasks, newRanks, picksBefore, budgets) => {
          const first = planDispatch(initialSchedulerState(), tasks, { CPU: picksBefore, GPU: 0 });
          const changed = tasks.map((task, i) => ({ ...task, rank: newRanks[i] as number }));
          const total = 100 * sumRanks(changed);

          const counts = new Map<string, number>();
          let state = first.state;
          for (let call = 0, picked = 0; picked < total; call += 1) {
            const budget = Math.min(budgets[call % budgets.length] as number, total - picked);
            const plan = planDispatch(state, changed, { CPU: budget, GPU: 0 });
            for (const pick of plan.picks) counts.set(pick.taskId, (counts.get(pick.taskId) ?? 0) + 1);
            picked += plan.picks.length;
            state = plan.state;
          }

          for (const task of changed) {
            const expected = task.rank / sumRanks(changed);
            expect(Math.abs((counts.get(task.taskId) ?? 0) / total - expected)).toBeLessThanOrEqual(
              0.05 * expected,
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  describe('(d) aging, combined with the rank update', () => {
    const TICK_SECONDS = 10;
    const TICKS = 1500;

    /** A dispatcher loop: each tick updates every rank from its wait (if aging) and fills `slotsPerTick`. */
    function simulate(tasks: SchedulableTask[], slotsPerTick: number, aging: boolean) {
      const base = new Map(tasks.map((task) => [task.taskId, task.rank]));
      const lastServed = new Map(tasks.map((task) => [task.taskId, 0]));
      const picksOf = new Map(tasks.map((task) => [task.taskId, 0]));
      const longestWait = new Map(tasks.map((task) => [task.taskId, 0]));
      let current = tasks;
      let state = initialSchedulerState();
      for (let tick = 1; tick <= TICKS; tick += 1) {
        const now = tick * TICK_SECONDS;
        if (aging) {
          current = current.map((task) => ({
            ...task,
            rank: nextRank({
              baseRank: base.get(task.taskId) as number,
              rank: task.rank,
              waitedSeconds: now - (lastServed.get(task.taskId) as number),
              retryJobs: 0,
            }),
          }));
        }
        const plan = planDispatch(state, current, { CPU: slotsPerTick, GPU: 0 });
        state = plan.state;
        for (const { taskId } of plan.picks) {
          picksOf.set(taskId, (picksOf.get(taskId) as number) + 1);
          const waited = now - (lastServed.get(taskId) as number);
          longestWait.set(taskId, Math.max(longestWait.get(taskId) as number, waited));
          lastServed.set(taskId, now);
        }
      }
      return { picks: picksOf.get('starved') as number, longestWait: longestWait.get('starved') as number };
    }

    function withStarved(starvedRank: number, busyRanks: number[]): SchedulableTask[] {
      return [
        { taskId: 'starved', rank: starvedRank, device: 'CPU', readyJobs: ALWAYS_READY },
        ...busyRanks.map((rank, i) => ({
          taskId: `busy-${i}`,
          rank,
          device: 'CPU' as const,
          readyJobs: ALWAYS_READY,
        })),
      ];
    }

    const busyRanksArb = fc.array(fc.integer({ min: 20, max: 60 }), { minLength: 2, maxLength: 5 });
    const slotsPerTickArb = fc.integer({ min: 1, max: 3 });

    it('never gives a low-rank task fewer picks or a longer wait than fixed ranks', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 3 }),
          busyRanksArb,
          slotsPerTickArb,
          (starvedRank, busyRanks, slots) => {
            const tasks = withStarved(starvedRank, busyRanks);

            const fixed = simulate(tasks, slots, false);
            const aged = simulate(tasks, slots, true);

            expect(aged.picks).toBeGreaterThanOrEqual(fixed.picks);
            expect(aged.longestWait).toBeLessThanOrEqual(fixed.longestWait);
          },
        ),
        { numRuns: 15 },
      );
    });

    it('gives a starved rank-1 task more picks than fixed ranks', () => {
      // Its rank climbs while it waits, so after its round-1 pick it is still above 1 for the next rounds.
      fc.assert(
        fc.property(busyRanksArb, slotsPerTickArb, (busyRanks, slots) => {
          const tasks = withStarved(1, busyRanks);

          expect(simulate(tasks, slots, true).picks).toBeGreaterThan(simulate(tasks, slots, false).picks);
        }),
        { numRuns: 15 },
      );
    });

    it('cuts the wait of a task starved behind long rounds', () => {
      // Five rank-60 tasks, one slot per tick: with fixed ranks the rank-1 task waits a whole cycle.
      const tasks = withStarved(1, [60, 60, 60, 60, 60]);

      const fixed = simulate(tasks, 1, false);
      const aged = simulate(tasks, 1, true);

      expect(fixed.longestWait).toBe(sumRanks(tasks) * TICK_SECONDS);
      expect(aged.longestWait).toBeLessThan(fixed.longestWait * 0.6);
      expect(aged.picks).toBeGreaterThan(3 * fixed.picks);
    });
  });

  const mixedTasksArb = fc
    .uniqueArray(fc.stringMatching(/^t-[a-z0-9]{1,6}$/), { maxLength: 10 })
    .chain((taskIds) =>
      fc.tuple(
        ...taskIds.map((taskId) =>
          fc.record({
            taskId: fc.constant(taskId),
            rank: fc.integer({ min: 1, max: 10 }),
            device: fc.constantFrom('CPU' as const, 'GPU' as const),
            readyJobs: fc.integer({ min: 0, max: 15 }),
          }),
        ),
      ),
    );
  const slotsArb = fc.record({ CPU: fc.integer({ min: 0, max: 40 }), GPU: fc.integer({ min: 0, max: 40 }) });
  const stateArb = fc.record({
    CPU: fc.record({
      round: fc.integer({ min: 1, max: 12 }),
      lastTaskId: fc.option(fc.stringMatching(/^t-[a-z0-9]{1,6}$/)),
    }),
    GPU: fc.record({
      round: fc.integer({ min: 1, max: 12 }),
      lastTaskId: fc.option(fc.stringMatching(/^t-[a-z0-9]{1,6}$/)),
    }),
  });

  it('(e) routes GPU tasks only to the GPU queue, and CPU tasks to GPU slots only when no GPU job waits', () => {
    fc.assert(
      fc.property(stateArb, mixedTasksArb, slotsArb, (state, tasks, slots: FreeSlots) => {
        const plan = planDispatch(state, tasks, slots);

        const gpuReady = tasks.filter((t) => t.device === 'GPU').reduce((sum, t) => sum + t.readyJobs, 0);
        const cpuReady = tasks.filter((t) => t.device === 'CPU').reduce((sum, t) => sum + t.readyJobs, 0);
        const gpuPicks = plan.picks.filter((pick) => pick.device === 'GPU');
        const cpuPicks = plan.picks.filter((pick) => pick.device === 'CPU');
        for (const pick of gpuPicks) expect(pick.queue).toBe('GPU');
        for (const pick of cpuPicks) expect(pick.queue).toBe('CPU');
        for (const pick of plan.picks) {
          expect(tasks.find((task) => task.taskId === pick.taskId)?.device).toBe(pick.device);
        }
        expect(gpuPicks.length).toBe(Math.min(slots.GPU, gpuReady));
        expect(cpuPicks.length).toBe(Math.min(slots.CPU + slots.GPU - gpuPicks.length, cpuReady));
        if (cpuPicks.length > slots.CPU) expect(gpuPicks.length).toBe(gpuReady);
      }),
      { numRuns: 300 },
    );
  });

  it('(f) never picks more jobs of a task than it has ready, nor more than the free slots', () => {
    fc.assert(
      fc.property(stateArb, mixedTasksArb, slotsArb, (state, tasks, slots) => {
        const plan = planDispatch(state, tasks, slots);

        expect(plan.picks.length).toBeLessThanOrEqual(slots.CPU + slots.GPU);
        for (const task of tasks) {
          expect(plan.picks.filter((pick) => pick.taskId === task.taskId).length).toBeLessThanOrEqual(
            task.readyJobs,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('handles tasks joining and leaving between calls, with a state that survives JSON', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(mixedTasksArb, slotsArb), { minLength: 1, maxLength: 25 }), (calls) => {
        let state = initialSchedulerState();
        for (const [tasks, slots] of calls) {
          const plan = planDispatch(state, tasks, slots);
          const replayed = planDispatch(JSON.parse(JSON.stringify(state)), tasks, slots);

          expect(replayed).toEqual(plan);
          expect(SchedulerState.parse(plan.state)).toEqual(plan.state);
          for (const task of tasks) {
            expect(plan.picks.filter((pick) => pick.taskId === task.taskId).length).toBeLessThanOrEqual(
              task.readyJobs,
            );
          }
          state = plan.state;
        }
      }),
      { numRuns: 100 },
    );
  });

  it('serves every task within one round from any stored state, whatever tasks came and went before', () => {
    fc.assert(
      fc.property(stateArb, cpuTasksArb(), (state, tasks) => {
        const sequence: string[] = [];
        let current: SchedulerState = state;
        for (let i = 0; i < sumRanks(tasks); i += 1) {
          const plan = planDispatch(current, tasks, { CPU: 1, GPU: 0 });
          sequence.push((plan.picks[0] as DispatchPick).taskId);
          current = plan.state;
        }

        for (const task of tasks) {
          expect(sequence.indexOf(task.taskId)).toBeGreaterThanOrEqual(0);
          expect(sequence.indexOf(task.taskId)).toBeLessThanOrEqual(sumRanks(tasks) - task.rank);
        }
      }),
      { numRuns: 200 },
    );
  });
});
