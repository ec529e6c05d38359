/**
 * The benchmark: the whole WMS on the embedded default (its own emulator, the real stack on
 * the embedded runtime, real pilot processes, trivial payloads), measured against the issue's
 * targets.
 *
 *   npm run bench [-- --jobs 1000 --slots 16 --pilots 1 --out file.json --skip-scaling --scaling-jobs 10000]
 *
 * Writes the result as JSON (bench-results/bench-<timestamp>.json by default) and prints it
 * as a table. Exits 0 when the run completed, whether or not every target was met.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderTable } from './result.js';
import { FULL_PROFILE, runBench } from './run.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const USAGE =
  'usage: bench [--jobs N] [--slots N] [--pilots N] [--out file.json] [--skip-scaling] [--scaling-jobs N]';

function positiveInteger(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer\n${USAGE}`);
  return value;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '1000' },
      slots: { type: 'string', default: '16' },
      pilots: { type: 'string', default: '1' },
      out: { type: 'string' },
      'skip-scaling': { type: 'boolean', default: false },
      'scaling-jobs': { type: 'string', default: '10000' },
    },
  });
  const jobs = positiveInteger(values.jobs, 'jobs');
  const slots = positiveInteger(values.slots, 'slots');
  const out = resolve(
    values.out ?? `${PROJECT_ROOT}bench-results/bench-${new Date().toISOString().replaceAll(':', '-')}.json`,
  );
  const result = await runBench({
    jobs,
    slots,
    pilots: positiveInteger(values.pilots, 'pilots'),
    scalingJobs: values['skip-scaling'] ? null : positiveInteger(values['scaling-jobs'], 'scaling-jobs'),
    fairnessJobsPerTask: 150,
    latencySamples: 20,
    cancels: Math.max(20, slots),
    profile: FULL_PROFILE,
    log: (line) => console.log(line),
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log('');
  console.log(renderTable(result));
  console.log(`\nresult: ${out}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
