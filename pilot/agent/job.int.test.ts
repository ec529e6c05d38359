import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage, JobProgressMessage, JobResultMessage } from '../../events/pilot.js';
import { CallCounter, createAwsClients } from '../../shared/aws/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import { jobMessage, sha256Of, unconnectedPilotConfig } from '../test-support/factories.js';
import { sameUserPayloads } from '../test-support/isolation.js';
import { liveGroupMembers, msUntil } from '../test-support/processes.js';
import { createTestBucket, getObjectBytes, putObject, quietLogger } from '../test-support/storage.js';
import { jobPaths, RunningJob } from './job.js';

const calls = new CallCounter();
const { s3 } = createAwsClients({ callCounter: calls });
let bucket: string;
let root: string;
let counter = 0;
const uploads = () => calls.count({ service: 'S3', operation: 'PutObject' });

beforeAll(async () => {
  bucket = await createTestBucket(s3, 'pilot-job');
  root = await mkdtemp(path.join(tmpdir(), 'pilot-job-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A job reading one stored input; its payload is `sh -c <script>`. */
async function prepareJob(script: string, overrides: (job: JobMessage) => Partial<JobMessage> = () => ({})) {
  const id = counter++;
  const data = Buffer.from(`event data ${id}\n`);
  const key = `raw/${id}/run.raw`;
  await putObject(s3, bucket, key, data);
  const base = jobMessage({
    jobId: `j-job-${id}`,
    taskId: 't-job',
    attempt: 1,
    args: ['-c', script],
    inputs: [{ name: 'run.raw', location: { bucket, key }, size: data.length, checksum: sha256Of(data) }],
    output: { dataset: 'out', datasetUid: 'ds-out', bucket, prefix: `out/${id}` },
    log: { dataset: 'logs', datasetUid: 'ds-logs', bucket, prefix: `logs/${id}` },
  });
  const job = { ...base, ...overrides(base) };
  const workDir = path.join(root, `work-${id}`);
  await mkdir(workDir);
  const config = unconnectedPilotConfig(workDir, path.join(root, `spool-${id}`), { killGraceSeconds: 0.5 });
  const progress: JobProgressMessage[] = [];
  const results: JobResultMessage[] = [];
  /** At each slot release: the S3 uploads made so far and the phases reported. */
  const slotReleases: { uploads: number; phases: string[] }[] = [];
  const running = new RunningJob(
    job,
    'claim-token-0123456789',
    { index: 0, gpuIndex: null },
    {
      s3,
      config,
      pilotId: 'pilot-test',
      nodeHasGpus: false,
      isolation: await sameUserPayloads(1),
      logger: quietLogger(),
      sendProgress: (message) => progress.push(message),
      sendResult: async (result) => {
        results.push(result);
      },
      releaseSlot: () =>
        slotReleases.push({ uploads: uploads(), phases: progress.map((message) => message.phase) }),
    },
  );
  return { job, data, workDir, running, progress, results, slotReleases };
}

describe('RunningJob', () => {
  it('stages in, runs, stages out the outputs and the log, reports DONE and cleans up', async () => {
    const script = 'tr a-z A-Z < "$1" > "$WMS_OUTPUT_DIR/upper.txt"; cp "$1" "$2/copy.raw"; echo payload-ran';
    const { job, data, workDir, running, progress, results } = await prepareJob(script, () => ({
      args: ['-c', script, 'sh', '{input}', '{outdir}'],
    }));

    await running.run();

    expect(progress.map((message) => message.phase)).toEqual([
      'CLAIMED',
      'STAGE_IN',
      'EXECUTING',
      'STAGE_OUT',
    ]);
    expect(results).toHaveLength(1);
    const result = results[0]!;
    expect(result).toMatchObject({
      outcome: 'DONE',
      errorCode: 0,
      exitCode: 0,
      attempt: 1,
      claimToken: 'claim-token-0123456789',
    });
    expect(Object.keys(result.phaseTimes).sort()).toEqual(['CLAIMED', 'EXECUTING', 'STAGE_IN', 'STAGE_OUT']);
    const upper = Buffer.from(data.toString().toUpperCase());
    expect(result.outputs).toEqual([
      {
        name: 'copy.raw',
        kind: 'output',
        location: { bucket, key: `${job.output.prefix}/copy.raw` },
        size: data.length,
        checksum: sha256Of(data),
      },
      {
        name: 'upper.txt',
        kind: 'output',
        location: { bucket, key: `${job.output.prefix}/upper.txt` },
        size: upper.length,
        checksum: sha256Of(upper),
      },
      expect.objectContaining({
        name: `${job.jobId}.1.log`,
        kind: 'log',
        location: { bucket, key: `${job.log.prefix}/${job.jobId}.1.log` },
      }),
    ]);
    expect((await getObjectBytes(s3, bucket, `${job.output.prefix}/upper.txt`)).equals(upper)).toBe(true);
    const log = (await getObjectBytes(s3, bucket, `${job.log.prefix}/${job.jobId}.1.log`)).toString();
    expect(log).toContain('payload-ran');
    expect(log).toContain('error 0 OK');
    expect(sha256Of(log)).toBe(result.outputs[2]?.checksum);
    expect(await readdir(workDir)).toEqual([]);
  });

  it('gives its slot back once, as soon as the payload has ended, before anything is uploaded', async () => {
    const marker = path.join(root, `ended-${randomBytes(4).toString('hex')}`);
    const { running, results, slotReleases } = await prepareJob(
      `echo out > "$WMS_OUTPUT_DIR/a.out"; touch ${marker}`,
    );
    const uploadsBefore = uploads();

    await running.run();

    expect(slotReleases).toEqual([{ uploads: uploadsBefore, phases: ['CLAIMED', 'STAGE_IN', 'EXECUTING'] }]);
    await access(marker);
    expect(results[0]).toMatchObject({ outcome: 'DONE' });
    expect(uploads() - uploadsBefore).toBe(2);
  });

  it('does not run the payload when an input fails its checksum, and still uploads the log', async () => {
    const marker = path.join(root, `ran-${randomBytes(4).toString('hex')}`);
    const { running, progress, results, slotReleases } = await prepareJob(`touch ${marker}`, (job) => ({
      inputs: job.inputs.map((input) => ({ ...input, checksum: sha256Of('tampered') })),
    }));
    const uploadsBefore = uploads();

    await running.run();

    expect(slotReleases).toEqual([{ uploads: uploadsBefore, phases: ['CLAIMED', 'STAGE_IN'] }]);
    expect(results[0]).toMatchObject({
      outcome: 'FAILED',
      errorCode: ERRORS.STAGE_IN_CHECKSUM_MISMATCH.code,
    });
    expect(results[0]?.exitCode).toBeUndefined();
    expect(progress.map((message) => message.phase)).toEqual(['CLAIMED', 'STAGE_IN']);
    await expect(access(marker)).rejects.toThrow();
    expect(results[0]?.outputs.map((output) => output.kind)).toEqual(['log']);
    const log = (await getObjectBytes(s3, bucket, results[0]!.outputs[0]!.location.key)).toString();
    expect(log).toContain('STAGE_IN_CHECKSUM_MISMATCH');
  });

  it('reports a payload exiting 3 with its mapped code and uploads the log but no outputs', async () => {
    const { running, results } = await prepareJob(
      'echo partial > "$WMS_OUTPUT_DIR/partial.out"; echo failing >&2; exit 3',
    );

    await running.run();

    expect(results[0]).toMatchObject({
      outcome: 'FAILED',
      errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code,
      exitCode: 3,
    });
    expect(results[0]?.outputs.map((output) => output.kind)).toEqual(['log']);
    const log = (await getObjectBytes(s3, bucket, results[0]!.outputs[0]!.location.key)).toString();
    expect(log).toContain('failing');
  });

  it('registers and stores an output named in NFD under its NFC name, and fails two spellings of one name', async () => {
    const nfd = 'cafe\u0301.raw';
    const nfc = 'caf\u00e9.raw';
    const one = await prepareJob(`printf x > "$WMS_OUTPUT_DIR/${nfd}"`);
    const both = await prepareJob(`printf x > "$WMS_OUTPUT_DIR/${nfd}"; printf y > "$WMS_OUTPUT_DIR/${nfc}"`);

    await one.running.run();
    await both.running.run();

    expect(one.results[0]?.outputs[0]).toMatchObject({
      name: nfc,
      location: { bucket, key: `${one.job.output.prefix}/${nfc}` },
    });
    expect((await getObjectBytes(s3, bucket, `${one.job.output.prefix}/${nfc}`)).toString()).toBe('x');
    expect(both.results[0]).toMatchObject({
      outcome: 'FAILED',
      errorCode: ERRORS.STAGE_OUT_INVALID_OUTPUT.code,
      errorMessage: expect.stringContaining('caf\\u00e9.raw'),
    });
  });

  it('fails a payload that produced no output file', async () => {
    const { running, results } = await prepareJob('exit 0');

    await running.run();

    expect(results[0]).toMatchObject({ outcome: 'FAILED', errorCode: ERRORS.PAYLOAD_OUTPUT_MISSING.code });
  });

  it('fails an argument list it cannot expand before fetching anything', async () => {
    const { running, results, workDir } = await prepareJob('unused', () => ({
      args: ['-c', 'cat {inputs}'],
    }));
    calls.reset();

    await running.run();

    expect(results[0]).toMatchObject({
      outcome: 'FAILED',
      errorCode: ERRORS.VALIDATION_BAD_JOB_MESSAGE.code,
    });
    expect(calls.count({ operation: 'GetObject' })).toBe(0);
    expect(await readdir(workDir)).toEqual([]);
  });

  it('kills a running payload on a cancel and reports it killed', async () => {
    const { running, results } = await prepareJob('sleep 60 & sleep 60; wait');
    const done = running.run();
    await msUntil(
      () => running.payloadPid !== undefined && liveGroupMembers(running.payloadPid).length === 3,
      10_000,
    );
    const pgid = running.payloadPid!;

    running.stop('cancel');
    await done;

    expect(liveGroupMembers(pgid)).toEqual([]);
    expect(results[0]).toMatchObject({
      outcome: 'FAILED',
      errorCode: ERRORS.KILLED_CANCELLED.code,
      signal: 'SIGTERM',
    });
    expect(results[0]?.outputs.map((output) => output.kind)).toEqual(['log']);
  });

  it('reports a job stopped by the pilot shutdown as returned, and a dropped one not at all', async () => {
    const shutdown = await prepareJob('sleep 60');
    const dropped = await prepareJob('sleep 60');
    const runs = [shutdown.running.run(), dropped.running.run()];
    await msUntil(
      () => shutdown.running.phase === 'EXECUTING' && dropped.running.phase === 'EXECUTING',
      10_000,
    );

    shutdown.running.stop('shutdown');
    dropped.running.stop('dropped');
    await Promise.all(runs);

    expect(shutdown.results[0]).toMatchObject({ outcome: 'FAILED', errorCode: ERRORS.PILOT_SHUTDOWN.code });
    expect(dropped.results).toEqual([]);
    expect(await readdir(dropped.workDir)).toEqual([]);
  });

  it('gives each attempt its own work directory', () => {
    expect(jobPaths('/w', { jobId: 'j-1', attempt: 3 })).toEqual({
      root: '/w/j-1.3',
      input: '/w/j-1.3/in',
      output: '/w/j-1.3/out',
      log: '/w/j-1.3.payload.log',
    });
  });
});
