/** The `wms` command's exit codes (docs/cli.md) and the error that carries one. */

export const EXIT_CODES = {
  /** The command did what it was asked. */
  ok: 0,
  /** The API failed (5xx), could not be reached, or answered something unexpected. */
  failure: 1,
  /** Bad command line or input: unknown option, invalid task.json, a 400 from the API. */
  usage: 2,
  /** The task, job or queue does not exist (404). */
  notFound: 3,
  /** Its state does not allow the change (409): e.g. cancelling a finished task. */
  conflict: 4,
  /** The API refused the credentials or the caller's permissions (401/403). */
  denied: 5,
  /** The command worked and the answer is bad news: audit findings left, a watched task FAILED or CANCELLED. */
  unhealthy: 6,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** A failure the CLI reports on stderr and turns into its exit code. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** Further lines, e.g. one per bad field as `path: message`. */
    readonly details: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The exit code for an HTTP error status of the API. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 400 || status === 413) return EXIT_CODES.usage;
  if (status === 401 || status === 403) return EXIT_CODES.denied;
  if (status === 404) return EXIT_CODES.notFound;
  if (status === 409) return EXIT_CODES.conflict;
  return EXIT_CODES.failure;
}
