/** What pilots wrote in their logs (`<logDir>/pilot-<name>.log`, one JSON object a line). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallCount } from '../../../shared/aws/index.js';

function logLines(logDir: string, pilotName: string): Record<string, unknown>[] {
  return readFileSync(join(logDir, `pilot-${pilotName}.log`), 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        return typeof parsed === 'object' && parsed !== null ? [parsed as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
}

/** The AWS SDK calls a pilot made, as it reports them when it exits. */
export function pilotAwsCalls(logDir: string, pilotName: string): CallCount[] {
  const report = logLines(logDir, pilotName).find((line) => line.message === 'AWS API calls');
  if (!report) throw new Error(`pilot ${pilotName} logged no AWS call count: did it exit cleanly?`);
  return report.calls as CallCount[];
}
