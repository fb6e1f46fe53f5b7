/** The "Backup" and "Portable bundle" panels: files out of the tab and back in. */
import { downloadBackup } from '../src/intent-graph/index.js';
import { exportBundleToBlob, importBundle, type BundleProgress } from '../src/bundle/index.js';
import { downloadBlob } from '../src/index.js';
import type { Session } from './backends.js';
import { h, showInfo, showOk } from './dom.js';
import { describeError, formatBytes, timestampedName } from './format.js';
import { refreshGraph } from './graph-panel.js';
import { refreshObjects } from './objects-panel.js';
import { isAbort, setProgress, withTask } from './tasks.js';
import { tasks, ui } from './ui.js';

/** What a file looks like from its first bytes, to say what it is when it is put in the wrong picker. */
type FileKind = 'zip' | 'json' | 'other';

function sniff(bytes: Uint8Array): FileKind {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 0x03 || bytes[2] === 0x05) && (bytes[3] === 0x04 || bytes[3] === 0x06)) return 'zip';
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x7b ? 'json' : 'other';
}

/** The SDK's refusal, kept with its code, with a plain sentence first saying what the file is and where it goes. */
class WrongPickerError extends Error {
  readonly code: string;
  constructor(cause: unknown, what: string) {
    const { code, message } = describeError(cause);
    super(`${what} (${message})`, { cause });
    this.name = code;
    this.code = code;
  }
}

export async function downloadGraphBackup(s: Session): Promise<void> {
  const data = await s.graph.backup({ manifest: { created_by: 'archive-storage-demo', source: location.origin, note: null } });
  downloadBackup(data);
  showOk(ui.backupResult, `Downloaded a v${data.version} backup with ${Object.keys(data.intents).length} intents and ${data.edges.length} edges.`);
}

export async function restoreGraphBackup(s: Session, file: File): Promise<void> {
  showInfo(ui.backupResult, `Reading ${file.name}…`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  let report;
  try {
    report = await s.graph.restore(bytes);
  } catch (e) {
    if (sniff(bytes) === 'zip') throw new WrongPickerError(e, `${file.name} is a portable bundle (.zip), not a backup: use “Import bundle” below. The graph is unchanged`);
    throw e;
  }
  await refreshGraph(s);
  await refreshObjects(s);
  const made = new Date(report.timestamp * 1000).toLocaleString();
  showInfo(
    ui.backupResult,
    h('span', { class: 'ok' }, `Restored ${report.intents} intents and ${report.edges} edges from ${file.name} (version ${report.version}, made ${made}${report.manifest ? ` by ${report.manifest.created_by}` : ''}).`),
    report.warnings.length > 0 &&
      h('ul', { class: 'warnings' }, ...report.warnings.map((w) => h('li', {}, h('span', { class: 'code-tag' }, w.code), `: ${w.message}`))),
  );
}

function showBundleProgress(p: BundleProgress): void {
  setProgress(ui.bundleProgress, p);
  ui.bundleResult.textContent = `${p.phase}: ${p.done}${p.total !== undefined ? ` of ${p.total}` : ''}${p.bytes !== undefined ? ` · ${formatBytes(p.bytes)}` : ''}`;
}

export async function exportGraphBundle(s: Session): Promise<void> {
  // Carry the intent graph along (as the CLI does) so an import elsewhere can bring it back.
  const backup = await s.graph.backup({ manifest: { created_by: 'archive-storage-demo', source: location.origin, note: null } });
  const hasGraph = Object.keys(backup.intents).length > 0 || backup.edges.length > 0;
  let blob: Blob;
  try {
    blob = await withTask(tasks.bundle, (signal) =>
      exportBundleToBlob(s.archive, {
        signal,
        onProgress: showBundleProgress,
        producer: 'archive-storage-demo',
        ...(hasGraph ? { extras: { backup, ...(backup.rtfs ? { rtfs: backup.rtfs } : {}) } } : {}),
      }),
    );
  } catch (e) {
    if (!isAbort(e)) throw e;
    showInfo(ui.bundleResult, 'Export cancelled: nothing was downloaded.');
    return;
  }
  const stats = await s.archive.stats();
  downloadBlob(blob, timestampedName('archive-bundle', 'zip'));
  showOk(ui.bundleResult, `Exported ${stats.count} objects into a ${formatBytes(blob.size)} bundle${hasGraph ? ', with the intent graph' : ''}.`);
}

export async function importGraphBundle(s: Session, file: File): Promise<void> {
  let report;
  try {
    report = await withTask(tasks.bundle, (signal) => importBundle(s.archive, file, { signal, onProgress: showBundleProgress }));
  } catch (e) {
    if (isAbort(e)) {
      await refreshObjects(s);
      showInfo(ui.bundleResult, `Import of ${file.name} cancelled: nothing was added (an import is all or nothing).`);
      return;
    }
    const head = new Uint8Array(await file.slice(0, 64).arrayBuffer());
    if (sniff(head) === 'json') {
      throw new WrongPickerError(e, `${file.name} is a JSON file, not a bundle — if it is a backup (StorageBackupData), use “Restore backup” above. Nothing was imported`);
    }
    throw e;
  }
  // The bundle's graph is restored only into an empty graph: never overwrite one silently.
  // The objects are committed by now; a graph that fails to restore is reported next to that, not instead of it.
  let graphNote = '';
  const backup = report.extras.backup;
  if (backup !== undefined) {
    const current = await s.graph.snapshot();
    if (Object.keys(current.intents).length > 0 || current.edges.length > 0) {
      graphNote = ' The bundle carries an intent graph, but this one is not empty: kept the current graph.';
    } else if (typeof backup !== 'object' || backup === null || Array.isArray(backup)) {
      graphNote = ' The bundle carries an intent-graph backup that is not a JSON object: not restored.';
    } else {
      try {
        const r = await s.graph.restore(backup);
        graphNote = ` Intent graph restored from the bundle (${r.intents} intents, ${r.edges} edges).`;
      } catch (e) {
        const { code, message } = describeError(e);
        graphNote = ` Its intent graph was not restored: ${code}: ${message}`;
      }
    }
  }
  await refreshGraph(s);
  await refreshObjects(s);
  showOk(
    ui.bundleResult,
    `Imported ${file.name}: ${report.objects} objects, `,
    h('span', { id: 'bundle-added' }, String(report.added)),
    ' added, ',
    h('span', { id: 'bundle-present' }, String(report.present)),
    ` already present.${graphNote}`,
  );
}
