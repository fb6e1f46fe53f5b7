/**
 * `watch [SINCE]`: one line per change to the store's objects and references
 * (docs/changes.md), until interrupted (SIGINT/SIGTERM: exit 0). Each line ends
 * with the change's position, so a later `watch POSITION` resumes after it.
 *
 * @module
 */
import type { ArchiveChange } from '../../src/changes/types.js';
import { allowOnly, expectPositionals } from '../args.js';
import type { CliContext, Command } from '../context.js';
import { EXIT } from '../errors.js';

/** Tab-separated: kind, name, hash, seq ('-' where a change has none), position. */
function line(c: ArchiveChange): string {
  const name = c.kind === 'ref-set' || c.kind === 'ref-delete' ? c.name : '-';
  const hash = c.kind === 'ref-delete' ? '-' : c.hash;
  const seq = c.kind === 'ref-set' || c.kind === 'ref-delete' ? String(c.seq) : '-';
  return [c.kind, name, hash, seq, c.position].join('\t');
}

export const watch: Command = async (ctx: CliContext) => {
  allowOnly(ctx.args, 'watch', ['since' as never]);
  const [positional] = expectPositionals(ctx.args, 'watch', 0, 1, '[SINCE]');
  const since = (ctx.args.values as { since?: string }).since ?? positional ?? 'now';
  const archive = await ctx.archive();
  const changes = archive.changes({
    since,
    signal: ctx.signal,
    onDamaged: (d) => ctx.info(`archive-storage: skipped ${d.key}: ${d.reason}`),
  });
  ctx.info(since === 'now' ? 'watching for changes (Ctrl-C to stop)' : `watching for changes after ${since} (Ctrl-C to stop)`);
  for await (const c of changes) ctx.out(ctx.json ? JSON.stringify(c) : line(c));
  return EXIT.ok;
};
