/** `npm run schemas`: writes events/json-schema/ from the catalog and removes files no entry owns. */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JSON_SCHEMA_DIR, renderGeneratedFiles } from './generated.js';

const files = renderGeneratedFiles();
await mkdir(JSON_SCHEMA_DIR, { recursive: true });
const stale = (await readdir(JSON_SCHEMA_DIR)).filter((name) => !files.has(name));
await Promise.all(stale.map((name) => rm(join(JSON_SCHEMA_DIR, name))));
await Promise.all([...files].map(([name, content]) => writeFile(join(JSON_SCHEMA_DIR, name), content)));
console.log(`events/json-schema: wrote ${files.size} files, removed ${stale.length}`);
