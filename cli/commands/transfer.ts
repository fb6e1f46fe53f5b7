/**
 * Moving a whole archive: export / import of the portable bundle, and sync to
 * another store. References travel too (docs/format.md, "Bundle v2"): a
 * reference the target holds on another history is a conflict, listed one
 * line per name (`conflict <name> here <seq>:<hash> incoming <seq>:<hash>`);
 * import then refuses the whole bundle (CONFLICT), sync moves nothing for
 * that name and exits 1.
 *
 * @module
 */
import { exportBundleToFile, importBundleFromFile, verifyBundleFile } from '../../node/bundle-file.js';
import { syncArchive } from '../../src/archive/sync.js';
import { referenceDocuments } from '../../src/refs/scan.js';
import { ReferenceTransferConflictError, type ReferenceState, type ReferenceTransferConflict } from '../../src/refs/transfer.js';
import { createBackup } from '../../src/intent-graph/document.js';
import { DEFAULT_INTENT_GRAPH_BASE } from '../../src/intent-graph/graph-names.js';
import { allowOnly, expectPositionals } from '../args.js';
import type { Command } from '../context.js';
import { EXIT, usageError } from '../errors.js';
import { checkReadableFile } from '../io.js';
import { pinnedTime } from '../reproducible.js';
import { count } from '../text.js';
import { intentStore, printWarnings } from './graph.js';

const stateText = (s: ReferenceState) => `${s.seq}:${s.hash ?? 'deleted'}`;
/** One line per conflicting name: what this store holds, what came in. */
const conflictLine = (c: ReferenceTransferConflict) => `conflict ${c.name} here ${stateText(c.target)} incoming ${stateText(c.incoming)}`;

export const exportCommand: Command = async (ctx) => {
  allowOnly(ctx.args, 'export', ['created-at']);
  const [out] = expectPositionals(ctx.args, 'export', 1, 1, 'OUT.zip [--created-at T]');
  // Pinned, the bundle depends on the store's content only: the same bytes every time.
  const pinned = pinnedTime(ctx);
  const archive = await ctx.archive();
  // Carry the intent graph along when there is one, so that import can bring it back.
  const graph = await intentStore(ctx);
  const data = await createBackup(graph, { signal: ctx.signal, ...(pinned !== undefined ? { now: () => pinned } : {}) });
  const extras = Object.keys(data.intents).length || data.edges.length ? { backup: data, ...(data.rtfs ? { rtfs: data.rtfs } : {}) } : undefined;
  const bar = ctx.progress('export');
  const bytes = await exportBundleToFile(archive, out!, {
    signal: ctx.signal,
    onProgress: (p) => bar.update(p),
    ...(extras ? { extras } : {}),
    ...(pinned !== undefined ? { createdAt: pinned } : {}),
  });
  bar.done();
  const stats = await archive.stats({ signal: ctx.signal });
  let refs = 0; // reference documents (deleted references too): what the bundle carries
  for await (const _ of referenceDocuments(archive.adapter, { signal: ctx.signal })) refs++;
  if (ctx.json) ctx.out(JSON.stringify({ file: out, bytes, objects: stats.count, references: refs, intentGraph: Boolean(extras) }));
  else ctx.info(`exported ${count(stats.count, 'object')}${refs ? ` and ${count(refs, 'reference')}` : ''} (${count(bytes, 'byte')}) to ${out}`);
  return EXIT.ok;
};

