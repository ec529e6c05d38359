// The payload of the end-to-end scenarios. Reads its input and writes `<input name>.out` (the
// input's size and SHA-256, so equal inputs give equal outputs). On request it records its
// process id (which is its process group id) in `<pid dir>/<job>.<attempt>.pid`, keeps a child
// process in its group, ignores SIGTERM, sleeps (on every input, or on those whose name has a
// given part), and fails by the rule of attempt-outcome.mjs.
// Usage: node worker.mjs --input F --outdir D --job ID --attempt N [--seed S --fail-rate P]
//          [--sleep-ms N [--sleep-if-name-has PART]] [--pid-dir D] [--ignore-sigterm] [--with-child]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { attemptOutcome } from './attempt-outcome.mjs';

/** A plain non-zero exit, which the pilot reports as a retryable payload failure. */
const EXIT_RETRYABLE = 3;
const USAGE = 'usage: worker.mjs --input F --outdir D --job ID --attempt N [options]';

const { values } = parseArgs({
  options: {
    input: { type: 'string' },
    outdir: { type: 'string' },
    job: { type: 'string' },
    attempt: { type: 'string' },
    seed: { type: 'string', default: '' },
    'fail-rate': { type: 'string', default: '0' },
    'sleep-ms': { type: 'string', default: '0' },
    'sleep-if-name-has': { type: 'string', default: '' },
    'pid-dir': { type: 'string' },
    'ignore-sigterm': { type: 'boolean', default: false },
    'with-child': { type: 'boolean', default: false },
  },
});
const attempt = Number(values.attempt);
const failRate = Number(values['fail-rate']);
const sleepMs = Number(values['sleep-ms']);
if (
  !values.input ||
  !values.outdir ||
  !values.job ||
  !Number.isInteger(attempt) ||
  !(failRate >= 0 && failRate <= 1) ||
  !(sleepMs >= 0)
) {
  console.error(USAGE);
  process.exit(2);
}

if (values['ignore-sigterm']) process.on('SIGTERM', () => console.log('SIGTERM ignored'));
if (values['with-child']) spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
const pidDir = values['pid-dir'];
if (pidDir) {
  const pidFile = join(pidDir, `${values.job}.${attempt}.pid`);
  writeFileSync(`${pidFile}.tmp`, String(process.pid));
  renameSync(`${pidFile}.tmp`, pidFile);
}
const name = basename(values.input);
if (name.includes(values['sleep-if-name-has'])) await new Promise((resolve) => setTimeout(resolve, sleepMs));

const outcome = attemptOutcome({ seed: values.seed, name, attempt, failRate });
if (outcome === 'retryable') {
  console.error(`${name} attempt ${attempt}: failing as the rule says`);
  process.exit(EXIT_RETRYABLE);
}
if (outcome === 'fatal') {
  console.log(`${name} attempt ${attempt}: ending without output as the rule says`);
  process.exit(0);
}
const data = readFileSync(values.input);
const digest = createHash('sha256').update(data).digest('hex');
writeFileSync(join(values.outdir, `${name}.out`), `${data.length} sha256:${digest}\n`);
console.log(`${name} attempt ${attempt}: ${data.length} bytes processed`);
// The child (if any) would keep this process alive.
process.exit(0);
