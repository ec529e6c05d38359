/** A clock that starts at `start` and moves `stepMs` forward on every reading. */
export function steppingClock(start: string, stepMs: number): () => Date {
  let next = Date.parse(start);
  return () => {
    const now = new Date(next);
    next += stepMs;
    return now;
  };
}
