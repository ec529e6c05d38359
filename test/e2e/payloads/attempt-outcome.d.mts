export declare const FATAL_SHARE: number;
export declare function uniform(key: string): number;
export type AttemptOutcome = 'ok' | 'retryable' | 'fatal';
export declare function attemptOutcome(options: {
  seed: string;
  name: string;
  attempt: number;
  failRate: number;
}): AttemptOutcome;
