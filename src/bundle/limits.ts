/**
 * The limits a bundle must stay within on import, and their defaults.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js';

/** Limits a bundle must stay within; anything beyond is refused as a whole. */
export interface BundleLimits {
  /** Most ZIP entries (objects + manifest + index + extras). Default 1,000,000. */
  maxEntries: number;
  /** Largest single object, bytes. Default 16 MiB. */
  maxObjectBytes: number;
  /** Largest sum of all uncompressed entries, bytes. Default 8 GiB. */
  maxTotalBytes: number;
  /** Largest `manifest.json` or `index.json`, bytes. Default 256 MiB (over a million objects). */
  maxManifestBytes: number;
  /** Largest extra (intent-graph backup or RTFS), bytes. Default 256 MiB. */
  maxExtraBytes: number;
  /**
   * Largest ratio of uncompressed to compressed size for an entry above 1 MiB
   * (smaller entries cannot blow up far). Default 200: JSON deflates 2-20x,
   * zip bombs 1000x. Checked on the header and again while inflating.
   */
  maxCompressionRatio: number;
}

/** The defaults of {@link BundleLimits}. */
export const DEFAULT_BUNDLE_LIMITS: Readonly<BundleLimits> = Object.freeze({
  maxEntries: 1_000_000,
  maxObjectBytes: 16 * 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024 * 1024,
  maxManifestBytes: 256 * 1024 * 1024,
  maxExtraBytes: 256 * 1024 * 1024,
  maxCompressionRatio: 200,
});

/** The defaults with `partial` applied; `INVALID_ARGUMENT` for a limit that is not a positive number (an integer, but for the ratio). */
export function resolveLimits(partial: Partial<BundleLimits> | undefined): BundleLimits {
  const limits = { ...DEFAULT_BUNDLE_LIMITS };
  if (partial === undefined) return limits;
  if (partial === null || typeof partial !== 'object') throw new InvalidArgumentError('bundle limits must be an object');
  for (const key of Object.keys(DEFAULT_BUNDLE_LIMITS) as (keyof BundleLimits)[]) {
    const v = partial[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0) || (key !== 'maxCompressionRatio' && !Number.isSafeInteger(v))) {
      throw new InvalidArgumentError(`bundle limit ${key} must be a positive ${key === 'maxCompressionRatio' ? 'number' : 'integer'}, got ${String(v)}`);
    }
    limits[key] = v;
  }
  return limits;
}
