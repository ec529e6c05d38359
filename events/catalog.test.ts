import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonSchemaOf, SCHEMA_CATALOG, SCHEMA_NAMES } from './catalog.js';
import { DETAIL_TYPES } from './constants.js';
import { JSON_SCHEMA_DIR, renderGeneratedFiles } from './generated.js';
import { readSample, SAMPLE_VARIANTS, SAMPLES_DIR, type SampleVariant } from './samples.js';
import { formatIssues } from './validation.js';

describe('SCHEMA_CATALOG', () => {
  it('registers every EventBridge detail type as event.<detail-type>', () => {
    // Act
    const eventNames = SCHEMA_NAMES.filter((name) => name.startsWith('event.'));

    // Assess
    expect(eventNames.sort()).toEqual(
      Object.values(DETAIL_TYPES)
        .map((type) => `event.${type}`)
        .sort(),
    );
  });

  it('uses names that are safe file names', () => {
    // Assess
    for (const name of SCHEMA_NAMES) expect(name).toMatch(/^(event|pilot|api)\.[a-z0-9.-]+$/);
  });

  it('renders each entry as a titled draft 2020-12 JSON Schema', () => {
    // Act
    const schemas = SCHEMA_NAMES.map((name) => [name, jsonSchemaOf(name)] as const);

    // Assess
    for (const [name, schema] of schemas) {
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.title).toBe(name);
      expect(schema.description).toBe(SCHEMA_CATALOG[name].description);
    }
  });

  it('describes what a producer may send for inbound entries and what the WMS sends for outbound ones', () => {
    // Act
    const fileInput = jsonSchemaOf('event.file.input') as { properties: { file: { properties: object } } };
    const submitted = jsonSchemaOf('event.task.submitted') as { required: string[] };
    const taskView = jsonSchemaOf('api.task-view') as { required: string[] };

    // Assess
    expect(Object.keys(fileInput.properties.file.properties)).toContain('url');
    expect(submitted.required).not.toContain('mode');
    expect(taskView.required).toContain('mode');
  });
});

describe('samples', () => {
  const sampleFiles = readdirSync(SAMPLES_DIR).filter((file) => file.endsWith('.json'));

  it('exist for every catalog entry and its listed variants, and for nothing else', () => {
    // Assess
    expect(sampleFiles.map((file) => file.slice(0, -'.json'.length)).sort()).toEqual(
      [...SCHEMA_NAMES, ...Object.keys(SAMPLE_VARIANTS)].sort(),
    );
  });

  it.each(SCHEMA_NAMES)('%s validates', (name) => {
    // Act
    const result = SCHEMA_CATALOG[name].schema.safeParse(readSample(name));

    // Assess
    expect(result.error ? formatIssues(result.error) : []).toEqual([]);
  });
});

it.each(Object.entries(SAMPLE_VARIANTS))('the variant %s validates as %s', (variant, name) => {
  // Act
  const result = SCHEMA_CATALOG[name].schema.safeParse(readSample(variant as SampleVariant));

  // Assess
  expect(result.error ? formatIssues(result.error) : []).toEqual([]);
});

describe('generated JSON Schemas', () => {
  const expected = renderGeneratedFiles();

  it('are committed exactly as the generator renders them now (run `npm run schemas`)', () => {
    // Act
    const committed = readdirSync(JSON_SCHEMA_DIR).map((file) => [
      file,
      readFileSync(`${JSON_SCHEMA_DIR}${file}`, 'utf8'),
    ]);

    // Assess
    expect(Object.fromEntries(committed)).toEqual(Object.fromEntries(expected));
  });

  it('end with a newline and render the same bytes twice', () => {
    // Act
    const again = renderGeneratedFiles();

    // Assess
    for (const [file, content] of expected) {
      expect(content.endsWith('}\n')).toBe(true);
      expect(again.get(file)).toBe(content);
    }
  });
});
