/** Plain-text rendering for people: aligned tables, progress bars, sizes and ages. */
import type { JobProgress } from '../../events/index.js';
import type { JobState } from '../../shared/model/index.js';
import { TERMINAL_JOB_STATES, UNFINISHED_JOB_STATES } from '../../shared/states/index.js';

/** Columns padded to their widest cell; a column whose header starts with '>' is right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const right = headers.map((header) => header.startsWith('>'));
  const titles = headers.map((header) => header.replace(/^>/, ''));
  const widths = titles.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (right[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(titles), ...rows.map(line)].join('\n');
}

/** A bar of `width` cells, `value / total` of them filled. */
export function bar(value: number, total: number, width = 24): string {
  const filled = total <= 0 ? 0 : Math.round((width * Math.min(value, total)) / total);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/** `1.5 GB`: decimal units, as storage is sold and S3 reports. */
export function bytes(count: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = count;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${count} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** `45 s`, `12 min`, `3 h 05 min`, `2 d 04 h`: how long ago `then` was, seen from `now`. */
export function age(then: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(then)) / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${String(hours % 24).padStart(2, '0')} h`;
}

/** Job states in the order a job moves through them, final ones last (JOB_STATES has them all). */
export const PROGRESS_STATES: readonly JobState[] = [...UNFINISHED_JOB_STATES, ...TERMINAL_JOB_STATES];

/** One line per job state: name, bar against the task's jobs, count. */
export function progressLines(progress: JobProgress, width = 30): string[] {
  const total = progress.jobsTotal;
  const counts = progress.jobs;
  const countWidth = String(total).length;
  return PROGRESS_STATES.map(
    (state) =>
      `${state.padEnd(9)} ${bar(counts[state], total, width)} ${String(counts[state]).padStart(countWidth)}`,
  );
}

/**
 * `62.5% finished (10/16 jobs: 8 done, 2 failed)`: the share is of finished jobs, whatever
 * their end, so the failed and cancelled ones are named beside it.
 */
export function progressSummary(progress: JobProgress): string {
  const { DONE, FAILED, CANCELLED } = progress.jobs;
  const finished = DONE + FAILED + CANCELLED;
  const ends = [`${DONE} done`];
  if (FAILED > 0) ends.push(`${FAILED} failed`);
  if (CANCELLED > 0) ends.push(`${CANCELLED} cancelled`);
  return `${progress.percentDone.toFixed(1)}% finished (${finished}/${progress.jobsTotal} jobs: ${ends.join(', ')})`;
}

/**
 * A task's bar: done jobs `█`, failed or cancelled ones `▓`, the rest `░`; so a task whose jobs
 * all failed shows a full bar of `▓`, never an empty one beside "100%".
 */
export function progressBar(progress: JobProgress, width = 16): string {
  const total = progress.jobsTotal;
  if (total <= 0) return '░'.repeat(width);
  const { DONE, FAILED, CANCELLED } = progress.jobs;
  const finishedCells = Math.round((width * Math.min(DONE + FAILED + CANCELLED, total)) / total);
  const doneCells = Math.min(finishedCells, Math.round((width * Math.min(DONE, total)) / total));
  return `${'█'.repeat(doneCells)}${'▓'.repeat(finishedCells - doneCells)}${'░'.repeat(width - finishedCells)}`;
}

/** `2 min 05 s`-style durations for elapsed times and ETAs. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ${String(s % 60).padStart(2, '0')} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * `elapsed 4 min 10 s · 19.2 jobs/min · ETA 2 min 30 s`: the time since the task was
 * registered (until it ended), the mean rate of finished jobs, and the time the rest take
 * at that rate (none before a job finished, or once the task ended).
 */
export function timingText(
  task: { createdAt: string; endedAt?: string | undefined; progress: JobProgress },
  now: Date,
): string {
  const end = task.endedAt === undefined ? now.getTime() : Date.parse(task.endedAt);
  const elapsedSeconds = Math.max(0, (end - Date.parse(task.createdAt)) / 1000);
  const { DONE, FAILED, CANCELLED } = task.progress.jobs;
  const finished = DONE + FAILED + CANCELLED;
  const parts = [`elapsed ${duration(elapsedSeconds)}`];
  if (finished === 0 || elapsedSeconds === 0) return [...parts, 'no job finished yet'].join(' · ');
  const perMinute = (finished * 60) / elapsedSeconds;
  parts.push(`${perMinute.toFixed(perMinute < 10 ? 2 : 1)} jobs/min`);
  const left = task.progress.jobsTotal - finished;
  if (task.endedAt === undefined && left > 0) parts.push(`ETA ${duration((left * 60) / perMinute)}`);
  return parts.join(' · ');
}

/** One line of progress for logs: state counts that are not zero. */
export function progressCounts(progress: JobProgress): string {
  const parts = PROGRESS_STATES.filter((state) => progress.jobs[state] > 0).map(
    (state) => `${state}=${progress.jobs[state]}`,
  );
  return parts.length === 0 ? 'no jobs yet' : parts.join(' ');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** `1 retry`, `3 retries`, `0 messages`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
