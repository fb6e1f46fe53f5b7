/**
 * The demo page: wires the panels of index.html to one open {@link Session}
 * (adapter + content archive + archive-backed intent graph).
 *
 * Every action runs through {@link serial}, one at a time, so switching the
 * backend or wiping it never races an import or a put.
 */
import { isArchiveStorageError } from '../src/index.js';
import { EDGE_TYPES } from '../src/intent-graph/index.js';
import { availableBackends, BACKEND_LABELS, closeSession, DEMO_STORE_NAME, openSession, wipeSession, type BackendKind, type Session } from './backends.js';
import { byId, h, showError, showInfo, showOk } from './dom.js';
import { formatBytes } from './format.js';
import { addEdge, addIntent, clearGraph, deleteEdge, deleteIntent, refreshGraph } from './graph-panel.js';
import { stateChanged } from './messages.js';
import { collectGarbage, deleteSelectedObject, putValue, refreshObjects, showValue, turnPage, verify } from './objects-panel.js';
import { startServiceWorker } from './pwa.js';
import { describeObjectChanges, isEmpty, watchOtherTabs, type LiveWatch } from './live.js';
import { isAbort, setProgress, withTask } from './tasks.js';
import { downloadGraphBackup, exportGraphBundle, importGraphBundle, restoreGraphBackup } from './transfer-panel.js';
import { tasks, ui } from './ui.js';

const BACKEND_PREF_KEY = 'archive-storage-demo:backend';

let session: Session | undefined;
/** Counts opened sessions: messages about a backend go when another one (or the same one, wiped) is open. */
let sessionSerial = 0;
let queue: Promise<unknown> = Promise.resolve();
/** The watch of the open session's changes made in other tabs (IndexedDB, OPFS); none on memory. */
let live: LiveWatch | undefined;
/** Refreshes caused by other tabs, shown as `data-live-refreshes` on <body> (how the e2e test sees the coalescing). */
let liveRefreshes = 0;

/**
 * Runs `fn` after every action queued before it; its error is shown in
 * `region` (with the SDK's error code) instead of escaping.
 */
function serial(region: HTMLElement, fn: (s: Session) => Promise<void>): Promise<void> {
  const run = queue.then(async () => {
    if (!session) throw new Error('no backend is open');
    await fn(session);
  });
  queue = run.catch(() => {});
  return run.catch((e: unknown) => {
    // The SDK's typed errors are answers to bad input, shown on the page; anything else is a bug worth a stack.
    if (!isArchiveStorageError(e)) console.error(e);
    showError(region, e);
  });
}

// ---------------------------------------------------------------- backend switching

function preferredBackend(available: BackendKind[]): BackendKind {
  const fromUrl = new URLSearchParams(location.search).get('backend');
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(BACKEND_PREF_KEY);
  } catch {
    /* storage blocked: use the default */
  }
  for (const choice of [fromUrl, saved]) if (choice && available.includes(choice as BackendKind)) return choice as BackendKind;
  return available[0]!;
}

function describeBackend(kind: BackendKind): string {
  switch (kind) {
    case 'indexeddb':
      return `IndexedDB database "${DEMO_STORE_NAME}" of this origin. Reload the page: everything is still there.`;
    case 'opfs':
      return `Directory "${DEMO_STORE_NAME}" in this origin's private file system. Reload the page: everything is still there.`;
    case 'memory':
      return 'A Map in this tab. A reload starts empty.';
  }
}

// ---------------------------------------------------------------- other tabs

function describeLive(kind: BackendKind): string {
  return kind === 'memory'
    ? 'Not live: memory belongs to this tab alone, so other tabs cannot see it and nothing from them appears here.'
    : 'Live: changes made in other tabs on this backend (values, deletes, the intent graph, imports) appear here within a moment.';
}

/** Starts following other tabs' changes to `s` from `since` (the memory backend has nothing to share). */
function startLive(s: Session, since = 'now'): void {
  ui.liveNote.textContent = describeLive(s.kind);
  if (s.kind === 'memory') return;
  live = watchOtherTabs(s.archive, {
    since,
    graphBase: s.graph.graph,
    onRemote: () => void followOtherTabs(),
    onError: (e) => {
      live = undefined;
      console.error(e);
      showError(ui.backendResult, e);
      ui.liveNote.textContent = 'Live updates stopped (see the message below): reload the page to follow other tabs again.';
    },
  });
}

