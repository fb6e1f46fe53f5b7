/**
 * The intent graph on references (docs/format.md, "Intent graph on
 * references v2"): the names, each intent's versions as its reference's
 * history, compare-and-set between two store instances, the roll-forward of
 * a replace killed at every change, and the migration of an archive the
 * previous release wrote (test/fixtures/intent-graph-v1, made by that code),
 * killed at every change too.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import {
  canonicalBytes,
  idOfSegment,
  sha256Hex,
  intentSegment,
  isReferenceName,
  objectKey,
  openArchive,
  openArchiveIntentStore,
  serializeBackup,
  type IntentGraph,
  type StorageAdapter,
} from '../src/index.js';
import { expectCode } from '../src/testing/expect-code.js';
import { makeTempDir } from './support/fs-tmp.js';
import { makeEdge, makeIntent, sampleGraph } from './support/intent-graph.js';
import { killedAt } from './support/killed-adapter.js';

const FIXTURE = new URL('./fixtures/intent-graph-v1/', import.meta.url);
const utf8 = new TextEncoder();

/** The previous release's archive, as the memory adapter's Map. */
function fixtureStore(): Map<string, Uint8Array> {
  const files = JSON.parse(readFileSync(new URL('archive.json', FIXTURE), 'utf8')) as Record<string, string | { base64: string }>;
  return new Map(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? utf8.encode(v) : new Uint8Array(Buffer.from(v.base64, 'base64'))]));
}

const backupOf = async (store: Awaited<ReturnType<typeof openArchiveIntentStore>>) =>
  serializeBackup(await store.backup({ now: () => 1_700_000_000_000, manifest: { created_by: 'fixture' } }));

const open = async (adapter: StorageAdapter, graph?: { indexKey?: string; graph?: string }) => openArchiveIntentStore({ archive: await openArchive(adapter), ...graph });

describe('intent ids as reference names', () => {
  it('every id gets a valid name segment; the segment gives the id back (or is the hashed form); distinct ids never share one', () => {
    const ids = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom('.', '..', 'a.json', '~x', '__proto__', 'a/b', '', 'x'.repeat(121), 'x'.repeat(120)));
    fc.assert(
      fc.property(ids, ids, (a, b) => {
        const sa = intentSegment(a);
        expect(isReferenceName(`intent-graph/intents/${sa}`)).toBe(true);
        const back = idOfSegment(sa);
        if (back === undefined) expect(sa).toMatch(/^~~[0-9a-f]{64}$/);
        else expect(back).toBe(a);
        if (a !== b) expect(intentSegment(b)).not.toBe(sa);
      }),
      { numRuns: 2000 },
    );
    expect(intentSegment('intent-42')).toBe('intent-42');
    expect(intentSegment('é')).toBe('~c3a9');
    expect(intentSegment('a/b')).toBe('~612f62');
    expect(intentSegment('é'.repeat(31))).toMatch(/^~~[0-9a-f]{64}$/);
  });

  it('stores and reopens intents whose ids are no reference names, and refuses a base that cannot hold them', async () => {
    const shared = new Map<string, Uint8Array>();
    const odd = ['__proto__', 'é/ü 1', '.', '..', 'a.json', '~x', '', 'z'.repeat(500)];
    const store = await open(memoryAdapter({ store: shared }));
    for (const id of odd) await store.store(makeIntent(id));
    const again = await open(memoryAdapter({ store: shared }));
    expect((await again.list()).map((i) => i.intent_id)).toEqual([...odd].sort());
    for (const id of odd) expect(await again.get(id)).toEqual(makeIntent(id));
    await expectCode(open(memoryAdapter(), { graph: 'bad//name' }), 'INVALID_ARGUMENT');
    await expectCode(open(memoryAdapter(), { graph: 'g/intents' }), 'INVALID_ARGUMENT');
    await expectCode(open(memoryAdapter(), { graph: 'g'.repeat(101) }), 'INVALID_ARGUMENT');
  });
});

