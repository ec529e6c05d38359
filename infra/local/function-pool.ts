/**
 * Runs the stack's functions in-process: one worker thread per function (handlers read their
 * configuration from process.env once at cold start, so two functions must not share one),
 * at most `concurrency` invocations at a time per function, the rest queued.
 *
 * Differences from Lambda, on purpose: the concurrent invocations of a function share its
 * worker; a timed-out invocation is reported failed but its handler is not interrupted (that
 * would end its neighbours too); a worker that crashes is replaced at the next invocation.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type CallCount, CallCounter } from '../../shared/aws/index.js';
import { Semaphore } from './concurrency.js';
import type { FunctionError, WorkerInvocation, WorkerMessage, WorkerSettings } from './function-protocol.js';

export type { FunctionError } from './function-protocol.js';

export interface LocalFunction {
  logicalId: string;
  /** `spd:function` name. */
  name: string;
  physicalName: string;
  arn: string;
  /** Absolute path of the handler module. */
  entryPath: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** ReservedConcurrentExecutions of the template, if declared. */
  reservedConcurrency: number | null;
  /** Invocations allowed at once; 0 throttles every invocation, as reserved concurrency 0 does. */
  concurrency: number;
  /** The worker's complete process.env. */
  environment: Record<string, string>;
  /** Where the handler's stdout and stderr go (its logs); this process's own streams when absent. */
  output?: NodeJS.WritableStream;
}

export type InvocationOutcome =
  | { ok: true; requestId: string; result: unknown }
  | { ok: false; requestId: string; error: FunctionError };

export interface FunctionStats {
  invocations: number;
  errors: number;
  timeouts: number;
  throttles: number;
  coldStarts: number;
  running: number;
  queued: number;
  /** AWS SDK calls of the function's clients, by service and operation. */
  awsCalls: CallCount[];
}

const WORKER_URL = new URL('./function-worker.ts', import.meta.url);
/** tsx's loader, resolved from here so workers load TypeScript whatever the current directory. */
const TSX_LOADER_URL = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function failure(errorType: string, errorMessage: string): FunctionError {
  return { errorType, errorMessage, stackTrace: [] };
}

type WorkerOutcome = { ok: true; result: unknown } | { ok: false; error: FunctionError };

/** One live worker and the invocations it owes an answer. */
interface Environment {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, (outcome: WorkerOutcome) => void>;
}

class FunctionHost {
  readonly stats: Omit<FunctionStats, 'awsCalls'> = {
    invocations: 0,
    errors: 0,
    timeouts: 0,
    throttles: 0,
    coldStarts: 0,
    running: 0,
    queued: 0,
  };
  /** Counted in the worker, added here as its results arrive (a result that came too late included). */
  readonly awsCalls = new CallCounter();
  readonly #slots: Semaphore;
  #environment: Environment | undefined;
  #nextId = 1;
  #stopped = false;

  constructor(readonly definition: LocalFunction) {
    this.#slots = new Semaphore(Math.max(definition.concurrency, 1));
  }

  async invoke(event: unknown): Promise<InvocationOutcome> {
    const requestId = randomUUID();
    this.stats.invocations += 1;
    if (this.definition.concurrency === 0) {
      this.stats.throttles += 1;
      return this.#failed(
        requestId,
        failure('TooManyRequestsException', 'Rate Exceeded: reserved concurrency is 0'),
      );
    }
    this.stats.queued += 1;
    const release = await this.#slots.acquire();
    this.stats.queued -= 1;
    this.stats.running += 1;
    try {
      if (this.#stopped)
        return this.#failed(requestId, failure('Runtime.Shutdown', 'the local runtime is stopping'));
      const environment = this.#environmentOrStart();
      try {
        await environment.ready;
      } catch (error) {
        return this.#failed(requestId, error as FunctionError);
      }
      const outcome = await this.#dispatch(environment, requestId, event);
      if (!outcome.ok) this.stats.errors += 1;
      return outcome;
    } finally {
      this.stats.running -= 1;
      release();
    }
  }

