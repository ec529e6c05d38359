/** Small concurrency helpers shared by the runtime's pollers and function hosts. */

/** A counting semaphore; waiters are served in arrival order. */
export class Semaphore {
  #available: number;
  readonly #waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    this.#available = capacity;
  }

  /** Waits for a permit; the returned function gives it back (once). */
  async acquire(): Promise<() => void> {
    if (this.#available > 0) this.#available -= 1;
    else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#available += 1;
    };
  }
}

/** True for the error an aborted SDK call or fetch rejects with. */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
