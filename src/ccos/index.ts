/**
 * CCOS's own directory formats (FileArchive, FileArchiveStorage): import
 * them into an archive and an intent graph, export a graph back so that
 * CCOS reads it with its own code. See docs/ccos.md.
 *
 * @module
 */
export { importCcosArchive } from './import.js';
export { exportCcosArchive } from './export.js';
export { DEFAULT_CCOS_LIMITS, scanCcos, type CcosScan, type ScannedObject } from './scan.js';
export { formatSerdeF64, serdeEdge, serdeIntent, stripJsonWhitespace, type SerdeForms } from './serde-json.js';
export { ccosObjectPath } from './layout.js';
export { detectForeignLayout, foreignLayoutError, refuseForeignLayout, type ForeignLayout } from './detect.js';
export type {
  CcosExportOptions,
  CcosExportReport,
  CcosImportedObject,
  CcosImportOptions,
  CcosImportReport,
  CcosLayout,
  CcosLimits,
  CcosObjectKind,
  CcosProblem,
  CcosProblemCode,
  CcosProgress,
  CcosWarning,
  CcosWarningCode,
} from './types.js';
