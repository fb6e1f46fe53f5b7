/**
 * `archive-storage/testing`: the conformance suites every adapter in this
 * package passes, published so that a third-party adapter can prove itself the
 * same way (as `interface-blockstore-tests` does for IPFS blockstores).
 *
 * ```ts
 * import { runAdapterConformance, runArchiveConformance } from 'archive-storage/testing';
 * runAdapterConformance('my-adapter', async () => ({ adapter: myAdapter() }));
 * runArchiveConformance('my-adapter', async () => ({ adapter: myAdapter() }));
 * ```
 *
 * `setup` runs before each test and gives a fresh, empty adapter; `reopen`
 * (optional) gives another adapter on the same storage, to prove that data
 * survives and that two writers lose nothing. Optional calls are tested only
 * where `capabilities` declares them. A complete third-party adapter and its
 * test, a dozen lines each: `examples/custom-adapter/` in the repository.
 *
 * The suites are written for vitest (`describe`/`it`/`expect`): run them in a
 * vitest test file. vitest is an optional peer dependency, needed only here.
 *
 * @module
 */
export { runAdapterConformance, type ConformanceHarness, type ConformanceOptions } from './adapter-suite.js';
export { runArchiveConformance, type ArchiveHarness, type ArchiveConformanceOptions } from './archive-suite.js';
export { caught, expectCode } from './expect-code.js';
