/**
 * Payloads kept apart from the pilot, the node and each other, with real processes: each runs
 * as its slot's unprivileged user in a cgroup of its own, within its memory, log and disk
 * limits, and the pilot reads its outputs without following a link. The jobs run as the pilot
 * runs them (RunningJob), against the emulator's S3. Needs root (the suite runs as root).
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage, JobResultMessage } from '../../events/pilot.js';
import { createAwsClients } from '../../shared/aws/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import { jobMessage, sha256Of, unconnectedPilotConfig } from '../test-support/factories.js';
import { isolatedPayloads, TEST_PAYLOAD_USERS } from '../test-support/isolation.js';
import { msUntil } from '../test-support/processes.js';
import { createTestBucket, getObjectBytes, putObject, quietLogger } from '../test-support/storage.js';
import type { PayloadIsolation } from './isolation.js';
import { RunningJob } from './job.js';

const { s3 } = createAwsClients();
const MIB = 1024 ** 2;
let bucket: string;
let root: string;
let counter = 0;

beforeAll(async () => {
  bucket = await createTestBucket(s3, 'pilot-isolation');
  root = await mkdtemp(path.join(tmpdir(), 'pilot-isolation-'));
  // As a node's /var/lib: the payload users pass through to their job directories.
  await chmod(root, 0o711);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A node: its work directory, its settings and its isolation as the pilot sets it up. */
async function node(settings: Record<string, unknown> = {}, slots = 2) {
  const id = counter++;
  const workDir = path.join(root, `work-${id}`);
  await mkdir(workDir);
  const config = unconnectedPilotConfig(workDir, path.join(root, `spool-${id}`), {
    killGraceSeconds: 1,
    payloadUser: [...TEST_PAYLOAD_USERS],
    ...settings,
  });
  const isolation: PayloadIsolation = await isolatedPayloads(workDir, slots, config.cgroups);
  return { config, isolation, workDir };
}

/** A job on `slot` of `host` whose payload is `sh -c <script> sh <input> <outdir>`. */
async function prepareJob(
  host: Awaited<ReturnType<typeof node>>,
  script: string,
  overrides: Partial<JobMessage> = {},
  slot = 0,
) {
  const id = counter++;
  const data = Buffer.from(`event data ${id}\n`);
  const key = `raw/${id}/run.raw`;
  await putObject(s3, bucket, key, data);
  const job = jobMessage({
    jobId: `j-isolation-${id}`,
    taskId: 't-isolation',
    attempt: 1,
    args: ['-c', script, 'sh', '{input}', '{outdir}'],
    inputs: [{ name: 'run.raw', location: { bucket, key }, size: data.length, checksum: sha256Of(data) }],
    output: { dataset: 'out', datasetUid: 'ds-out', bucket, prefix: `out/${id}` },
    log: { dataset: 'logs', datasetUid: 'ds-logs', bucket, prefix: `logs/${id}` },
    ...overrides,
  });
  const results: JobResultMessage[] = [];
  const phases: string[] = [];
  const running = new RunningJob(
    job,
    'claim-token-0123456789',
    { index: slot, gpuIndex: null },
    {
      s3,
      config: host.config,
      pilotId: 'pilot-isolation-test',
      nodeHasGpus: false,
      isolation: host.isolation,
      logger: quietLogger(),
      sendProgress: (message) => phases.push(message.phase),
      sendResult: async (result) => {
        results.push(result);
      },
      releaseSlot: () => undefined,
    },
  );
  const outDir = path.join(host.workDir, `${job.jobId}.${job.attempt}`, 'out');
  return { job, running, results, phases, outDir };
}

async function outputText(result: JobResultMessage, name: string): Promise<string> {
  const file = result.outputs.find((output) => output.name === name);
  if (!file) throw new Error(`no output ${name}: ${JSON.stringify(result)}`);
  return (await getObjectBytes(s3, file.location.bucket, file.location.key)).toString('utf8');
}

async function logText(result: JobResultMessage): Promise<Buffer> {
  const log = result.outputs.find((output) => output.kind === 'log')!;
  return getObjectBytes(s3, log.location.bucket, log.location.key);
}

/** Whether a process runs (a zombie waiting for its reaper does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * A payload that leaves a `setsid` child (a session and process group of its own) and a
 * double-forked one (its parent gone, so it is the node's init's), writes their pids to
 * `out/escaped.pids` and then runs until killed. All of them ignore SIGTERM: only the SIGKILL
 * after the grace period ends them.
 */