describe('the intent graph on references', () => {
  it('keeps up to 1,000 earlier versions of an intent; beyond, the oldest drop out', async () => {
    const shared = new Map<string, Uint8Array>();
    const archive = await openArchive(memoryAdapter({ store: shared }));
    const store = await openArchiveIntentStore({ archive });
    for (let i = 0; i < 3; i++) await store.store(makeIntent('a', { priority: i }));
    // 997 more versions written as the references' own document would hold them (1,000 writes through the store take half a minute on a loaded machine).
    const first = (await store.history('a')).at(-1)!;
    const doc = JSON.parse(new TextDecoder().decode(shared.get('refs/intent-graph/intents/a.json')!)) as { versions: { hash: string; seq: number; time: number }[] };
    const filler = Array.from({ length: 997 }, (_, i) => ({ hash: first.hash!, seq: 1001 - i, time: first.time }));
    doc.versions = [...filler, ...doc.versions].map((v, i, all) => ({ ...v, seq: all.length - i }));
    shared.set('refs/intent-graph/intents/a.json', canonicalBytes(doc as never));
    const reopened = await open(memoryAdapter({ store: shared }));
    expect(await reopened.history('a')).toHaveLength(1000);
    await reopened.store(makeIntent('a', { priority: 1000 }));
    expect(await reopened.history('a')).toHaveLength(1001);
    await reopened.store(makeIntent('a', { priority: 1001 }));
    const history = await reopened.history('a');
    expect(history).toHaveLength(1001);
    expect(history[0]!.seq).toBe(1002);
    expect(history.at(-1)!.seq).toBe(2);
  });

  it('two store instances: the one that saw an older version gets CONFLICT, writes nothing, and reloads', async () => {
    const shared = new Map<string, Uint8Array>();
    const one = await open(memoryAdapter({ store: shared }));
    await one.store(makeIntent('a'));
    const two = await open(memoryAdapter({ store: shared }));
    await two.update(makeIntent('a', { goal: 'by two' }));
    await expectCode(one.update(makeIntent('a', { goal: 'by one' })), 'CONFLICT');
    expect((await two.history('a')).map((v) => v.seq)).toEqual([2, 1]);
    expect((await one.healthCheck()).problems.join()).toContain('differ from what this store holds');
    // The next change reloads first, and then goes on from what two wrote.
    await one.storeEdge(makeEdge('a', 'b'));
    expect((await one.get('a'))!.goal).toBe('by two');
    await expectCode(two.storeEdge(makeEdge('b', 'c')), 'CONFLICT');
    expect((await (await open(memoryAdapter({ store: shared }))).edges())).toEqual([makeEdge('a', 'b')]);
  });

  it('refuses a reference under its prefix it never writes, and a damaged replace record, changing nothing', async () => {
    const shared = new Map<string, Uint8Array>();
    const archive = await openArchive(memoryAdapter({ store: shared }));
    const store = await openArchiveIntentStore({ archive });
    await store.store(makeIntent('a'));
    const other = await archive.put({ not: 'an intent' });
    await archive.refs.set('intent-graph/intents/x/y', other);
    const before = new Map(shared);
    await expectCode(open(memoryAdapter({ store: shared })), 'INVALID_BACKUP');
    await archive.refs.delete('intent-graph/intents/x/y');
    await archive.refs.set('intent-graph/intents/b', other);
    await expectCode(open(memoryAdapter({ store: shared })), 'INVALID_BACKUP');
    await archive.refs.delete('intent-graph/intents/b');
    await archive.refs.set('intent-graph/replace', other);
    const snapshot = new Map(shared);
    await expectCode(open(memoryAdapter({ store: shared })), 'INVALID_BACKUP');
    expect(shared).toEqual(snapshot);
    const future = await archive.put({ format: 'archive-storage/intent-graph-replace', version: 2, intents: {}, edges: [] });
    await archive.refs.set('intent-graph/replace', future);
    await expectCode(open(memoryAdapter({ store: shared })), 'UNSUPPORTED_VERSION');
    expect(before.size).toBeGreaterThan(0);
  });

  it('a replace to the graph the references hold already writes nothing, not even its record; one that changes something removes its record when done', async () => {
    const shared = new Map<string, Uint8Array>();
    const store = await open(memoryAdapter({ store: shared }));
    await store.replaceAll(sampleGraph());
    const before = new Map(shared);
    const again = await open(memoryAdapter({ store: shared }));
    await again.replaceAll(sampleGraph());
    await again.restore(await store.backup());
    expect(new Map(shared)).toEqual(before);
    await again.replaceAll({ intents: { a: makeIntent('a') }, edges: [] });
    expect(await again.snapshot()).toEqual({ intents: { a: makeIntent('a') }, edges: [] });
    // No edges: no edge-list object, the reference deleted; reopened, the same graph.
    expect(await (await open(memoryAdapter({ store: shared }))).snapshot()).toEqual({ intents: { a: makeIntent('a') }, edges: [] });
    const archive = await openArchive(memoryAdapter({ store: shared }));
    expect(await archive.refs.get('intent-graph/edges')).toBeUndefined();
    expect(await archive.has(sha256Hex(canonicalBytes([])))).toBe(false);
    // A replace that did change something removed its record once done.
    for await (const h of archive.list()) expect(((await archive.get(h)) as { format?: string })?.format, h).not.toBe('archive-storage/intent-graph-replace');
  });

  it('a replace killed at any change leaves the old graph or the new one, never a mix', async () => {
    const old: IntentGraph = { intents: { keep: makeIntent('keep'), gone: makeIntent('gone'), changed: makeIntent('changed') }, edges: [makeEdge('keep', 'gone')] };
    const next = sampleGraph();
    next.intents.keep = makeIntent('keep');
    next.intents.changed = makeIntent('changed', { goal: 'new goal' });
    let completed = false;
    const seen = { old: 0, new: 0 };
    for (let killAt = 1; !completed; killAt++) {
      const shared = new Map<string, Uint8Array>();
      await (await open(memoryAdapter({ store: shared }))).replaceAll(old);
      const oldSnap = JSON.stringify(await (await open(memoryAdapter({ store: shared }))).snapshot());
      const k = killedAt(memoryAdapter({ store: shared }), killAt);
      try {
        await (await open(k.adapter)).replaceAll(next);
        completed = !k.killed();
      } catch (e) {
        expect(k.killed(), String(e)).toBe(true);
      }
      const after = await open(memoryAdapter({ store: shared }));
      const snap = await after.snapshot();
      if (JSON.stringify(snap) === oldSnap) seen.old++;
      else {
        expect(snap, `killed at change ${killAt}`).toEqual(next);
        seen.new++;
      }
      expect(await after.healthCheck(), `killed at change ${killAt}`).toMatchObject({ ok: true });
      expect(killAt).toBeLessThan(500);
    }
    expect(seen.old).toBeGreaterThan(0);
    expect(seen.new).toBeGreaterThan(1);
  }, 120_000);
});

