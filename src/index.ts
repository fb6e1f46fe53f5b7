/**
 * archive-storage: the platform-neutral core. Imports no `node:*` module and
 * reads no DOM global at import time, so it works unchanged in Node and in a
 * browser bundle. Backends live under `archive-storage/adapters/*`.
 *
 * The core is errors, the adapter contract, `openArchive`, `syncArchive`,
 * references (`openReferences`), canonical JSON and hashing. The intent graph (`archive-storage/intent-graph`)
 * and the portable bundle (`archive-storage/bundle`) have entry points of their
 * own; they are re-exported here too so that code written against 0.1 keeps
 * working, but new code should import them from their subpaths.
 *
 * @module
 */
export * from './errors.js';
export * from './json/canonical.js';
export * from './hash.js';
export * from './adapter/index.js';
export * from './archive/types.js';
export * from './archive/index.js';
export { syncArchive, type SyncOptions, type SyncProgress, type SyncReport } from './archive/sync.js';
export * from './refs/index.js';
export { compareAndSwapOf, type CompareAndSwap, type CompareAndSwapMode, type CompareAndSwapOptions } from './adapter/cas.js';

// 0.1 compatibility: these moved to their own entry points.
/** @deprecated import from `archive-storage/bundle`; kept so 0.1 code keeps working. */
export { downloadBlob } from './internal/download.js';
export * from './intent-graph/index.js';
export * from './bundle/index.js';