const ESCAPING =
  'trap \'\' TERM; setsid sleep 300 & echo $! > "$2/escaped.tmp"; ' +
  'sh -c \'sleep 300 & echo $!\' >> "$2/escaped.tmp"; ' +
  'mv "$2/escaped.tmp" "$2/escaped.pids"; sleep 300';

async function escapedPids(outDir: string): Promise<number[]> {
  const file = path.join(outDir, 'escaped.pids');
  await msUntil(() => {
    try {
      return readFileSync(file, 'utf8').trim().split('\n').length === 2;
    } catch {
      return false;
    }
  }, 20_000);
  return (await readFile(file, 'utf8')).trim().split('\n').map(Number);
}

const EXPECTED_CODE = {
  cancel: ERRORS.KILLED_CANCELLED,
  shutdown: ERRORS.PILOT_SHUTDOWN,
  walltime: ERRORS.PAYLOAD_WALLTIME_EXCEEDED,
};

describe('isolated payloads', () => {
  it("run as their slot's user, not the pilot's, without the pilot's supplementary groups", async () => {
    const host = await node();
    const script = 'id -u > "$2/uid"; id -g > "$2/gid"; id -G > "$2/groups"; echo "$HOME" > "$2/home"';
    const jobs = [await prepareJob(host, script, {}, 0), await prepareJob(host, script, {}, 1)];

    await Promise.all(jobs.map((job) => job.running.run()));

    const [slot0, slot1] = host.isolation.identities;
    for (const [index, { results }] of jobs.entries()) {
      const identity = index === 0 ? slot0! : slot1!;
      expect(results[0]).toMatchObject({ outcome: 'DONE' });
      const uid = Number(await outputText(results[0]!, 'uid'));
      expect(uid).not.toBe(process.getuid!());
      expect(uid).toBe(identity.uid);
      expect((await outputText(results[0]!, 'groups')).trim()).toBe(String(identity.gid));
    }
    expect(slot0!.uid).not.toBe(slot1!.uid);
  });

  it.each([
    ['cancel', 'v2'],
    ['shutdown', 'v2'],
    ['walltime', 'v2'],
    ['cancel', 'v1'],
    ['walltime', 'v1'],
  ] as const)(
    'kills a setsid and a double-forked child of a payload within 10 s of a %s (cgroup %s)',
    async (stop, version) => {
      const host = await node({ cgroups: version });
      expect(host.isolation.cgroups.tracking?.version).toBe(version === 'v2' ? 2 : 1);
      const {
        running: job,
        results,
        outDir,
      } = await prepareJob(host, ESCAPING, {
        wallTimeSeconds: stop === 'walltime' ? 3 : 600,
      });
      const done = job.run();
      const pids = await escapedPids(outDir);
      expect(pids.every(running)).toBe(true);

      let stoppedAt = Date.now();
      if (stop !== 'walltime') job.stop(stop);
      await msUntil(() => !pids.some(running), 20_000);
      const goneAt = Date.now();
      await done;
      // The wall-time kill comes its 3 s after the payload started (the EXECUTING phase).
      if (stop === 'walltime') stoppedAt = Date.parse(results[0]!.phaseTimes.EXECUTING!) + 3_000;
      const seconds = (goneAt - stoppedAt) / 1000;

      console.log(
        `${stop} (cgroup ${version}): setsid and double-forked children gone ${seconds.toFixed(3)} s after it`,
      );
      expect(seconds).toBeLessThan(10);
      expect(results[0]).toMatchObject({
        outcome: 'FAILED',
        errorCode: EXPECTED_CODE[stop].code,
      });
    },
  );

  it('ends a payload allocating past its memory limit with the memory code', async () => {
    const host = await node({ limits: { maxMemoryBytes: 256 * MIB } });
    const { running: job, results } = await prepareJob(
      host,
      'echo allocating; exec python3 -c "data = b\'x\' * (512 << 20); print(len(data))"',
      { memoryBytes: 64 * MIB },
    );

    const started = performance.now();
    await job.run();

    console.log(
      `memory: ${results[0]?.errorMessage}, job ended after ${((performance.now() - started) / 1000).toFixed(2)} s`,
    );
    expect(results[0]).toMatchObject({ outcome: 'FAILED', errorCode: ERRORS.PAYLOAD_MEMORY_LIMIT.code });
    expect(results[0]?.errorMessage).toContain(`${64 * MIB} bytes`);
    expect((await logText(results[0]!)).toString()).toContain('1221 PAYLOAD_MEMORY_LIMIT');
  });

  it('keeps at most 64 MiB of 300 MB of stdout in the log, with a marker of what was dropped, and does not fail the job', async () => {
    const host = await node();
    const { running: job, results } = await prepareJob(
      host,
      'head -c 300000000 /dev/zero | tr \'\\0\' x; echo done > "$2/result"',
    );

    const started = performance.now();
    await job.run();
    const seconds = (performance.now() - started) / 1000;

    expect(results[0]).toMatchObject({ outcome: 'DONE', errorCode: 0 });
    const log = await logText(results[0]!);
    console.log(`300,000,000 bytes of stdout: log of ${log.length} bytes, job took ${seconds.toFixed(1)} s`);
    expect(log.length).toBeLessThanOrEqual(64 * MIB);
    const tail = log.subarray(-2048).toString();
    const kept = Math.max(...(log.toString('latin1').match(/x+/g) ?? []).map((run) => run.length));
    expect(tail).toMatch(
      /log cap of \d+ bytes reached: (\d+) bytes of payload output dropped \(1223 PAYLOAD_LOG_TRUNCATED\)/,
    );
    const dropped = Number(/reached: (\d+) bytes/.exec(tail)![1]);
    expect(kept + dropped).toBe(300_000_000);
  });

  it("fails a payload over its work-directory quota with its code, while a neighbour slot's job finishes DONE", async () => {
    const host = await node({ limits: { workDirBytes: 32 * MIB, diskCheckIntervalSeconds: 0.2 } });
    const hog = await prepareJob(
      host,
      'i=0; while [ $i -lt 64 ]; do head -c 4194304 /dev/zero > "$2/fill-$i"; i=$((i+1)); done; sleep 60',
      {},
      0,
    );
    const neighbour = await prepareJob(
      host,
      'head -c 8388608 /dev/zero > "$2/part"; sleep 3; tr a-z A-Z < "$1" > "$2/upper"',
      {},
      1,
    );

    const started = performance.now();
    let hogEnded = 0;
    await Promise.all([
      hog.running.run().then(() => {
        hogEnded = performance.now();
      }),
      neighbour.running.run(),
    ]);

    console.log(
      `over-quota payload failed ${((hogEnded - started) / 1000).toFixed(2)} s after the jobs started: ${hog.results[0]?.errorMessage}`,
    );
    expect(hog.results[0]).toMatchObject({ outcome: 'FAILED', errorCode: ERRORS.PAYLOAD_DISK_QUOTA.code });
    expect((await logText(hog.results[0]!)).toString()).toContain('1222 PAYLOAD_DISK_QUOTA');
    expect(neighbour.results[0]).toMatchObject({ outcome: 'DONE', errorCode: 0 });
    expect(await outputText(neighbour.results[0]!, 'upper')).toMatch(/^EVENT DATA/);
    expect(hogEnded - started).toBeLessThan(20_000);
  });

  it("fails an output larger than S3's 5 TiB object limit with its code before uploading any of it", async () => {
    const host = await node();
    // Sparse: 5 TiB + 1 byte of file without the disk.
    const { running: job, results } = await prepareJob(host, `truncate -s ${5 * 1024 ** 4 + 1} "$2/huge"`);

    await job.run();

    expect(results[0]).toMatchObject({ outcome: 'FAILED', errorCode: ERRORS.PAYLOAD_OUTPUT_TOO_LARGE.code });
    expect(results[0]?.outputs.map((output) => output.kind)).toEqual(['log']);
  });

  it.each([
    ['its output directory', 'rmdir "$2" && ln -s /etc "$2"'],
    ['an output file', 'echo fine > "$2/fine"; ln -s /etc/shadow "$2/shadow"'],
  ])('refuses a symbolic link in place of %s and reads nothing through it', async (_what, script) => {
    const host = await node();
    const { running: job, results } = await prepareJob(host, script);

    await job.run();

    expect(results[0]).toMatchObject({ outcome: 'FAILED', errorCode: ERRORS.PAYLOAD_OUTPUT_SYMLINK.code });
    expect(results[0]?.outputs.map((output) => output.kind)).toEqual(['log']);
  });
});