describe('an archive written by the previous release (a private index)', () => {
  it('opens with the same graph, byte-identical backups, and every object kept; the index goes only after the references are written', async () => {
    const shared = fixtureStore();
    const objectsBefore = [...shared.keys()].filter((k) => k.startsWith('objects/'));
    const store = await open(memoryAdapter({ store: shared }));
    expect(await backupOf(store)).toBe(readFileSync(new URL('backup-default.json', FIXTURE), 'utf8'));
    const two = await open(memoryAdapter({ store: shared }), { indexKey: 'graphs/two.json' });
    expect(two.graph).toBe('intent-graph/graphs/~6772617068732f74776f2e6a736f6e');
    expect(await backupOf(two)).toBe(readFileSync(new URL('backup-two.json', FIXTURE), 'utf8'));
    expect(shared.has('intent-graph/index.json')).toBe(false);
    expect(shared.has('graphs/two.json')).toBe(false);
    for (const k of objectsBefore) expect(shared.has(k), k).toBe(true);
    // Each intent's history starts at its migrated version; the graph's references are all there is.
    const archive = await openArchive(memoryAdapter({ store: shared }));
    for (const intent of await store.list()) {
      const history = await store.history(intent.intent_id);
      expect(history.map((v) => v.hash)).toEqual([store.hashOf(intent.intent_id)]);
      expect(await archive.get(history[0]!.hash!)).toEqual(intent);
    }
    const names: string[] = [];
    for await (const r of archive.refs.list({ prefix: 'intent-graph/' })) names.push(r.name);
    expect(names.filter((n) => n.startsWith('intent-graph/intents/'))).toHaveLength((await store.list()).length);
    expect(names).not.toContain('intent-graph/replace');
    // gc keeps the migrated graph.
    await archive.gc({ unreferenced: true, graceMs: 0 });
    expect(await backupOf(await open(memoryAdapter({ store: shared })))).toBe(readFileSync(new URL('backup-default.json', FIXTURE), 'utf8'));
  });

  it('a migration killed at any change reopens to the same graph; the old index stays until the references are complete', async () => {
    const expected = readFileSync(new URL('backup-default.json', FIXTURE), 'utf8');
    let completed = false;
    let killAt = 1;
    for (; !completed; killAt++) {
      const shared = fixtureStore();
      const k = killedAt(memoryAdapter({ store: shared }), killAt);
      try {
        await open(k.adapter);
        completed = !k.killed();
      } catch (e) {
        expect(k.killed(), String(e)).toBe(true);
      }
      // Never neither: the index is still there, or every reference is written and no replace is pending.
      if (!shared.has('intent-graph/index.json')) {
        const refs = (await openArchive(memoryAdapter({ store: shared }))).refs;
        expect(await refs.get('intent-graph/replace')).toBeUndefined();
        const names: string[] = [];
        for await (const r of refs.list({ prefix: 'intent-graph/intents/' })) names.push(r.name);
        expect(names.length, `killed at change ${killAt}`).toBe(Object.keys(JSON.parse(expected).intents).length);
      }
      const after = await open(memoryAdapter({ store: shared }));
      expect(await backupOf(after), `killed at change ${killAt}`).toBe(expected);
      expect(shared.has('intent-graph/index.json')).toBe(false);
      expect(killAt).toBeLessThan(500);
    }
    expect(killAt).toBeGreaterThan(10);
  }, 120_000);

  it('on node-fs: the fixture written to disk migrates, and a second open changes nothing', async () => {
    const { dir, cleanup } = await makeTempDir('intent-v1');
    try {
      const disk = nodeFsAdapter({ dir });
      for (const [k, v] of fixtureStore()) await disk.write(k, v);
      const store = await open(disk);
      expect(await backupOf(store)).toBe(readFileSync(new URL('backup-default.json', FIXTURE), 'utf8'));
      expect(await disk.read('intent-graph/index.json')).toBeUndefined();
      const hashes = store.referencedHashes().sort();
      const again = await open(nodeFsAdapter({ dir }));
      expect(again.referencedHashes().sort()).toEqual(hashes);
      for (const h of hashes) expect(await disk.has(objectKey(h))).toBe(true);
      await disk.close();
    } finally {
      await cleanup();
    }
  });
});
