/**
 * The benchmark: the whole WMS on the embedded default (its own emulator, the real stack on
 * the embedded runtime, real pilot processes, trivial payloads), measured against the issue's
 * targets; and on request the large-dataset scenario (large-dataset.ts).
 *
 *   npm run bench -- --help
 *
 * Writes each result as JSON (under bench-results/ by default) and prints it. Exits 0 when the
 * runs completed, whether or not every target was met, 1 when a run failed or the large-dataset
 * scenario's checks did, and 2 on a bad argument.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArguments, USAGE } from './arguments.js';
import { renderTable } from './result.js';
import { FULL_PROFILE, runBench, runLargeDatasetBench, withSettings } from './run.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function resultFile(given: string | undefined, name: string): string {
  const stamp = new Date().toISOString().replaceAll(':', '-');
  return resolve(given ?? `${PROJECT_ROOT}bench-results/${name}-${stamp}.json`);
}

function write(file: string, result: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseBenchArguments>;
  try {
    args = parseBenchArguments(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  const log = (line: string) => console.log(line);
  const profile = withSettings(FULL_PROFILE, args.settings);
  if (args.standard) {
    const out = resultFile(args.out, 'bench');
    const result = await runBench({
      jobs: args.jobs,
      slots: args.slots,
      pilots: args.pilots,
      scalingJobs: args.scalingJobs,
      fairnessJobsPerTask: 150,
      latencySamples: 20,
      cancels: Math.max(20, args.slots),
      profile,
      log,
    });
    write(out, result);
    console.log('');
    console.log(renderTable(result));
    console.log(`\nresult: ${out}`);
  }
  if (args.datasetFiles === null) return 0;
  const out = resultFile(args.datasetOut, 'bench-dataset');
  const result = await runLargeDatasetBench({
    files: args.datasetFiles,
    slots: args.slots,
    pilots: args.pilots,
    profile,
    log,
  });
  write(out, result);
  console.log('');
  console.log(JSON.stringify(result.dataset, null, 2));
  console.log(`\nresult: ${out}`);
  if (result.failed_checks.length === 0) return 0;
  console.error(`large dataset: checks failed: ${result.failed_checks.join('; ')}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