/** Stops following other tabs; the position to resume from. */
function stopLive(): string {
  const since = live?.stop() ?? 'now';
  live = undefined;
  return since;
}

/**
 * Shows what other tabs changed. This handle's object list and intent graph
 * are its own view (docs/archive.md, "What a handle sees"), so the session is
 * opened again — the archive folds the other tabs' journal in, the intent
 * graph re-reads its references — and the watch resumes after the last change
 * seen. Queued like every action, so it never races one of this tab's.
 */
async function followOtherTabs(): Promise<void> {
  const run = queue.then(async () => {
    if (!session || !live) return;
    const changes = live.take();
    if (isEmpty(changes)) return;
    const since = stopLive();
    const old = session;
    session = undefined;
    await closeSession(old);
    session = await openSession(old.kind);
    startLive(session, since);
    await refreshGraph(session);
    await refreshObjects(session);
    const objects = describeObjectChanges(changes);
    if (objects) showInfo(ui.objectsResult, objects);
    if (changes.graph > 0) showInfo(ui.graphResult, 'From another tab: the intent graph changed.');
    document.body.dataset['liveRefreshes'] = String(++liveRefreshes);
  });
  queue = run.catch(() => {});
  await run.catch((e: unknown) => {
    console.error(e);
    showError(ui.backendResult, e);
  });
}

async function refreshAll(s: Session): Promise<void> {
  stateChanged('session', String(++sessionSerial));
  await refreshGraph(s);
  await refreshObjects(s);
}

async function switchBackend(kind: BackendKind): Promise<void> {
  ui.backendSelect.disabled = true;
  ui.appStatus.textContent = `Opening ${BACKEND_LABELS[kind]}…`;
  const run = queue.then(async () => {
    stopLive();
    if (session) {
      const old = session;
      session = undefined;
      await closeSession(old).catch((e: unknown) => console.warn('closing the previous backend failed', e));
    }
    session = await openSession(kind);
    ui.backendSelect.value = kind;
    ui.backendInfo.textContent = describeBackend(kind);
    try {
      localStorage.setItem(BACKEND_PREF_KEY, kind);
    } catch {
      /* not remembered: fine */
    }
    ui.valueView.textContent = 'Click a hash to show its value.';
    startLive(session);
    await refreshAll(session);
  });
  queue = run.catch(() => {});
  try {
    await run;
  } catch (e) {
    console.error(e);
    showError(ui.backendResult, e);
    ui.appStatus.textContent = `Could not open ${BACKEND_LABELS[kind]}: pick another backend.`;
  } finally {
    ui.backendSelect.disabled = false;
    ui.wipeButton.disabled = session === undefined;
  }
}

// ---------------------------------------------------------------- wiring

/** Runs an action from a button, disabling it meanwhile. */
function onClick(button: HTMLButtonElement, region: HTMLElement, fn: (s: Session) => Promise<void>): void {
  button.addEventListener('click', () => {
    button.disabled = true;
    void serial(region, fn).finally(() => {
      button.disabled = false;
    });
  });
}

/** Runs an action on the chosen file, then clears the input so the same file can be chosen again. */
function onFile(input: HTMLInputElement, region: HTMLElement, fn: (s: Session, file: File) => Promise<void>): void {
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (!file) return;
    input.disabled = true;
    void serial(region, (s) => fn(s, file)).finally(() => {
      input.value = '';
      input.disabled = false;
    });
  });
}

function onSubmit(form: HTMLFormElement, region: HTMLElement, fn: (s: Session) => Promise<void>): void {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]');
    if (submit) submit.disabled = true;
    void serial(region, fn).finally(() => {
      if (submit) submit.disabled = false;
    });
  });
}

