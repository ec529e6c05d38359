// Node 24 comes from the `node` devDependency; if its install script was skipped, npm falls
// back to the system Node, which may be too old for middy 7 and vitest 5.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(
    `error: Node ${process.versions.node} is too old (need >= 22, target 24). ` +
      'Run `npm ci` so the pinned Node 24 from devDependencies is installed (its install script must run).',
  );
  process.exit(1);
}
