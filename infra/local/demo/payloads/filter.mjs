// Stage 2 of the demo workflow: keep the "hot" events of one decoded slice (see ../FORMAT.md).
// Usage: node filter.mjs <events file> <output dir> [threshold MeV]
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [input, outDir, thresholdText = '300'] = process.argv.slice(2);
if (!input || !outDir) {
  console.error('usage: filter.mjs <events file> <output dir> [threshold MeV]');
  process.exit(2);
}
const threshold = Number(thresholdText);
console.log(`filter on device CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES ?? '(none)'}`);
const lines = readFileSync(input, 'utf8').split('\n').filter(Boolean);
const hot = lines.filter((line) => JSON.parse(line).energy_mev > threshold);
const output = join(outDir, `${basename(input).replace(/\.events\.jsonl$/, '')}.hot.jsonl`);
writeFileSync(output, hot.length > 0 ? `${hot.join('\n')}\n` : '');
console.log(`kept ${hot.length} of ${lines.length} events above ${threshold} MeV -> ${output}`);
