/**
 * Synthetic SPD time slices in the binary format of FORMAT.md: collisions whose hits are
 * interleaved in time, most of them "boring", about one in ten "hot" (total energy above
 * the filter's threshold).
 */
const HEADER_BYTES = 24;
const HIT_BYTES = 16;
const SLICE_NS = 10_000_000;
const DETECTORS = 24;

export interface TimeSliceOptions {
  slice: number;
  events: number;
  /** Seed of the deterministic generator, so a dataset can be reproduced. */
  seed: number;
  hotFraction?: number;
}

export interface TimeSlice {
  bytes: Buffer;
  events: number;
  hotEvents: number;
  hits: number;
}

/** mulberry32: small, fast, deterministic. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Hit {
  detector: number;
  channel: number;
  offset: number;
  amplitude: number;
  tag: number;
}

export function generateTimeSlice(options: TimeSliceOptions): TimeSlice {
  const next = random(options.seed * 7919 + options.slice);
  const hotFraction = options.hotFraction ?? 0.1;
  const hits: Hit[] = [];
  let hotEvents = 0;
  for (let event = 0; event < options.events; event++) {
    const tag = options.slice * 100_000 + event;
    const hot = next() < hotFraction;
    if (hot) hotEvents++;
    const count = 5 + Math.floor(next() * 30);
    // Boring events stay well under 300 MeV in total, hot ones well above it.
    const total = hot ? 400 + next() * 800 : 20 + next() * 200;
    const start = Math.floor(next() * (SLICE_NS - 50_000));
    for (let h = 0; h < count; h++) {
      hits.push({
        detector: Math.floor(next() * DETECTORS),
        channel: Math.floor(next() * 4096),
        offset: start + Math.floor(next() * 50_000),
        amplitude: total / count,
        tag,
      });
    }
  }
  hits.sort((a, b) => a.offset - b.offset);
  const bytes = Buffer.alloc(HEADER_BYTES + hits.length * HIT_BYTES);
  bytes.write('SPDT', 0, 'latin1');
  bytes.writeUInt16LE(1, 4);
  bytes.writeUInt32LE(options.slice, 8);
  bytes.writeBigUInt64LE(BigInt(options.slice) * BigInt(SLICE_NS), 12);
  bytes.writeUInt32LE(hits.length, 20);
  hits.forEach((hit, i) => {
    const at = HEADER_BYTES + i * HIT_BYTES;
    bytes.writeUInt16LE(hit.detector, at);
    bytes.writeUInt16LE(hit.channel, at + 2);
    bytes.writeUInt32LE(hit.offset, at + 4);
    bytes.writeFloatLE(hit.amplitude, at + 8);
    bytes.writeUInt32LE(hit.tag, at + 12);
  });
  return { bytes, events: options.events, hotEvents, hits: hits.length };
}
