/** The bench's command line: its options, their checks and its help. */
import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run bench -- [options]

  --jobs N             jobs of the throughput run (default 1000)
  --slots N            slots in all, shared among the pilots (default 16)
  --pilots N           pilot processes (default 1)
  --scaling-jobs N     jobs of the scaling run (default 10000)
  --skip-scaling       no scaling run
  --out FILE           the result's JSON (default bench-results/bench-<time>.json)
  --dataset-files N    also run the large-dataset scenario: a dataset of N files announced,
                       closed by reference, run to DONE and its output closed
  --dataset-out FILE   the scenario's JSON (default bench-results/bench-dataset-<time>.json)
  --skip-standard      run only the large-dataset scenario (needs --dataset-files)
  --help               this text`;

export interface BenchArguments {
  jobs: number;
  slots: number;
  pilots: number;
  /** Null: no scaling run. */
  scalingJobs: number | null;
  out: string | undefined;
  /** Null: no large-dataset scenario. */
  datasetFiles: number | null;
  datasetOut: string | undefined;
  /** False: only the large-dataset scenario runs. */
  standard: boolean;
}

function positiveInteger(text: string, name: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer, not "${text}"\n${USAGE}`);
  return value;
}

function parsed(args: readonly string[]) {
  try {
    return parseArgs({
      args: [...args],
      options: {
        jobs: { type: 'string', default: '1000' },
        slots: { type: 'string', default: '16' },
        pilots: { type: 'string', default: '1' },
        out: { type: 'string' },
        'skip-scaling': { type: 'boolean', default: false },
        'scaling-jobs': { type: 'string', default: '10000' },
        'dataset-files': { type: 'string' },
        'dataset-out': { type: 'string' },
        'skip-standard': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    // node's own message names the option; the usage says what there is.
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

/** The bench's arguments, or 'help' when it was asked for; a bad argument throws with the usage. */
export function parseBenchArguments(args: readonly string[]): BenchArguments | 'help' {
  const values = parsed(args);
  if (values.help) return 'help';
  const datasetFiles =
    values['dataset-files'] === undefined ? null : positiveInteger(values['dataset-files'], 'dataset-files');
  if (values['skip-standard'] && datasetFiles === null)
    throw new Error(`--skip-standard leaves nothing to run without --dataset-files\n${USAGE}`);
  const slots = positiveInteger(values.slots, 'slots');
  const pilots = positiveInteger(values.pilots, 'pilots');
  if (slots % pilots !== 0) throw new Error(`${slots} slots do not divide among ${pilots} pilots\n${USAGE}`);
  return {
    jobs: positiveInteger(values.jobs, 'jobs'),
    slots,
    pilots,
    scalingJobs: values['skip-scaling'] ? null : positiveInteger(values['scaling-jobs'], 'scaling-jobs'),
    out: values.out,
    datasetFiles,
    datasetOut: values['dataset-out'],
    standard: !values['skip-standard'],
  };
}
