import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, errorForPayloadExit } from '../../shared/errors/index.js';
import { liveGroupMembers, msUntil, quantile } from '../test-support/processes.js';
import { errorForSpawnFailure } from './errors.js';
import { groupExists, type PayloadSpec, payloadEnvironment, startPayload } from './payload.js';

let root: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pilot-payload-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh work directory with `out/`, and a spec running `script` under sh in it. */
async function shellPayload(script: string, overrides: Partial<PayloadSpec> = {}): Promise<PayloadSpec> {
  const cwd = path.join(root, `job-${counter++}`);
  await mkdir(path.join(cwd, 'out'), { recursive: true });
  return {
    executable: 'sh',
    args: ['-c', script],
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WMS_OUTPUT_DIR: path.join(cwd, 'out') },
    logPath: path.join(cwd, 'payload.log'),
    logCapBytes: 64 * 1024 ** 2,
    wallTimeMs: 60_000,
    killGraceMs: 3_000,
    identity: null,
    cgroup: null,
    ...overrides,
  };
}

describe('startPayload', () => {
  it('runs a payload that writes an output and logs stdout and stderr', async () => {
    const spec = await shellPayload(
      'echo result > "$WMS_OUTPUT_DIR/result.txt"; echo to-stdout; echo to-stderr >&2',
    );

    const outcome = await (await startPayload(spec)).outcome;

    expect(outcome).toMatchObject({ exitCode: 0, signal: null, killedFor: null, spawnError: null });
    expect(errorForPayloadExit(outcome)).toBe(ERRORS.OK);
    expect(await readFile(path.join(spec.cwd, 'out', 'result.txt'), 'utf8')).toBe('result\n');
    const log = await readFile(spec.logPath, 'utf8');
    expect(log).toContain('to-stdout');
    expect(log).toContain('to-stderr');
  });

  it('maps exit code 3 to a non-zero-exit error', async () => {
    const outcome = await (await startPayload(await shellPayload('exit 3'))).outcome;

    expect(outcome).toMatchObject({ exitCode: 3, signal: null, killedFor: null });
    expect(errorForPayloadExit(outcome)).toBe(ERRORS.PAYLOAD_NONZERO_EXIT);
  });

  it('maps a crash by signal to a crash error', async () => {
    const outcome = await (await startPayload(await shellPayload('kill -SEGV $$'))).outcome;

    expect(outcome.signal).toBe('SIGSEGV');
    expect(errorForPayloadExit(outcome)).toBe(ERRORS.PAYLOAD_CRASHED);
  });

  it('kills a payload at its wall-time limit', async () => {
    const spec = await shellPayload('sleep 30', { wallTimeMs: 300 });
    const started = Date.now();

    const outcome = await (await startPayload(spec)).outcome;

    expect(Date.now() - started).toBeLessThan(3_000);
    expect(outcome).toMatchObject({ killedFor: 'walltime', signal: 'SIGTERM' });
    expect(errorForPayloadExit(outcome)).toBe(ERRORS.PAYLOAD_WALLTIME_EXCEEDED);
  });

  it('kills the whole process group on a kill, well within 10 s (20 runs)', async () => {
    const latencies: number[] = [];
    for (let run = 0; run < 20; run++) {
      // A payload with children of its own, as a wrapper script would have.
      const payload = await startPayload(await shellPayload('sleep 60 & sleep 60 & wait'));
      const pgid = payload.pid!;
      await msUntil(() => liveGroupMembers(pgid).length === 3, 5_000);

      const started = performance.now();
      payload.kill('cancel');
      await msUntil(() => liveGroupMembers(pgid).length === 0, 10_000);
      latencies.push(performance.now() - started);

      const outcome = await payload.outcome;
      expect(errorForPayloadExit(outcome)).toBe(ERRORS.KILLED_CANCELLED);
    }
    const p50 = quantile(latencies, 0.5);
    const p95 = quantile(latencies, 0.95);
    console.log(`SIGTERM to process group gone, 20 runs: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);
    expect(p95).toBeLessThan(1_000);
  });

  it('SIGKILLs a payload that ignores SIGTERM once the grace period is over', async () => {
    // An ignored signal stays ignored across fork and exec, so the children ignore it too.
    const payload = await startPayload(
      await shellPayload("trap '' TERM; sleep 60 & sleep 60; wait", { killGraceMs: 500 }),
    );
    const pgid = payload.pid!;
    await msUntil(() => liveGroupMembers(pgid).length === 3, 5_000);

    const started = performance.now();
    payload.kill('cancel');
    const gone = await msUntil(() => liveGroupMembers(pgid).length === 0, 10_000);

    expect(gone).toBeGreaterThanOrEqual(490);
    expect(gone).toBeLessThan(500 + 1_000);
    const outcome = await payload.outcome;
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(outcome).toMatchObject({ signal: 'SIGKILL', killedFor: 'cancel' });
    expect(errorForPayloadExit(outcome)).toBe(ERRORS.KILLED_CANCELLED);
  });

  it('kills what a payload left running in its group when it exits', async () => {
    const payload = await startPayload(await shellPayload('sleep 60 & echo started; exit 0'));

    const outcome = await payload.outcome;

    expect(outcome.exitCode).toBe(0);
    await msUntil(() => liveGroupMembers(payload.pid!).length === 0, 2_000);
    // The orphan's zombie goes once the node's init reaps it.
    await msUntil(() => !groupExists(payload.pid!), 10_000);
  });

  it('runs the executable without a shell: arguments are passed as they are', async () => {
    const spec = await shellPayload('unused');
    const marker = path.join(spec.cwd, 'should-not-exist');

    const outcome = await (
      await startPayload({ ...spec, executable: 'printf', args: ['%s|', `$(touch ${marker})`, 'a b', '*'] })
    ).outcome;

    expect(outcome.exitCode).toBe(0);
    expect(await readFile(spec.logPath, 'utf8')).toBe(`$(touch ${marker})|a b|*|`);
    await expect(access(marker)).rejects.toThrow();
  });

  it('reports an executable that does not exist or is not executable', async () => {
    const spec = await shellPayload('unused');
    const missing = await (await startPayload({ ...spec, executable: path.join(spec.cwd, 'missing') }))
      .outcome;
    const script = path.join(spec.cwd, 'not-executable.sh');
    await writeFile(script, '#!/bin/sh\nexit 0\n');
    await chmod(script, 0o644);
    const notExecutable = await (await startPayload({ ...spec, executable: script })).outcome;

    // The payload's first process fails to become the executable: exit statuses 127 and 126.
    expect(missing).toMatchObject({ spawnError: null, exitCode: 127, signal: null });
    expect(errorForPayloadExit(missing)).toBe(ERRORS.PAYLOAD_EXECUTABLE_NOT_FOUND);
    expect(notExecutable).toMatchObject({ spawnError: null, exitCode: 126 });
    expect(errorForPayloadExit(notExecutable)).toBe(ERRORS.PAYLOAD_NOT_EXECUTABLE);
    expect(errorForSpawnFailure('E2BIG')).toBe(ERRORS.PAYLOAD_SPAWN_FAILED);
  });
});

describe('payloadEnvironment', () => {
  const job = { jobId: 'j-1', taskId: 't-1', attempt: 2, inputDir: '/w/in', outputDir: '/w/out' };
  const base = {
    PATH: '/usr/bin',
    HOME: '/home/wms',
    AWS_ACCESS_KEY_ID: 'AKIA',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_SESSION_TOKEN: 'token',
    WMS_PILOT_API_URL: 'https://api',
    CREDENTIALS_DIRECTORY: '/run/credentials/spd-wms-pilot.service',
    CUDA_VISIBLE_DEVICES: '0,1',
    UNSET: undefined,
  };

  it("passes the pilot's environment without its credentials and settings, plus the job's variables", () => {
    expect(payloadEnvironment(base, job, { nodeHasGpus: false, gpuIndex: null })).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/wms',
      CUDA_VISIBLE_DEVICES: '0,1',
      WMS_JOB_ID: 'j-1',
      WMS_TASK_ID: 't-1',
      WMS_ATTEMPT: '2',
      WMS_INPUT_DIR: '/w/in',
      WMS_OUTPUT_DIR: '/w/out',
    });
  });

  it("gives a GPU slot's payload only the slot's GPU, and a CPU job on a GPU node none", () => {
    expect(payloadEnvironment(base, job, { nodeHasGpus: true, gpuIndex: 1 }).CUDA_VISIBLE_DEVICES).toBe('1');
    expect(payloadEnvironment(base, job, { nodeHasGpus: true, gpuIndex: null }).CUDA_VISIBLE_DEVICES).toBe(
      '',
    );
  });
});
