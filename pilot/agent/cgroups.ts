import { mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A cgroup directory and the version of the hierarchy it belongs to. */
export interface CgroupDir {
  version: 1 | 2;
  dir: string;
}

/**
 * Where the pilot makes its payloads' cgroups: one hierarchy that tracks and kills every
 * process of a payload (v2 with `cgroup.kill`, else the v1 freezer) and one that limits its
 * memory (v2 with the memory controller enabled for the pilot's children, else v1 memory).
 * `null` where no hierarchy can be used; `problems` says why, for the pilot's warning and its
 * record.
 */
export interface CgroupSupport {
  tracking: CgroupDir | null;
  memory: CgroupDir | null;
  problems: string[];
}

/** Which hierarchy the pilot uses: the best that works, or v1 (or v2) only. */
export type CgroupPreference = 'auto' | 'v1' | 'v2';

interface Mount {
  fsType: string;
  root: string;
  mountPoint: string;
  superOptions: string[];
}

/** The cgroup file systems of /proc/self/mountinfo. */
export function parseCgroupMounts(mountinfo: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fsType, , superOptions] = right.split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    mounts.push({
      fsType,
      root: fields[3] ?? '/',
      mountPoint: fields[4] ?? '',
      superOptions: (superOptions ?? '').split(','),
    });
  }
  return mounts;
}

/** The process's cgroup path per v1 controller, and under the key `''` its v2 path. */
export function parseProcCgroup(content: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of content.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, controllers, cgroupPath] = match;
    if (controllers === '') paths.set('', cgroupPath!);
    for (const controller of controllers!.split(',')) if (controller) paths.set(controller, cgroupPath!);
  }
  return paths;
}

/** The directory of the cgroup at `cgroupPath` (as /proc/self/cgroup names it) in `mount`. */
function dirIn(mount: Mount, cgroupPath: string): string {
  const relative =
    mount.root !== '/' && cgroupPath.startsWith(mount.root)
      ? cgroupPath.slice(mount.root.length)
      : cgroupPath;
  return path.join(mount.mountPoint, relative);
}

async function readText(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).trim();
}

/** Whether a child cgroup can be made in `dir` and has `file` (a probe, removed at once). */
async function canMakeChild(dir: string, file: string): Promise<boolean> {
  const probe = path.join(dir, `spd-wms-probe-${process.pid}`);
  try {
    await mkdir(probe);
  } catch {
    return false;
  }
  try {
    // Some files (cgroup.kill) are write-only: their existence is what counts.
    await stat(path.join(probe, file));
    return true;
  } catch {
    return false;
  } finally {
    await rmdir(probe).catch(() => undefined);
  }
}

/** The leaf the pilot (and its daemon) move into so that their cgroup may enable controllers. */
const SUPERVISOR_CGROUP = 'spd-wms-supervisor';

/**
 * Enables the memory controller for the children of `dir` if it is available there. cgroup v2
 * enables controllers only in a cgroup without processes of its own, so when the pilot's
 * cgroup (a systemd unit's, with `Delegate=yes`) holds the daemon and the pilot, they move
 * into a leaf of it first, as systemd asks of a delegated unit; payload cgroups are its siblings.
 */
