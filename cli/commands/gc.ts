/**
 * `gc [--dry-run] [--unreferenced] [--grace DURATION]`: remove what nothing
 * keeps (docs/format.md, "Garbage collection and references").
 *
 * @module
 */
import { clearBundleStaging } from '../../src/bundle/index.js';
import { allowOnly, expectPositionals } from '../args.js';
import type { Command } from '../context.js';
import { EXIT, usageError } from '../errors.js';
import { count } from '../text.js';

/** Age after which an import's staging is taken for the leftover of a dead import. */
const STALE_STAGING_MS = 24 * 60 * 60 * 1000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--grace`: a whole number with a unit (`90s`, `30m`, `1h`, `2d`) or of milliseconds. */
export function durationOption(name: string, text: string): number {
  const m = /^(0|[1-9]\d{0,12})(ms|s|m|h|d)?$/.exec(text);
  if (!m) throw usageError(`--${name} ${JSON.stringify(text)}: expected a whole number with a unit, such as 90s, 30m, 1h or 2d (no unit: milliseconds)`, 'gc');
  return Number(m[1]) * UNITS[m[2] ?? 'ms']!;
}

export const gc: Command = async (ctx) => {
  allowOnly(ctx.args, 'gc', ['dry-run', 'unreferenced', 'grace']);
  expectPositionals(ctx.args, 'gc', 0, 0, '[--dry-run] [--unreferenced] [--grace DURATION]');
  const dryRun = Boolean(ctx.args.values['dry-run']);
  const unreferenced = Boolean(ctx.args.values.unreferenced);
  const grace = ctx.args.values.grace;
  if (grace !== undefined && !unreferenced) throw usageError('--grace goes with --unreferenced', 'gc');
  const graceMs = grace === undefined ? undefined : durationOption('grace', grace as string);
  const r = await (await ctx.archive()).gc({ signal: ctx.signal, dryRun, unreferenced, graceMs });
  if (dryRun) {
    // A dry run is opened read-only: nothing is written, the staging of dead imports included.
    if (ctx.json) ctx.out(JSON.stringify(r));
    else {
      for (const h of r.wouldDelete ?? []) ctx.out(`would delete ${h}`);
      ctx.out(`would delete: ${count(r.wouldDelete?.length ?? 0, 'object')} and ${count(r.leftovers ?? 0, 'leftover')} (${count(r.wouldFree ?? 0, 'byte')})`);
    }
    return EXIT.ok;
  }
  // Staging of bundle imports that died midway; a day old, so an import running now is never touched.
  const staging = await clearBundleStaging(await ctx.adapter(), { olderThanMs: STALE_STAGING_MS });
  if (ctx.json) ctx.out(JSON.stringify({ ...r, stagingKeysRemoved: staging }));
  else {
    ctx.out(`deleted: ${count(r.deleted, 'object')} (${count(r.bytesFreed, 'byte')})`);
    if (r.restored) ctx.out(`put back: ${count(r.restored, 'object')} a reference came to need while gc ran`);
    if (staging > 0) ctx.out(`removed ${count(staging, 'staging key')} of interrupted bundle imports`);
  }
  return EXIT.ok;
};
