/**
 * The layers of the codebase, from the bottom (docs/conventions.md, "Layers"):
 *   1. the contracts (`events/`) and the domain core (pure decisions and records in `shared/`);
 *   2. repositories, AWS adapters and services (`shared/`), which may use the layer below;
 *   3. functions, the pilot and `infra/`, which may use everything below them but not each
 *      other, except that `infra/` (the CLI, the stack, the embedded runtime) may use the pilot
 *      and the functions' entries;
 * and the embedded runtime (`infra/local/`) is used only by its demo, its bench and tests, and
 * by them only through its entry, `infra/local/index.ts`.
 * `npm run lint` fails on an import against these rules; `scripts/layers.test.ts` shows it does.
 */
const CORE =
  '^(events|shared/(model|states|errors|scheduler|retry|rank|ids|checklist|counters|audit|explain|async|jobgen|identity|config))/';
const ADAPTERS = '^shared/(repositories|services|aws|throughput)/';
const TOP = '^(functions|pilot|infra|test|scripts)/';
/** The embedded runtime's own code, its tests and fixtures: infra/local but for its users there. */
const EMBEDDED_RUNTIME = '^infra/local/(?!demo/|bench/)';
const EMBEDDED_RUNTIME_USERS = 'infra/local/(demo|bench)/';
/** Tests and their support code may reach across layers to set a scene up. */
const TEST_CODE = '(\\.test\\.ts$|/test-support(/|\\.ts$)|^test/)';
/**
 * Units: directories whose `index.ts` is their public surface (docs/conventions.md, "Layout").
 * Code outside a unit imports it only through that index.
 */
const UNIT = '(events|shared/[^/]+|pilot/agent|pilot/daemon|functions/common|infra/local)';

module.exports = {
  forbidden: [
    {
      name: 'core-imports-only-core',
      comment: 'The contracts and the domain core are the bottom layer: they import nothing above them.',
      severity: 'error',
      from: { path: CORE, pathNot: TEST_CODE },
      to: { path: `${ADAPTERS}|${TOP}` },
    },
    {
      name: 'adapters-import-no-top',
      comment:
        'Repositories, adapters and services serve the functions and the pilot; they import none of them.',
      severity: 'error',
      from: { path: ADAPTERS, pathNot: TEST_CODE },
      to: { path: TOP },
    },
    {
      name: 'functions-import-no-pilot-or-infra',
      comment: 'A function is deployed on its own: it imports neither the pilot nor infra.',
      severity: 'error',
      from: { path: '^functions/', pathNot: TEST_CODE },
      to: { path: '^(pilot|infra)/' },
    },
    {
      name: 'pilot-imports-no-functions-or-infra',
      comment: 'The pilot is released on its own to the nodes: it imports neither the functions nor infra.',
      severity: 'error',
      from: { path: '^pilot/', pathNot: TEST_CODE },
      to: { path: '^(functions|infra)/' },
    },
    {
      name: 'only-its-users-know-the-embedded-runtime',
      comment:
        'Only the embedded runtime itself, its demo and bench, and tests use infra/local: the rest of the system does not know it exists.',
      severity: 'error',
      from: {
        path: '^(events|shared|functions|pilot|infra/stack|infra/cli|infra/app\\.ts)',
        pathNot: TEST_CODE,
      },
      to: { path: '^infra/local/' },
    },
    {
      name: 'units-import-each-other-through-their-index',
      comment: "A unit's files other than its index are its own: another unit imports it through its index.",
      severity: 'error',
      from: { path: `^${UNIT}/`, pathNot: TEST_CODE },
      to: { path: `^${UNIT}/`, pathNot: ['^$1/', `^${UNIT}/index\\.ts$`] },
    },
    {
      name: 'import-units-through-their-index',
      comment: "Code outside the units imports a unit only through its index: the rest is the unit's own.",
      severity: 'error',
      from: { pathNot: [`^${UNIT}/`, TEST_CODE] },
      to: { path: `^${UNIT}/`, pathNot: `^${UNIT}/index\\.ts$` },
    },
    {
      name: 'embedded-runtime-only-through-its-entry',
      comment:
        'Outside the embedded runtime (its demo, its bench and tests elsewhere included) it is used only through infra/local/index.ts; its own files and tests use its internals.',
      severity: 'error',
      from: { pathNot: EMBEDDED_RUNTIME },
      to: { path: '^infra/local/', pathNot: `^infra/local/index\\.ts$|^(${EMBEDDED_RUNTIME_USERS})` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|cdk\\.out|\\.venv|\\.artifacts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
