/**
 * The import rules of the house (docs/architecture.md): imports run one way,
 * cli → node → adapters → src, and nothing goes round in a circle.
 *
 * Held by test/architecture.test.ts (part of `npm test`), which cruises the
 * real tree with these rules and a fixture tree of deliberate mistakes
 * (test/fixtures/architecture/bad) with the same rules. Also runnable by hand:
 * `npm run check:architecture`.
 *
 * Paths are relative to the directory cruised from (the repository root, or a
 * fixture root). Type-only imports count (`tsPreCompilationDeps: true`), and so
 * does a dynamic `import()` with a literal specifier (dependency-cruiser reads
 * it as an ordinary dependency).
 *
 * `process.getBuiltinModule(...)` is deliberately not read as an import: it is
 * how src/platform.ts, the one module that probes globals, reaches Node
 * builtins without importing them.
 */

/** The runtime dependencies the core may import (package.json `dependencies`), plus vitest for src/testing. */
const CORE_PACKAGES = ['@noble/hashes', 'fflate', 'idb', 'aws4fetch'];
const npm = (names) => names.map((name) => `(^|/)node_modules/${name.replace(/[.]/g, '\\.')}/`);

/** Adapters that run only in Node and may import `node:*`. */
const NODE_ONLY_ADAPTERS = '^adapters/(node-fs/|sqlite)';

/** Folders above everything the library ships: no shipped module imports them. */
const NOT_SHIPPED = '^(test|bench|demo|examples|scripts|docs)/';

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const forbidden = [
  // --- src/: the core ---------------------------------------------------------------------------
  {
    name: 'core-no-node-builtins',
    comment: 'src/ runs in every runtime: it never imports node:* (src/platform.ts reaches Node through process.getBuiltinModule).',
    severity: 'error',
    from: { path: '^src/' },
    to: { dependencyTypes: ['core'] },
  },
  {
    name: 'core-imports-only-core',
    comment: 'src/ imports only src/ and npm packages: never adapters/, node/, cli/, test/ or package.json.',
    severity: 'error',
    from: { path: '^src/' },
    to: { pathNot: ['^src/', '(^|/)node_modules/'], dependencyTypesNot: ['core'], couldNotResolve: false },
  },
  {
    name: 'core-only-declared-deps',
    comment: `src/ imports only its declared dependencies (${CORE_PACKAGES.join(', ')}; vitest only from src/testing/).`,
    severity: 'error',
    from: { path: '^src/', pathNot: '^src/testing/' },
    to: { path: '(^|/)node_modules/', pathNot: npm(CORE_PACKAGES) },
  },
  {
    name: 'core-testing-only-declared-deps',
    comment: 'src/testing/ (published as archive-storage/testing) may add vitest, a peer dependency, and nothing else.',
    severity: 'error',
    from: { path: '^src/testing/' },
    to: { path: '(^|/)node_modules/', pathNot: [...npm(CORE_PACKAGES), ...npm(['vitest', '@vitest/[^/]+'])] },
  },

  // --- adapters/: one factory per backend, on src/ -----------------------------------------------
  {
    name: 'adapter-imports-only-core',
    comment: 'adapters/ import only src/, their own adapter and npm packages: never node/, cli/, test/ or package.json.',
    severity: 'error',
    from: { path: '^adapters/' },
    to: { pathNot: ['^src/', '^adapters/', '(^|/)node_modules/'], dependencyTypesNot: ['core'], couldNotResolve: false },
  },
  {
    name: 'adapter-not-to-other-adapter',
    comment: 'An adapter imports only its own folder (adapters/opfs/* ↔ adapters/opfs/*); a one-file adapter imports no other adapter.',
    severity: 'error',
    from: { path: '^adapters/([^/.]+)' },
    to: { path: '^adapters/', pathNot: '^adapters/$1(/|[.][cm]?[jt]s$)' },
  },
  {
    name: 'browser-adapter-no-node-builtins',
    comment: 'Only the Node-only adapters (adapters/node-fs/, adapters/sqlite) import node:*; the others run in browsers.',
    severity: 'error',
    from: { path: '^adapters/', pathNot: NODE_ONLY_ADAPTERS },
    to: { dependencyTypes: ['core'] },
  },

  // --- node/: Node-only helpers -------------------------------------------------------------------
  {
    name: 'node-imports-only-below',
    comment: 'node/ imports src/, adapters/, node/, node:* and npm packages: never cli/, test/ or package.json.',
    severity: 'error',
    from: { path: '^node/' },
    to: { pathNot: ['^src/', '^adapters/', '^node/', '(^|/)node_modules/'], dependencyTypesNot: ['core'], couldNotResolve: false },
  },

  // --- cli/: the only layer that may import everything ------------------------------------------
  {
    name: 'cli-not-to-tests',
    comment: 'cli/ may import everything the package ships, but not test/, bench/, demo/ or examples/.',
    severity: 'error',
    from: { path: '^cli/' },
    to: { path: NOT_SHIPPED },
  },

  // --- everywhere ----------------------------------------------------------------------------------
  {
    name: 'no-circular',
    comment: 'No import circle in src/, adapters/, node/ or cli/ (type-only imports included).',
    severity: 'error',
    from: { path: '^(src|adapters|node|cli)/' },
    to: { circular: true },
  },
  {
    name: 'not-to-unresolvable',
    comment: 'Every import resolves: an import the checker cannot follow is one it cannot hold to the rules.',
    severity: 'error',
    from: { path: '^(src|adapters|node|cli)/' },
    to: { couldNotResolve: true },
  },
];

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    detectProcessBuiltinModuleCalls: false,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'node', 'default'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
