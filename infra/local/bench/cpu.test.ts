import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CpuReading, cpuUse, parseHostStat, parseProcessStat, readCpu } from './cpu.js';

describe('parseProcessStat', () => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
  const stat = '4242 (moto server (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 89 10 20 0 9 0';

  it('reads user and system time after a command name holding spaces and parentheses', () => {
    expect(parseProcessStat(stat, false)).toBe(1234 + 567);
  });

  it("adds the reaped children's time when asked", () => {
    expect(parseProcessStat(stat, true)).toBe(1234 + 567 + 89 + 10);
  });

  it('refuses a line it cannot read', () => {
    expect(() => parseProcessStat('4242 (short) S 1 2', false)).toThrow(/unreadable process stat/);
  });

  it('reads this process, whose time only grows', () => {
    const first = parseProcessStat(readFileSync('/proc/self/stat', 'utf8'), false);
    let spin = 0;
    for (let index = 0; index < 5e7; index++) spin += index;
    const second = parseProcessStat(readFileSync('/proc/self/stat', 'utf8'), false);
    expect(spin).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
  });
});

describe('parseHostStat', () => {
  it('sums the times of all cores, idle with I/O wait, steal apart', () => {
    const stat = 'cpu  100 5 50 800 20 3 7 15 0 0\ncpu0 50 2 25 400 10 1 3 7 0 0\n';
    expect(parseHostStat(stat)).toEqual({
      total: 100 + 5 + 50 + 800 + 20 + 3 + 7 + 15,
      idle: 820,
      steal: 15,
    });
  });

  it('refuses anything else', () => {
    expect(() => parseHostStat('intr 1 2 3\n')).toThrow(/unreadable host stat/);
  });
});

describe('cpuUse', () => {
  const reading = (
    emulatorMs: number,
    benchProcessMs: number,
    pilotsMs: number,
    host: number[],
  ): CpuReading => ({
    emulatorMs,
    benchProcessMs,
    pilotsMs,
    host: { totalMs: host[0]!, idleMs: host[1]!, stealMs: host[2]! },
  });

  it('gives the time per job of each part, and the busy and stolen shares of the cores', () => {
    const before = reading(1000, 2000, 0, [10_000, 5000, 100]);
    const after = reading(6000, 5000, 2000, [30_000, 9000, 1100]);

    expect(cpuUse(before, after, 100)).toEqual({
      msPerJob: { emulator: 50, control_plane: 30, pilots: 20, total: 100 },
      hostBusy: 0.75,
      hostSteal: 0.05,
    });
  });

  it('is null when a reading is missing or nothing was measured', () => {
    const some = reading(0, 0, 0, [1000, 0, 0]);
    expect(cpuUse(null, some, 10)).toBeNull();
    expect(cpuUse(some, null, 10)).toBeNull();
    expect(cpuUse(some, some, 10)).toBeNull();
    expect(cpuUse(some, reading(10, 10, 10, [2000, 0, 0]), 0)).toBeNull();
  });

  it('is measured from /proc for running processes, and null for a process that is gone', () => {
    const before = readCpu(process.pid, [process.pid]);
    let spin = 0;
    for (let index = 0; index < 5e7; index++) spin += index;
    const after = readCpu(process.pid, [process.pid]);
    expect(spin).toBeGreaterThan(0);
    const use = cpuUse(before, after, 1);
    expect(use?.msPerJob.control_plane).toBeGreaterThan(0);
    expect(use?.hostBusy).toBeGreaterThan(0);
    expect(readCpu(2 ** 22 + 1, [])).toBeNull();
  });
});
