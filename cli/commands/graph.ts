/**
 * The intent graph kept in the store: opening it, and backup/restore of the
 * whole graph. The `intents` and `edges` commands are in their own modules.
 *
 * @module
 */
import { writeFileAtomic } from '../../adapters/node-fs/index.js';
import { backupToBytes, createBackup, parseBackup } from '../../src/intent-graph/document.js';
import { openArchiveIntentStore, type ArchiveIntentStore } from '../../src/intent-graph/archive-store.js';
import { allowOnly, expectPositionals } from '../args.js';
import type { CliContext, Command } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { readInput } from '../io.js';
import { pinnedTime } from '../reproducible.js';
import { count } from '../text.js';

/** The store's intent graph (archive-backed, under the archive's default index key). */
export async function intentStore(ctx: CliContext): Promise<ArchiveIntentStore> {
  const store = await openArchiveIntentStore({ archive: await ctx.archive(), signal: ctx.signal });
  ctx.onClose(() => store.close());
  return store;
}

/** Writes `bytes` to `path` atomically; a failure is OUTPUT_UNWRITABLE naming the path. */
export async function writeOutput(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    throw new CliError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${(e as Error).message}`, EXIT.backend, { cause: e });
  }
}

/** Prints the warnings of a restore on stderr. */
export function printWarnings(ctx: CliContext, warnings: readonly { code: string; message: string }[]): void {
  for (const w of warnings) ctx.info(`archive-storage: warning: ${w.code}: ${w.message}`);
}

export const backup: Command = async (ctx) => {
  allowOnly(ctx.args, 'backup', ['note']);
  const [out] = expectPositionals(ctx.args, 'backup', 1, 1, 'OUT.json [--note TEXT]');
  const pinned = pinnedTime(ctx);
  const store = await intentStore(ctx);
  const note = ctx.args.values.note as string | undefined;
  const data = await createBackup(store, {
    signal: ctx.signal,
    manifest: { created_by: 'archive-storage', source: 'archive-storage cli', note: note ?? null },
    ...(pinned !== undefined ? { now: () => pinned } : {}),
  });
  await writeOutput(out!, backupToBytes(data));
  const summary = { file: out, intents: Object.keys(data.intents).length, edges: data.edges.length, timestamp: data.timestamp };
  if (ctx.json) ctx.out(JSON.stringify(summary));
  else ctx.info(`backed up ${count(summary.intents, 'intent')} and ${count(summary.edges, 'edge')} to ${out}`);
  return EXIT.ok;
};

export const restore: Command = async (ctx) => {
  allowOnly(ctx.args, 'restore', []);
  const [file] = expectPositionals(ctx.args, 'restore', 1, 1, 'IN.json');
  const bytes = await readInput(file, ctx.stdin);
  // Checked before the store is opened, so that a refused backup creates no store.
  parseBackup(bytes);
  const store = await intentStore(ctx);
  const report = await store.restore(bytes, { signal: ctx.signal });
  printWarnings(ctx, report.warnings);
  if (ctx.json) ctx.out(JSON.stringify(report));
  else ctx.info(`restored ${count(report.intents, 'intent')} and ${count(report.edges, 'edge')} (backup version ${report.version})`);
  return EXIT.ok;
};
