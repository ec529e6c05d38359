import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { JobResultMessage, type PilotControlCommand, type PilotHeartbeat } from '../../events/index.js';
import { sleep } from '../../shared/async/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import type { Device } from '../../shared/model/index.js';
import type { PilotApi } from './api-client.js';
import { backoffDelayMs } from './backoff.js';
import type { PilotConfig } from './config.js';
import {
  ERROR_MESSAGE_MAX_LENGTH,
  JOBS_IN_HAND_PER_SLOT,
  PILOT_VERSION,
  RETRY_BACKOFF,
  SQS_MAX_WAIT_SECONDS,
} from './constants.js';
import { MessageDeletions } from './deletions.js';
import { ClaimRefusedError, ControlPlaneProtocolError, PilotLostError } from './errors.js';
import type { PayloadIsolation } from './isolation.js';
import { RunningJob } from './job.js';
import {
  heartbeatJobs,
  type JobIds,
  parseControlCommand,
  parseJobMessage,
  pollPlan,
  receiveCapacity,
} from './messages.js';
import type { StatusOutbox } from './outbox.js';
import type { Slot } from './resources.js';

/** Why a pilot run ended. */
export type StopReason = 'signal' | 'kill' | 'idle' | 'max-jobs' | 'drain' | 'lost' | 'fatal';

/** How long the pilot keeps trying to send what is left in its outbox (and its deletes) before it exits. */
const FINAL_FLUSH_MS = 30_000;
/** How often the idle timer looks. */
const IDLE_CHECK_MS = 500;

export interface PilotDependencies {
  config: PilotConfig;
  pilotId: string;
  device: Device;
  slots: readonly Slot[];
  nodeHasGpus: boolean;
  sqs: SQSClient;
  s3: S3Client;
  api: PilotApi;
  outbox: StatusOutbox;
  logger: Logger;
  /** The payloads' users and cgroups; what is degraded goes into the pilot's record. */
  isolation: PayloadIsolation;
}

/** A slot taken for a job; `release` gives it back the first time and returns false after. */
interface HeldSlot {
  slot: Slot;
  release(): boolean;
}

type ClaimOutcome = { kind: 'claimed'; claimToken: string } | { kind: 'refused' } | { kind: 'returned' };

/**
 * The pilot: a few loops joined by one stop signal (poll → claim → stage-in → execute →
 * stage-out → report, plus heartbeat, control commands and the status outbox). `stop()` ends
 * polling; what happens to running jobs depends on why (a signal gives them the shutdown
 * grace, then kills them; a lost pilot drops them; idle, max-jobs and drain let them finish).
 */
export class Pilot {
  readonly #deps: PilotDependencies;
  readonly #logger: Logger;
  /** The stop signal: set once, ends polling and starts the shutdown. */
  readonly #stop = new AbortController();
  /** Set by a signal even when the pilot is already stopping for another reason. */
  readonly #terminate = new AbortController();
  #stopReason: StopReason | null = null;
  readonly #freeSlots: Slot[];
  /** The jobs in hand: each taken message, from its claim to its result (or refusal). */
  readonly #handlers = new Set<Promise<void>>();
  readonly #jobs = new Map<string, RunningJob>();
  /** Kill commands for jobs whose claim is under way (`jobId:attempt`). */
  readonly #earlyKills = new Set<string>();
  /** Messages being claimed or run: bounds receives by `maxJobs`. */
  #jobsTaken = 0;
  #jobsClaimed = 0;
  #lastBusyAt = Date.now();
  #roomMade: (() => void) | null = null;
  #controlQueueUrl: string | null = null;
  #heartbeatMs: number;
  /** Deletes of the job messages claimed or refused, batched. */
  readonly #deletions: MessageDeletions;

  constructor(deps: PilotDependencies) {
    this.#deps = deps;
    this.#logger = deps.logger;
    this.#freeSlots = [...deps.slots];
    this.#heartbeatMs = deps.config.heartbeatIntervalSeconds * 1000;
    this.#deletions = new MessageDeletions({ sqs: deps.sqs, logger: deps.logger });
  }

