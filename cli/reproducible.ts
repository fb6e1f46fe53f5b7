/**
 * Pinned times for reproducible output: `--created-at <ISO time>`, else
 * `$SOURCE_DATE_EPOCH` (unix seconds, the reproducible-builds convention,
 * https://reproducible-builds.org/specs/source-date-epoch/), else none (now).
 *
 * @module
 */
import type { CliContext } from './context.js';
import { usageError } from './errors.js';

/** Latest time a bundle's createdAt can hold (9999-12-31T23:59:59.999Z). */
const MAX_MS = 253_402_300_799_999;

/** An ISO 8601 date-time with a zone: `2026-01-02T03:04:05Z`, `...05.123+02:00`. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** The pinned time in unix milliseconds, or undefined when neither `--created-at` nor `$SOURCE_DATE_EPOCH` is given. */
export function pinnedTime(ctx: Pick<CliContext, 'args' | 'env'>): number | undefined {
  const option = ctx.args.values['created-at'];
  if (typeof option === 'string') {
    const ms = ISO_TIME.test(option) ? Date.parse(option) : NaN;
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MS) {
      throw usageError(`--created-at ${JSON.stringify(option)}: expected an ISO time with a zone between 1970 and 9999, e.g. 2026-01-02T03:04:05Z`);
    }
    return ms;
  }
  const epoch = ctx.env.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === '') return undefined;
  const seconds = /^\d{1,15}$/.test(epoch) ? Number(epoch) : NaN;
  if (!(seconds * 1000 <= MAX_MS)) {
    throw usageError(`SOURCE_DATE_EPOCH=${JSON.stringify(epoch)}: expected unix seconds (digits only, as date +%s prints), up to the year 9999`);
  }
  return seconds * 1000;
}
