/**
 * Where the machine's CPU goes during a run: the emulator, this process (the embedded runtime
 * with the control plane's functions, the local API and the bench's own reads), and the pilots with their payloads; and how busy the host's cores were. Read from
 * Linux's /proc; elsewhere there is nothing to read and the figures are null.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU time of the parts of the system, in ms, at one instant. */
export interface CpuReading {
  emulatorMs: number;
  benchProcessMs: number;
  /** The pilots' own time and their reaped children's: the payloads. */
  pilotsMs: number;
  host: HostTimes;
}

/** The host's CPU time over all cores since boot, in ms. */
export interface HostTimes {
  totalMs: number;
  idleMs: number;
  stealMs: number;
}

export interface CpuUse {
  /** CPU time per job, in ms, by part; `total` is their sum. */
  msPerJob: { emulator: number; control_plane: number; pilots: number; total: number };
  /** Share of all the host's core time spent working meanwhile (any process), and lost to the hypervisor. */
  hostBusy: number;
  hostSteal: number;
}

let ticksPerSecond: number | undefined;

/** USER_HZ: the unit of /proc's CPU times (100 on every common Linux). */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * User and system time of a process from /proc/<pid>/stat, with its reaped children's when
 * asked. The fields follow the command name, which is in parentheses and may hold spaces.
 */
export function parseProcessStat(stat: string, withChildren: boolean): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14–17.
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  if ([utime, stime, cutime, cstime].some((value) => value === undefined || !Number.isFinite(value)))
    throw new Error(`unreadable process stat: ${stat.slice(0, 80)}`);
  return utime! + stime! + (withChildren ? cutime! + cstime! : 0);
}

/** The first line of /proc/stat: user nice system idle iowait irq softirq steal (guest time is in user). */
export function parseHostStat(stat: string): { total: number; idle: number; steal: number } {
  const line = stat.split('\n', 1)[0]!;
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (!line.startsWith('cpu ') || values.length < 8 || values.some((value) => !Number.isFinite(value)))
    throw new Error(`unreadable host stat: ${line.slice(0, 80)}`);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = values;
  return { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait, steal };
}

function ticksToMs(ticks: number): number {
  return (ticks * 1000) / clockTicksPerSecond();
}

function processMs(pid: number, withChildren: boolean): number {
  return ticksToMs(parseProcessStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), withChildren));
}

/** One process's CPU time now, in ms, or null where /proc cannot be read. */
export function readProcessCpu(pid: number): number | null {
  try {
    return processMs(pid, false);
  } catch {
    return null;
  }
}

/** Reads the CPU times now, or null where /proc cannot be read. */
export function readCpu(emulatorPid: number, pilotPids: readonly number[]): CpuReading | null {
  try {
    const host = parseHostStat(readFileSync('/proc/stat', 'utf8'));
    const usage = process.cpuUsage();
    return {
      emulatorMs: processMs(emulatorPid, false),
      benchProcessMs: (usage.user + usage.system) / 1000,
      pilotsMs: pilotPids.reduce((sum, pid) => sum + processMs(pid, true), 0),
      host: { totalMs: ticksToMs(host.total), idleMs: ticksToMs(host.idle), stealMs: ticksToMs(host.steal) },
    };
  } catch {
    return null;
  }
}

/**
 * The CPU used between two readings, per job. The pilots must be the same in both (and not yet
 * exited at the second: an exited process's times are gone).
 */
export function cpuUse(before: CpuReading | null, after: CpuReading | null, jobs: number): CpuUse | null {
  if (before === null || after === null || jobs <= 0) return null;
  const perJob = (ms: number) => Math.round((ms / jobs) * 10) / 10;
  const emulator = after.emulatorMs - before.emulatorMs;
  const controlPlane = after.benchProcessMs - before.benchProcessMs;
  const pilots = after.pilotsMs - before.pilotsMs;
  const hostTotal = after.host.totalMs - before.host.totalMs;
  if (hostTotal <= 0 || emulator + controlPlane + pilots <= 0) return null;
  const share = (ms: number) => Math.round((ms / hostTotal) * 1000) / 1000;
  return {
    msPerJob: {
      emulator: perJob(emulator),
      control_plane: perJob(controlPlane),
      pilots: perJob(pilots),
      total: perJob(emulator + controlPlane + pilots),
    },
    hostBusy: share(
      hostTotal - (after.host.idleMs - before.host.idleMs) - (after.host.stealMs - before.host.stealMs),
    ),
    hostSteal: share(after.host.stealMs - before.host.stealMs),
  };
}
