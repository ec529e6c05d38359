import { build } from 'esbuild';

// Bundled CommonJS dependencies call require() for Node built-ins; an ES module has none.
const REQUIRE_SHIM =
  "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);";

/** One entry file and everything it imports as a single ES module for Node 22+. */
export async function bundleEntry(entry: string, define: Record<string, string> = {}): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    define,
    banner: { js: REQUIRE_SHIM },
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.contents;
}
