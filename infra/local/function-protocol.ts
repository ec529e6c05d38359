/** Messages between the function pool (main thread) and a function's worker thread. */
import type { CallCount } from '../../shared/aws/index.js';

export interface WorkerSettings {
  /** file: URL of the handler module. */
  entryUrl: string;
  functionName: string;
  functionArn: string;
  memoryMb: number;
}

/** Lambda's error shape: what a failed invocation returns. */
export interface FunctionError {
  errorType: string;
  errorMessage: string;
  stackTrace: string[];
}

export interface WorkerInvocation {
  id: number;
  requestId: string;
  /** Epoch ms at which the invocation times out. */
  deadline: number;
  event: unknown;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'init-failed'; error: FunctionError }
  | ({ type: 'result'; id: number; ok: true; payload: string } & CallsSinceLastResult)
  | ({ type: 'result'; id: number; ok: false; error: FunctionError } & CallsSinceLastResult);

/** The AWS SDK calls of the worker's process-wide clients since its previous result. */
interface CallsSinceLastResult {
  awsCalls: CallCount[];
}
