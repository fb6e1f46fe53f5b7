/** The "Store a JSON value" and "Stored objects" panels, and the status line above them. */
import { canonicalBytes, parseJson, sha256Hex } from '../src/index.js';
import { BACKEND_LABELS, type Session } from './backends.js';
import { h, showInfo, showOk } from './dom.js';
import { formatBytes } from './format.js';
import { setProgress, ui } from './ui.js';

/** Hashes listed at most (the stats line still counts every object). */
const MAX_LISTED = 500;

async function refreshStatus(s: Session): Promise<void> {
  const stats = await s.archive.stats();
  const parts = [`${BACKEND_LABELS[s.kind].replace(/ \(.*\)$/, '')}`, `${stats.count} objects`, formatBytes(stats.bytes)];
  if (s.adapter.estimate) {
    const est = await s.adapter.estimate().catch(() => undefined);
    if (est?.usage !== undefined && est.quota !== undefined) parts.push(`origin uses ${formatBytes(est.usage)} of ${formatBytes(est.quota)}`);
  }
  ui.appStatus.textContent = `Ready · ${parts.join(' · ')}`;
}

// ---------------------------------------------------------------- objects

export async function refreshObjects(s: Session): Promise<void> {
  const stats = await s.archive.stats();
  ui.stats.textContent =
    stats.count === 0
      ? 'The archive is empty.'
      : `${stats.count} objects, ${formatBytes(stats.bytes)}` +
        (stats.newest !== undefined ? ` · newest stored ${new Date(stats.newest).toLocaleString()}` : '');
  const entries = [];
  for await (const entry of s.archive.entries()) entries.push(entry);
  entries.sort((a, b) => b.storedAt - a.storedAt || (a.hash < b.hash ? -1 : 1));
  const usedByGraph = new Set(s.graph.referencedHashes());
  const items = entries.slice(0, MAX_LISTED).map((entry) =>
    h(
      'li',
      { 'data-hash': entry.hash },
      h('button', { type: 'button', class: 'link', 'data-hash': entry.hash, 'aria-pressed': 'false' }, entry.hash),
      h('span', { class: 'meta' }, usedByGraph.has(entry.hash) && h('span', { class: 'tag' }, 'graph'), h('span', { class: 'size' }, formatBytes(entry.size))),
    ),
  );
  if (entries.length > MAX_LISTED) items.push(h('li', { class: 'empty' }, `… and ${entries.length - MAX_LISTED} more`));
  if (items.length === 0) items.push(h('li', { class: 'empty' }, 'No objects yet.'));
  ui.hashList.replaceChildren(...items);
  await refreshStatus(s);
}

export async function showValue(s: Session, hash: string): Promise<void> {
  for (const b of ui.hashList.querySelectorAll('button[data-hash]')) b.setAttribute('aria-pressed', String(b.getAttribute('data-hash') === hash));
  ui.valueView.textContent = `Reading ${hash}…`;
  try {
    const value = await s.archive.get(hash);
    ui.valueView.textContent = JSON.stringify(value, null, 2);
  } catch (e) {
    ui.valueView.textContent = '';
    throw e;
  }
}

export async function putValue(s: Session): Promise<void> {
  const value = parseJson(ui.putInput.value);
  const bytes = canonicalBytes(value);
  const existed = await s.archive.has(sha256Hex(bytes));
  const hash = await s.archive.put(value);
  showOk(
    ui.putResult,
    existed ? 'Already stored as ' : 'Stored as ',
    h('code', { id: 'put-hash' }, hash),
    ` (${formatBytes(bytes.length)} of canonical JSON)`,
  );
  await refreshObjects(s);
}

export async function verify(s: Session): Promise<void> {
  const repair = ui.verifyRepair.checked;
  showInfo(ui.verifyResult, 'Verifying…');
  setProgress(ui.verifyProgress, { done: 0 });
  try {
    const report = await s.archive.verify({
      repair,
      onProgress: (p) => {
        setProgress(ui.verifyProgress, p);
        ui.verifyResult.textContent = `Verifying… ${p.done}${p.total !== undefined ? ` of ${p.total}` : ''} objects checked`;
      },
    });
    const problems: [string, string[]][] = [
      ['corrupt', report.corrupt],
      ['missing', report.missing],
      ['orphaned', report.orphaned],
    ];
    if (report.ok) {
      showOk(ui.verifyResult, `Verified ${report.checked} objects: every one hashes to its address.`);
    } else {
      showInfo(
        ui.verifyResult,
        h('span', { class: 'error' }, `Checked ${report.checked} objects and found problems${report.repaired ? ' (repaired)' : ''}:`),
        h('ul', {}, ...problems.filter(([, list]) => list.length > 0).map(([what, list]) => h('li', {}, `${list.length} ${what}: ${list.slice(0, 5).join(', ')}${list.length > 5 ? ' …' : ''}`))),
      );
    }
    await refreshObjects(s);
  } finally {
    setProgress(ui.verifyProgress, undefined);
  }
}
