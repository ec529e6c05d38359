/** The sample payloads of events/samples/: one realistic, valid payload per catalog entry. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SchemaName } from './catalog.js';

export const SAMPLES_DIR = fileURLToPath(new URL('./samples/', import.meta.url));

/** A fresh copy of the sample of `name`, free to modify. */
export function readSample(name: SchemaName): unknown {
  return JSON.parse(readFileSync(`${SAMPLES_DIR}${name}.json`, 'utf8'));
}
