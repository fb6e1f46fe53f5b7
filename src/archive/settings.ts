/**
 * `openArchive`'s options, checked and resolved once into the settings every
 * part of an archive handle reads (index, commit queue, maintenance).
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { InvalidArgumentError } from '../errors.js';
import type { OpenArchiveOptions } from './types.js';

/** What an archive handle runs with: the adapter and every option, defaults applied. */
export interface ArchiveSettings {
  readonly adapter: StorageAdapter;
  /** Clock for stored times and segment names (unix ms). */
  readonly now: () => number;
  readonly autoRepair: boolean;
  readonly compactAfter: number;
  readonly graceMs: number;
  readonly lockTimeoutMs: number;
  readonly concurrency: number;
  /** How long folded segments stay in the change log (0: not kept). */
  readonly changeRetentionMs: number;
}

const DEFAULTS = {
  compactAfter: 1024,
  pendingGraceMs: 60_000,
  lockTimeoutMs: 30_000,
  concurrency: 16,
  changeRetentionMs: 3_600_000,
};

/** Refuses what cannot be an adapter or a numeric option, before anything touches storage. */
export function checkOpenArguments(adapter: StorageAdapter, options: OpenArchiveOptions): void {
  if (!adapter || typeof adapter.read !== 'function' || typeof adapter.list !== 'function') {
    throw new InvalidArgumentError('openArchive needs a StorageAdapter (e.g. memoryAdapter() or nodeFsAdapter({ dir }))');
  }
  for (const k of ['compactAfter', 'pendingGraceMs', 'lockTimeoutMs', 'concurrency', 'changeRetentionMs'] as const) {
    const v = options[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= (k === 'pendingGraceMs' || k === 'changeRetentionMs' ? 0 : 1))) {
      throw new InvalidArgumentError(`openArchive option ${k} must be a positive number, got ${String(v)}`);
    }
  }
}

/** The settings of a handle opened on `adapter` with (already checked) `options`. */
export function resolveSettings(adapter: StorageAdapter, options: OpenArchiveOptions): ArchiveSettings {
  return {
    adapter,
    now: options.now ?? Date.now,
    autoRepair: options.autoRepairIndex ?? true,
    compactAfter: options.compactAfter ?? DEFAULTS.compactAfter,
    graceMs: options.pendingGraceMs ?? DEFAULTS.pendingGraceMs,
    lockTimeoutMs: options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
    concurrency: Math.floor(options.concurrency ?? DEFAULTS.concurrency),
    changeRetentionMs: options.changeRetentionMs ?? DEFAULTS.changeRetentionMs,
  };
}
