/** The "Store a JSON value" and "Stored objects" panels, and the status line above them. */
import { canonicalBytes, InvalidArgumentError, parseJson, sha256Hex, type IndexEntry } from '../src/index.js';
import { validateEdge, validateIntent, type IntentGraph } from '../src/intent-graph/index.js';
import { BACKEND_LABELS, type Session } from './backends.js';
import { h, showInfo, showOk } from './dom.js';
import { formatBytes, shorten } from './format.js';
import { clearMessage, stateChanged } from './messages.js';
import { isAbort, nextTask, setProgress, withTask } from './tasks.js';
import { tasks, ui } from './ui.js';

/** Hashes shown per page of the object list. */
export const PAGE_SIZE = 100;

/** The list as last read: every index entry, newest first (hashes and numbers only, never the bytes). */
let entries: IndexEntry[] = [];
let pageStart = 0;
let selected: string | undefined;
/** What each object of the intent graph is, for the list: `intent: <goal>`, `edges (n): a → Enables → b, …` (the edge list is one object). */
let graphRoles = new Map<string, string>();

async function refreshStatus(s: Session): Promise<void> {
  const stats = await s.archive.stats();
  const parts = [`${BACKEND_LABELS[s.kind].replace(/ \(.*\)$/, '')}`, `${stats.count} objects`, formatBytes(stats.bytes)];
  if (s.adapter.estimate) {
    const est = await s.adapter.estimate().catch(() => undefined);
    if (est?.usage !== undefined && est.quota !== undefined) parts.push(`origin uses ${formatBytes(est.usage)} of ${formatBytes(est.quota)}`);
  }
  ui.appStatus.textContent = `Ready · ${parts.join(' · ')}`;
}

function rolesOf(s: Session, graph: IntentGraph): Map<string, string> {
  const roles = new Map<string, string>();
  const goal = (id: string) => graph.intents[id]?.goal ?? `${id} (missing)`;
  for (const intent of Object.values(graph.intents)) {
    const hash = s.graph.hashOf(intent.intent_id);
    if (hash) roles.set(hash, `intent: ${shorten(intent.goal, 60)}`);
  }
  // The edge list is one object (docs/format.md, "Intent graph on references v2"): named by its first edge.
  const first = graph.edges[0];
  if (first) {
    const more = graph.edges.length > 1 ? ', …' : '';
    roles.set(sha256Hex(canonicalBytes(graph.edges)), `edges (${graph.edges.length}): ${shorten(goal(first.from), 25)} → ${first.edge_type} → ${shorten(goal(first.to), 25)}${more}`);
  }
  // Anything else the graph keeps (e.g. an object whose hash the page could not place) is still tagged.
  for (const hash of s.graph.referencedHashes()) if (!roles.has(hash)) roles.set(hash, 'intent graph');
  return roles;
}

// ---------------------------------------------------------------- objects

/** Reads the object list again (every entry, sorted newest first) and shows the current page. */
export async function refreshObjects(s: Session): Promise<void> {
  const stats = await s.archive.stats();
  ui.stats.textContent =
    stats.count === 0
      ? 'The archive is empty.'
      : `${stats.count} objects, ${formatBytes(stats.bytes)}` +
        (stats.newest !== undefined ? ` · newest stored ${new Date(stats.newest).toLocaleString()}` : '');
  const list: IndexEntry[] = [];
  for await (const entry of s.archive.entries()) list.push(entry);
  list.sort((a, b) => b.storedAt - a.storedAt || (a.hash < b.hash ? -1 : 1));
  entries = list;
  graphRoles = rolesOf(s, await s.graph.snapshot());
  const present = new Set(list.map((e) => e.hash));
  if (selected !== undefined && !present.has(selected)) {
    selected = undefined;
    ui.valueView.textContent = 'Click a hash to show its value.';
  }
  // "Stored as <hash>" is untrue once that object is gone.
  const shownHash = document.getElementById('put-hash')?.textContent;
  if (shownHash && !present.has(shownHash)) clearMessage(ui.putResult);
  stateChanged('objects', `${stats.count}:${stats.bytes}:${stats.oldest ?? ''}:${stats.newest ?? ''}`);
  if (pageStart >= entries.length) pageStart = Math.max(0, Math.floor((entries.length - 1) / PAGE_SIZE) * PAGE_SIZE);
  renderPage();
  await refreshStatus(s);
}

