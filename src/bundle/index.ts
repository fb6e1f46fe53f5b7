/**
 * The portable bundle: a ZIP of the archive's layout plus a manifest, exported
 * by streaming and imported with every byte verified, all or nothing.
 * Platform-neutral: works the same in Node and in browsers (Node file helpers
 * live in `archive-storage/node/bundle-file`). Format: docs/bundle.md.
 *
 * @module
 */
export {
  exportBundle,
  exportBundleStream,
  exportBundleToBlob,
  exportBundleToFileHandle,
  downloadBundle,
  BUNDLE_DEFLATE_LEVEL,
  type BundleProgress,
  type BundleExtras,
  type ExportBundleOptions,
  type WritableFileHandle,
} from './export.js';
export {
  importBundle,
  verifyBundle,
  clearBundleStaging,
  DEFAULT_BUNDLE_LIMITS,
  BUNDLE_STAGING_PREFIX,
  type BundleLimits,
  type ClearStagingOptions,
  type ImportBundleOptions,
  type VerifyBundleOptions,
  type BundleImportReport,
  type BundleVerifyReport,
} from './import.js';
export { BUNDLE_FORMAT, BUNDLE_VERSION, BUNDLE_REFERENCES_VERSION, type BundleManifestInfo, type BundleReferenceRecord, type ExtraRecord } from './format.js';
export {
  ReferenceTransferConflictError,
  type ReferenceState,
  type ReferenceTransferConflict,
  type ReferenceTransferReport,
} from '../refs/transfer.js';
export type { BundleSource } from './source.js';
