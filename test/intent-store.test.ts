/**
 * The IntentStore contract, run on every implementation (memory; one document
 * on the memory adapter; the archive on the memory adapter), plus what is
 * particular to each: reopening, atomic documents, versions in the archive,
 * failed and aborted writes, health checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import {
  BACKUP_FORMAT_VERSION,
  createMemoryIntentStore,
  objectKey,
  openArchive,
  openArchiveIntentStore,
  openFileIntentStore,
  parseBackup,
  type Edge,
  type IntentStore,
  type StorageAdapter,
} from '../src/index.js';
import { expectCode } from '../src/testing/expect-code.js';
import { makeTempDir } from './support/fs-tmp.js';
import { makeEdge, makeIntent, sampleGraph } from './support/intent-graph.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A node-fs adapter factory on a fresh temp directory, everything closed and removed after the test. */
async function diskAdapters(label: string): Promise<() => StorageAdapter> {
  const { dir, cleanup } = await makeTempDir(label);
  const opened: { close(): Promise<void> }[] = [];
  cleanups.push(async () => {
    for (const a of opened) await a.close();
    await cleanup();
  });
  return () => {
    const adapter = nodeFsAdapter({ dir });
    opened.push(adapter);
    return adapter;
  };
}

interface Harness {
  store: IntentStore;
  /** A new store on the same storage (undefined for memory). */
  reopen?: () => Promise<IntentStore>;
}

type Open = () => Promise<Harness>;

const kinds: [string, Open][] = [
  ['memory', async () => ({ store: createMemoryIntentStore() })],
  [
    'file on the memory adapter',
    async () => {
      const shared = new Map<string, Uint8Array>();
      const open = () => openFileIntentStore({ adapter: memoryAdapter({ store: shared }), key: 'graphs/main.json' });
      return { store: await open(), reopen: open };
    },
  ],
  [
    'archive on the memory adapter',
    async () => {
      const shared = new Map<string, Uint8Array>();
      const open = async () => openArchiveIntentStore({ archive: await openArchive(memoryAdapter({ store: shared })) });
      return { store: await open(), reopen: open };
    },
  ],
  [
    'file on node-fs',
    async () => {
      const adapter = await diskAdapters('intent-file');
      const open = () => openFileIntentStore({ adapter: adapter() });
      return { store: await open(), reopen: open };
    },
  ],
  [
    'archive on node-fs',
    async () => {
      const adapter = await diskAdapters('intent-archive');
      const open = async () => openArchiveIntentStore({ archive: await openArchive(adapter()) });
      return { store: await open(), reopen: open };
    },
  ],
];