/** Shows the page of the list that starts at `pageStart`. */
function renderPage(): void {
  const page = entries.slice(pageStart, pageStart + PAGE_SIZE);
  const items = page.map((entry) => {
    const role = graphRoles.get(entry.hash);
    return h(
      'li',
      { 'data-hash': entry.hash },
      h('button', { type: 'button', class: 'link', 'data-hash': entry.hash, 'aria-pressed': String(entry.hash === selected) }, entry.hash),
      h('span', { class: 'meta' }, role !== undefined && h('span', { class: 'tag', title: role }, role), h('span', { class: 'size' }, formatBytes(entry.size))),
    );
  });
  if (items.length === 0) items.push(h('li', { class: 'empty' }, 'No objects yet.'));
  ui.hashList.replaceChildren(...items);
  const pages = Math.ceil(entries.length / PAGE_SIZE);
  ui.pageInfo.textContent = entries.length === 0 ? '' : `${pageStart + 1}–${pageStart + page.length} of ${entries.length} (page ${pageStart / PAGE_SIZE + 1} of ${pages})`;
  ui.pagePrev.disabled = pageStart === 0;
  ui.pageNext.disabled = pageStart + PAGE_SIZE >= entries.length;
  ui.pagePrev.parentElement!.hidden = pages <= 1;
  ui.deleteObject.disabled = selected === undefined;
}

/** Moves the object list one page back (`-1`) or on (`1`). */
export function turnPage(step: -1 | 1): void {
  const next = pageStart + step * PAGE_SIZE;
  if (next < 0 || next >= entries.length) return;
  pageStart = next;
  renderPage();
  ui.hashList.scrollTop = 0;
}

export async function showValue(s: Session, hash: string): Promise<void> {
  selected = hash;
  for (const b of ui.hashList.querySelectorAll('button[data-hash]')) b.setAttribute('aria-pressed', String(b.getAttribute('data-hash') === hash));
  ui.deleteObject.disabled = false;
  ui.valueView.textContent = `Reading ${hash}…`;
  try {
    const value = await s.archive.get(hash);
    ui.valueView.textContent = JSON.stringify(value, null, 2);
  } catch (e) {
    ui.valueView.textContent = '';
    throw e;
  }
}

/** Deletes the object shown in the value view (never one the intent graph uses: the graph would lose it). */
export async function deleteSelectedObject(s: Session): Promise<void> {
  const hash = selected;
  if (hash === undefined) throw new InvalidArgumentError('click a hash first');
  const role = graphRoles.get(hash);
  if (role !== undefined) {
    throw new InvalidArgumentError(`this object is used by the intent graph (${role}): delete that intent or edge in the graph panel, then collect garbage`);
  }
  if (!confirm(`Delete object ${hash}?`)) return;
  await s.archive.delete(hash);
  await refreshObjects(s);
  showOk(ui.objectsResult, 'Deleted object ', h('code', {}, hash), '.');
}

export async function putValue(s: Session): Promise<void> {
  showInfo(ui.putResult, 'Storing…');
  await nextTask(); // let "Storing…" paint before a large value is parsed and hashed
  const value = parseJson(ui.putInput.value);
  const bytes = canonicalBytes(value);
  const existed = await s.archive.has(sha256Hex(bytes));
  const hash = await s.archive.put(value);
  await refreshObjects(s);
  showOk(
    ui.putResult,
    existed ? 'Already stored as ' : 'Stored as ',
    h('code', { id: 'put-hash' }, hash),
    ` (${formatBytes(bytes.length)} of canonical JSON)`,
  );
}

export async function verify(s: Session): Promise<void> {
  const repair = ui.verifyRepair.checked;
  showInfo(ui.verifyResult, 'Verifying…');
  let report;
  try {
    report = await withTask(tasks.maintenance, (signal) =>
      s.archive.verify({
        repair,
        signal,
        onProgress: (p) => {
          setProgress(ui.verifyProgress, p);
          ui.verifyResult.textContent = `Verifying… ${p.done}${p.total !== undefined ? ` of ${p.total}` : ''} objects checked`;
        },
      }),
    );
  } catch (e) {
    if (!isAbort(e)) throw e;
    await refreshObjects(s);
    showInfo(ui.verifyResult, 'Verify cancelled before the end: no report.');
    return;
  }
  await refreshObjects(s);
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
}

