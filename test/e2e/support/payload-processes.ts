/**
 * The payloads' processes, seen from the node: each payload started with a pid directory
 * records `<jobId>.<attempt>.pid`, its process id, which is also its process group id (the
 * pilot starts every payload in its own group).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveGroupMembers } from '../../../pilot/test-support/processes.js';

const PID_FILE = /^(.+)\.(\d+)\.pid$/;
/** What the payload and its child run: a group only holds processes of ours if one of these shows. */
const PAYLOAD_COMMAND_MARKS = ['worker.mjs', 'setInterval'];

export interface StartedPayload {
  jobId: string;
  attempt: number;
  /** Process id and process group id. */
  pid: number;
}

/** Every payload that recorded its start in `pidDir`. */
export function startedPayloads(pidDir: string): StartedPayload[] {
  return readdirSync(pidDir).flatMap((entry) => {
    const match = PID_FILE.exec(entry);
    if (!match) return [];
    const pid = Number(readFileSync(join(pidDir, entry), 'utf8'));
    return [{ jobId: match[1]!, attempt: Number(match[2]), pid }];
  });
}

/** Processes of the payload's group still alive (its own and whatever it started). */
export function livePayloadProcesses(payload: StartedPayload): number[] {
  return liveGroupMembers(payload.pid);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/**
 * Kills the groups of payloads still running, e.g. those a SIGKILLed pilot left behind. A
 * group is killed only while one of its processes runs a payload's command, so a group id
 * reused by an unrelated process is left alone.
 */
export function killLeftoverPayloads(pidDir: string): void {
  for (const payload of startedPayloads(pidDir)) {
    const members = livePayloadProcesses(payload);
    const ours = members.some((pid) => PAYLOAD_COMMAND_MARKS.some((mark) => commandLine(pid).includes(mark)));
    if (!ours) continue;
    try {
      process.kill(-payload.pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}
