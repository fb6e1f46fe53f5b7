/**
 * The types of the StorageBackupData document and of the functions that read
 * and write it (see `document.ts`), kept apart from that code so that the store
 * interface can name them without importing the document's implementation,
 * which itself works on stores: the import graph stays a DAG.
 *
 * @module
 */
import type { StoreCallOptions } from './call-options.js';
import type { IntentGraph, Edge, StorableIntent } from './types.js';
import type { GraphWarning, ValidationLimits } from './validate.js';

/** Who wrote a backup, and why. */
export interface BackupManifest {
  created_by: string;
  source?: string | null;
  note?: string | null;
}

/** A StorageBackupData document, in serde field order. */
export interface StorageBackupData {
  intents: Record<string, StorableIntent>;
  edges: Edge[];
  version: string;
  /** Unix seconds. */
  timestamp: number;
  manifest?: BackupManifest | null;
  rtfs?: string | null;
}

/** Options of `createBackup`. */
export interface CreateBackupOptions extends StoreCallOptions {
  /** The manifest to embed (default `{ created_by: "archive-storage", source: null, note: null }`); `null` for none. */
  manifest?: BackupManifest | null;
  /** Embed the RTFS snapshot (default true). */
  rtfs?: boolean;
  /** Clock in unix milliseconds (default `Date.now`); injectable for tests. */
  now?: () => number;
}

/** Options of the readers (`validateBackupData`, `parseBackup`, `restoreBackup`). */
export interface ReadBackupOptions extends ValidationLimits {
  /** Compare the `rtfs` snapshot with the JSON and warn on disagreement (default true). */
  checkRtfs?: boolean;
  /** Longest backup text accepted, in characters (default `DEFAULT_MAX_BACKUP_TEXT_LENGTH`). */
  maxTextLength?: number;
}

/** Options of `restoreBackup`. */
export interface RestoreOptions extends ReadBackupOptions, StoreCallOptions {}

/** A backup that passed validation. */
export interface ValidatedBackup {
  /** The normalised document: serde field order, missing options as `null`, unknown fields dropped. */
  data: StorageBackupData;
  /** The graph it holds. */
  graph: IntentGraph;
  warnings: GraphWarning[];
}

/** What `restoreBackup` did. */
export interface RestoreReport {
  /** The version the backup declared. */
  version: string;
  /** When the backup was made, unix seconds. */
  timestamp: number;
  manifest: BackupManifest | null;
  intents: number;
  edges: number;
  warnings: GraphWarning[];
}

/** Anything `restoreBackup` reads: a parsed document, JSON text, or UTF-8 bytes. */
export type BackupInput = StorageBackupData | string | Uint8Array | object;
