/** The bench's command line: its options, their checks and its help. */
import { parseArgs } from 'node:util';
import { FUNCTION_CONFIG_SCHEMAS } from '../../../functions/config-schemas.js';

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
  --set NAME=VALUE     a function setting of docs/configuration.md for this run, over the
                       bench's own (repeatable), e.g. --set TASK_COUNTER_SHARDS=1
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
  /** Function settings given with --set, by name. */
  settings: Record<string, string>;
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
        set: { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    // node's own message names the option; the usage says what there is.
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

/**
 * The settings of `--set NAME=VALUE`: each a setting some function reads, with a value its
 * schema accepts, named once.
 */
function settingsOf(pairs: readonly string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^([A-Z][A-Z0-9_]*)=(.+)$/.exec(pair);
    if (!match) throw new Error(`--set takes NAME=VALUE, not "${pair}"\n${USAGE}`);
    const [, name, value] = match as unknown as [string, string, string];
    if (name in settings) throw new Error(`--set names ${name} twice\n${USAGE}`);
    const readers = Object.values(FUNCTION_CONFIG_SCHEMAS).flatMap((schema) => schema.shape[name] ?? []);
    if (readers.length === 0) throw new Error(`--set ${name}: no function reads this setting\n${USAGE}`);
    for (const reader of readers) {
      const checked = reader.safeParse(value);
      if (!checked.success)
        throw new Error(`--set ${name}=${value}: ${checked.error.issues[0]?.message ?? 'refused'}\n${USAGE}`);
    }
    settings[name] = value;
  }
  return settings;
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
    settings: settingsOf(values.set),
  };
}