  #failed(requestId: string, error: FunctionError): InvocationOutcome {
    this.stats.errors += 1;
    return { ok: false, requestId, error };
  }

  #dispatch(environment: Environment, requestId: string, event: unknown): Promise<InvocationOutcome> {
    const timeoutMs = this.definition.timeoutSeconds * 1000;
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        environment.pending.delete(id);
        this.stats.timeouts += 1;
        resolve({
          ok: false,
          requestId,
          error: failure(
            'Sandbox.Timedout',
            `Task timed out after ${this.definition.timeoutSeconds.toFixed(2)} seconds`,
          ),
        });
      }, timeoutMs);
      environment.pending.set(id, (outcome) => {
        clearTimeout(timer);
        resolve({ ...outcome, requestId });
      });
      const invocation: WorkerInvocation = { id, requestId, deadline: Date.now() + timeoutMs, event };
      environment.worker.postMessage(invocation);
    });
  }

  #environmentOrStart(): Environment {
    if (this.#environment) return this.#environment;
    const { definition } = this;
    const settings: WorkerSettings = {
      entryUrl: pathToFileURL(definition.entryPath).href,
      functionName: definition.physicalName,
      functionArn: definition.arn,
      memoryMb: definition.memoryMb,
    };
    const worker = new Worker(WORKER_URL, {
      workerData: settings,
      env: definition.environment,
      execArgv: ['--import', TSX_LOADER_URL],
      ...(definition.output && { stdout: true, stderr: true }),
    });
    if (definition.output) {
      worker.stdout.pipe(definition.output, { end: false });
      worker.stderr.pipe(definition.output, { end: false });
    }
    this.stats.coldStarts += 1;
    const pending = new Map<number, (outcome: WorkerOutcome) => void>();
    const settleAll = (error: FunctionError) => {
      for (const settle of pending.values()) settle({ ok: false, error });
      pending.clear();
    };
    let markReady: () => void = () => undefined;
    let markFailed: (error: FunctionError) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    // Nobody may be waiting when an environment fails; the failure is reported per invocation.
    ready.catch(() => undefined);
    const environment: Environment = { worker, ready, pending };
    const retire = (error: FunctionError) => {
      if (this.#environment === environment) this.#environment = undefined;
      markFailed(error);
      settleAll(error);
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') markReady();
      else if (message.type === 'init-failed') {
        retire(message.error);
        void worker.terminate();
      } else {
        this.awsCalls.add(message.awsCalls);
        const settle = pending.get(message.id);
        pending.delete(message.id);
        settle?.(
          message.ok
            ? { ok: true, result: JSON.parse(message.payload) }
            : { ok: false, error: message.error },
        );
      }
    });
    worker.on('error', (error) =>
      retire(failure('Runtime.ExitError', `${definition.name}: worker failed: ${error.message}`)),
    );
    worker.on('exit', (code) =>
      retire(failure('Runtime.ExitError', `${definition.name}: worker exited with code ${code}`)),
    );
    this.#environment = environment;
    return environment;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const environment = this.#environment;
    this.#environment = undefined;
    if (!environment) return;
    for (const settle of environment.pending.values()) {
      settle({ ok: false, error: failure('Runtime.Shutdown', 'the local runtime is stopping') });
    }
    environment.pending.clear();
    await environment.worker.terminate();
  }
}

/** The functions of one runtime, by logical id. */
export class FunctionPool {
  readonly #hosts = new Map<string, FunctionHost>();

  constructor(functions: readonly LocalFunction[]) {
    for (const definition of functions) this.#hosts.set(definition.logicalId, new FunctionHost(definition));
  }

  /** Invokes a function and waits for its outcome; a failure is an outcome, never a rejection. */
  invoke(logicalId: string, event: unknown): Promise<InvocationOutcome> {
    const host = this.#hosts.get(logicalId);
    if (!host) throw new Error(`no local function ${logicalId}`);
    return host.invoke(event);
  }

  definition(logicalId: string): LocalFunction {
    const host = this.#hosts.get(logicalId);
    if (!host) throw new Error(`no local function ${logicalId}`);
    return host.definition;
  }

  definitions(): LocalFunction[] {
    return [...this.#hosts.values()].map((host) => host.definition);
  }

  /** Counters per function, by `spd:function` name. */
  stats(): Record<string, FunctionStats> {
    return Object.fromEntries(
      [...this.#hosts.values()].map((host) => [
        host.definition.name,
        { ...host.stats, awsCalls: host.awsCalls.snapshot() },
      ]),
    );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#hosts.values()].map((host) => host.stop()));
  }
}