async function enableV2Memory(dir: string): Promise<boolean> {
  try {
    if (!(await readText(path.join(dir, 'cgroup.controllers'))).split(' ').includes('memory')) return false;
    const control = path.join(dir, 'cgroup.subtree_control');
    if ((await readText(control)).split(' ').includes('memory')) return true;
    const own = (await readText(path.join(dir, 'cgroup.procs'))).split('\n').filter(Boolean);
    if (own.length > 0) {
      const leaf = path.join(dir, SUPERVISOR_CGROUP);
      await mkdir(leaf).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      for (const pid of own) await writeFile(path.join(leaf, 'cgroup.procs'), pid).catch(() => undefined);
    }
    await writeFile(control, '+memory');
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the hierarchies this process can make payload cgroups in, below its own cgroup (what
 * systemd's `Delegate=yes` hands to a service).
 */
export async function detectCgroups(preference: CgroupPreference = 'auto'): Promise<CgroupSupport> {
  const problems: string[] = [];
  let mounts: Mount[];
  let own: Map<string, string>;
  try {
    mounts = parseCgroupMounts(await readFile('/proc/self/mountinfo', 'utf8'));
    own = parseProcCgroup(await readFile('/proc/self/cgroup', 'utf8'));
  } catch (error) {
    return { tracking: null, memory: null, problems: [`cannot read /proc: ${(error as Error).message}`] };
  }
  let tracking: CgroupDir | null = null;
  let memory: CgroupDir | null = null;

  const v2 = mounts.find((mount) => mount.fsType === 'cgroup2');
  if (preference !== 'v1' && v2 && own.has('')) {
    const dir = dirIn(v2, own.get('')!);
    if (await canMakeChild(dir, 'cgroup.kill')) {
      tracking = { version: 2, dir };
      if (await enableV2Memory(dir)) memory = { version: 2, dir };
    } else {
      problems.push(`cgroup v2 at ${dir}: cannot make a child cgroup with cgroup.kill`);
    }
  } else if (preference !== 'v1') {
    problems.push('no cgroup v2 hierarchy');
  }

  const v1 = (controller: string): string | null => {
    const mount = mounts.find(
      (entry) => entry.fsType === 'cgroup' && entry.superOptions.includes(controller),
    );
    const cgroupPath = own.get(controller);
    return mount && cgroupPath !== undefined ? dirIn(mount, cgroupPath) : null;
  };
  if (preference !== 'v2') {
    const freezer = v1('freezer');
    if (tracking === null) {
      if (freezer && (await canMakeChild(freezer, 'freezer.state'))) tracking = { version: 1, dir: freezer };
      else problems.push('no writable cgroup v1 freezer hierarchy');
    }
    const memoryV1 = v1('memory');
    if (memory === null) {
      if (memoryV1 && (await canMakeChild(memoryV1, 'memory.limit_in_bytes')))
        memory = { version: 1, dir: memoryV1 };
      else problems.push('no writable memory controller (cgroup v2 or v1)');
    }
  }
  return { tracking, memory, problems };
}

/** The name of a payload's cgroup: its pilot's pid first, so what a dead pilot left is found. */
export function payloadCgroupName(jobId: string, attempt: number, pilotPid = process.pid): string {
  return `spd-wms-${pilotPid}-${jobId}.${attempt}`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Kills and removes the payload cgroups of pilots that no longer run (a pilot killed with
 * SIGKILL leaves its payloads running in them). Returns the names of those removed.
 */
export async function reapOrphanedCgroups(support: CgroupSupport): Promise<string[]> {
  if (support.tracking === null) return [];
  const reaped: string[] = [];
  for (const entry of await readdir(support.tracking.dir, { withFileTypes: true })) {
    const owner = /^spd-wms-(\d+)-/.exec(entry.name);
    if (!entry.isDirectory() || !owner || isRunning(Number(owner[1]))) continue;
    const cgroup = PayloadCgroup.existing(support, entry.name);
    if (await cgroup.kill()) {
      await cgroup.remove().catch(() => undefined);
      reaped.push(entry.name);
    }
  }
  return reaped;
}

/** Milliseconds between looks at a cgroup that is being emptied. */
const EMPTY_POLL_MS = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The cgroup(s) of one payload: every process it starts (a `setsid` or double-forked child
 * included) stays in them, so a kill reaches all of them, and its memory is limited there.
 */
export class PayloadCgroup {
  private constructor(
    readonly tracking: CgroupDir,
    readonly memory: CgroupDir | null,
  ) {}

  /** The payload cgroup(s) named `name` that exist already (a dead pilot's). */
  static existing(support: CgroupSupport, name: string): PayloadCgroup {
    const tracking = { version: support.tracking!.version, dir: path.join(support.tracking!.dir, name) };
    const memory =
      support.memory === null
        ? null
        : support.memory.dir === support.tracking!.dir
          ? tracking
          : { version: support.memory.version, dir: path.join(support.memory.dir, name) };
    return new PayloadCgroup(tracking, memory);
  }

  /** Makes the payload's cgroup(s) named `name`, with its memory limit when there is one. */
  static async create(
    support: CgroupSupport,
    name: string,
    memoryLimitBytes: number | null,
  ): Promise<PayloadCgroup | null> {
    if (support.tracking === null) return null;
    const tracking = { version: support.tracking.version, dir: path.join(support.tracking.dir, name) };
    await mkdir(tracking.dir);
    const sameDir = support.memory !== null && support.memory.dir === support.tracking.dir;
    const memory =
      support.memory === null || memoryLimitBytes === null
        ? null
        : sameDir
          ? tracking
          : { version: support.memory.version, dir: path.join(support.memory.dir, name) };
    const cgroup = new PayloadCgroup(tracking, memory);
    try {
      if (memory !== null && memoryLimitBytes !== null) {
        if (memory !== tracking) await mkdir(memory.dir);
        await cgroup.#limitMemory(memory, memoryLimitBytes);
      }
    } catch (error) {
      await cgroup.remove();
      throw error;
    }
    return cgroup;
  }

  async #limitMemory(memory: CgroupDir, bytes: number): Promise<void> {
    if (memory.version === 2) {
      await writeFile(path.join(memory.dir, 'memory.max'), String(bytes));
      // Without swap the limit is the payload's whole memory; a node without swap has no such file.
      await writeFile(path.join(memory.dir, 'memory.swap.max'), '0').catch(() => undefined);
    } else {
      await writeFile(path.join(memory.dir, 'memory.limit_in_bytes'), String(bytes));
      await writeFile(path.join(memory.dir, 'memory.memsw.limit_in_bytes'), String(bytes)).catch(
        () => undefined,
      );
    }
  }

  #dirs(): string[] {
    return this.memory === null || this.memory === this.tracking
      ? [this.tracking.dir]
      : [this.tracking.dir, this.memory.dir];
  }

  /** Moves a process (the payload before it runs anything) into the cgroup(s). */
  async add(pid: number): Promise<void> {
    for (const dir of this.#dirs()) await writeFile(path.join(dir, 'cgroup.procs'), String(pid));
  }

  /** The processes in the cgroup. */
  async pids(): Promise<number[]> {
    const content = await readText(path.join(this.tracking.dir, 'cgroup.procs')).catch(() => '');
    return content === '' ? [] : content.split('\n').map(Number);
  }

  /** Sends `signal` to every process in the cgroup. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    for (const pid of await this.pids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // Ended meanwhile.
      }
    }
  }

  /**
   * SIGKILLs every process of the cgroup, those forked meanwhile included: v2 through
   * `cgroup.kill`, v1 by freezing the cgroup (no process can fork), killing each process and
   * thawing it. Resolves once the cgroup is empty, or after `timeoutMs`; returns whether it is.
   */
  async kill(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pids = await this.pids();
      if (pids.length === 0) return true;
      if (Date.now() > deadline) return false;
      if (this.tracking.version === 2) {
        await writeFile(path.join(this.tracking.dir, 'cgroup.kill'), '1').catch(() => undefined);
      } else {
        await this.#killFrozen();
      }
      await sleep(EMPTY_POLL_MS);
    }
  }

  async #killFrozen(): Promise<void> {
    const state = path.join(this.tracking.dir, 'freezer.state');
    await writeFile(state, 'FROZEN');
    const frozenBy = Date.now() + 1_000;
    while ((await readText(state)) !== 'FROZEN' && Date.now() < frozenBy) await sleep(1);
    await this.signal('SIGKILL');
    await writeFile(state, 'THAWED');
  }

  /** How often the out-of-memory killer killed a process of the cgroup. */
  async oomKills(): Promise<number> {
    if (this.memory === null) return 0;
    const file = this.memory.version === 2 ? 'memory.events' : 'memory.oom_control';
    try {
      const match = /^oom_kill (\d+)$/m.exec(await readFile(path.join(this.memory.dir, file), 'utf8'));
      return match ? Number(match[1]) : 0;
    } catch {
      return 0;
    }
  }

  /** Removes the cgroup(s); they must be empty. A cgroup already gone is not an error. */
  async remove(): Promise<void> {
    for (const dir of this.#dirs().reverse()) {
      await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  }
}