/** Objects above this size are never intents or edges: gc keeps them without reading them. */
const GRAPH_OBJECT_MAX = 256 * 1024;
/** Objects read at once while gc looks for unused graph objects. */
const GC_READ_BATCH = 64;

function isGraphShaped(value: unknown): 'intent' | 'edge' | undefined {
  // The graph stores its edges as one object: the whole list.
  if (Array.isArray(value) && value.length > 0 && value.every((e) => isGraphShaped(e) === 'edge')) return 'edge';
  for (const [kind, check] of [
    ['intent', validateIntent],
    ['edge', validateEdge],
  ] as const) {
    try {
      check(value);
      return kind;
    } catch {
      /* not this kind */
    }
  }
  return undefined;
}

/**
 * Collects garbage: intent and edge objects that neither the current graph
 * nor any reference's history uses go, with the archive's quarantined
 * leftovers; everything else is kept — values you stored yourself included.
 * The intent graph lives on references, and every intent keeps its earlier
 * versions (deleted intents and old edge lists included) as history, which
 * the SDK's `archive.gc({ keep })` never deletes; this page only decides the
 * keep set for the rest.
 */
export async function collectGarbage(s: Session): Promise<void> {
  showInfo(ui.verifyResult, 'Looking for objects the intent graph no longer uses…');
  let result;
  try {
    result = await withTask(tasks.maintenance, async (signal) => {
      const used = new Set(s.graph.referencedHashes());
      const all: IndexEntry[] = [];
      for await (const entry of s.archive.entries({ signal })) all.push(entry);
      const keep: string[] = [];
      const unused = { intent: 0, edge: 0 };
      for (let i = 0; i < all.length; i += GC_READ_BATCH) {
        const batch = all.slice(i, i + GC_READ_BATCH);
        const kinds = await Promise.all(
          batch.map(async (entry) => {
            if (used.has(entry.hash) || entry.size > GRAPH_OBJECT_MAX) return undefined;
            // A damaged object is kept for verify to report; gc never decides on bytes it cannot read.
            const value = await s.archive.get(entry.hash, { signal }).catch((e: unknown) => (isAbort(e) ? Promise.reject(e) : undefined));
            return isGraphShaped(value);
          }),
        );
        batch.forEach((entry, j) => {
          const kind = kinds[j];
          if (kind === undefined) keep.push(entry.hash);
          else unused[kind]++;
        });
        const done = Math.min(i + GC_READ_BATCH, all.length);
        setProgress(ui.verifyProgress, { done, total: all.length });
        ui.verifyResult.textContent = `Looking for unused graph objects… ${done} of ${all.length} examined`;
        await nextTask();
      }
      ui.verifyResult.textContent = `Deleting ${unused.intent + unused.edge} unused graph objects…`;
      setProgress(ui.verifyProgress, { done: 0 });
      const report = await s.archive.gc({ keep, signal });
      return { report, unused, kept: keep.length };
    });
  } catch (e) {
    if (!isAbort(e)) throw e;
    await refreshObjects(s);
    showInfo(ui.verifyResult, 'Garbage collection cancelled: at most some unused objects were removed, nothing in use.');
    return;
  }
  await refreshObjects(s);
  const { report, unused, kept } = result;
  const total = kept + unused.intent + unused.edge;
  const old = unused.intent + unused.edge;
  const history = old > 0 ? ` (${old} of them earlier versions of intents and edges, which the graph's history keeps)` : '';
  showOk(
    ui.verifyResult,
    report.deleted === 0
      ? `Garbage collection found nothing to remove: all ${total} objects are in use or values you stored${history}.`
      : `Garbage collection removed ${report.deleted} objects (${formatBytes(report.bytesFreed)}) that nothing uses. Kept ${Math.max(0, total - report.deleted)}.`,
  );
}