for (const [kind, open] of kinds) {
  describe(`IntentStore contract: ${kind}`, () => {
    it('stores, gets, updates and deletes intents, with CCOS semantics', async () => {
      const { store } = await open();
      expect(await store.get('a')).toBeUndefined();
      expect(await store.store(makeIntent('a'))).toBe('a');
      expect(await store.get('a')).toEqual(makeIntent('a'));
      // store() replaces (a HashMap insert); update() requires presence.
      await store.store(makeIntent('a', { goal: 'replaced' }));
      expect((await store.get('a'))!.goal).toBe('replaced');
      await store.update(makeIntent('a', { status: 'Completed' }));
      expect((await store.get('a'))!.status).toBe('Completed');
      await expectCode(store.update(makeIntent('missing')), 'NOT_FOUND');
      await store.delete('a');
      expect(await store.get('a')).toBeUndefined();
      await expectCode(store.delete('a'), 'NOT_FOUND');
    });

    it('hands out copies: changing a result or an input never changes the store', async () => {
      const { store } = await open();
      const input = makeIntent('a');
      await store.store(input);
      input.goal = 'mutated after store';
      const got = (await store.get('a'))!;
      got.metadata.x = 'y';
      got.child_intents.push('z');
      const snap = await store.snapshot();
      snap.intents.a!.goal = 'mutated snapshot';
      expect(await store.get('a')).toEqual(makeIntent('a'));
    });

    it('normalises input: missing Option fields become null, unknown fields are dropped', async () => {
      const { store } = await open();
      const loose = { ...makeIntent('a'), extra: 1 } as Record<string, unknown>;
      delete loose.session_id;
      await store.store(loose as never);
      const got = (await store.get('a'))!;
      expect(got.session_id).toBeNull();
      expect('extra' in got).toBe(false);
    });

    it('lists with every filter criterion, sorted by id', async () => {
      const { store } = await open();
      await store.store(makeIntent('c', { name: 'deploy web', goal: 'ship it', priority: 5, status: 'Active' }));
      await store.store(makeIntent('a', { name: null, goal: 'ship docs', priority: 1, status: 'Completed' }));
      await store.store(makeIntent('b', { name: 'deploy api', goal: 'test it', priority: 9, status: 'Active' }));
      const ids = async (f?: Parameters<IntentStore['list']>[0]) => (await store.list(f)).map((i) => i.intent_id);
      expect(await ids()).toEqual(['a', 'b', 'c']);
      expect(await ids({ status: 'Active' })).toEqual(['b', 'c']);
      expect(await ids({ nameContains: 'deploy' })).toEqual(['b', 'c']);
      expect(await ids({ nameContains: '' })).toEqual(['b', 'c']); // no name never matches, as in CCOS
      expect(await ids({ goalContains: 'ship' })).toEqual(['a', 'c']);
      expect(await ids({ priorityMin: 5 })).toEqual(['b', 'c']);
      expect(await ids({ priorityMax: 5 })).toEqual(['a', 'c']);
      expect(await ids({ status: 'Active', priorityMin: 6, nameContains: 'api', goalContains: 'test' })).toEqual(['b']);
      await expectCode(store.list({ status: 'Sleeping' as never }), 'INVALID_ARGUMENT');
      await expectCode(store.list({ priorityMin: -1 }), 'INVALID_ARGUMENT');
      await expectCode(store.list({ priorityMax: 1.5 }), 'INVALID_ARGUMENT');
    });

    it('keeps edges as a list: duplicates, order, edgesOf, deleteEdge removes the first equal one', async () => {
      const { store } = await open();
      const e1 = makeEdge('a', 'b', { weight: 0.5 });
      const e2 = makeEdge('b', 'c', { edge_type: 'Blocks', metadata: {} });
      await store.storeEdge(e1);
      await store.storeEdge(e2);
      await store.storeEdge(e1);
      expect(await store.edges()).toEqual([e1, e2, e1]);
      expect(await store.edgesOf('b')).toEqual([e1, e2, e1]);
      expect(await store.edgesOf('c')).toEqual([e2]);
      expect(await store.edgesOf('nobody')).toEqual([]);
      // Equality is on every field: metadata null differs from {}.
      await expectCode(store.deleteEdge({ ...e2, metadata: null }), 'NOT_FOUND');
      await expectCode(store.deleteEdge({ ...e1, weight: 0.25 }), 'NOT_FOUND');
      await store.deleteEdge(e1);
      expect(await store.edges()).toEqual([e2, e1]);
      // Deleting an intent keeps its edges (CCOS does the same).
      await store.store(makeIntent('b'));
      await store.delete('b');
      expect(await store.edgesOf('b')).toHaveLength(2);
    });

    it('refuses invalid input with INVALID_ARGUMENT naming the path, and changes nothing', async () => {
      const { store } = await open();
      await store.store(makeIntent('a'));
      const bad: [unknown, string][] = [
        [{ ...makeIntent('b'), priority: 2 ** 32 }, '$.priority'],
        [{ ...makeIntent('b'), priority: -1 }, '$.priority'],
        [{ ...makeIntent('b'), status: 'Sleeping' }, '$.status'],
        [{ ...makeIntent('b'), metadata: { k: 1 } }, '$.metadata.k'],
        [{ ...makeIntent('b'), created_at: 1.5 }, '$.created_at'],
        [{ ...makeIntent('b'), generation_context: { ...makeIntent('b').generation_context, input_context: null } }, '$.generation_context.input_context'],
        [{ ...makeIntent('b'), child_intents: ['x', 7] }, '$.child_intents[1]'],
        [{ ...makeIntent('b'), goal: 'lone \ud800 surrogate' }, '$.goal'],
        [{ ...makeIntent('b'), goal: undefined }, '$.goal'],
      ];
      for (const [intent, path] of bad) {
        const e = await expectCode(store.store(intent as never), 'INVALID_ARGUMENT');
        expect(e.message).toContain(path);
        expect((e.cause as { path: string }).path).toBe(path);
      }
      await expectCode(store.storeEdge({ ...makeEdge('a', 'b'), weight: Infinity } as Edge), 'INVALID_ARGUMENT');
      await expectCode(store.storeEdge({ ...makeEdge('a', 'b'), edge_type: 'Likes' } as never), 'INVALID_ARGUMENT');
      await expectCode(store.replaceAll({ intents: { x: makeIntent('y') }, edges: [] }), 'INVALID_ARGUMENT');
      expect(await store.snapshot()).toEqual({ intents: { a: makeIntent('a') }, edges: [] });
    });

    it('replaceAll and clear swap the whole graph', async () => {
      const { store } = await open();
      await store.store(makeIntent('old'));
      const g = sampleGraph();
      await store.replaceAll(g);
      expect(await store.snapshot()).toEqual(g);
      await store.clear();
      expect(await store.snapshot()).toEqual({ intents: {}, edges: [] });
    });

    it('serialises concurrent changes: none is lost', async () => {
      const { store, reopen } = await open();
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.store(makeIntent(`i${String(i).padStart(2, '0')}`))));
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.storeEdge(makeEdge(`i${i}`, 'x'))));
      expect((await store.list()).length).toBe(40);
      expect((await store.edges()).length).toBe(20);
      if (reopen) {
        const again = await reopen();
        expect(await again.snapshot()).toEqual(await store.snapshot());
      }
    });

    it('backup() is a StorageBackupData v1.1 and restore() brings it back', async () => {
      const { store } = await open();
      await store.replaceAll(sampleGraph());
      const data = await store.backup({ manifest: { created_by: 'test', note: 'n' }, now: () => 1_700_000_000_123 });
      expect(data.version).toBe(BACKUP_FORMAT_VERSION);
      expect(data.timestamp).toBe(1_700_000_000);
      expect(data.manifest).toEqual({ created_by: 'test', source: null, note: 'n' });
      await store.clear();
      const report = await store.restore(data);
      expect(report.warnings).toEqual([]);
      expect(await store.snapshot()).toEqual(sampleGraph());
    });

    it('health check passes on a healthy store', async () => {
      const { store } = await open();
      await store.replaceAll(sampleGraph());
      expect(await store.healthCheck()).toEqual({ ok: true, store: store.kind, intents: 6, edges: 9, problems: [] });
    });

    it('honours an aborted signal and changes nothing', async () => {
      const { store } = await open();
      const ac = new AbortController();
      ac.abort();
      await expectCode(store.store(makeIntent('a'), { signal: ac.signal }), 'ABORTED');
      await expectCode(store.get('a', { signal: ac.signal }), 'ABORTED');
      expect(await store.get('a')).toBeUndefined();
    });

    it('refuses every call after close() with CLOSED', async () => {
      const { store } = await open();
      await store.close();
      await expectCode(store.get('a'), 'CLOSED');
      await expectCode(store.store(makeIntent('a')), 'CLOSED');
    });

    if (kind !== 'memory') {
      it('reopened on the same storage, everything is there', async () => {
        const { store, reopen } = await open();
        await store.replaceAll(sampleGraph());
        await store.update(makeIntent('intent-1', { goal: 'updated' }));
        await store.deleteEdge(makeEdge('intent-0', 'intent-1'));
        const again = await reopen!();
        expect(await again.snapshot()).toEqual(await store.snapshot());
        expect((await again.get('intent-1'))!.goal).toBe('updated');
      });
    }
  });
}

