/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { builtinModules } from 'node:module';
import pkg from './package.json' with { type: 'json' };
import { browserPeerCommands } from './test/browser-commands.js';
import { browserInstances } from './test/support/engines/index.js';

/**
 * One config for the library build and for the three vitest projects.
 *
 * Build: library mode, ES modules only, one entry per public subpath (see the
 * `exports` map in package.json) plus the CLI. Declarations come from
 * `tsc -p tsconfig.build.json` (run by `npm run build`).
 */
const entries: Record<string, string> = {
  index: 'src/index.ts',
  'adapters/memory': 'adapters/memory.ts',
  'adapters/node-fs': 'adapters/node-fs/index.ts',
  'adapters/sqlite': 'adapters/sqlite.ts',
  'adapters/s3': 'adapters/s3/index.ts',
  'adapters/indexeddb': 'adapters/indexeddb/index.ts',
  'adapters/opfs': 'adapters/opfs/index.ts',
  bundle: 'src/bundle/index.ts',
  'intent-graph': 'src/intent-graph/index.ts',
  testing: 'src/testing/index.ts',
  'node/bundle-file': 'node/bundle-file.ts',
  cli: 'cli/main.ts',
};

const dependencies = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys((pkg as { optionalDependencies?: Record<string, string> }).optionalDependencies ?? {}),
];
const isExternal = (id: string) =>
  id.startsWith('node:') ||
  id === 'vitest' ||
  builtinModules.includes(id) ||
  dependencies.some((d) => id === d || id.startsWith(`${d}/`));

export default defineConfig({
  // Files the build emits (the OPFS worker) are loaded relative to the module that uses them, not the site root.
  experimental: { renderBuiltUrl: () => ({ relative: true }) },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    minify: false,
    lib: { entry: entries, formats: ['es'] },
    rollupOptions: {
      external: isExternal,
      output: {
        entryFileNames: '[name].js',
        chunkFileNames: 'chunks/[name]-[hash].js',
        banner: (chunk) => (chunk.name === 'cli' ? '#!/usr/bin/env node' : ''),
      },
    },
  },
  test: {
    // Two workers for the node and happy-dom projects. On this 2-core machine vitest's default (cores - 1) is ONE:
    // the ~60 node files then ran one after another (~800 s of the ~1000 s run, the critical path) while the
    // browser engines finished beside them in ~400 s. Most node files wait rather than compute (CLI child
    // processes, SIGKILL rounds, fsync, S3 servers), so two overlap well. vitest needs one maxWorkers for all
    // projects that run together; the browser project keeps one test page per engine (fileParallelism below).
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          // examples/: third-party code that imports the package by name, i.e. the built dist/ (npm test builds first).
          include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: ['test/**/*.browser.test.ts', 'test/**/*.dom.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'happy-dom',
          environment: 'happy-dom',
          include: ['test/**/*.dom.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/**/*.browser.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            // One test file at a time per engine (the three engines still run side by side): what the default gave
            // on 2 cores before maxWorkers above was raised; files of one engine share the origin's storage and quota.
            fileParallelism: false,
            screenshotFailures: false,
            // Second same-origin pages for the multi-tab storage tests (test/browser-commands.ts), in every engine.
            commands: browserPeerCommands,
            // Chromium, Firefox ESR and WebKitGTK side by side (BROWSER_ENGINES=chromium,firefox picks some):
            // test/support/engines/.
            instances: browserInstances(),
          },
        },
      },
    ],
  },
});
