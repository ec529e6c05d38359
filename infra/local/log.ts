/** The runtime's own diagnostics: one structured entry per notable event. */

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogEntry {
  level: LogLevel;
  message: string;
  [field: string]: unknown;
}

export type RuntimeLog = (entry: LogEntry) => void;

/** Writes each entry as one JSON line on stderr, apart from the functions' own output. */
export const stderrLog: RuntimeLog = (entry) => {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), source: 'wms-local', ...entry })}\n`,
  );
};
