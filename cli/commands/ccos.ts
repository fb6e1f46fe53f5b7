/**
 * CCOS's own directories (see docs/ccos.md): `import-ccos DIR` copies a CCOS
 * FileArchive or FileArchiveStorage into the store, `export-ccos DIR` writes
 * the store's intent graph as a FileArchiveStorage that CCOS opens with its
 * own code.
 *
 * @module
 */
import { constants } from 'node:fs';
import { access, lstat, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { nodeFsAdapter } from '../../adapters/node-fs/index.js';
import type { StorageAdapter } from '../../src/adapter/contract.js';
import type { ContentArchive } from '../../src/archive/types.js';
import { detectForeignLayout, exportCcosArchive, importCcosArchive } from '../../src/ccos/index.js';
import type { CcosImportReport, CcosProgress } from '../../src/ccos/index.js';
import { ForeignLayoutError } from '../../src/errors.js';
import { allowOnly, expectPositionals } from '../args.js';
import type { CliContext, Command } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import type { ProgressBar } from '../progress.js';
import { readOnlyView } from '../read-only.js';
import { count } from '../text.js';
import { intentStore, printWarnings, writeOutput } from './graph.js';

/**
 * Refuses (`FOREIGN_LAYOUT`, exit 3) a store that holds data this SDK did
 * not write, before opening it writes anything, saying what to run instead.
 */
export async function refuseForeignStore(adapter: StorageAdapter, spec: string, signal: AbortSignal): Promise<void> {
  const found = await detectForeignLayout(adapter, { signal });
  if (!found) return;
  const advice =
    found.layout === 'unknown-index'
      ? 'archive-storage did not write it and will not write over it: give --store the folder of your store'
      : `run \`archive-storage --store <new store> import-ccos ${spec}\` to copy it into a store (it is only read)`;
  throw new ForeignLayoutError(found.layout, found.found, `${spec} holds ${found.description}, not an archive-storage store: ${advice}; nothing was changed`);
}

/** One progress bar per phase (`import-ccos verify`, `import-ccos commit`), on stderr like every long command. */
function phasedProgress(ctx: CliContext, command: string) {
  let phase: string | undefined;
  let bar: ProgressBar | undefined;
  return {
    update(p: CcosProgress) {
      if (p.phase !== phase) {
        bar?.done();
        phase = p.phase;
        bar = ctx.progress(`${command} ${p.phase}`);
      }
      bar!.update({ done: p.done, total: p.total });
    },
    done: () => bar?.done(),
  };
}

/** What is at `dir`: a directory, a file, or nothing. */
async function kindOf(dir: string): Promise<'dir' | 'file' | 'missing'> {
  try {
    return (await stat(dir)).isDirectory() ? 'dir' : 'file';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new CliError('INPUT_UNREADABLE', `cannot read ${dir}: ${code ?? (e as Error).message}`, EXIT.badInput, { cause: e });
  }
}

/** Refuses a `--report` path whose folder cannot be written, before anything is imported. */
async function checkReportPath(file: string): Promise<void> {
  try {
    await access(dirname(resolve(file)), constants.W_OK);
  } catch (e) {
    throw new CliError('OUTPUT_UNWRITABLE', `cannot write the report ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.backend, { cause: e });
  }
}

/**
 * The store's archive and intent store, opened only when the import first
 * needs them: every CCOS file is verified before, so a refused directory
 * creates no store.
 */
function lazyTarget(ctx: CliContext) {
  let graph: ReturnType<typeof intentStore> | undefined;
  const store = () => (graph ??= intentStore(ctx));
  type Archive = Pick<ContentArchive, 'has' | 'putManyBytes' | 'delete'>;
  const archive: Archive = {
    has: async (...a: Parameters<Archive['has']>) => (await ctx.archive()).has(...a),
    putManyBytes: async (...a: Parameters<Archive['putManyBytes']>) => (await ctx.archive()).putManyBytes(...a),
    delete: async (...a: Parameters<Archive['delete']>) => (await ctx.archive()).delete(...a),
  };
  type Store = Awaited<ReturnType<typeof intentStore>>;
  return {
    // importCcosArchive calls only these three on the archive.
    archive: archive as ContentArchive,
    store: {
      snapshot: async (...a: Parameters<Store['snapshot']>) => (await store()).snapshot(...a),
      replaceAll: async (...a: Parameters<Store['replaceAll']>) => (await store()).replaceAll(...a),
    },
  };
}

function summary(report: CcosImportReport, dir: string) {
  return {
    dir,
    layout: report.layout,
    intents: report.intents,
    edges: report.edges,
    objects: report.objects.length,
    added: report.added,
    present: report.present,
    skipped: report.skipped.length,
    warnings: report.warnings.length,
  };
}

export const importCcos: Command = async (ctx) => {
  allowOnly(ctx.args, 'import-ccos', ['report', 'skip-invalid', 'replace']);
  const [dir] = expectPositionals(ctx.args, 'import-ccos', 1, 1, 'DIR [--report FILE] [--skip-invalid] [--replace]');
  const reportFile = ctx.args.values.report as string | undefined;
  const kind = await kindOf(dir!);
  if (kind !== 'dir') {
    throw new CliError('INPUT_UNREADABLE', `cannot read ${dir}: ${kind === 'missing' ? 'no such directory' : 'a file, not a CCOS directory'}`, EXIT.badInput);
  }
  if (reportFile !== undefined) await checkReportPath(reportFile);
  // Read only: no sweep, and every write (there is none) would stay in memory.
  const fs = nodeFsAdapter({ dir: dir!, sweep: false });
  ctx.onClose(async () => fs.close());
  const source = readOnlyView(fs);
  const root = resolve(dir!);
  const sizeOf = async (key: string) => (await lstat(join(root, ...key.split('/')))).size;
  const target = lazyTarget(ctx);
  const bar = phasedProgress(ctx, 'import-ccos');
  const report = await importCcosArchive(source, target.archive, target.store, {
    signal: ctx.signal,
    sizeOf,
    skipInvalid: Boolean(ctx.args.values['skip-invalid']),
    mode: ctx.args.values.replace ? 'replace' : 'merge',
    onProgress: (p) => bar.update(p),
  });
  bar.done();
  printWarnings(ctx, report.warnings);
  const full = { ...summary(report, dir!), hashes: report.hashes, objects: report.objects, skipped: report.skipped, warnings: report.warnings };
  if (reportFile !== undefined) await writeOutput(reportFile, new TextEncoder().encode(`${JSON.stringify(full, null, 2)}\n`));
  if (ctx.json) ctx.out(JSON.stringify(full));
  else {
    const s = summary(report, dir!);
    ctx.info(
      `imported ${count(s.intents, 'intent')} and ${count(s.edges, 'edge')} from ${dir} (CCOS ${s.layout}): ` +
        `${count(s.objects, 'object')}, ${s.added} new, ${s.present} already present` +
        (s.skipped ? `, ${count(s.skipped, 'refused file')} skipped` : '') +
        (reportFile !== undefined ? `; report (CCOS hash -> canonical hash) in ${reportFile}` : ''),
    );
  }
  return EXIT.ok;
};

export const exportCcos: Command = async (ctx) => {
  allowOnly(ctx.args, 'export-ccos', ['overwrite']);
  const [dir] = expectPositionals(ctx.args, 'export-ccos', 1, 1, 'DIR [--overwrite]');
  if ((await kindOf(dir!)) === 'file') throw new CliError('OUTPUT_UNWRITABLE', `cannot write to ${dir}: it is a file, not a directory`, EXIT.backend);
  const store = await intentStore(ctx);
  const target = nodeFsAdapter({ dir: dir! });
  ctx.onClose(async () => target.close());
  const bar = phasedProgress(ctx, 'export-ccos');
  const report = await exportCcosArchive(store, target, {
    signal: ctx.signal,
    overwrite: Boolean(ctx.args.values.overwrite),
    onProgress: (p) => bar.update(p),
  });
  bar.done();
  await target.close();
  // The adapter's writer marker is gone with close; its empty folder is no part of CCOS's layout (rmdir removes only an empty one).
  await rmdir(join(dir!, '#writers')).catch(() => {});
  const intents = Object.keys(report.intents).length;
  if (ctx.json) ctx.out(JSON.stringify({ dir, ...report }));
  else {
    ctx.info(
      `exported ${count(intents, 'intent')} and ${count(report.edges.length, 'edge')} to ${dir} (CCOS FileArchiveStorage): ${count(report.files, 'file')}, ${count(report.bytes, 'byte')}` +
        (report.duplicateEdges ? `; ${count(report.duplicateEdges, 'equal edge')} stored once, as CCOS does` : '') +
        (report.removed ? `; ${count(report.removed, 'old file')} removed` : ''),
    );
  }
  return EXIT.ok;
};