  get stopReason(): StopReason | null {
    return this.#stopReason;
  }

  /**
   * Ends polling. The first reason is the one the run ends with, except that being declared
   * lost overrides any other: the pilot's jobs are then no longer its own.
   */
  stop(reason: StopReason): void {
    if (reason === 'signal' || reason === 'kill' || reason === 'lost') this.#terminate.abort();
    if (this.#stopReason !== null && reason !== 'lost') return;
    this.#stopReason = reason;
    this.#logger.info('pilot stopping', { reason, runningJobs: this.#jobs.size });
    this.#stop.abort();
  }

  /** Runs until stopped; returns why. Every claimed job is reported (or dropped when lost) first. */
  async run(): Promise<StopReason> {
    const { outbox, config } = this.#deps;
    const background = new AbortController();
    const resent = await outbox.resendSpooled();
    if (resent > 0) this.#logger.info('resending spooled results', { count: resent });
    const loops = [outbox.run(background.signal), this.#watchIdle()];
    if (await this.#register()) {
      loops.push(this.#controlLoop(background.signal), this.#heartbeatLoop(background.signal));
      await this.#pollLoop();
    }
    await this.#finishJobs();
    background.abort();
    await Promise.all(loops);
    // Every handler is done: no delete comes after this flush, so no claimed message is redelivered.
    const deadline = Date.now() + FINAL_FLUSH_MS;
    const [left] = await Promise.all([outbox.drain(deadline), this.#deletions.flush(deadline)]);
    if (left > 0) this.#logger.warn('status messages not sent before exit; results stay spooled', { left });
    // Only after the results: a pilot known to have exited has its RUNNING jobs given away.
    if (this.#controlQueueUrl !== null && !this.#isLost()) await this.#sendHeartbeat('EXITED');
    this.#logger.info('pilot exiting', {
      reason: this.#stopReason,
      jobsClaimed: this.#jobsClaimed,
      spoolDir: config.spoolDir,
    });
    return this.#stopReason ?? 'fatal';
  }

  async #register(): Promise<boolean> {
    const { api, config, pilotId, device, slots, isolation } = this.#deps;
    for (let failures = 1; !this.#stop.signal.aborted; failures++) {
      try {
        const registration = await api.register(
          {
            pilotId,
            host: hostname().slice(0, 255),
            device,
            slots: slots.length,
            version: PILOT_VERSION,
            ...(isolation.degraded.length > 0 && { degraded: isolation.degraded }),
          },
          this.#stop.signal,
        );
        this.#controlQueueUrl = registration.controlQueueUrl;
        // Never heartbeat less often than the control plane expects.
        this.#heartbeatMs =
          Math.min(config.heartbeatIntervalSeconds, registration.heartbeatIntervalSeconds) * 1000;
        this.#logger.info('pilot registered', {
          controlQueueUrl: registration.controlQueueUrl,
          heartbeatMs: this.#heartbeatMs,
        });
        return true;
      } catch (error) {
        if (this.#stop.signal.aborted) return false;
        if (error instanceof ControlPlaneProtocolError) {
          this.#logger.error('registration refused', { error });
          this.stop('fatal');
          return false;
        }
        const delay = backoffDelayMs(failures, RETRY_BACKOFF);
        this.#logger.warn('control plane unreachable; registration retried', {
          retryInMs: delay,
          error: (error as Error).message,
        });
        await sleep(delay, this.#stop.signal);
      }
    }
    return false;
  }

  async #pollLoop(): Promise<void> {
    const { config, device, sqs } = this.#deps;
    const signal = this.#stop.signal;
    let foundWork = false;
    let failures = 0;
    while (!signal.aborted) {
      const capacity = receiveCapacity({
        freeSlots: this.#freeSlots.length,
        jobsInHand: this.#handlers.size,
        maxJobsInHand: this.#deps.slots.length * JOBS_IN_HAND_PER_SLOT,
        maxJobs: config.maxJobs,
        jobsTaken: this.#jobsTaken,
      });
      if (capacity === 0) {
        await this.#waitForRoom();
        continue;
      }
      let messages: { queue: Device; message: Message }[] = [];
      try {
        for (const step of pollPlan(device, config.pollWaitSeconds, foundWork)) {
          if (signal.aborted) break;
          // Not aborted by a stop: SQS may still hand messages to a long poll its client gave
          // up on, and they would stay invisible for the queue's visibility timeout. A stop
          // waits for the poll instead, and returns what it brings (see #claim).
          const response = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: config.jobQueueUrls[step.queue],
              MaxNumberOfMessages: capacity,
              WaitTimeSeconds: step.waitSeconds,
            }),
          );
          messages = (response.Messages ?? []).map((message) => ({ queue: step.queue, message }));
          if (messages.length > 0) break;
        }
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        const delay = backoffDelayMs(++failures, RETRY_BACKOFF);
        this.#logger.warn('job queue receive failed; retrying', {
          retryInMs: delay,
          error: (error as Error).message,
        });
        await sleep(delay, signal);
        continue;
      }
      foundWork = messages.length > 0;
      for (const { queue, message } of messages) {
        const held = this.#takeSlot();
        this.#jobsTaken++;
        this.#lastBusyAt = Date.now();
        const handler = this.#handleMessage(queue, message, held)
          .catch((error: unknown) => {
            this.#logger.error('unexpected error while handling a job message', {
              messageId: message.MessageId,
              error,
            });
          })
          .finally(() => {
            this.#handlers.delete(handler);
            this.#lastBusyAt = Date.now();
            // Its slot, if the job still held it; otherwise a hand for the next job.
            if (!held.release()) this.#wakePoll();
          });
        this.#handlers.add(handler);
      }
    }
  }

  /** Takes the first free slot, to be given back once, as soon as the job no longer needs it. */
  #takeSlot(): HeldSlot {
    const slot = this.#freeSlots.shift()!;
    let held = true;
    return {
      slot,
      release: () => {
        if (!held) return false;
        held = false;
        this.#freeSlots.push(slot);
        this.#freeSlots.sort((a, b) => a.index - b.index);
        this.#wakePoll();
        return true;
      },
    };
  }

  #wakePoll(): void {
    const released = this.#roomMade;
    this.#roomMade = null;
    released?.();
  }

  #waitForRoom(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#stop.signal.removeEventListener('abort', done);
        resolve();
      };
      this.#roomMade = done;
      this.#stop.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Validate → claim → delete → run. Never throws. */
  async #handleMessage(queue: Device, message: Message, held: HeldSlot): Promise<void> {
    const parsed = parseJobMessage(message.Body);
    if (parsed.kind === 'unreadable') {
      // Nothing to report on; SQS moves it to the DLQ after its maximum receive count.
      this.#jobsTaken--;
      this.#logger.error('unreadable job message left for the dead-letter queue', {
        messageId: message.MessageId,
        queue,
        error: parsed.error.message,
      });
      return;
    }
    const ids: JobIds = parsed.kind === 'valid' ? parsed.job : parsed.ids;
    const claim = await this.#claim(queue, message, ids);
    if (claim.kind !== 'claimed') {
      this.#jobsTaken--;
      return;
    }
    this.#jobsClaimed++;
    if (this.#deps.config.maxJobs !== undefined && this.#jobsClaimed >= this.#deps.config.maxJobs)
      this.stop('max-jobs');
    this.#deleteMessage(queue, message);
    if (parsed.kind === 'invalid') {
      await this.#reportInvalid(parsed.ids, claim.claimToken, parsed.error.message);
      return;
    }
    const job = new RunningJob(parsed.job, claim.claimToken, held.slot, {
      s3: this.#deps.s3,
      config: this.#deps.config,
      pilotId: this.#deps.pilotId,
      nodeHasGpus: this.#deps.nodeHasGpus,
      isolation: this.#deps.isolation,
      logger: this.#logger,
      sendProgress: (progress) => this.#deps.outbox.sendProgress(progress),
      sendResult: (result) => this.#deps.outbox.sendResult(result),
      releaseSlot: () => held.release(),
    });
    this.#jobs.set(parsed.job.jobId, job);
    const key = `${parsed.job.jobId}:${parsed.job.attempt}`;
    if (this.#earlyKills.delete(key)) job.stop('cancel');
    if (this.#isLost()) job.stop('dropped');
    try {
      await job.run();
    } finally {
      this.#jobs.delete(parsed.job.jobId);
    }
  }

  /** Claims with retries while the control plane is unreachable; a stop returns the message. */
  async #claim(queue: Device, message: Message, ids: JobIds): Promise<ClaimOutcome> {
    const { api, pilotId } = this.#deps;
    // The same id in every retry: a retry of a claim that won, unknown to us, wins again.
    const requestId = randomUUID();
    for (let failures = 1; ; failures++) {
      if (this.#stop.signal.aborted) {
        await this.#returnMessage(queue, message);
        return { kind: 'returned' };
      }
      try {
        // Naming the task saves the control plane a read per claim.
        const claim = await api.claim(ids.jobId, {
          pilotId,
          attempt: ids.attempt,
          taskId: ids.taskId,
          requestId,
        });
        this.#logger.info('job claimed', { jobId: ids.jobId, attempt: ids.attempt, queue });
        return { kind: 'claimed', claimToken: claim.claimToken };
      } catch (error) {
        if (error instanceof PilotLostError) {
          // The job is not refused, this pilot is: another pilot must get the message.
          this.#logger.warn('claim refused: this pilot is no longer live', { jobId: ids.jobId });
          await this.#returnMessage(queue, message);
          this.stop('lost');
          return { kind: 'returned' };
        }
        if (error instanceof ClaimRefusedError) {
          this.#logger.info('claim refused; message dropped', {
            jobId: ids.jobId,
            attempt: ids.attempt,
            reason: error.reason,
          });
          this.#deleteMessage(queue, message);
          return { kind: 'refused' };
        }
        if (error instanceof ControlPlaneProtocolError) {
          this.#logger.error('claim failed; message left to be delivered again', { jobId: ids.jobId, error });
          return { kind: 'refused' };
        }
        const delay = backoffDelayMs(failures, RETRY_BACKOFF);
        this.#logger.warn('control plane unreachable; claim retried', { jobId: ids.jobId, retryInMs: delay });
        await sleep(delay, this.#stop.signal);
      }
    }
  }

  async #reportInvalid(ids: JobIds, claimToken: string, reason: string): Promise<void> {
    const now = new Date().toISOString();
    const result = JobResultMessage.parse({
      type: 'job.result',
      ...ids,
      pilotId: this.#deps.pilotId,
      claimToken,
      at: now,
      outcome: 'FAILED',
      errorCode: ERRORS.VALIDATION_BAD_JOB_MESSAGE.code,
      errorMessage: reason.slice(0, ERROR_MESSAGE_MAX_LENGTH),
      outputs: [],
      phaseTimes: { CLAIMED: now },
      wallMs: 0,
    });
    this.#logger.error('invalid job message failed', { jobId: ids.jobId, attempt: ids.attempt, reason });
    await this.#deps.outbox.sendResult(result);
  }

  /** Queues the delete; it is sent in a batch, and a failure is only logged (see MessageDeletions). */
  #deleteMessage(queue: Device, message: Message): void {
    this.#deletions.delete(this.#deps.config.jobQueueUrls[queue], message);
  }

  async #returnMessage(queue: Device, message: Message): Promise<void> {
    try {
      await this.#deps.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.#deps.config.jobQueueUrls[queue],
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    } catch (error) {
      this.#logger.warn('job message could not be returned; it returns after its visibility timeout', {
        messageId: message.MessageId,
        error: (error as Error).message,
      });
    }
  }

  /**
   * Waits for the jobs as the stop reason says: a lost pilot drops them at once; otherwise
   * they may finish, until a signal's shutdown grace runs out and the rest are killed.
   */
  async #finishJobs(): Promise<void> {
    if (this.#stopReason === 'lost') {
      for (const job of this.#jobs.values()) job.stop('dropped');
    } else {
      const allDone = Promise.all([...this.#handlers]);
      const graceOver = (async () => {
        await new Promise<void>((resolve) => {
          if (this.#terminate.signal.aborted) resolve();
          else this.#terminate.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        await sleep(this.#deps.config.shutdownGraceSeconds * 1000);
      })();
      await Promise.race([allDone, graceOver]);
      for (const job of this.#jobs.values()) job.stop(this.#isLost() ? 'dropped' : 'shutdown');
    }
    // Handlers still claiming see the stop and return their messages.
    while (this.#handlers.size > 0) await Promise.all([...this.#handlers]);
  }

  #isLost(): boolean {
    return this.#stopReason === 'lost';
  }

  async #watchIdle(): Promise<void> {
    const idleMs = this.#deps.config.idleExitSeconds;
    if (idleMs === undefined) return;
    while (!this.#stop.signal.aborted) {
      await sleep(Math.min(IDLE_CHECK_MS, idleMs * 1000), this.#stop.signal);
      if (this.#handlers.size === 0 && Date.now() - this.#lastBusyAt >= idleMs * 1000) this.stop('idle');
    }
  }

  async #controlLoop(signal: AbortSignal): Promise<void> {
    const { sqs } = this.#deps;
    const queueUrl = this.#controlQueueUrl!;
    for (let failures = 0; !signal.aborted; ) {
      try {
        const response = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: SQS_MAX_WAIT_SECONDS,
          }),
          { abortSignal: signal },
        );
        const messages = response.Messages ?? [];
        for (const message of messages) {
          const parsed = parseControlCommand(message.Body);
          if (parsed.ok) this.#apply(parsed.command);
          else
            this.#logger.error('invalid control command dropped', {
              messageId: message.MessageId,
              error: parsed.error.message,
            });
        }
        if (messages.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: messages.map((message, index) => ({
                Id: String(index),
                ReceiptHandle: message.ReceiptHandle,
              })),
            }),
          );
        }
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        const delay = backoffDelayMs(++failures, RETRY_BACKOFF);
        this.#logger.warn('control queue receive failed; retrying', {
          retryInMs: delay,
          error: (error as Error).message,
        });
        await sleep(delay, signal);
      }
    }
  }

  #apply(command: PilotControlCommand): void {
    if (command.type === 'pilot.drain') {
      this.#logger.info('drain command received');
      this.stop('drain');
      return;
    }
    if (command.type === 'pilot.kill') {
      this.#logger.info('kill command received: stopping as on SIGTERM');
      this.stop('kill');
      return;
    }
    const job = this.#jobs.get(command.jobId);
    this.#logger.info('kill command received', {
      jobId: command.jobId,
      attempt: command.attempt,
      reason: command.reason,
      running: job !== undefined,
    });
    if (job === undefined) {
      // Its claim may still be on the way back; a job that never comes simply leaves the key.
      this.#earlyKills.add(`${command.jobId}:${command.attempt}`);
      return;
    }
    if (job.job.attempt === command.attempt) job.stop('cancel');
  }

  async #heartbeatLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.#heartbeatMs, signal);
      if (signal.aborted) return;
      await this.#sendHeartbeat(this.#jobs.size > 0 ? 'ACTIVE' : 'IDLE');
    }
  }

  async #sendHeartbeat(state: PilotHeartbeat['state']): Promise<void> {
    const running = [...this.#jobs.values()].map((job) => ({
      jobId: job.job.jobId,
      attempt: job.job.attempt,
      phase: job.phase,
    }));
    const jobs = heartbeatJobs(running, this.#deps.outbox.pendingResults());
    try {
      await this.#deps.api.heartbeat({
        pilotId: this.#deps.pilotId,
        state,
        busySlots: this.#deps.slots.length - this.#freeSlots.length,
        jobs,
        at: new Date().toISOString(),
      });
    } catch (error) {
      if (error instanceof PilotLostError) {
        this.#logger.error('control plane declared this pilot LOST; dropping its jobs');
        this.stop('lost');
        for (const job of this.#jobs.values()) job.stop('dropped');
        return;
      }
      this.#logger.warn('heartbeat failed', { error: (error as Error).message });
    }
  }
}
