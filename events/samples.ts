/**
 * The sample payloads of events/samples/: one realistic, valid payload per catalog entry
 * (`<entry>.json`), plus one per further form a schema takes (`<entry>.<variant>.json`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SchemaName } from './catalog.js';

export const SAMPLES_DIR = fileURLToPath(new URL('./samples/', import.meta.url));

/** Samples of a second form of a schema, each with the catalog entry it must validate against. */
export const SAMPLE_VARIANTS = {
  'event.dataset.close.checklist-object': 'event.dataset.close',
} as const satisfies Record<string, SchemaName>;
export type SampleVariant = keyof typeof SAMPLE_VARIANTS;

/** A fresh copy of the sample of `name`, free to modify. */
export function readSample(name: SchemaName | SampleVariant): unknown {
  return JSON.parse(readFileSync(`${SAMPLES_DIR}${name}.json`, 'utf8'));
}
