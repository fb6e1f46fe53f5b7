/**
 * The content-addressable archive: `openArchive` and the pieces of its layout
 * that tools (bundle export, sync, the CLI) need to read it directly.
 *
 * @module
 */
export { openArchive, hashOfObjectKey, INDEX_LOCK } from './archive.js';
export { INDEX_VERSION } from './index-file.js';
export { JOURNAL_PREFIX } from './journal.js';
export { isCanonicalJsonBytes } from './hash-args.js';