/** An adapter whose writes can be made to fail (a full disk), over a real memory adapter. */
function failingAdapter(inner: StorageAdapter): StorageAdapter & { failWrites: boolean } {
  const wrapped = Object.create(inner) as StorageAdapter & { failWrites: boolean };
  wrapped.failWrites = false;
  wrapped.write = async (key, bytes, options) => {
    if (wrapped.failWrites) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    return inner.write(key, bytes, options);
  };
  return wrapped;
}

describe('file intent store', () => {
  it('writes one valid StorageBackupData document, rewritten whole on each change', async () => {
    const adapter = memoryAdapter();
    const store = await openFileIntentStore({ adapter, now: () => 1_700_000_000_000 });
    expect(await adapter.read('intent-graph.json')).toBeUndefined(); // nothing written before the first change
    await store.replaceAll(sampleGraph());
    const { data, graph, warnings } = parseBackup((await adapter.read('intent-graph.json'))!);
    expect(warnings).toEqual([]);
    expect(graph).toEqual(sampleGraph());
    expect(data).toMatchObject({ version: '1.1', timestamp: 1_700_000_000, rtfs: null, manifest: { created_by: 'archive-storage' } });
  });

  it('embeds the RTFS snapshot when asked', async () => {
    const adapter = memoryAdapter();
    const store = await openFileIntentStore({ adapter, includeRtfs: true });
    await store.store(makeIntent('a'));
    const { data, warnings } = parseBackup((await adapter.read('intent-graph.json'))!);
    expect(data.rtfs).toContain('(intent-graph');
    expect(warnings).toEqual([]);
  });

  it('refuses to open (rather than overwrite) a document it cannot read', async () => {
    const adapter = memoryAdapter();
    await adapter.write('intent-graph.json', new TextEncoder().encode('{"version":"1.1","intents":'));
    await expectCode(openFileIntentStore({ adapter }), 'INVALID_BACKUP');
    await adapter.write('intent-graph.json', new TextEncoder().encode('{"version":"2.0","timestamp":0,"intents":{},"edges":[]}'));
    await expectCode(openFileIntentStore({ adapter }), 'UNSUPPORTED_VERSION');
    await expectCode(openFileIntentStore({ adapter, key: '../escape.json' }), 'INVALID_KEY');
  });

  it('opens a document with dangling edges and reports them', async () => {
    const adapter = memoryAdapter();
    const first = await openFileIntentStore({ adapter });
    await first.storeEdge(makeEdge('ghost', 'nobody'));
    const again = await openFileIntentStore({ adapter });
    expect(again.openWarnings.map((w) => w.code)).toEqual(['DANGLING_EDGE']);
    expect(await again.edges()).toHaveLength(1);
  });

  it('a failed write leaves store and document as they were, and the store keeps working', async () => {
    const adapter = failingAdapter(memoryAdapter());
    const store = await openFileIntentStore({ adapter });
    await store.store(makeIntent('a'));
    const before = await adapter.read('intent-graph.json');
    adapter.failWrites = true;
    await expect(store.store(makeIntent('b'))).rejects.toThrow('disk full');
    await expect(store.replaceAll(sampleGraph())).rejects.toThrow('disk full');
    expect(await store.list()).toEqual([makeIntent('a')]);
    expect(await adapter.read('intent-graph.json')).toEqual(before);
    adapter.failWrites = false;
    await store.store(makeIntent('c'));
    expect((await store.list()).map((i) => i.intent_id)).toEqual(['a', 'c']);
    expect((await store.healthCheck()).ok).toBe(true);
  });

  it('health check reports a document changed or removed behind its back', async () => {
    const adapter = memoryAdapter();
    const store = await openFileIntentStore({ adapter });
    await store.store(makeIntent('a'));
    const other = await openFileIntentStore({ adapter });
    await other.store(makeIntent('b'));
    const health = await store.healthCheck();
    expect(health.ok).toBe(false);
    expect(health.problems[0]).toContain('differs from what this store holds');
    await adapter.delete('intent-graph.json');
    expect((await store.healthCheck()).problems[0]).toContain('is missing');
    await adapter.write('intent-graph.json', new TextEncoder().encode('garbage'));
    expect((await store.healthCheck()).problems[0]).toContain('cannot be read');
  });
});

