/** The bench's arithmetic: percentiles, and how far dispatch shares are from rank shares. */

/** The `fraction` quantile of `values` by nearest rank; NaN for no values. */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Dispatch {
  taskId: string;
  /** Epoch ms of the job's dispatch (READY → QUEUED). */
  at: number;
}

export interface FairnessMeasure {
  /** max over tasks of |dispatch share − rank share| within the window. */
  error: number;
  /** Dispatches counted: those of the passes before the one in which the first task ran dry. */
  windowDispatches: number;
  shares: Record<string, { rank: number; rankShare: number; dispatchShare: number; dispatched: number }>;
}

/**
 * Fairness over the window in which every task still had jobs to dispatch. It ends with the
 * pass in which the first task ran dry (every task's jobs are all dispatched in the end, so the
 * earliest "last dispatch" is that pass), and leaves that pass out: its dispatches share one
 * time, and once the task ran dry within it, its remaining picks went to the others. With no
 * earlier pass, that one pass is the window.
 */
export function fairness(
  ranks: Readonly<Record<string, number>>,
  dispatches: readonly Dispatch[],
): FairnessMeasure {
  const taskIds = Object.keys(ranks);
  const lastDispatch = (taskId: string) =>
    Math.max(...dispatches.filter((dispatch) => dispatch.taskId === taskId).map((dispatch) => dispatch.at));
  const finalPass = Math.min(...taskIds.map(lastDispatch));
  const ranked = dispatches.filter((dispatch) => dispatch.taskId in ranks);
  const beforeFinalPass = ranked.filter((dispatch) => dispatch.at < finalPass);
  const inWindow =
    beforeFinalPass.length > 0 ? beforeFinalPass : ranked.filter((dispatch) => dispatch.at === finalPass);
  const rankSum = taskIds.reduce((sum, taskId) => sum + ranks[taskId]!, 0);
  const shares: FairnessMeasure['shares'] = {};
  let error = 0;
  for (const taskId of taskIds) {
    const dispatched = inWindow.filter((dispatch) => dispatch.taskId === taskId).length;
    const rankShare = ranks[taskId]! / rankSum;
    const dispatchShare = inWindow.length === 0 ? 0 : dispatched / inWindow.length;
    shares[taskId] = { rank: ranks[taskId]!, rankShare, dispatchShare, dispatched };
    error = Math.max(error, Math.abs(dispatchShare - rankShare));
  }
  return { error, windowDispatches: inWindow.length, shares };
}
