/**
 * The set-up shared by the files of pilot-process tests: one control plane (the WmsStack on the
 * embedded runtime, a 3 s watchdog and dispatch schedule, pilots LOST after 10 s of silence),
 * a fleet of release-bundle pilots cleaned up after each test, and the helpers those tests use.
 * The bindings below are filled in by `usePilotPlane`'s beforeAll.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { awsClients } from '../../shared/aws/index.js';
import { createRepositories, type Repositories } from '../../shared/repositories/index.js';
import { LIVE_PILOT_STATES } from '../../shared/states/index.js';
import { type ControlPlane, eventually, startControlPlane } from '../../test/support/index.js';
import { buildPilotBundle } from './pilot-process.js';
import { PilotFleet } from './plane-pilots.js';
import { queueUrlOf, type shellTask, type WmsApi, waitForJobs, wmsApi } from './plane-tasks.js';
import { getObjectBytes } from './storage.js';

/** Silence after which the watchdog declares a pilot LOST; the test pilots heartbeat every second. */
export const PILOT_LOST_AFTER_SECONDS = 10;
/** Payload: the input, upper-cased, into `<input name>.upper`. */
export const UPPER = 'tr a-z A-Z < "$1" > "$2/$(basename "$1").upper"';
/** Payload: runs until killed, with a child in its process group. */
export const HANG = 'sleep 300 & sleep 300; wait';
/** Payload: the first attempt runs until killed; later ones copy the input. */
export const FIRST_ATTEMPT_HANGS = `if [ "$3" = 0 ]; then ${HANG}; fi; cp "$1" "$2/"`;

const { s3, doc } = awsClients();
export let plane: ControlPlane;
export let wms: WmsApi;
export let repos: Repositories;
export let root: string;
export let fleet: PilotFleet;
export let jobsCpu: string;

/** Registers the file's hooks: the control plane and fleet before its tests, cleanup after each and all. */
export function usePilotPlane(): void {
  beforeAll(async () => {
    plane = await startControlPlane({
      tunables: {
        PILOT_LOST_AFTER_SECONDS: String(PILOT_LOST_AFTER_SECONDS),
        JOB_RETRY_BASE_SECONDS: '1',
        JOB_RETRY_MAX_SECONDS: '1',
        DATASET_CLOSE_BASE_SECONDS: '1',
        DATASET_CLOSE_MAX_SECONDS: '2',
        POWERTOOLS_LOG_LEVEL: 'WARN',
      },
      // The watchdog and the dispatch schedule every 3 s.
      scheduleScale: 0.05,
    });
    wms = wmsApi(plane.api);
    jobsCpu = queueUrlOf(plane, 'jobsCpu');
    repos = createRepositories({ doc, tables: plane.tables });
    root = await mkdtemp(path.join(tmpdir(), 'pilot-process-'));
    fleet = new PilotFleet(plane, root, await buildPilotBundle(root));
  }, 120_000);
  afterEach(async (context) => {
    await fleet.cleanup(context.task.result?.state === 'fail');
  });
  afterAll(async () => {
    await plane?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });
}

/** `count` small input files with contents of their own. */
export function inputFiles(count: number, prefix: string): Record<string, string> {
  return Object.fromEntries(
    Array.from({ length: count }, (_, index) => [`${prefix}-${index}.raw`, `events of ${prefix} ${index}\n`]),
  );
}

/** Registers a task and waits until its jobs exist. */
export async function registerTask(task: ReturnType<typeof shellTask>, jobs: number): Promise<string> {
  await wms.registerTask(task);
  await waitForJobs(wms, task.taskId, (found) => expect(found).toHaveLength(jobs));
  return task.taskId;
}

/**
 * Waits until no pilot is live: those a test killed have been declared lost (within
 * PILOT_LOST_AFTER_SECONDS and a watchdog period), so only the pilots started next hold slots.
 */
export async function waitUntilNoLivePilot(): Promise<void> {
  await eventually(
    async () => {
      const live = await Promise.all(
        LIVE_PILOT_STATES.map(async (state) => (await repos.pilots.listByState(state)).items),
      );
      expect(live.flat().map((pilot) => pilot.pilotId)).toEqual([]);
    },
    { timeoutMs: (PILOT_LOST_AFTER_SECONDS + 20) * 1000, intervalMs: 500 },
  );
}

/** The stored content of a task's log of one attempt of a job. */
export async function jobLog(taskId: string, jobId: string, attempt: number): Promise<string> {
  const log = (await wms.files(taskId, 'log')).find((file) => file.name === `${jobId}.${attempt}.log`);
  if (!log) throw new Error(`no log of ${jobId} attempt ${attempt} registered`);
  return (await getObjectBytes(s3, log.location.bucket, log.location.key)).toString('utf8');
}

export async function pilotState(pilotId: string): Promise<string> {
  return (await repos.pilots.get(pilotId)).state;
}

/** Every file name under a directory, recursively. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}
