import { InvalidTransitionError } from '../errors/index.js';
import { automaticFrom, MACHINE_STATES, TRANSITIONS } from './constants.js';
import type { Machine, MachineStates, TransitionTable } from './types.js';

function isState<M extends Machine>(machine: M, state: string): state is MachineStates[M] {
  return (MACHINE_STATES[machine] as readonly string[]).includes(state);
}

/** Whether `machine` may move from `from` to `to`. Unknown states (e.g. from a corrupt item) are refused. */
export function canTransition<M extends Machine>(
  machine: M,
  from: MachineStates[M],
  to: MachineStates[M],
): boolean {
  if (!isState(machine, from) || !isState(machine, to)) return false;
  const table: TransitionTable<M> = TRANSITIONS[machine];
  return table[from].includes(to);
}

/** Throws InvalidTransitionError unless `machine` may move from `from` to `to`. */
export function assertTransition<M extends Machine>(
  machine: M,
  from: MachineStates[M],
  to: MachineStates[M],
): void {
  if (!canTransition(machine, from, to)) throw new InvalidTransitionError(machine, from, to);
}

/** The states `machine` may move to from `state` (none for an unknown state). */
export function allowedFrom<M extends Machine>(
  machine: M,
  state: MachineStates[M],
): readonly MachineStates[M][] {
  if (!isState(machine, state)) return [];
  const table: TransitionTable<M> = TRANSITIONS[machine];
  return table[state];
}

/** Whether `state` is final: no transition leaves it but an operator's command (a job's retry). */
export function isTerminal<M extends Machine>(machine: M, state: MachineStates[M]): boolean {
  return isState(machine, state) && automaticFrom(machine, state).length === 0;
}
