/**
 * References: names pointing at hashes, with metadata, history and
 * compare-and-set (docs/format.md, "References v1"; docs/refs.md).
 *
 * @module
 */
export {
  openReferences,
  type ReferenceArchive,
  type DeleteReferenceOptions,
  type ListReferencesOptions,
  type ReferenceCallOptions,
  type ReferenceCheckReport,
  type References,
  type ReferencesOptions,
  type SetReferenceOptions,
} from './references.js';
export {
  DEFAULT_KEEP_VERSIONS,
  MAX_KEEP_VERSIONS,
  MAX_REFERENCE_META_BYTES,
  type Reference,
  type ReferenceVersion,
} from './document.js';
export { ReferenceConflictError } from './errors.js';
export { assertReferenceName, isReferenceName, MAX_REFERENCE_NAME_LENGTH } from './name.js';
