import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFileEnv } from '../../infra/local/index.js';
import { createAwsClients } from '../../shared/aws/index.js';
import { type LoggingProcess, LoggingProcess as Process } from '../test-support/pilot-process.js';
import { liveGroupMembers } from '../test-support/processes.js';
import { closedPort } from '../test-support/proxy.js';
import { createTestQueue } from '../test-support/queues.js';
import { createTestBucket } from '../test-support/storage.js';
import { ReleaseManifest, signManifest, type UnsignedManifest } from './release.js';

const PUBLISH = fileURLToPath(new URL('../release/publish.ts', import.meta.url));
const BUILD_DAEMON = fileURLToPath(new URL('../release/build-daemon.ts', import.meta.url));
const KEYGEN = fileURLToPath(new URL('../release/keygen.ts', import.meta.url));
const MANIFEST_KEY = 'pilot/releases/manifest.json';
const { s3, sqs } = createAwsClients();
let bucket: string;
let root: string;
let pilotConfig: { idle: string; longRunning: string };
/** The daemon as installed on a node: one bundled file. */
let daemonBundle: string;
/** The operators' key pair, made by the documented command: the private key signs, daemons pin the public one. */
let signing: { privateKey: string; publicKey: string };

/** Runs publish.ts as its command (a publication, or a rollback); returns the manifest it wrote. */
async function publish(...args: string[]): Promise<ReleaseManifest> {
  const command = new Process(
    process.execPath,
    ['--import', 'tsx', PUBLISH, '--bucket', bucket, '--signing-key', signing.privateKey, ...args],
    process.env,
  );
  const { code } = await command.exit(120_000);
  expect(code, command.rawOutput.join('\n')).toBe(0);
  const printed = JSON.parse(command.rawOutput.at(-1)!) as ReleaseManifest & { bytes?: number };
  if (!args.includes('--rollback')) expect(printed.bytes).toBeGreaterThan(0);
  return currentManifest();
}

async function currentManifest(): Promise<ReleaseManifest> {
  const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: MANIFEST_KEY }));
  return ReleaseManifest.parse(JSON.parse(await stored.Body!.transformToString()));
}

