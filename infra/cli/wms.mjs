#!/usr/bin/env node
// The `wms` command from a clone, no build step: TypeScript runs through tsx in this process.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `wms: Node ${process.versions.node} is too old (need >= 22): run it with npx wms, or npm ci first\n`,
  );
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import('./main.ts');
