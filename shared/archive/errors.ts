import { StateConflictError, WmsError } from '../errors/index.js';

/**
 * A change to the jobs of an archived task: its jobs live in its export now and are
 * read-only (an operator's retry, for one). A StateConflictError, so the API answers 409.
 */
export class TaskArchivedError extends StateConflictError {
  override readonly name: string = 'TaskArchivedError';
  constructor(
    taskId: string,
    readonly archivedAt: string,
    options?: ErrorOptions,
  ) {
    super('task', taskId, ['not archived'], options);
    this.message = `task ${taskId} was archived at ${archivedAt}: its jobs are read-only and read from its export`;
  }
}

/**
 * An export that does not match what its task recorded (line count, sha256) or holds a line
 * that does not parse: storage holds what the archival did not write. The server's failure.
 */
export class ArchiveCorruptError extends WmsError {
  override readonly name: string = 'ArchiveCorruptError';
  constructor(
    readonly key: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`export ${key} is corrupt: ${detail}`, options);
  }
}