async function putObject(key: string, body: string | Uint8Array): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
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
      releasePublicKey: signing.publicKey,
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
  const keygen = new Process(
    process.execPath,
    ['--import', 'tsx', KEYGEN, '--out', path.join(root, 'keys')],
    process.env,
  );
  expect((await keygen.exit(60_000)).code, keygen.rawOutput.join('\n')).toBe(0);
  signing = JSON.parse(keygen.rawOutput.at(-1)!) as { privateKey: string; publicKey: string };
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
  it('runs the published release, picks up a new one, refuses unsigned, wrongly signed, tampered and replayed ones, and rolls back', async () => {
    const suffix = randomBytes(3).toString('hex');
    const first = await publish('--version', `1.0.0-${suffix}`);
    const { daemon, cacheDir } = await startDaemon(pilotConfig.idle, 'releases');
    try {
      const isPilotOf = (version: string) => (line: Record<string, unknown>) =>
        line.message === 'pilot starting' && line.version === version;
      /** The next refusal after the lines seen so far, then the last good release started again. */
      const refusalOf = async (write: () => Promise<void>, running: string) => {
        const seen = daemon.lines.length;
        await write();
        const refused = await daemon.waitForLine(
          (line) => daemon.lines.indexOf(line) >= seen && line.message === 'release refused',
          60_000,
        );
        const refusedAt = daemon.lines.indexOf(refused);
        await daemon.waitForLine(
          (line) =>
            daemon.lines.indexOf(line) > refusedAt &&
            line.message === 'pilot started' &&
            line.version === running,
          60_000,
        );
        expect(refused).toMatchObject({ runningInstead: running });
        return String(refused.error);
      };

      await daemon.waitForLine(isPilotOf(first.version), 60_000);
      const second = await publish('--version', `2.0.0-${suffix}`);
      await daemon.waitForLine(isPilotOf(second.version), 60_000);
      expect(second.previous).toBe(first.version);

      // A third release, as an attacker with write access to the release prefix would put it.
      const third = `3.0.0-${suffix}`;
      const bundle = await readFile(path.join(cacheDir, `${second.version}.mjs`));
      const unsigned: UnsignedManifest = {
        version: third,
        key: `pilot/releases/${third}.mjs`,
        sha256: second.sha256,
        publishedAt: new Date().toISOString(),
      };
      await putObject(unsigned.key, bundle);
      const unsignedError = await refusalOf(
        () => putObject(MANIFEST_KEY, JSON.stringify(unsigned)),
        second.version,
      );
      const otherKey = generateKeyPairSync('ed25519').privateKey;
      const wrongKeyError = await refusalOf(
        () => putObject(MANIFEST_KEY, JSON.stringify(signManifest(unsigned, otherKey))),
        second.version,
      );
      // Signed with the right key, but the bundle in the bucket is not the one signed.
      const operatorKey = createPrivateKey(await readFile(signing.privateKey));
      await putObject(unsigned.key, Buffer.concat([bundle, Buffer.from('\n// tampered\n')]));
      const tamperedError = await refusalOf(
        () => putObject(MANIFEST_KEY, JSON.stringify(signManifest(unsigned, operatorKey))),
        second.version,
      );
      // The first release's own signed manifest, written back: older than the running release.
      const replayError = await refusalOf(
        () => putObject(MANIFEST_KEY, JSON.stringify(first)),
        second.version,
      );

      expect(unsignedError).toContain('the release manifest is not signed');
      expect(wrongKeyError).toContain(
        `the signature of release ${third} does not verify with the pinned public key`,
      );
      expect(tamperedError).toContain(`its manifest says ${second.sha256}`);
      expect(replayError).toContain(`before the last good release ${second.version}`);
      expect(daemon.lines.some(isPilotOf(third))).toBe(false);

      // The running release's manifest put back, then a real third release and the documented
      // rollback to the one before it.
      await putObject(MANIFEST_KEY, JSON.stringify(second));
      const published = await publish('--version', third);
      await daemon.waitForLine(isPilotOf(third), 60_000);
      const rolledBack = await publish('--rollback');
      const rollbackAt = daemon.lines.length;
      await daemon.waitForLine(
        (line) => daemon.lines.indexOf(line) >= rollbackAt && isPilotOf(second.version)(line),
        60_000,
      );

      expect(rolledBack).toMatchObject({
        version: second.version,
        sha256: second.sha256,
        previous: first.version,
      });
      expect(Date.parse(rolledBack.publishedAt)).toBeGreaterThan(Date.parse(published.publishedAt));
      expect((await readdir(cacheDir)).sort()).toEqual([
        `${first.version}.mjs`,
        `${second.version}.mjs`,
        `${third}.mjs`,
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
  }, 300_000);

  it('refuses to publish with a signing key others may read', async () => {
    const exposed = path.join(root, 'exposed-signing.pem');
    await copyFile(signing.privateKey, exposed);
    await chmod(exposed, 0o644);
    const command = new Process(
      process.execPath,
      ['--import', 'tsx', PUBLISH, '--bucket', bucket, '--signing-key', exposed, '--version', 'never'],
      process.env,
    );

    const { code } = await command.exit(60_000);

    expect(code).toBe(1);
    expect(command.rawOutput.join('\n')).toContain('may be read by others (mode 644)');
  }, 120_000);

  it('does not start without a release public key', async () => {
    const configFile = path.join(root, 'daemon-no-key.json');
    await writeFile(
      configFile,
      JSON.stringify({ bucket, cacheDir: path.join(root, 'cache-no-key'), pilotConfig: pilotConfig.idle }),
    );
    const daemon = new Process(
      process.execPath,
      [daemonBundle, '--config', configFile],
      credentialsFileEnv(root, process.env).env,
    );

    const exit = await daemon.exit(60_000);

    expect(exit.code).toBe(1);
    expect(daemon.rawOutput.join('\n')).toContain('releasePublicKey');
    expect(daemon.lines.some((line) => line.message === 'pilot started')).toBe(false);
  }, 120_000);

  it('passes SIGTERM on to the running pilot and exits after it', async () => {
    await publish('--version', `4.0.0-${randomBytes(3).toString('hex')}`);
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
