/** The "Backup" and "Portable bundle" panels: files out of the tab and back in. */
import { downloadBackup } from '../src/intent-graph/index.js';
import { exportBundleToBlob, importBundle, type BundleProgress } from '../src/bundle/index.js';
import { downloadBlob } from '../src/index.js';
import type { Session } from './backends.js';
import { h, showInfo, showOk } from './dom.js';
import { describeError, formatBytes, timestampedName } from './format.js';
import { refreshGraph } from './graph-panel.js';
import { refreshObjects } from './objects-panel.js';
import { setProgress, ui } from './ui.js';

export async function downloadGraphBackup(s: Session): Promise<void> {
  const data = await s.graph.backup({ manifest: { created_by: 'archive-storage-demo', source: location.origin, note: null } });
  downloadBackup(data);
  showOk(ui.backupResult, `Downloaded a v${data.version} backup with ${Object.keys(data.intents).length} intents and ${data.edges.length} edges.`);
}

export async function restoreGraphBackup(s: Session, file: File): Promise<void> {
  showInfo(ui.backupResult, `Reading ${file.name}…`);
  const report = await s.graph.restore(new Uint8Array(await file.arrayBuffer()));
  const made = new Date(report.timestamp * 1000).toLocaleString();
  showInfo(
    ui.backupResult,
    h('span', { class: 'ok' }, `Restored ${report.intents} intents and ${report.edges} edges from ${file.name} (version ${report.version}, made ${made}${report.manifest ? ` by ${report.manifest.created_by}` : ''}).`),
    report.warnings.length > 0 &&
      h('ul', { class: 'warnings' }, ...report.warnings.map((w) => h('li', {}, h('span', { class: 'code-tag' }, w.code), `: ${w.message}`))),
  );
  await refreshGraph(s);
  await refreshObjects(s);
}

function showBundleProgress(p: BundleProgress): void {
  setProgress(ui.bundleProgress, p);
  ui.bundleResult.textContent = `${p.phase}: ${p.done}${p.total !== undefined ? ` of ${p.total}` : ''}${p.bytes !== undefined ? ` · ${formatBytes(p.bytes)}` : ''}`;
}

export async function exportGraphBundle(s: Session): Promise<void> {
  // Carry the intent graph along (as the CLI does) so an import elsewhere can bring it back.
  const backup = await s.graph.backup({ manifest: { created_by: 'archive-storage-demo', source: location.origin, note: null } });
  const hasGraph = Object.keys(backup.intents).length > 0 || backup.edges.length > 0;
  try {
    const blob = await exportBundleToBlob(s.archive, {
      onProgress: showBundleProgress,
      producer: 'archive-storage-demo',
      ...(hasGraph ? { extras: { backup, ...(backup.rtfs ? { rtfs: backup.rtfs } : {}) } } : {}),
    });
    const stats = await s.archive.stats();
    downloadBlob(blob, timestampedName('archive-bundle', 'zip'));
    showOk(ui.bundleResult, `Exported ${stats.count} objects into a ${formatBytes(blob.size)} bundle${hasGraph ? ', with the intent graph' : ''}.`);
  } finally {
    setProgress(ui.bundleProgress, undefined);
  }
}

export async function importGraphBundle(s: Session, file: File): Promise<void> {
  let report;
  try {
    report = await importBundle(s.archive, file, { onProgress: showBundleProgress });
  } finally {
    setProgress(ui.bundleProgress, undefined);
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
  showOk(
    ui.bundleResult,
    `Imported ${file.name}: ${report.objects} objects, `,
    h('span', { id: 'bundle-added' }, String(report.added)),
    ' added, ',
    h('span', { id: 'bundle-present' }, String(report.present)),
    ` already present.${graphNote}`,
  );
  await refreshGraph(s);
  await refreshObjects(s);
}
