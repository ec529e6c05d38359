/** Plain-text rendering for people: aligned tables, progress bars, sizes and ages. */
import type { JobProgress } from '../../events/index.js';
import type { JobState } from '../../shared/model/index.js';

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
export const PROGRESS_STATES: readonly JobState[] = [
  'READY',
  'QUEUED',
  'RUNNING',
  'LOST',
  'DONE',
  'FAILED',
  'CANCELLED',
];

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

/** `62.5% (10/16 jobs finished)`. */
export function progressSummary(progress: JobProgress): string {
  const finished = progress.jobs.DONE + progress.jobs.FAILED + progress.jobs.CANCELLED;
  return `${progress.percentDone.toFixed(1)}% (${finished}/${progress.jobsTotal} jobs finished)`;
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
