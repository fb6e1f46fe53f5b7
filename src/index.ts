/**
 * archive-storage: the platform-neutral core. Imports no `node:*` module and
 * reads no DOM global at import time, so it works unchanged in Node and in a
 * browser bundle. Backends live under `archive-storage/adapters/*`.
 *
 * @module
 */
export * from './errors.js';
export * from './canonical.js';
export * from './hash.js';
export * from './adapter.js';
export * from './archive/types.js';
export * from './archive/index.js';
export { syncArchive, type SyncOptions, type SyncProgress, type SyncReport } from './archive/sync.js';
export { downloadBlob } from './internal/download.js';
export * from './intent-graph/index.js';
export * from './backup/storage-backup.js';
export * from './backup/backup-io.js';
export * from './backup/bundle.js';
export * from './rtfs/index.js';
