/**
 * CCOS FileArchiveStorage → importCcosArchive → exportCcosArchive, on the
 * committed serde fixtures (test/fixtures/ccos/serde, written by
 * tools/ccos-serde): what is imported, the byte-exact export, all or
 * nothing, skipInvalid, merge/replace, abort, the warnings CCOS's own
 * leftovers give, and serde's float printing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { openArchive } from '../src/archive/archive.js';
import { exportCcosArchive, formatSerdeF64, importCcosArchive, serdeEdge, serdeIntent, type CcosImportOptions } from '../src/ccos/index.js';
import { canonicalBytes } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { createMemoryIntentStore, openArchiveIntentStore, parseBackup } from '../src/intent-graph/index.js';
import type { IntentGraph } from '../src/intent-graph/types.js';
import { adapterBytes, comparable, edgeSet, FIXTURE_BACKUP, FIXTURE_STORAGE_DIR, pictureOf, putTree, readOnly, readTree } from './fixtures/ccos/helpers.js';

const fixtureFiles = readTree(FIXTURE_STORAGE_DIR);
const backupGraph: IntentGraph = parseBackup(readFileSync(FIXTURE_BACKUP)).graph;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function fixtureAdapter(prefix = ''): Promise<StorageAdapter> {
  const a = memoryAdapter();
  await putTree(a, fixtureFiles, prefix);
  return a;
}

async function target() {
  const adapter = memoryAdapter();
  const archive = await openArchive(adapter);
  const store = createMemoryIntentStore();
  return { adapter, archive, store };
}

async function importFrom(source: StorageAdapter, options?: CcosImportOptions) {
  const t = await target();
  const report = await importCcosArchive(source, t.archive, t.store, options);
  return { ...t, report };
}

describe('importCcosArchive: the serde fixture', () => {
  it('reads the directory read-only on node-fs and imports every intent and edge, leaving it byte for byte as it was', async () => {
    const before = pictureOf(FIXTURE_STORAGE_DIR);
    const fs = nodeFsAdapter({ dir: FIXTURE_STORAGE_DIR, sweep: false });
    const source = readOnly(fs);
    const phases = new Set<string>();
    const { archive, store, report } = await importFrom(source, { onProgress: (p) => phases.add(p.phase) });
    await fs.close();

    expect(source.log.refused).toEqual([]);
    expect(pictureOf(FIXTURE_STORAGE_DIR)).toEqual(before);
    expect(report.layout).toBe('FileArchiveStorage');
    expect(report.intents).toBe(7);
    // 11 edges in the backup; CCOS's archive names an edge by its content, so the duplicate is one file.
    expect(report.edges).toBe(10);
    expect(report.objects).toHaveLength(17);
    expect(report.skipped).toEqual([]);
    expect([...phases]).toEqual(['list', 'verify', 'commit']);
    // Only the dangling edge and references of the graph itself are reported.
    expect(new Set(report.warnings.map((w) => w.code))).toEqual(new Set(['DANGLING_EDGE', 'DANGLING_REFERENCE']));

    const graph = await store.snapshot();
    expect(comparable(graph)).toEqual(comparable(backupGraph));
    expect(Object.keys(graph.intents).sort()).toEqual(Object.keys(backupGraph.intents).sort());

    // Every CCOS hash maps to the SDK's canonical address of the same value, and the archive holds it there.
    for (const o of report.objects) {
      const raw = JSON.parse(text(fixtureFiles.get(o.path)!));
      expect(o.canonicalHash).toBe(sha256Hex(canonicalBytes(raw)));
      expect(report.hashes[o.ccosHash]).toBe(o.canonicalHash);
      expect(await archive.get(o.canonicalHash)).toEqual(raw);
    }
    expect(report.added).toBe(17);
    expect((await archive.verify()).ok).toBe(true);
  });

  it('exports the imported graph byte for byte as CCOS wrote every object, with the same indices', async () => {
    const { store } = await importFrom(await fixtureAdapter());
    const out = memoryAdapter();
    const report = await exportCcosArchive(store, out);
    expect(report.files).toBe(19);
    expect(report.duplicateEdges).toBe(0);
    const written = await adapterBytes(out);
    expect([...written.keys()].sort()).toEqual([...fixtureFiles.keys()].sort());
    for (const [rel, bytes] of fixtureFiles) {
      const mine = (await out.read(rel))!;
      // The index is a HashMap: its entry order is CCOS's to choose; its content must agree.
      if (rel.endsWith('index.json')) expect(JSON.parse(text(mine))).toEqual(JSON.parse(text(bytes)));
      else expect(text(mine)).toBe(text(bytes));
    }
  });

  it('writes the backup graph (duplicate edge included) as CCOS does: equal edges share one file', async () => {
    const out = memoryAdapter();
    const report = await exportCcosArchive(backupGraph, out);
    expect(report.edges).toHaveLength(11);
    expect(report.duplicateEdges).toBe(1);
    for (const [rel, bytes] of fixtureFiles) {
      if (!rel.endsWith('index.json')) expect(text((await out.read(rel))!)).toBe(text(bytes));
    }
    for (const intent of Object.values(backupGraph.intents)) expect(report.intents[intent.intent_id]).toBe(serdeIntent(intent).hash);
    expect(report.edges).toEqual(backupGraph.edges.map((e) => serdeEdge(e).hash));
  });

  it('imports a plain FileArchive (one folder) and tells intents from edges by their shape', async () => {
    const { report, store } = await importFrom(await fixtureAdapter('ccos/'), { prefix: 'ccos/intents/' });
    expect(report.layout).toBe('FileArchive');
    expect(report.intents).toBe(7);
    expect(report.objects.every((o) => o.kind === 'intent')).toBe(true);
    expect(Object.keys((await store.snapshot()).intents)).toHaveLength(7);
  });

  it('imports into an archive-backed intent store on the same archive', async () => {
    const adapter = memoryAdapter();
    const archive = await openArchive(adapter);
    const store = await openArchiveIntentStore({ archive });
    await importCcosArchive(await fixtureAdapter(), archive, store);
    const again = await openArchiveIntentStore({ archive });
    expect(comparable(await again.snapshot())).toEqual(comparable(backupGraph));
  });
});

describe('importCcosArchive: all or nothing', () => {
  async function damaged(edit: (a: StorageAdapter) => Promise<void>) {
    const source = await fixtureAdapter();
    await edit(source);
    return source;
  }
  const someIntent = [...fixtureFiles.keys()].find((k) => k.startsWith('intents/') && !k.endsWith('index.json'))!;

  it('refuses a corrupt object naming its path, and changes neither archive nor graph', async () => {
    const source = await damaged(async (a) => {
      const t = text((await a.read(someIntent))!).replace('"priority": ', '"priority":  1');
      await a.write(someIntent, new TextEncoder().encode(t));
    });
    const t = await target();
    await t.store.store({ ...Object.values(backupGraph.intents)[0]!, intent_id: 'keep-me' });
    const before = await adapterBytes(t.adapter);
    const err = await importCcosArchive(source, t.archive, t.store).catch((e) => e);
    expect(err.code).toBe('CORRUPT_OBJECT');
    expect(err.message).toContain(someIntent);
    expect(err.message).toContain('skipInvalid');
    expect(await adapterBytes(t.adapter)).toEqual(before);
    expect(Object.keys((await t.store.snapshot()).intents)).toEqual(['keep-me']);
  });

  it('with skipInvalid imports the rest and lists the refused file', async () => {
    const source = await damaged((a) => a.write(someIntent, new TextEncoder().encode('not json at all')));
    const { report } = await importFrom(source, { skipInvalid: true });
    expect(report.skipped.map((p) => [p.code, p.path])).toEqual([['NOT_JSON', someIntent]]);
    expect(report.intents).toBe(6);
    expect(report.warnings.some((w) => w.code === 'SKIPPED_INVALID' && w.path === someIntent)).toBe(true);
  });

  it('refuses an intent that is JSON with the right name but not a StorableIntent', async () => {
    const bad = JSON.stringify({ intent_id: 'x', priority: -1 }, null, 2);
    const hash = sha256Hex(JSON.stringify({ intent_id: 'x', priority: -1 }));
    const path = `intents/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}.json`;
    const source = await damaged((a) => a.write(path, new TextEncoder().encode(bad)));
    const err = await importFrom(source).catch((e) => e);
    expect(err.code).toBe('INVALID_BACKUP');
    expect(err.message).toContain('INVALID_ENTITY');
    expect(err.message).toContain(path);
  });

  it('rolls the archive back when the graph cannot be stored', async () => {
    const t = await target();
    const before = await adapterBytes(t.adapter);
    const failing = { snapshot: t.store.snapshot.bind(t.store), replaceAll: async () => Promise.reject(new Error('disk full')) };
    await expect(importCcosArchive(await fixtureAdapter(), t.archive, failing)).rejects.toThrow('disk full');
    const hashes: string[] = [];
    for await (const h of t.archive.list()) hashes.push(h);
    expect(hashes).toEqual([]);
    await t.archive.close();
    const after = await adapterBytes(t.adapter);
    expect([...after.keys()].filter((k) => k.startsWith('objects/'))).toEqual([...before.keys()].filter((k) => k.startsWith('objects/')));
  });

  it('aborts: before anything, and during the commit with a rollback', async () => {
    const t = await target();
    const ac = new AbortController();
    ac.abort();
    await expect(importCcosArchive(await fixtureAdapter(), t.archive, t.store, { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    const late = new AbortController();
    const err = await importCcosArchive(await fixtureAdapter(), t.archive, t.store, {
      signal: late.signal,
      onProgress: (p) => {
        if (p.phase === 'commit' && p.done > 0) late.abort();
      },
    }).catch((e) => e);
    expect(err.code).toBe('ABORTED');
    const hashes: string[] = [];
    for await (const h of t.archive.list()) hashes.push(h);
    expect(hashes).toEqual([]);
    expect((await t.store.snapshot()).edges).toEqual([]);
  });
});

describe('importCcosArchive: merge, replace and what CCOS leaves behind', () => {
  it('merges idempotently: a second import adds no edge and no object', async () => {
    const t = await target();
    await importCcosArchive(await fixtureAdapter(), t.archive, t.store);
    const second = await importCcosArchive(await fixtureAdapter(), t.archive, t.store);
    expect(second.edges).toBe(0);
    expect(second.added).toBe(0);
    expect(second.present).toBe(17);
    expect((await t.store.snapshot()).edges).toHaveLength(10);
  });

  it('replace mode drops what the graph held before', async () => {
    const t = await target();
    await t.store.store({ ...Object.values(backupGraph.intents)[0]!, intent_id: 'old' });
    await importCcosArchive(await fixtureAdapter(), t.archive, t.store, { mode: 'replace' });
    expect(Object.keys((await t.store.snapshot()).intents)).not.toContain('old');
  });

  it('an index entry whose file CCOS deleted is skipped with a warning; a file the index misses is imported with one', async () => {
    const source = await fixtureAdapter();
    const edgeFile = [...fixtureFiles.keys()].find((k) => k.startsWith('edges/') && !k.endsWith('index.json'))!;
    await source.delete(edgeFile);
    const index = JSON.parse(text((await source.read('intents/index.json'))!));
    const [dropped] = Object.keys(index);
    delete index[dropped!];
    await source.write('intents/index.json', new TextEncoder().encode(JSON.stringify(index, null, 2)));
    await source.write('intents/.archive_lock', new Uint8Array());
    const { report } = await importFrom(source);
    const codes = report.warnings.map((w) => `${w.code} ${w.path}`);
    expect(codes).toContain(`MISSING_OBJECT ${edgeFile}`);
    expect(codes).toContain(`UNINDEXED_OBJECT intents/${dropped!.slice(0, 2)}/${dropped!.slice(2, 4)}/${dropped}.json`);
    expect(codes).toContain('IGNORED_FILE intents/.archive_lock');
    expect(report.intents).toBe(7);
    expect(report.edges).toBe(9);
  });

  it('two versions of one intent: the newer is the graph’s; equal times with different content are refused', async () => {
    const source = await fixtureAdapter();
    const original = backupGraph.intents['intent-0000000000000001']!;
    const newer = serdeIntent({ ...original, goal: 'newer', updated_at: original.updated_at + 1 });
    const put = (f: { pretty: string; hash: string }) => source.write(`intents/${f.hash.slice(0, 2)}/${f.hash.slice(2, 4)}/${f.hash}.json`, new TextEncoder().encode(f.pretty));
    await put(newer);
    const { report, store } = await importFrom(source);
    expect((await store.get(original.intent_id))!.goal).toBe('newer');
    expect(report.warnings.some((w) => w.code === 'SUPERSEDED_VERSION')).toBe(true);
    await put(serdeIntent({ ...original, goal: 'rival', updated_at: original.updated_at + 1 }));
    const err = await importFrom(source).catch((e) => e);
    expect(err.message).toContain('DUPLICATE_INTENT');
  });

  it('refuses what is not a CCOS directory, naming what it found', async () => {
    await expect(importFrom(memoryAdapter())).rejects.toMatchObject({ code: 'INVALID_BACKUP', message: expect.stringContaining('is empty') });
    const sdk = memoryAdapter();
    const archive = await openArchive(sdk);
    await archive.put({ a: 1 });
    await archive.close();
    await expect(importFrom(sdk)).rejects.toMatchObject({ message: expect.stringContaining('openArchive') });
    const stray = await fixtureAdapter();
    await stray.write('README.txt', new Uint8Array([104, 105]));
    await expect(importFrom(stray)).rejects.toMatchObject({ message: expect.stringContaining('README.txt') });
  });
});

describe('exportCcosArchive: the target', () => {
  it('refuses a target that holds anything, unless overwrite replaces a FileArchiveStorage there', async () => {
    const out = memoryAdapter();
    await exportCcosArchive(backupGraph, out);
    await expect(exportCcosArchive(backupGraph, out)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('overwrite') });
    const one = { intents: { [Object.keys(backupGraph.intents)[0]!]: Object.values(backupGraph.intents)[0]! }, edges: [] };
    const report = await exportCcosArchive(one, out, { overwrite: true });
    expect(report.removed).toBe(16);
    expect([...(await adapterBytes(out)).keys()]).toHaveLength(3);
    expect(text((await out.read('edges/index.json'))!)).toBe('{}');
    await out.write('objects/ab/cd/x.json', new Uint8Array([1]));
    await expect(exportCcosArchive(one, out, { overwrite: true })).rejects.toMatchObject({ message: expect.stringContaining('objects/ab/cd/x.json') });
  });

  it('writes under a prefix and refuses an invalid graph before writing anything', async () => {
    const out = memoryAdapter();
    await exportCcosArchive(backupGraph, out, { prefix: 'ccos/' });
    const { report } = await importFrom(out, { prefix: 'ccos/' });
    expect(report.intents).toBe(7);
    const empty = memoryAdapter();
    await expect(exportCcosArchive({ intents: { a: { intent_id: 'b' } as never }, edges: [] }, empty)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await adapterBytes(empty)).size).toBe(0);
  });
});

describe('serde float printing (ryu)', () => {
  it.each([
    [1, '1.0'],
    [0.1, '0.1'],
    [1e-7, '1e-7'],
    [1e-6, '1e-6'],
    [1e-5, '0.00001'],
    [0.30000000000000004, '0.30000000000000004'],
    [-2.5, '-2.5'],
    [1e15, '1000000000000000.0'],
    [1e16, '1e16'],
    [1.5e16, '1.5e16'],
    [123456789012345680, '1.2345678901234568e17'],
    [1e20, '1e20'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e308'],
    [-0, '-0.0'],
    [0, '0.0'],
    [12.34, '12.34'],
  ])('%s → %s', (x, s) => {
    expect(formatSerdeF64(x)).toBe(s);
    expect(Number(s)).toBe(x);
  });

  it('matches the fixture, written by serde', () => {
    const weights = edgeSet(backupGraph.edges).map((e) => serdeEdge(e));
    for (const w of weights) expect(fixtureFiles.has(`edges/${w.hash.slice(0, 2)}/${w.hash.slice(2, 4)}/${w.hash}.json`)).toBe(true);
  });
});
