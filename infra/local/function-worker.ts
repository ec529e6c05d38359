/**
 * The execution environment of one function: a worker thread with the function's own
 * process.env, which imports the handler module once (its cold start) and runs the
 * invocations the main thread posts, with a Lambda-like context. The calls of the handler's
 * AWS clients (the process-wide `awsClients()`, as every function uses) are counted by an SDK
 * middleware and sent with each result.
 */
import { parentPort, workerData } from 'node:worker_threads';
// Not shared/aws/index.js: that loads the SDK, which a handler may never need.
import { CallCounter, countProcessCalls } from '../../shared/aws/index.js';
import type { FunctionError, WorkerInvocation, WorkerMessage, WorkerSettings } from './function-protocol.js';

type Handler = (event: unknown, context: unknown) => unknown;

const port = parentPort;
if (port === null) throw new Error('function-worker.ts runs only as a worker thread');
const settings = workerData as WorkerSettings;
const calls = new CallCounter();
// Before the handler's import, so the clients it creates are counted ones.
countProcessCalls(calls);

function toFunctionError(error: unknown): FunctionError {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      stackTrace: (error.stack ?? '')
        .split('\n')
        .slice(1)
        .map((line) => line.trim()),
    };
  }
  return { errorType: 'Error', errorMessage: String(error), stackTrace: [] };
}

function post(message: WorkerMessage): void {
  port?.postMessage(message);
}

function contextFor(invocation: WorkerInvocation) {
  return {
    functionName: settings.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: settings.functionArn,
    memoryLimitInMB: String(settings.memoryMb),
    awsRequestId: invocation.requestId,
    logGroupName: `/aws/lambda/${settings.functionName}`,
    logStreamName: `local/${settings.functionName}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, invocation.deadline - Date.now()),
  };
}

function takeCalls() {
  const awsCalls = calls.snapshot();
  calls.reset();
  return awsCalls;
}

async function run(handler: Handler, invocation: WorkerInvocation): Promise<void> {
  try {
    const result = await handler(invocation.event, contextFor(invocation));
    // Lambda serializes the response as JSON; undefined becomes null.
    const payload = JSON.stringify(result) ?? 'null';
    post({ type: 'result', id: invocation.id, ok: true, payload, awsCalls: takeCalls() });
  } catch (error) {
    post({
      type: 'result',
      id: invocation.id,
      ok: false,
      error: toFunctionError(error),
      awsCalls: takeCalls(),
    });
  }
}

/** Cold start: a module that fails to import or lacks `handler` fails like Lambda's runtime does. */
async function loadHandler(): Promise<Handler | FunctionError> {
  let module: { handler?: unknown };
  try {
    module = (await import(settings.entryUrl)) as { handler?: unknown };
  } catch (error) {
    return { ...toFunctionError(error), errorType: 'Runtime.ImportModuleError' };
  }
  if (typeof module.handler !== 'function') {
    return {
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: `${settings.entryUrl}: handler is undefined or not exported`,
      stackTrace: [],
    };
  }
  return module.handler as Handler;
}

const loaded = await loadHandler();
if (typeof loaded === 'function') {
  port.on('message', (invocation: WorkerInvocation) => {
    void run(loaded, invocation);
  });
  post({ type: 'ready' });
} else {
  post({ type: 'init-failed', error: loaded });
}
