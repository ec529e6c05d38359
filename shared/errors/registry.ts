import { constants as osConstants } from 'node:os';
import {
  CRASH_SIGNALS,
  ERRORS,
  EXIT_COMMAND_NOT_FOUND,
  EXIT_NOT_EXECUTABLE,
  EXIT_SIGNAL_BASE,
} from './constants.js';
import type { ErrorEntry, PayloadExit } from './types.js';

/** Every registry entry, in code order. */
export const ERROR_LIST: readonly ErrorEntry[] = Object.freeze(
  Object.values(ERRORS as Record<string, ErrorEntry>).sort((a, b) => a.code - b.code),
);

const byCode = new Map<number, ErrorEntry>(ERROR_LIST.map((entry) => [entry.code, entry]));
const byName = new Map<string, ErrorEntry>(ERROR_LIST.map((entry) => [entry.name, entry]));
// Some numbers have aliases (SIGIOT is SIGABRT); the first, canonical name wins.
const signalNameByNumber = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.signals)) {
  if (!signalNameByNumber.has(value)) signalNameByNumber.set(value, name);
}

/** The registry entry with this code, or undefined for a code the registry does not know. */
export function errorByCode(code: number): ErrorEntry | undefined {
  return byCode.get(code);
}

/** The registry entry with this name, or undefined for a name the registry does not know. */
export function errorByName(name: string): ErrorEntry | undefined {
  return byName.get(name);
}

/** Whether a code is known and retryable; an unknown code is treated as not retryable. */
export function isRetryableCode(code: number): boolean {
  return byCode.get(code)?.retryable ?? false;
}

function errorForSignal(signal: string): ErrorEntry {
  return CRASH_SIGNALS.includes(signal) ? ERRORS.PAYLOAD_CRASHED : ERRORS.PAYLOAD_KILLED_BY_SIGNAL;
}

/**
 * Maps how a payload process ended to a registry entry (in the manner of PanDA pilot3's
 * errorcodes). A kill the pilot sent decides the code, whatever status the process ended
 * with; otherwise a signal is a crash (SIGSEGV, SIGBUS, ...) or an outside kill, exit 0 is
 * OK, 127/126 are "not found"/"not executable", 128+N is a wrapped child killed by signal N,
 * and any other status is a plain non-zero exit.
 */
export function errorForPayloadExit(exit: PayloadExit): ErrorEntry {
  switch (exit.killedFor) {
    case 'walltime':
      return ERRORS.PAYLOAD_WALLTIME_EXCEEDED;
    case 'cancel':
      return ERRORS.KILLED_CANCELLED;
    case 'shutdown':
      return ERRORS.PILOT_SHUTDOWN;
    case 'disk-quota':
      return ERRORS.PAYLOAD_DISK_QUOTA;
    case null:
      break;
  }
  if (exit.signal !== null) return errorForSignal(exit.signal);
  if (exit.exitCode === null) return ERRORS.PILOT_INTERNAL_ERROR;
  if (exit.exitCode === 0) return ERRORS.OK;
  if (exit.exitCode === EXIT_COMMAND_NOT_FOUND) return ERRORS.PAYLOAD_EXECUTABLE_NOT_FOUND;
  if (exit.exitCode === EXIT_NOT_EXECUTABLE) return ERRORS.PAYLOAD_NOT_EXECUTABLE;
  const wrappedSignal = signalNameByNumber.get(exit.exitCode - EXIT_SIGNAL_BASE);
  if (exit.exitCode > EXIT_SIGNAL_BASE && wrappedSignal !== undefined) return errorForSignal(wrappedSignal);
  return ERRORS.PAYLOAD_NONZERO_EXIT;
}
