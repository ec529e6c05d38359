import { describe, expect, it } from 'vitest';
import { InvalidTransitionError } from '../errors/index.js';
import {
  allowedFrom,
  assertTransition,
  canTransition,
  isTerminal,
  MACHINE_STATES,
  type Machine,
  type MachineStates,
  OPERATOR_TRANSITIONS,
  TERMINAL_DATASET_STATES,
  TERMINAL_JOB_STATES,
  TERMINAL_PILOT_STATES,
  TERMINAL_TASK_STATES,
  TRANSITIONS,
} from './index.js';

// The transitions of design §5, written out independently of the table under test.
const EXPECTED: { [M in Machine]: string[] } = {
  task: [
    'REGISTERED->RUNNING',
    'REGISTERED->CANCELLED',
    'REGISTERED->FAILED',
    'RUNNING->DONE',
    'RUNNING->FAILED',
    'RUNNING->CANCELLED',
    'RUNNING->HELD',
    'HELD->RUNNING',
    'HELD->CANCELLED',
  ],
  job: [
    'READY->QUEUED',
    'READY->CANCELLED',
    'QUEUED->RUNNING',
    'QUEUED->READY',
    'QUEUED->LOST',
    'QUEUED->CANCELLED',
    'RUNNING->DONE',
    'RUNNING->FAILED',
    'RUNNING->CANCELLED',
    'RUNNING->LOST',
    'RUNNING->READY',
    'LOST->READY',
    'LOST->FAILED',
    'LOST->CANCELLED',
    'FAILED->READY',
  ],
  pilot: [
    'ACTIVE->IDLE',
    'IDLE->ACTIVE',
    'ACTIVE->EXITED',
    'IDLE->EXITED',
    'ACTIVE->LOST',
    'IDLE->LOST',
    'LOST->EXITED',
  ],
  dataset: ['OPEN->CLOSED', 'CLOSED->TO_UPLOAD', 'CLOSED->TO_DELETE', 'TO_UPLOAD->TO_DELETE'],
};

const MACHINES = Object.keys(MACHINE_STATES) as Machine[];

function allPairs<M extends Machine>(machine: M): [MachineStates[M], MachineStates[M]][] {
  const states = MACHINE_STATES[machine];
  return states.flatMap((from) => states.map((to) => [from, to] as [MachineStates[M], MachineStates[M]]));
}

describe.each(MACHINES)('the %s machine', (machine) => {
  it('allows exactly the listed transitions, over every pair of states', () => {
    const expected = new Set(EXPECTED[machine]);
    let allowed = 0;
    for (const [from, to] of allPairs(machine)) {
      const listed = expected.has(`${from}->${to}`);
      expect(canTransition(machine, from, to), `${from}->${to}`).toBe(listed);
      if (listed) {
        allowed += 1;
        expect(() => assertTransition(machine, from, to)).not.toThrow();
      } else {
        expect(() => assertTransition(machine, from, to)).toThrow(InvalidTransitionError);
      }
    }
    expect(allowed).toBe(expected.size);
  });

  it('lists in its table only states of the machine, each with allowedFrom matching the table', () => {
    const states: readonly string[] = MACHINE_STATES[machine];
    const table = TRANSITIONS[machine] as Record<string, readonly string[]>;
    expect(Object.keys(table).sort()).toEqual([...states].sort());
    for (const from of MACHINE_STATES[machine]) {
      const targets = allowedFrom(machine, from);
      expect(targets).toEqual(table[from]);
      for (const to of targets) expect(states).toContain(to);
      expect(new Set(targets).size).toBe(targets.length);
    }
  });

  it('never allows a self-transition, and leaves a terminal state only by an operator command', () => {
    const operator: Partial<Record<string, readonly string[]>> = OPERATOR_TRANSITIONS[machine];
    for (const state of MACHINE_STATES[machine]) {
      expect(canTransition(machine, state, state)).toBe(false);
      if (isTerminal(machine, state)) expect(allowedFrom(machine, state)).toEqual(operator[state] ?? []);
    }
  });

  it('lists operator commands only among its transitions', () => {
    const operator: Partial<Record<string, readonly string[]>> = OPERATOR_TRANSITIONS[machine];
    for (const [from, targets] of Object.entries(operator)) {
      for (const to of targets ?? []) expect(EXPECTED[machine]).toContain(`${from}->${to}`);
    }
  });

  it('refuses unknown states', () => {
    const [known] = MACHINE_STATES[machine];
    const unknown = 'NO_SUCH_STATE' as MachineStates[typeof machine];
    expect(canTransition(machine, unknown, known as MachineStates[typeof machine])).toBe(false);
    expect(canTransition(machine, known as MachineStates[typeof machine], unknown)).toBe(false);
    expect(allowedFrom(machine, unknown)).toEqual([]);
    expect(isTerminal(machine, unknown)).toBe(false);
  });
});

describe('terminal states', () => {
  it('are the states the design calls final', () => {
    expect(TERMINAL_TASK_STATES).toEqual(['DONE', 'FAILED', 'CANCELLED']);
    expect(TERMINAL_JOB_STATES).toEqual(['DONE', 'FAILED', 'CANCELLED']);
    expect(TERMINAL_PILOT_STATES).toEqual(['EXITED']);
    expect(TERMINAL_DATASET_STATES).toEqual(['TO_DELETE']);
  });

  it('agree with isTerminal', () => {
    const lists: { [M in Machine]: readonly string[] } = {
      task: TERMINAL_TASK_STATES,
      job: TERMINAL_JOB_STATES,
      pilot: TERMINAL_PILOT_STATES,
      dataset: TERMINAL_DATASET_STATES,
    };
    for (const machine of MACHINES) {
      for (const state of MACHINE_STATES[machine]) {
        expect(isTerminal(machine, state)).toBe(lists[machine].includes(state));
      }
    }
  });

  it('are reachable from every non-terminal state', () => {
    for (const machine of MACHINES) {
      const terminal = MACHINE_STATES[machine].filter((state) => isTerminal(machine, state));
      for (const start of MACHINE_STATES[machine]) {
        const seen = new Set<string>([start]);
        const frontier: string[] = [start];
        while (frontier.length > 0) {
          const state = frontier.pop() as MachineStates[typeof machine];
          for (const next of allowedFrom(machine, state)) {
            if (!seen.has(next)) {
              seen.add(next);
              frontier.push(next);
            }
          }
        }
        expect(
          terminal.some((state) => seen.has(state)),
          `${machine} ${start}`,
        ).toBe(true);
      }
    }
  });
});

describe('InvalidTransitionError from assertTransition', () => {
  it('names the machine and both states', () => {
    try {
      assertTransition('job', 'DONE', 'READY');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidTransitionError);
      const transition = error as InvalidTransitionError;
      expect([transition.machine, transition.from, transition.to]).toEqual(['job', 'DONE', 'READY']);
    }
  });
});
