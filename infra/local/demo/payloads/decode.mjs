// Stage 1 of the demo workflow: event unscrambling of one SPD time slice (see ../FORMAT.md).
// Usage: node decode.mjs <time-slice file> <output dir>
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const HEADER_BYTES = 24;
const HIT_BYTES = 16;

const [input, outDir] = process.argv.slice(2);
if (!input || !outDir) {
  console.error('usage: decode.mjs <time-slice file> <output dir>');
  process.exit(2);
}
const data = readFileSync(input);
if (data.length < HEADER_BYTES || data.toString('latin1', 0, 4) !== 'SPDT') {
  console.error(`${input}: not an SPD time slice`);
  process.exit(4);
}
const slice = data.readUInt32LE(8);
const sliceStart = data.readBigUInt64LE(12);
const hitCount = data.readUInt32LE(20);
if (data.length !== HEADER_BYTES + hitCount * HIT_BYTES) {
  console.error(`${input}: truncated: ${hitCount} hits announced, ${data.length} bytes`);
  process.exit(5);
}
const events = new Map();
for (let i = 0; i < hitCount; i++) {
  const at = HEADER_BYTES + i * HIT_BYTES;
  const detector = data.readUInt16LE(at);
  const offset = data.readUInt32LE(at + 4);
  const amplitude = data.readFloatLE(at + 8);
  const tag = data.readUInt32LE(at + 12);
  const event = events.get(tag) ?? { t0: offset, hits: 0, energy: 0, detectors: new Set() };
  event.t0 = Math.min(event.t0, offset);
  event.hits += 1;
  event.energy += amplitude;
  event.detectors.add(detector);
  events.set(tag, event);
}
const lines = [...events.entries()]
  .sort(([a], [b]) => a - b)
  .map(([tag, e]) =>
    JSON.stringify({
      slice,
      event: tag,
      t0_ns: Number(sliceStart) + e.t0,
      hits: e.hits,
      energy_mev: Math.round(e.energy * 1000) / 1000,
      detectors: [...e.detectors].sort((a, b) => a - b),
    }),
  );
const output = join(outDir, `${basename(input)}.events.jsonl`);
writeFileSync(output, `${lines.join('\n')}\n`);
console.log(`decoded slice ${slice}: ${hitCount} hits -> ${events.size} events -> ${output}`);
