import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFileEnv } from '../../infra/local/pilot-credentials.js';
import { createAwsClients } from '../../shared/aws/index.js';
import { type LoggingProcess, LoggingProcess as Process } from '../test-support/pilot-process.js';
import { liveGroupMembers } from '../test-support/processes.js';
import { closedPort } from '../test-support/proxy.js';
import { createTestQueue } from '../test-support/queues.js';
import { createTestBucket } from '../test-support/storage.js';
import { ReleaseManifest } from './release.js';

const PUBLISH = fileURLToPath(new URL('../release/publish.ts', import.meta.url));
const BUILD_DAEMON = fileURLToPath(new URL('../release/build-daemon.ts', import.meta.url));
const { s3, sqs } = createAwsClients();
let bucket: string;
let root: string;
let pilotConfig: { idle: string; longRunning: string };
/** The daemon as installed on a node: one bundled file. */
let daemonBundle: string;

/** Runs publish.ts as its command; returns the manifest it wrote. */
async function publish(version: string): Promise<ReleaseManifest> {
  const command = new Process(
    process.execPath,
    ['--import', 'tsx', PUBLISH, '--bucket', bucket, '--version', version],
    process.env,
  );
  const { code } = await command.exit(120_000);
  expect(code, command.rawOutput.join('\n')).toBe(0);
  const printed = JSON.parse(command.rawOutput.at(-1)!) as ReleaseManifest & { bytes: number };
  expect(printed.bytes).toBeGreaterThan(0);
  const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'pilot/releases/manifest.json' }));
  return ReleaseManifest.parse(JSON.parse(await stored.Body!.transformToString()));
}

async function startDaemon(
  pilotConfigFile: string,
  name: string,
): Promise<{ daemon: LoggingProcess; cacheDir: string }> {
  const cacheDir = path.join(root, `cache-${name}`);
  const credentials = credentialsFileEnv(root, process.env);
  const configFile = path.join(root, `daemon-${name}.json`);
  await writeFile(
    configFile,
    JSON.stringify({
      bucket,
      cacheDir,
      pilotConfig: pilotConfigFile,
      minHealthyRunSeconds: 30,
      restartBackoff: { initialSeconds: 0.2, maxSeconds: 0.4 },
      credentialsFile: credentials.file,
    }),
  );
  return {
    daemon: new Process(process.execPath, [daemonBundle, '--config', configFile], credentials.env),
    cacheDir,
  };
}

beforeAll(async () => {
  bucket = await createTestBucket(s3, 'pilot-releases');
  root = await mkdtemp(path.join(tmpdir(), 'pilot-daemon-'));
  daemonBundle = path.join(root, 'spd-wms-pilot-daemon.mjs');
  const build = new Process(
    process.execPath,
    ['--import', 'tsx', BUILD_DAEMON, '--out', daemonBundle],
    process.env,
  );
  expect((await build.exit(120_000)).code, build.rawOutput.join('\n')).toBe(0);
  const queue = await createTestQueue(sqs, 'pilot-daemon-unused');
  const base = {
    apiUrl: `http://127.0.0.1:${await closedPort()}`,
    jobQueueUrls: { CPU: queue, GPU: queue },
    statusQueueUrl: queue,
    workDir: path.join(root, 'work'),
    spoolDir: path.join(root, 'spool'),
    device: 'CPU',
    slots: 1,
    allowSameUserPayloads: true,
  };
  pilotConfig = { idle: path.join(root, 'pilot-idle.json'), longRunning: path.join(root, 'pilot-long.json') };
  // Without a reachable control plane the pilot has no work: it exits when idle, or runs until stopped.
  await writeFile(pilotConfig.idle, JSON.stringify({ ...base, idleExitSeconds: 1 }));
  await writeFile(pilotConfig.longRunning, JSON.stringify(base));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pilot daemon', () => {
  it('runs the published release, picks up a new one on the next start and refuses a bad one', async () => {
    const suffix = randomBytes(3).toString('hex');
    const first = await publish(`1.0.0-${suffix}`);
    const { daemon, cacheDir } = await startDaemon(pilotConfig.idle, 'releases');
    try {
      const isPilotOf = (version: string) => (line: Record<string, unknown>) =>
        line.message === 'pilot starting' && line.version === version;

      await daemon.waitForLine(isPilotOf(first.version), 60_000);
      const second = await publish(`2.0.0-${suffix}`);
      await daemon.waitForLine(isPilotOf(second.version), 60_000);

      const third = await publish(`3.0.0-${suffix}`);
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'pilot/releases/manifest.json',
          Body: JSON.stringify({ ...third, sha256: 'f'.repeat(64) }),
        }),
      );
      const refused = await daemon.waitForLine((line) => line.message === 'release refused', 60_000);
      const refusedAt = daemon.lines.indexOf(refused);
      await daemon.waitForLine(
        (line) =>
          daemon.lines.indexOf(line) > refusedAt &&
          line.message === 'pilot started' &&
          line.version === second.version,
        60_000,
      );

      expect(refused).toMatchObject({ runningInstead: second.version });
      expect(String(refused.error)).toContain('its manifest says ffff');
      expect(daemon.lines.some(isPilotOf(third.version))).toBe(false);
      expect((await readdir(cacheDir)).sort()).toEqual([
        `${first.version}.mjs`,
        `${second.version}.mjs`,
        'last-good.json',
      ]);
      // Pilots that exit soon after start are restarted with a growing delay.
      const isRestartDelay = (line: Record<string, unknown>) => line.message === 'pilot restart delayed';
      await daemon.waitForLine(() => daemon.lines.filter(isRestartDelay).length >= 3, 60_000);
      const delays = daemon.lines.filter(isRestartDelay).map((line) => line.restartInMs);
      expect(delays.slice(0, 3)).toEqual([200, 400, 400]);
    } finally {
      daemon.kill('SIGTERM');
      expect(await daemon.exit()).toEqual({ code: 0, signal: null });
    }
  }, 240_000);

  it('passes SIGTERM on to the running pilot and exits after it', async () => {
    await publish(`4.0.0-${randomBytes(3).toString('hex')}`);
    const { daemon } = await startDaemon(pilotConfig.longRunning, 'sigterm');
    const started = await daemon.waitForLine((line) => line.message === 'pilot started', 60_000);
    await daemon.waitForLine((line) => line.message === 'pilot starting', 60_000);

    daemon.kill('SIGTERM');
    const exit = await daemon.exit();

    expect(exit).toEqual({ code: 0, signal: null });
    expect(daemon.lines.find((line) => line.message === 'signal received')).toMatchObject({
      signal: 'SIGTERM',
    });
    const pilotExit = daemon.lines.find((line) => line.message === 'pilot exited');
    expect(pilotExit).toMatchObject({ code: 0 });
    expect(pilotExit?.signal).toBeUndefined();
    expect(liveGroupMembers(started.pid as number)).toEqual([]);
  }, 120_000);
});
