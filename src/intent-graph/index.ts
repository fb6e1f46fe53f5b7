/**
 * The CCOS intent graph: types, validation, and three stores (memory, one
 * JSON document on any adapter, content-addressed archive).
 *
 * @module
 */
export * from './types.js';
export {
  DEFAULT_MAX_STRING_LENGTH,
  danglingWarnings,
  validateEdge,
  validateGraph,
  validateIntent,
  type GraphWarning,
  type GraphWarningCode,
  type ValidateOptions,
  type ValidationLimits,
} from './validate.js';
export type { IntentFilter, IntentStore, StoreCallOptions, StoreHealth } from './intent-store.js';
export { edgesEqual, type IntentStoreOptions } from './store.js';
export { createMemoryIntentStore } from './memory-store.js';
export { DEFAULT_INTENT_GRAPH_KEY, openFileIntentStore, type FileIntentStore, type FileIntentStoreOptions } from './file-store.js';
export {
  DEFAULT_INTENT_GRAPH_BASE,
  DEFAULT_INTENT_INDEX_KEY,
  EDGE_LIST_HISTORY_VERSIONS,
  INTENT_HISTORY_VERSIONS,
  INTENT_INDEX_FORMAT,
  INTENT_REPLACE_FORMAT,
  openArchiveIntentStore,
  type ArchiveIntentStore,
  type ArchiveIntentStoreOptions,
} from './archive-store.js';
export { idOfSegment, intentSegment } from './graph-names.js';
export { newIntent, type NewIntentOptions } from './new-intent.js';
export * from './document.js';
export * from './document-io.js';
export * from './rtfs/index.js';
export * from '../ccos/index.js';
