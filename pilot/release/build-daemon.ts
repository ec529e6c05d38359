/**
 * Builds the pilot daemon as one file to install on a node (see pilot/daemon/INSTALL.md):
 *
 *   npx tsx pilot/release/build-daemon.ts --out dist/spd-wms-pilot-daemon.mjs
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleEntry } from './bundle.js';

const DAEMON_ENTRY = fileURLToPath(new URL('../daemon/main.ts', import.meta.url));

async function main(): Promise<void> {
  const { out } = parseArgs({ options: { out: { type: 'string' } }, strict: true }).values;
  if (out === undefined) throw new Error('usage: build-daemon --out <file.mjs>');
  const bundle = await bundleEntry(DAEMON_ENTRY);
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await writeFile(out, bundle, { mode: 0o644 });
  console.log(JSON.stringify({ out: path.resolve(out), bytes: bundle.length }));
}

main().catch((error: unknown) => {
  console.error(`build failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
