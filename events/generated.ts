/** The files `npm run schemas` writes into events/json-schema/, rendered in memory. */
import { fileURLToPath } from 'node:url';
import { jsonSchemaOf, SCHEMA_NAMES } from './catalog.js';
import { buildOpenApiDocument } from './openapi.js';

export const JSON_SCHEMA_DIR = fileURLToPath(new URL('./json-schema/', import.meta.url));
const OPENAPI_FILE = 'openapi.json';

/** Two-space JSON with a trailing newline: the same bytes for the same schemas, every run. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** File name → content: one JSON Schema per catalog entry, and the OpenAPI document. */
export function renderGeneratedFiles(): Map<string, string> {
  const files = new Map(SCHEMA_NAMES.map((name) => [`${name}.json`, formatJson(jsonSchemaOf(name))]));
  files.set(OPENAPI_FILE, formatJson(buildOpenApiDocument()));
  return files;
}
