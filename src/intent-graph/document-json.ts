/**
 * The one JSON layout of a StorageBackupData document, shared by
 * `serializeBackup` (which validates first) and the file intent store (whose
 * state is valid by construction). Internal: not exported from the package.
 *
 * @internal
 * @module
 */
import type { StorageBackupData } from './backup-types.js';

/** Pretty JSON in serde field order, like serde_json's `to_string_pretty`, plus a final newline. */
export function stringifyBackup(data: StorageBackupData): string {
  const ordered = {
    intents: data.intents,
    edges: data.edges,
    version: data.version,
    timestamp: data.timestamp,
    manifest: data.manifest ?? null,
    rtfs: data.rtfs ?? null,
  };
  return JSON.stringify(ordered, null, 2) + '\n';
}
