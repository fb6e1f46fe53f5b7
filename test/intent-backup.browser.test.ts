/// <reference types="vite/client" />
/**
 * The intent-graph round trip in real Chromium, Firefox and WebKit: a file store on IndexedDB
 * fills, its backup goes out as a downloadable Blob and comes back as an
 * uploaded file, and restores into archive-backed (IndexedDB) and memory
 * stores with everything equal; the same over the memory adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { engine, engineName, userAgentMark } from './support/engines/current.js';
import { indexedDbAdapter } from '../adapters/indexeddb/index.js';
import { memoryAdapter } from '../adapters/memory.js';
import {
  backupToBlob,
  createBackup,
  createMemoryIntentStore,
  downloadBackup,
  openArchive,
  openArchiveIntentStore,
  openFileIntentStore,
  printRtfsSnapshot,
  readBackupBlob,
  readRtfsSnapshot,
  restoreBackup,
  serializeBackup,
  type IntentStore,
  type StorageAdapter,
} from '../src/index.js';
import ccosV11 from './fixtures/ccos/storage-backup-v1.1.json?raw';
import { makeEdge, makeIntent, sampleGraph } from './support/intent-graph.js';

async function observe(store: IntentStore) {
  const snapshot = await store.snapshot();
  return {
    snapshot,
    list: await store.list({ status: 'Active' }),
    edges: await store.edges(),
    edgesOf: await Promise.all(Object.keys(snapshot.intents).map((id) => store.edgesOf(id))),
  };
}

/**
 * Fills a file store (on `fileAdapter()`) through single calls, backs it up,
 * and restores into a memory store and an archive store (on `archiveAdapter()`);
 * each factory call is a new connection to the same storage.
 */
async function roundTrip(fileAdapter: () => StorageAdapter, archiveAdapter: () => StorageAdapter): Promise<void> {
  const file = await openFileIntentStore({ adapter: fileAdapter(), key: 'ccos/intent-graph.json' });
  const g = sampleGraph();
  for (const intent of Object.values(g.intents)) await file.store(intent);
  for (const edge of g.edges) await file.storeEdge(edge);
  await file.update(makeIntent('intent-2', { goal: 'changed in the browser 🚀', status: 'Failed' }));
  await file.storeEdge(makeEdge('intent-2', 'nowhere', { weight: 0.1 }));
  const expected = await observe(file);

  const data = await createBackup(file, { manifest: { created_by: 'browser-test' }, now: () => 1_750_000_000_000 });
  // Out as a Blob (what a download hands over), back as an uploaded File.
  const upload = new File([backupToBlob(data)], 'backup.json', { type: 'application/json' });
  const { graph, warnings } = await readBackupBlob(upload);
  expect(graph).toEqual(expected.snapshot);
  expect(warnings.map((w) => w.code)).toEqual(['DANGLING_EDGE']);

  const archive = await openArchive(archiveAdapter());
  const targets = [createMemoryIntentStore(), await openArchiveIntentStore({ archive })];
  for (const target of targets) {
    await restoreBackup(target, new Uint8Array(await upload.arrayBuffer()));
    expect(await observe(target)).toEqual(expected);
    expect(serializeBackup(await createBackup(target, { manifest: data.manifest, now: () => 1_750_000_000_000 }))).toBe(serializeBackup(data));
  }
  // Reopened on the same storage: all there.
  expect(await observe(await openFileIntentStore({ adapter: fileAdapter(), key: 'ccos/intent-graph.json' }))).toEqual(expected);
  expect(await observe(await openArchiveIntentStore({ archive: await openArchive(archiveAdapter()) }))).toEqual(expected);
  await archive.close();
}

describe('intent graph backups in a real browser', () => {
  it(`is really ${engineName}`, () => {
    expect(navigator.userAgent).toContain(userAgentMark);
    if (engine === 'webkit') expect(navigator.userAgent).not.toContain('Chrome');
  });

  const databases: string[] = [];
  afterAll(async () => {
    for (const name of databases) {
      await new Promise<void>((resolve, reject) => {
        const req = indexedDB.deleteDatabase(name);
        req.onsuccess = () => resolve();
        req.onerror = () => reject(req.error);
      });
    }
  });

  it('round trip through IndexedDB: file store -> Blob -> archive (IndexedDB) and memory stores, reopened by new connections', async () => {
    const fileDb = `intent-graph-file-${crypto.randomUUID()}`;
    const archiveDb = `intent-graph-archive-${crypto.randomUUID()}`;
    databases.push(fileDb, archiveDb);
    const opened: StorageAdapter[] = [];
    const connect = (name: string) => () => {
      const adapter = indexedDbAdapter({ name });
      opened.push(adapter);
      return adapter;
    };
    try {
      await roundTrip(connect(fileDb), connect(archiveDb));
    } finally {
      for (const a of opened) await a.close?.();
    }
    // The data really is in IndexedDB: a fresh connection lists the document and the index.
    const check = indexedDbAdapter({ name: fileDb });
    const checkArchive = indexedDbAdapter({ name: archiveDb });
    try {
      expect(await check.has('ccos/intent-graph.json')).toBe(true);
      // The graph lives in references (docs/format.md, "Intent graph on references v2"), not in a private index.
      expect(await checkArchive.has('refs/intent-graph/edges.json')).toBe(true);
      expect(await checkArchive.has('intent-graph/index.json')).toBe(false);
    } finally {
      await check.close?.();
      await checkArchive.close?.();
    }
  });

  it('round trip over the memory adapter: file store -> Blob -> archive and memory stores', async () => {
    const fileBytes = new Map<string, Uint8Array>();
    const archiveBytes = new Map<string, Uint8Array>();
    await roundTrip(() => memoryAdapter({ store: fileBytes }), () => memoryAdapter({ store: archiveBytes }));
  });

  it('restores the CCOS fixture', async () => {
    const store = createMemoryIntentStore();
    const report = await restoreBackup(store, ccosV11);
    expect(report).toMatchObject({ version: '1.1', intents: 3, edges: 3, warnings: [] });
    expect((await store.get('intent-c4d8'))!.goal).toContain('café');
  });

  it('downloadBackup hands the whole backup to the browser as one Blob download', async () => {
    const store = createMemoryIntentStore();
    await store.replaceAll(sampleGraph());
    const data = await store.backup({ now: () => 1_724_230_700_000 });
    const clicked: { href: string; download: string }[] = [];
    const originalClick = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
      clicked.push({ href: this.href, download: this.download });
    };
    try {
      downloadBackup(data);
    } finally {
      HTMLAnchorElement.prototype.click = originalClick;
    }
    expect(clicked).toHaveLength(1);
    expect(clicked[0]!.download).toBe('intent-graph-2024-08-21T08-58-20Z.json');
    expect(clicked[0]!.href.startsWith('blob:')).toBe(true);
    const text = await (await fetch(clicked[0]!.href)).text();
    expect(text).toBe(serializeBackup(data));
  });

  it('RTFS snapshot round trip in the browser', () => {
    const g = sampleGraph();
    expect(readRtfsSnapshot(printRtfsSnapshot(g))).toEqual(g);
  });
});
