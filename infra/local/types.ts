/**
 * The normalized wiring of a stack: which functions exist and what drives them. Every
 * reference is a logical id of the template, so the wiring of a template and the wiring a
 * running runtime reports compare with `toEqual`.
 */

export interface FunctionWiring {
  logicalId: string;
  /** `spd:function` name. */
  name: string;
  /** `spd:function` entry, relative to the project root. */
  entry: string;
  timeoutSeconds: number;
  memoryMb: number;
  reservedConcurrency: number | null;
  /** Names of the function's environment variables, sorted. */
  environment: string[];
}

interface EventSourceWiringBase {
  logicalId: string;
  /** Logical id of the function. */
  function: string;
  enabled: boolean;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  reportBatchItemFailures: boolean;
  /** Filter patterns as canonical JSON text. */
  filters: string[];
}

export interface SqsEventSourceWiring extends EventSourceWiringBase {
  kind: 'sqs';
  /** Logical id of the queue. */
  queue: string;
  maximumConcurrency: number | null;
}

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST';

export interface StreamEventSourceWiring extends EventSourceWiringBase {
  kind: 'dynamodb-stream';
  /** Logical id of the table whose stream is read. */
  table: string;
  startingPosition: StartingPosition;
  /** -1: retry until the record leaves the stream, as Lambda does. */
  maximumRetryAttempts: number;
  bisectBatchOnFunctionError: boolean;
  /** Logical id of the SQS queue receiving records of discarded batches. */
  onFailureQueue: string | null;
}

export type EventSourceWiring = SqsEventSourceWiring | StreamEventSourceWiring;

export interface RuleTargetWiring {
  id: string;
  kind: 'sqs' | 'lambda';
  /** Logical id of the queue or function. */
  logicalId: string;
  /** Constant JSON input replacing the event, if the target declares one. */
  input: string | null;
  messageGroupId: string | null;
}

export type RuleTrigger =
  | { kind: 'pattern'; pattern: Record<string, unknown> }
  | { kind: 'schedule'; expression: string };

export interface RuleWiring {
  logicalId: string;
  /** Logical id of the bus; null for the default bus. */
  bus: string | null;
  enabled: boolean;
  trigger: RuleTrigger;
  targets: RuleTargetWiring[];
}

export type AuthorizationType = 'AWS_IAM' | 'NONE';

export interface RouteWiring {
  method: string;
  /** Full resource path with `{param}` segments, e.g. `/tasks/{taskId}`. */
  path: string;
  /** Logical id of the function behind the Lambda proxy integration. */
  function: string;
  authorization: AuthorizationType;
}

export interface Wiring {
  functions: FunctionWiring[];
  eventSources: EventSourceWiring[];
  rules: RuleWiring[];
  routes: RouteWiring[];
}
