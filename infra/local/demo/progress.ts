import type { TaskView } from '../../../events/index.js';

const BAR_WIDTH = 30;

function bar(view: TaskView): string {
  const total = Math.max(view.jobsTotal, 1);
  const done = Math.round((view.counts.DONE / total) * BAR_WIDTH);
  const failed = Math.round((view.counts.FAILED / total) * BAR_WIDTH);
  const running = Math.round(((view.counts.RUNNING + view.counts.QUEUED) / total) * BAR_WIDTH);
  const filled = Math.min(done + failed + running, BAR_WIDTH);
  return `${'█'.repeat(done)}${'▓'.repeat(failed)}${'▒'.repeat(Math.max(filled - done - failed, 0))}${'·'.repeat(BAR_WIDTH - filled)}`;
}

function line(name: string, view: TaskView): string {
  const c = view.counts;
  return `${name.padEnd(7)} ${view.state.padEnd(10)} ${bar(view)} ${String(c.DONE).padStart(4)} done ${String(c.RUNNING + c.QUEUED).padStart(3)} running ${String(c.FAILED).padStart(3)} failed ${String(c.READY).padStart(4)} waiting / ${view.jobsTotal}`;
}

let drawnLines = 0;
let lastPlainAt = 0;

/**
 * A live table on a terminal (redrawn in place); a line every few seconds otherwise, so logs
 * of CI runs stay short.
 */
export function renderProgress(views: Record<string, TaskView>, elapsedSeconds: number, final = false): void {
  const lines = [
    `elapsed ${elapsedSeconds.toFixed(0)} s`,
    ...Object.entries(views).map(([name, view]) => line(name, view)),
  ];
  if (process.stdout.isTTY) {
    if (drawnLines > 0) process.stdout.write(`\u001b[${drawnLines}A`);
    for (const text of lines) process.stdout.write(`\u001b[2K${text}\n`);
    drawnLines = lines.length;
    return;
  }
  if (final || elapsedSeconds - lastPlainAt >= 5) {
    lastPlainAt = elapsedSeconds;
    console.log(lines.join('\n'));
  }
}
