import { type ChildProcess, spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { sleep } from '../../shared/async/index.js';
import { BucketName, ObjectKey } from '../../shared/model/index.js';
import { readConfigFile, validateConfig } from '../agent/index.js';
import {
  type CachedRelease,
  DEFAULT_RELEASE_PREFIX,
  fetchRelease,
  lastGoodRelease,
  ReleaseError,
  readSigningKey,
} from './release.js';

export const DaemonConfig = z
  .object({
    /** Where releases are published. */
    bucket: BucketName,
    prefix: ObjectKey.default(DEFAULT_RELEASE_PREFIX),
    /**
     * The operators' ed25519 public key (PEM file) that every release manifest must be signed
     * with. Required: without it, whoever can write the release prefix runs code on every node.
     */
    releasePublicKey: z.string({ error: 'required: the PEM file of the release signing public key' }).min(1),
    cacheDir: z.string().min(1),
    /** The pilot's configuration file, passed on as `--config`. */
    pilotConfig: z.string().min(1),
    /** The Node binary that runs the pilot; the daemon's own by default. */
    nodeBinary: z.string().min(1).optional(),
    /** As the pilot's: an AWS shared-credentials file readable by the daemon's user only. */
    credentialsFile: z.string().min(1).optional(),
    credentialsProfile: z.string().min(1).default('default'),
    /** A pilot that exits sooner than this counts as a crash for the restart backoff. */
    minHealthyRunSeconds: z.number().min(0).default(60),
    restartBackoff: z
      .object({ initialSeconds: z.number().min(0).default(1), maxSeconds: z.number().min(0).default(300) })
      .strict()
      .default({ initialSeconds: 1, maxSeconds: 300 }),
  })
  .strict();
export type DaemonConfig = z.infer<typeof DaemonConfig>;

export async function loadDaemonConfig(file: string): Promise<DaemonConfig> {
  return validateConfig(
    DaemonConfig,
    await readConfigFile(file, 'daemon configuration'),
    'daemon configuration',
  );
}

/** The pinned release public key of a configuration; a missing or non-ed25519 key stops the daemon. */
export function loadReleasePublicKey(config: DaemonConfig): Promise<KeyObject> {
  return readSigningKey(config.releasePublicKey, 'public');
}

/**
 * The wait before the next pilot start. A pilot that ran at least the healthy time restarts at
 * once; after `shortRuns` consecutive short runs the wait doubles from the initial one up to
 * the cap, so a pilot that crashes at start does not spin.
 */
export function restartDelayMs(
  shortRuns: number,
  backoff: { initialSeconds: number; maxSeconds: number },
): number {
  if (shortRuns === 0) return 0;
  return Math.min(backoff.maxSeconds, backoff.initialSeconds * 2 ** (shortRuns - 1)) * 1000;
}

/** The consecutive short runs after a run of `runMs`: reset by a healthy run. */
export function nextShortRuns(shortRuns: number, runMs: number, minHealthyRunSeconds: number): number {
  return runMs >= minHealthyRunSeconds * 1000 ? 0 : shortRuns + 1;
}

/**
 * Keeps one pilot running: before each start it fetches the current release (falling back to
 * the last verified one when the new one cannot be fetched, is not signed with the pinned key
 * or does not match its sha256), runs it, and starts the next one whenever it exits, whatever
 * the outcome.
 */
export class PilotDaemon {
  readonly #stop = new AbortController();
  #child: ChildProcess | null = null;

  constructor(
    private readonly config: DaemonConfig,
    private readonly s3: S3Client,
    private readonly logger: Logger,
    private readonly releasePublicKey: KeyObject,
  ) {}

  /** Stops the daemon; a running pilot gets the signal and the daemon ends after it. */
  stop(signal: NodeJS.Signals): void {
    this.logger.info('daemon stopping', { signal, pilotPid: this.#child?.pid });
    this.#stop.abort();
    this.#child?.kill(signal);
  }

  async run(): Promise<void> {
    let shortRuns = 0;
    while (!this.#stop.signal.aborted) {
      const startedAt = Date.now();
      const release = await this.#chooseRelease();
      if (release !== null && !this.#stop.signal.aborted) {
        await this.#runPilot(release);
      }
      if (this.#stop.signal.aborted) break;
      shortRuns = nextShortRuns(shortRuns, Date.now() - startedAt, this.config.minHealthyRunSeconds);
      const delay = restartDelayMs(shortRuns, this.config.restartBackoff);
      if (delay > 0) this.logger.warn('pilot restart delayed', { shortRuns, restartInMs: delay });
      await sleep(delay, this.#stop.signal);
    }
    this.logger.info('daemon exiting');
  }

  async #chooseRelease(): Promise<CachedRelease | null> {
    try {
      return await fetchRelease(this.s3, this.config, this.config.cacheDir, this.releasePublicKey);
    } catch (error) {
      if (!(error instanceof ReleaseError)) throw error;
      const fallback = await lastGoodRelease(this.config.cacheDir);
      this.logger.error('release refused', {
        error: error.message,
        runningInstead: fallback?.version ?? null,
      });
      return fallback;
    }
  }

  async #runPilot(release: CachedRelease): Promise<void> {
    const child = spawn(
      this.config.nodeBinary ?? process.execPath,
      [release.file, '--config', this.config.pilotConfig],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    this.#child = child;
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
      (resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', (error) => resolve({ code: null, signal: null, error }));
      },
    );
    this.logger.info('pilot started', { version: release.version, sha256: release.sha256, pid: child.pid });
    const { code, signal, error } = await exit;
    this.#child = null;
    this.logger.info('pilot exited', { version: release.version, code, signal, error: error?.message });
  }
}
