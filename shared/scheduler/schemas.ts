import { z } from 'zod';
import { DeviceSchema, Identifier, Rank } from '../model/index.js';

/** Where the round-robin over the tasks of one device stands. */
export const RoundCursor = z
  .object({
    /** The round r: tasks with rank ≥ r are served in it. */
    round: z.number().int().min(1),
    /** The task served last in this round; the round continues with the next task id. */
    lastTaskId: Identifier.nullable(),
  })
  .strict();
export type RoundCursor = z.infer<typeof RoundCursor>;

/** What the dispatcher keeps between invocations, as JSON: one cursor per task device. */
export const SchedulerState = z.object({ CPU: RoundCursor, GPU: RoundCursor }).strict();
export type SchedulerState = z.infer<typeof SchedulerState>;

/** A task as the scheduler sees it. */
export const SchedulableTask = z
  .object({
    taskId: Identifier,
    /** The effective rank (after aging and retry boosts). */
    rank: Rank,
    device: DeviceSchema,
    /** READY jobs the dispatcher may send now. */
    readyJobs: z.number().int().min(0),
  })
  .strict();
export type SchedulableTask = z.infer<typeof SchedulableTask>;

/** Job slots the device queues may still take (controlled loading). */
export const FreeSlots = z.object({ CPU: z.number().int().min(0), GPU: z.number().int().min(0) }).strict();
export type FreeSlots = z.infer<typeof FreeSlots>;
