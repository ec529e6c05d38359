import { PayloadArgsError } from './errors.js';

/** What a job's argument placeholders stand for. */
export interface ArgContext {
  /** Absolute paths of the staged inputs, in the order of the job message. */
  inputPaths: readonly string[];
  outputDir: string;
  jobId: string;
  taskId: string;
  attempt: number;
}

const INPUTS_PLACEHOLDER = '{inputs}';
const SCALAR_PLACEHOLDER = /\{(input|outdir|jobId|taskId|attempt)\}/g;

/**
 * Expands the placeholders of a task's argument list. An argument that is exactly `{inputs}`
 * becomes one argument per input; `{input}` (the first input), `{outdir}`, `{jobId}`,
 * `{taskId}` and `{attempt}` are replaced wherever they occur. Other braces are left alone,
 * so payloads may take JSON or format strings. Nothing is ever split on spaces: no shell.
 */
export function expandArgs(args: readonly string[], context: ArgContext): string[] {
  const scalars: Record<string, string> = {
    input: context.inputPaths[0] ?? '',
    outdir: context.outputDir,
    jobId: context.jobId,
    taskId: context.taskId,
    attempt: String(context.attempt),
  };
  return args.flatMap((arg, index) => {
    if (arg === INPUTS_PLACEHOLDER) return [...context.inputPaths];
    if (arg.includes(INPUTS_PLACEHOLDER)) {
      throw new PayloadArgsError(index, `${INPUTS_PLACEHOLDER} must be a whole argument, not part of one`);
    }
    return [arg.replace(SCALAR_PLACEHOLDER, (_, name: string) => scalars[name] ?? '')];
  });
}
