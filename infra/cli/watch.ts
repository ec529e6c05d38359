/**
 * `wms watch <task>`: polls GET /tasks/{id} until the task ends. On a terminal it redraws a
 * block of progress bars in place; otherwise (a pipe, a log file) it writes one plain line
 * each time the progress changes.
 */
import { TaskView } from '../../events/index.js';
import { TERMINAL_TASK_STATES } from '../../shared/states/index.js';
import { type ApiClient, pathOf } from './client.js';
import { progressCounts, progressLines, progressSummary, timingText } from './format.js';

/** Moves the cursor up `lines` lines and clears to the end of the screen. */
const redrawFrom = (lines: number) => (lines > 0 ? `\u001b[${lines}A\u001b[J` : '');

export interface WatchOptions {
  intervalMs: number;
  write(text: string): void;
  isTTY: boolean;
  signal: AbortSignal;
}

/** The block a terminal shows: a head line and one bar per job state. */
export function watchBlock(task: TaskView, at: Date): string[] {
  return [
    `${task.taskId} (${task.name}) ${task.state} · ${progressSummary(task.progress)} · ${at.toLocaleTimeString()}`,
    `  ${timingText(task, at)}`,
    ...progressLines(task.progress, 40).map((line) => `  ${line}`),
  ];
}

/** The line a log gets when something changed. */
export function watchLine(task: TaskView, at: Date): string {
  return `${at.toISOString()} ${task.taskId} ${task.state} ${task.progress.percentDone.toFixed(1)}% ${progressCounts(task.progress)}`;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Watches until the task is DONE, FAILED or CANCELLED (its final view) or the signal fires (undefined). */
export async function watchTask(
  client: ApiClient,
  taskId: string,
  options: WatchOptions,
): Promise<TaskView | undefined> {
  let shownLines = 0;
  let lastLine: string | undefined;
  while (!options.signal.aborted) {
    const task = await client.call('GET', pathOf('/tasks/{taskId}', taskId), TaskView);
    const now = new Date();
    if (options.isTTY) {
      const block = watchBlock(task, now);
      options.write(`${redrawFrom(shownLines)}${block.join('\n')}`);
      shownLines = block.length;
    } else {
      const line = watchLine(task, now);
      // Only a change makes a new line: the timestamp alone is not news.
      if (line.slice(line.indexOf(' ')) !== lastLine?.slice(lastLine.indexOf(' '))) options.write(line);
      lastLine = line;
    }
    if ((TERMINAL_TASK_STATES as readonly string[]).includes(task.state)) return task;
    await pause(options.intervalMs, options.signal);
  }
  return undefined;
}