describe('archive intent store', () => {
  it('stores each intent as a content-addressed object under a reference whose history is its versions; the edge list is one object', async () => {
    const adapter = memoryAdapter();
    const archive = await openArchive(adapter);
    const store = await openArchiveIntentStore({ archive });
    await store.store(makeIntent('a'));
    const v1 = store.hashOf('a')!;
    expect(await archive.get(v1)).toEqual(makeIntent('a'));
    await store.update(makeIntent('a', { status: 'Completed' }));
    const v2 = store.hashOf('a')!;
    expect(v2).not.toBe(v1);
    expect(await archive.get(v2)).toEqual(makeIntent('a', { status: 'Completed' }));
    // Every version of the intent is the reference's history, newest first.
    expect(store.referenceOf('a')).toBe('intent-graph/intents/a');
    expect((await archive.refs.history('intent-graph/intents/a')).map((v) => v.hash)).toEqual([v2, v1]);
    expect((await store.history('a')).map((v) => v.hash)).toEqual([v2, v1]);
    expect(store.referencedHashes()).toEqual([v2]);
    // Equal edges repeat in the one edge-list object.
    await store.storeEdge(makeEdge('a', 'b'));
    await store.storeEdge(makeEdge('a', 'b'));
    expect(store.referencedHashes()).toHaveLength(2);
    const edges = (await archive.refs.get('intent-graph/edges'))!;
    expect(await archive.get(edges.hash)).toEqual([makeEdge('a', 'b'), makeEdge('a', 'b')]);
    // No private index; a delete is the reference's newest version.
    expect(await adapter.read('intent-graph/index.json')).toBeUndefined();
    await store.delete('a');
    expect((await store.history('a')).map((v) => v.hash)).toEqual([null, v2, v1]);
    expect(await archive.refs.get('intent-graph/intents/a')).toBeUndefined();
  });

  it('gc keeps every retained version of an intent, collects what the graph no longer names, and the store still opens', async () => {
    const shared = new Map<string, Uint8Array>();
    const archive = await openArchive(memoryAdapter({ store: shared }));
    const store = await openArchiveIntentStore({ archive });
    await store.store(makeIntent('a'));
    const v1 = store.hashOf('a')!;
    await store.update(makeIntent('a', { goal: 'v2' }));
    const stray = await archive.put({ not: 'in the graph' });
    const report = await archive.gc({ unreferenced: true, graceMs: 0 });
    expect(report.deleted).toBe(1);
    expect(await archive.has(stray)).toBe(false);
    expect(await archive.has(v1)).toBe(true);
    const again = await openArchiveIntentStore({ archive: await openArchive(memoryAdapter({ store: shared })) });
    expect((await again.get('a'))!.goal).toBe('v2');
    expect((await again.history('a')).map((v) => v.hash)).toEqual([again.hashOf('a'), v1]);
  });

  it('keeps several graphs in one archive under different index keys', async () => {
    const archive = await openArchive(memoryAdapter());
    const one = await openArchiveIntentStore({ archive, indexKey: 'graphs/one.json' });
    const two = await openArchiveIntentStore({ archive, indexKey: 'graphs/two.json' });
    await one.store(makeIntent('a'));
    await two.store(makeIntent('b'));
    expect((await one.list()).map((i) => i.intent_id)).toEqual(['a']);
    expect((await (await openArchiveIntentStore({ archive, indexKey: 'graphs/two.json' })).list()).map((i) => i.intent_id)).toEqual(['b']);
  });

  it('a damaged object fails the open with CORRUPT_OBJECT; a missing one with NOT_FOUND; the health check names it', async () => {
    const shared = new Map<string, Uint8Array>();
    const adapter = memoryAdapter({ store: shared });
    const store = await openArchiveIntentStore({ archive: await openArchive(adapter) });
    await store.store(makeIntent('a'));
    const hash = store.hashOf('a')!;
    const good = shared.get(objectKey(hash))!;
    shared.set(objectKey(hash), new TextEncoder().encode(new TextDecoder().decode(good).replace('"do a"', '"do b"')));
    const health = await store.healthCheck();
    expect(health.ok).toBe(false);
    expect(health.problems[0]).toContain(hash);
    await expectCode(openArchiveIntentStore({ archive: await openArchive(memoryAdapter({ store: shared }), { autoRepairIndex: false }) }), 'CORRUPT_OBJECT');
    shared.delete(objectKey(hash));
    await expectCode(openArchiveIntentStore({ archive: await openArchive(memoryAdapter({ store: shared }), { autoRepairIndex: false }) }), 'NOT_FOUND');
  });

  it('refuses an index that is not one, rather than starting empty over it', async () => {
    const adapter = memoryAdapter();
    await adapter.write('intent-graph/index.json', new TextEncoder().encode('{"format":"something else"}'));
    await expectCode(openArchiveIntentStore({ archive: await openArchive(adapter) }), 'INVALID_BACKUP');
    await adapter.write('intent-graph/index.json', new TextEncoder().encode('{"format":"archive-storage/intent-graph-index","version":1,"intents":{"a":"nothash"},"edges":[]}'));
    await expectCode(openArchiveIntentStore({ archive: await openArchive(adapter) }), 'INVALID_BACKUP');
  });

  it('a failed index write leaves the store as it was; the next change reloads and goes on', async () => {
    const adapter = failingAdapter(memoryAdapter());
    const archive = await openArchive(adapter);
    const store = await openArchiveIntentStore({ archive });
    await store.store(makeIntent('a'));
    adapter.failWrites = true;
    await expect(store.replaceAll(sampleGraph())).rejects.toThrow();
    expect((await store.list()).map((i) => i.intent_id)).toEqual(['a']);
    adapter.failWrites = false;
    await store.store(makeIntent('b'));
    expect((await store.list()).map((i) => i.intent_id)).toEqual(['a', 'b']);
    expect((await store.healthCheck()).ok).toBe(true);
  });
});
