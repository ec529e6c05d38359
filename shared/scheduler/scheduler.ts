import type { z } from 'zod';
import { ValidationError } from '../errors/index.js';
import { compareNames } from '../ids/index.js';
import type { Device } from '../model/index.js';
import { FreeSlots, type RoundCursor, SchedulableTask, SchedulerState } from './schemas.js';
import type { DispatchPick, DispatchPlan } from './types.js';

/** The state before the first dispatch: round 1, nobody served yet. */
export function initialSchedulerState(): SchedulerState {
  return { CPU: { round: 1, lastTaskId: null }, GPU: { round: 1, lastTaskId: null } };
}

interface PoolEntry {
  task: SchedulableTask;
  remaining: number;
}

/**
 * Interleaved weighted round-robin over the tasks of one device (SEEDS Algorithm 1): in
 * round r = 1..rankMax (the highest rank among tasks with ready jobs) every task with
 * rank ≥ r and a ready job contributes one job, in task-id order; then the next round.
 * The cursor carries the round and the last task served, so many small calls give the same
 * sequence as one large one. Ranks are read at every step: a changed rank (or a task that
 * joined or left) counts from the current position on, so at the latest from the next round.
 */
function serveRounds(
  cursor: RoundCursor,
  pool: PoolEntry[],
  budget: number,
): { served: SchedulableTask[]; cursor: RoundCursor } {
  const served: SchedulableTask[] = [];
  let { round, lastTaskId } = cursor;
  while (served.length < budget) {
    const waiting = pool.filter((entry) => entry.remaining > 0);
    if (waiting.length === 0) break;
    const rankMax = Math.max(...waiting.map((entry) => entry.task.rank));
    if (round > rankMax) {
      round = 1;
      lastTaskId = null;
    }
    for (const entry of waiting) {
      if (served.length === budget) break;
      const afterCursor = lastTaskId === null || compareNames(entry.task.taskId, lastTaskId) > 0;
      if (!afterCursor || entry.task.rank < round) continue;
      served.push(entry.task);
      entry.remaining -= 1;
      lastTaskId = entry.task.taskId;
    }
    if (served.length < budget) {
      round += 1;
      lastTaskId = null;
    }
  }
  return { served, cursor: { round, lastTaskId } };
}

function parse<T>(subject: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ValidationError.fromZod(subject, parsed.error);
  return parsed.data;
}

function poolOf(tasks: readonly SchedulableTask[], device: Device): PoolEntry[] {
  return tasks
    .filter((task) => task.device === device && task.readyJobs > 0)
    .sort((a, b) => compareNames(a.taskId, b.taskId))
    .map((task) => ({ task, remaining: task.readyJobs }));
}

/**
 * Chooses which READY jobs to dispatch now, by task, for the free slots of each device.
 * GPU tasks fill GPU slots (GPU queue); CPU tasks fill CPU slots, and then the GPU slots
 * left once no GPU job is waiting (CPU queue, which GPU pilots fall back to). Never picks
 * more jobs of a task than it has ready, nor more than the free slots.
 */
export function planDispatch(
  state: SchedulerState,
  tasks: readonly SchedulableTask[],
  freeSlots: FreeSlots,
): DispatchPlan {
  const cursors = parse('scheduler state', SchedulerState, state);
  const slots = parse('free slots', FreeSlots, freeSlots);
  const validTasks = tasks.map((task, index) => parse(`task ${index}`, SchedulableTask, task));
  const seen = new Set<string>();
  for (const task of validTasks) {
    if (seen.has(task.taskId)) {
      throw new ValidationError('invalid schedulable tasks', [
        { path: 'tasks', message: `duplicate task ${task.taskId}` },
      ]);
    }
    seen.add(task.taskId);
  }

  const gpu = serveRounds(cursors.GPU, poolOf(validTasks, 'GPU'), slots.GPU);
  const gpuSlotsLeft = slots.GPU - gpu.served.length;
  const cpu = serveRounds(cursors.CPU, poolOf(validTasks, 'CPU'), slots.CPU + gpuSlotsLeft);

  const picks: DispatchPick[] = [
    ...gpu.served.map((task) => ({ taskId: task.taskId, device: task.device, queue: 'GPU' as const })),
    ...cpu.served.map((task) => ({ taskId: task.taskId, device: task.device, queue: 'CPU' as const })),
  ];
  return { picks, state: { CPU: cpu.cursor, GPU: gpu.cursor } };
}
