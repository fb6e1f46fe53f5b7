/**
 * The content-addressable archive: `openArchive` and the pieces of its layout
 * that tools (bundle export, sync, the CLI) need to read it directly.
 *
 * @module
 */
export { openArchive } from './archive.js';
export { hashOfObjectKey, INDEX_LOCK, INDEX_VERSION, JOURNAL_PREFIX } from './layout.js';
export { isCanonicalJsonBytes } from './hash-args.js';