async function start(): Promise<void> {
  byId('demo-version').textContent = __DEMO_VERSION__;
  startServiceWorker();
  ui.edgeType.replaceChildren(...EDGE_TYPES.map((t) => h('option', { value: t }, t)));

  onSubmit(ui.putForm, ui.putResult, putValue);
  onClick(ui.refreshButton, ui.objectsResult, refreshObjects);
  onClick(ui.verifyButton, ui.verifyResult, verify);
  onClick(ui.gcButton, ui.verifyResult, collectGarbage);
  onClick(ui.deleteObject, ui.objectsResult, deleteSelectedObject);
  ui.pagePrev.addEventListener('click', () => turnPage(-1));
  ui.pageNext.addEventListener('click', () => turnPage(1));
  ui.hashList.addEventListener('click', (event) => {
    const button = (event.target as Element).closest('button[data-hash]');
    const hash = button?.getAttribute('data-hash');
    if (hash) void serial(ui.objectsResult, (s) => showValue(s, hash));
  });
  onSubmit(ui.intentForm, ui.graphResult, addIntent);
  onSubmit(ui.edgeForm, ui.graphResult, addEdge);
  onClick(ui.clearGraphButton, ui.graphResult, clearGraph);
  ui.intentList.addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button[data-delete-intent]');
    const id = button?.getAttribute('data-delete-intent');
    if (!button || !id) return;
    button.disabled = true;
    void serial(ui.graphResult, (s) => deleteIntent(s, id));
  });
  ui.edgeList.addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button[data-delete-edge]');
    const index = button?.getAttribute('data-delete-edge');
    if (!button || index == null) return;
    button.disabled = true;
    void serial(ui.graphResult, (s) => deleteEdge(s, Number(index)));
  });
  onClick(ui.backupDownload, ui.backupResult, downloadGraphBackup);
  onFile(ui.backupUpload, ui.backupResult, restoreGraphBackup);
  onClick(ui.bundleExport, ui.bundleResult, exportGraphBundle);
  onFile(ui.bundleUpload, ui.bundleResult, importGraphBundle);
  ui.wipeButton.addEventListener('click', () => {
    if (!session) return;
    if (!confirm(`Delete every object and the intent graph in ${BACKEND_LABELS[session.kind]}?`)) return;
    ui.wipeButton.disabled = true;
    ui.backendSelect.disabled = true;
    void serial(ui.backendResult, async (s) => {
      stopLive();
      session = undefined;
      showInfo(ui.backendResult, 'Deleting…');
      const result = await withTask(tasks.wipe, (signal) =>
        wipeSession(s, {
          signal,
          onProgress: (p) => {
            setProgress(ui.wipeProgress, p);
            ui.backendResult.textContent = `Deleting… ${p.done} of ${p.total ?? '?'} keys`;
          },
        }),
      );
      session = result.session;
      ui.valueView.textContent = 'Click a hash to show its value.';
      startLive(session);
      await refreshAll(session);
      if (result.error === undefined) {
        showOk(
          ui.backendResult,
          `Deleted all data in this backend (${result.deleted} keys).` +
            // Honest about the one action other tabs do not follow: the wipe deletes keys below the archive, which logs no change.
            (session.kind === 'memory' ? '' : ' Other tabs open on it keep showing the old data until they are reloaded.'),
        );
      } else if (isAbort(result.error)) {
        const stats = await session.archive.stats();
        showInfo(ui.backendResult, `Cancelled after deleting ${result.deleted} of ${result.total} keys: ${stats.count} objects (${formatBytes(stats.bytes)}) are still there.`);
      } else {
        throw result.error;
      }
    }).finally(() => {
      ui.backendSelect.disabled = false;
      ui.wipeButton.disabled = session === undefined;
    });
  });

  const available = await availableBackends();
  ui.backendSelect.replaceChildren(...available.map((kind) => h('option', { value: kind }, BACKEND_LABELS[kind])));
  ui.backendSelect.addEventListener('change', () => void switchBackend(ui.backendSelect.value as BackendKind));
  // A closed page stops watching. A page kept in the back-forward cache and shown again resumes after the last
  // change it had seen, so what other tabs did meanwhile arrives as usual.
  let hiddenAt: string | undefined;
  window.addEventListener('pagehide', () => {
    if (live) hiddenAt = stopLive();
  });
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted || hiddenAt === undefined || !session || live) return;
    startLive(session, hiddenAt);
    hiddenAt = undefined;
  });
  await switchBackend(preferredBackend(available));
  document.body.dataset['ready'] = 'true';
}

void start().catch((e: unknown) => {
  console.error(e);
  showError(ui.appStatus, e);
});
