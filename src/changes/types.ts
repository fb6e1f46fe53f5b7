/**
 * The public shape of change events (docs/changes.md).
 *
 * @module
 */
import type { JsonValue } from '../json/canonical.js';

/** What every change carries. */
interface ChangeBase {
  /** Resume after this change: `archive.changes({ since: position })`. Opaque. */
  position: string;
  /** True when this archive handle (or a references handle on it) made the change. */
  local: boolean;
}

/** An object was stored. */
export interface PutChange extends ChangeBase {
  kind: 'put';
  hash: string;
  /** Bytes of the object. */
  size: number;
}

/** An object was deleted. */
export interface DeleteChange extends ChangeBase {
  kind: 'delete';
  hash: string;
}

/** A reference now points at `hash` (version `seq` of `name`). */
export interface RefSetChange extends ChangeBase {
  kind: 'ref-set';
  name: string;
  hash: string;
  seq: number;
  /** Unix ms of the version, by its writer's clock. */
  time: number;
  meta?: JsonValue;
}

/** A reference was deleted (version `seq` of `name` is the deletion). */
export interface RefDeleteChange extends ChangeBase {
  kind: 'ref-delete';
  name: string;
  seq: number;
  time: number;
}

/** One change to the archive or to its references. */
export type ArchiveChange = PutChange | DeleteChange | RefSetChange | RefDeleteChange;

/** A change segment (or a reference document it pointed at) that a reader skipped. */
export interface DamagedChange {
  /** The key skipped: `changes/…`, `journal/…` or `refs/<name>.json`. */
  key: string;
  /** Lines skipped (damaged, torn or unknown); 0 when the whole key was unreadable. */
  lines: number;
  reason: string;
}

/** Options of `archive.changes()`. */
export interface ChangesOptions {
  /** A position from an earlier change, or `'now'` (the default): only what happens from now on. */
  since?: string;
  /** Ends the iteration (the loop returns; no error). */
  signal?: AbortSignal;
  /**
   * How often the log is read for changes of other processes (ms, default
   * 250, at least 10). Changes of this handle, and of other tabs through a
   * BroadcastChannel, wake the reader at once.
   */
  pollMs?: number;
  /** Told about every damaged segment or line skipped (the listener goes on). */
  onDamaged?: (damage: DamagedChange) => void;
}

/** Options of `archive.watch()`. */
export interface WatchOptions extends ChangesOptions {
  /** The error that stopped the watch (e.g. `CHANGES_TRIMMED`, a backend failure). Without it, errors are dropped. */
  onError?: (error: unknown) => void;
}