export const importCommand: Command = async (ctx) => {
  allowOnly(ctx.args, 'import', ['skip-conflicts']);
  const [file] = expectPositionals(ctx.args, 'import', 1, 1, 'IN.zip [--skip-conflicts]');
  const references = ctx.args.values['skip-conflicts'] ? 'skip-conflicts' : 'fail';
  await checkReadableFile(file!);
  // Into a store that does not exist yet, verify the whole bundle first, so that a refused one creates no store.
  if (!(await ctx.storeExists())) {
    const check = ctx.progress('verify');
    await verifyBundleFile(file!, { signal: ctx.signal, onProgress: (p) => check.update(p) });
    check.done();
  }
  const archive = await ctx.archive();
  // Whether the store has an intent graph is decided before the import: the bundle's references may bring the graph's.
  const store = await intentStore(ctx);
  const before = await store.snapshot({ signal: ctx.signal });
  const hadGraph = Object.keys(before.intents).length > 0 || before.edges.length > 0;
  const bar = ctx.progress('import');
  let report: Awaited<ReturnType<typeof importBundleFromFile>>;
  try {
    // A store with a graph of its own keeps it whole: the bundle's graph references are left out, not merged name by name.
    const keepReferences = hadGraph ? (name: string) => name.startsWith(`${DEFAULT_INTENT_GRAPH_BASE}/`) : undefined;
    report = await importBundleFromFile(archive, file!, { signal: ctx.signal, references, keepReferences, onProgress: (p) => bar.update(p) });
  } catch (e) {
    // Every conflicting name on stdout (the error line on stderr says what was refused and why).
    if (e instanceof ReferenceTransferConflictError) {
      bar.done();
      for (const c of e.conflicts) ctx.out(ctx.json ? JSON.stringify({ conflict: c }) : conflictLine(c));
    }
    throw e;
  }
  bar.done();
  // The bundle's intent graph is restored only into a store that has none: never overwrite a graph silently.
  let graph: 'restored' | 'kept-existing' | 'none' = 'none';
  if (report.extras.backup !== undefined) {
    if (!hadGraph) {
      // A bundle of this release brings the graph as references (one per intent, the edges'); an older one as the backup only.
      const now = await store.snapshot({ signal: ctx.signal });
      if (Object.keys(now.intents).length === 0 && now.edges.length === 0) {
        const r = await store.restore(report.extras.backup as never, { signal: ctx.signal });
        printWarnings(ctx, r.warnings);
      }
      graph = 'restored';
    } else {
      graph = 'kept-existing';
      ctx.info('archive-storage: note: the bundle carries an intent graph, but this store already has one; kept the existing graph');
    }
  }
  const summary = { objects: report.objects, added: report.added, present: report.present, bytes: report.bytes, references: report.references, intentGraph: graph };
  const r = report.references;
  const moved = r.created + r.advanced;
  if (ctx.json) ctx.out(JSON.stringify(summary));
  else {
    ctx.info(
      `imported ${count(report.added, 'new object')} (${report.present} already present)` +
        `${moved || r.unchanged || r.behind ? `, ${count(moved, 'reference')} (${r.created} new, ${r.advanced} advanced, ${r.unchanged + r.behind} kept)` : ''}` +
        ` from ${file}${graph === 'restored' ? '; intent graph restored' : ''}`,
    );
    for (const c of r.conflicts) ctx.out(conflictLine(c));
  }
  return EXIT.ok;
};

export const sync: Command = async (ctx) => {
  allowOnly(ctx.args, 'sync', ['to']);
  expectPositionals(ctx.args, 'sync', 0, 0, '--to <spec>');
  const target = ctx.args.values.to as string | undefined;
  if (!target) throw usageError('sync needs --to <spec>');
  const from = await ctx.archive();
  const { archive: to } = await ctx.openSpec(target);
  const bar = ctx.progress('sync');
  const report = await syncArchive(from, to, { signal: ctx.signal, onProgress: (p) => bar.update(p) });
  bar.done();
  if (ctx.json) ctx.out(JSON.stringify(report));
  else {
    const r = report.references;
    ctx.info(
      `copied ${count(report.copied, 'object')} (${count(report.bytes, 'byte')}), ${report.skipped} already there; ` +
        `references: ${r.created} new, ${r.advanced} advanced, ${r.unchanged + r.behind} kept, ${r.conflicts.length} in conflict`,
    );
    for (const h of report.corrupt) ctx.out(`corrupt: ${h}`);
    for (const h of report.missing) ctx.out(`missing: ${h}`);
    for (const c of r.conflicts) ctx.out(conflictLine(c));
    for (const name of r.missing) ctx.out(`missing reference: ${name}`);
  }
  return report.ok ? EXIT.ok : EXIT.damage;
};
