/**
 * References in bundles (docs/format.md, "Bundle v2"): they travel with
 * their history, byte for byte; the bundle stays deterministic across
 * backends; a bundle without references is version 1 as before; an import
 * decides every name before storing anything (conflicts refuse it whole, or
 * are skipped on request), fast-forwards with merged history, never moves a
 * name that is ahead, never overwrites a concurrent writer, and takes a
 * failure before its reference record back completely.
 */
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { sqliteAdapter } from '../adapters/sqlite.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { openArchive } from '../src/archive/index.js';
import type { ContentArchive } from '../src/archive/types.js';
import { importBundle, ReferenceTransferConflictError, verifyBundle } from '../src/bundle/index.js';
import { BackendError } from '../src/errors.js';
import { canonicalBytes } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { openReferences, type References } from '../src/refs/index.js';
import { makeHostileBundles } from './fixtures/make-hostile-bundles.js';
import { bundleExporter, concatChunks, tempRootForFile } from './support/bundle-setup.js';

const { root, freshDir } = tempRootForFile('bundle-refs');
const dec = new TextDecoder();
const bundleOf = bundleExporter(1_700_000_000_000);

/** A clock that gives the same times on every backend, so the same changes make the same documents. */
function clock(start = 1_700_000_000_000) {
  let t = start;
  return () => (t += 1000);
}

/**
 * Every key under refs/ with its bytes, every object hash and every key but the journal's (a rollback's put and
 * delete lines are the archive's own write-ahead log): what an import must leave alone when it fails.
 */
async function state(archive: ContentArchive): Promise<{ refs: Record<string, string>; objects: string[]; keys: string[] }> {
  const refs: Record<string, string> = {};
  const keys: string[] = [];
  for await (const k of archive.adapter.list('')) {
    if (!k.startsWith('journal/')) keys.push(k);
    if (k.startsWith('refs/')) refs[k] = dec.decode(await archive.adapter.read(k));
  }
  const objects: string[] = [];
  for await (const h of archive.list()) objects.push(h);
  return { refs, objects: objects.sort(), keys: keys.sort() };
}

/**
 * The same content on any archive: 40 objects; notes/1..5 with a history of
 * three versions (one with meta), gone/x deleted, todo at one version.
 */
async function fill(archive: ContentArchive, refs: References): Promise<string[]> {
  const hashes = await archive.putMany(Array.from({ length: 40 }, (_, i) => ({ i, text: `value ${i}` })));
  for (let n = 1; n <= 5; n++) {
    await refs.set(`notes/${n}`, hashes[n]!);
    await refs.set(`notes/${n}`, hashes[n + 10]!, { meta: { by: 'ana', n } });
    await refs.set(`notes/${n}`, hashes[n + 20]!);
  }
  await refs.set('gone/x', hashes[30]!);
  await refs.delete('gone/x');
  await refs.set('todo', hashes[31]!);
  return hashes;
}

describe('references in bundles', () => {
  it('carry every document byte for byte (history, meta, deletions); byte-identical bundles from memory, node-fs and SQLite', async () => {
    const mem = await openArchive(memoryAdapter());
    await fill(mem, openReferences(mem, { now: clock() }));
    const fs = await openArchive(nodeFsAdapter({ dir: freshDir(), durable: false }));
    await fill(fs, openReferences(fs, { now: clock() }));
    const sql = await openArchive(await sqliteAdapter({ file: join(root, 'refs.sqlite') }));
    await fill(sql, openReferences(sql, { now: clock() }));

    const a = await bundleOf(mem);
    expect(Buffer.from(await bundleOf(fs)).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(await bundleOf(sql)).equals(Buffer.from(a))).toBe(true);

    // Version 2, refs listed by name, the documents after the extras and before the objects, as stored.
    const files = unzipSync(a);
    const names = Object.keys(files);
    const refEntries = names.filter((n) => n.startsWith('refs/'));
    expect(refEntries).toEqual(['refs/gone/x.json', 'refs/notes/1.json', 'refs/notes/2.json', 'refs/notes/3.json', 'refs/notes/4.json', 'refs/notes/5.json', 'refs/todo.json']);
    expect(names.indexOf('refs/gone/x.json')).toBe(2);
    expect(names.slice(2 + refEntries.length).every((n) => n.startsWith('objects/'))).toBe(true);
    const manifest = JSON.parse(dec.decode(files['manifest.json']));
    expect(manifest.version).toBe(2);
    for (const [name, sha, size] of manifest.refs as [string, string, number][]) {
      const stored = await mem.adapter.read(`refs/${name}.json`);
      expect(Buffer.from(files[`refs/${name}.json`]!).equals(Buffer.from(stored!))).toBe(true);
      expect([sha, size]).toEqual([sha256Hex(stored!), stored!.length]);
    }

    // Into an empty archive: every document as it was, and the same bundle out again.
    const copy = await openArchive(nodeFsAdapter({ dir: freshDir(), durable: false }));
    const report = await importBundle(copy, a);
    expect(report.references).toEqual({ created: 7, advanced: 0, unchanged: 0, behind: 0, conflicts: [] });
    expect((await state(copy)).refs).toEqual((await state(mem)).refs);
    expect(await openReferences(copy).history('notes/3')).toEqual(await openReferences(mem).history('notes/3'));
    expect(await openReferences(copy).get('gone/x')).toBeUndefined();
    expect(Buffer.from(await bundleOf(copy)).equals(Buffer.from(a))).toBe(true);
    // No staging or record left behind.
    expect((await state(copy)).keys.filter((k) => k.startsWith('bundle-staging/'))).toEqual([]);
    // Importing it again changes nothing.
    const before = await state(copy);
    expect((await importBundle(copy, a)).references).toEqual({ created: 0, advanced: 0, unchanged: 7, behind: 0, conflicts: [] });
    expect(await state(copy)).toEqual(before);
    await Promise.all([fs.close(), sql.close(), copy.close()]);
    await sql.adapter.close?.();
  });

  it('an archive without references still gives a version 1 bundle with no refs field', async () => {
    const archive = await openArchive(memoryAdapter());
    await archive.putMany([{ a: 1 }, { b: 2 }]);
    const manifest = JSON.parse(dec.decode(unzipSync(await bundleOf(archive))['manifest.json']));
    expect(manifest.version).toBe(1);
    expect('refs' in manifest).toBe(false);
    expect((await verifyBundle(await bundleOf(archive))).manifest.refs).toEqual([]);
  });

  it('export refuses a reference to an object the archive lacks (NOT_FOUND), so no bundle is made that cannot be restored', async () => {
    const archive = await openArchive(memoryAdapter());
    const refs = openReferences(archive);
    await refs.set('ok', await archive.put({ ok: true }));
    await refs.set('dangling', sha256Hex(canonicalBytes({ never: 'stored' })), { allowMissing: true });
    await expect(bundleOf(archive)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('"dangling"') });
  });

  it('a reference may name an object the target already holds instead of the bundle', async () => {
    const dangling = makeHostileBundles().find((c) => c.name === 'ref-dangling')!;
    const archive = await openArchive(memoryAdapter());
    await archive.put({ absent: 'from bundle and target' });
    const report = await importBundle(archive, dangling.bytes);
    expect(report.references.created).toBe(1);
    const history = await openReferences(archive).history('notes/42');
    expect(history.map((v) => v.seq)).toEqual([2, 1]);
    for (const v of history) expect(await archive.has(v.hash!)).toBe(true);
  });

  it('fast-forward: a target at an earlier version of the same history is advanced, keeping its older versions the bundle trimmed', async () => {
    const values = Array.from({ length: 10 }, (_, i) => ({ v: i }));
    const source = await openArchive(memoryAdapter());
    const refs = openReferences(source, { now: clock(), keepVersions: 2 });
    const hashes = await source.putMany(values);
    for (let i = 0; i < 8; i++) await refs.set('doc', hashes[i]!); // seq 1..8 at hashes[seq - 1]; kept: 8, 7, 6
    const bundle = await bundleOf(source);

    // At seq 6 = hashes[5], a state the bundle's history holds: advanced, its 5..1 kept below the bundle's 8, 7, 6.
    const near = await openArchive(memoryAdapter());
    await near.putMany(values);
    const nearRefs = openReferences(near, { now: clock(5_000), keepVersions: 10 });
    for (let i = 0; i < 6; i++) await nearRefs.set('doc', hashes[i]!);
    expect((await importBundle(near, bundle)).references).toEqual({ created: 0, advanced: 1, unchanged: 0, behind: 0, conflicts: [] });
    const merged = await nearRefs.history('doc');
    expect(merged.map((v) => v.seq)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(merged.slice(0, 3)).toEqual(await refs.history('doc'));
    expect(merged[3]).toMatchObject({ seq: 5, hash: hashes[4] });

    // At seq 4: older than anything the bundle kept, so nothing proves it leads there: a conflict.
    const far = await openArchive(memoryAdapter());
    await far.putMany(values);
    const farRefs = openReferences(far);
    for (let i = 0; i < 4; i++) await farRefs.set('doc', hashes[i]!);
    const error = await importBundle(far, bundle).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReferenceTransferConflictError);
    expect((error as ReferenceTransferConflictError).conflicts).toEqual([{ name: 'doc', target: { seq: 4, hash: hashes[3] }, incoming: { seq: 8, hash: hashes[7] } }]);
  });

  it('a target ahead of the bundle (the bundle is in its history) is kept: behind', async () => {
    const source = await openArchive(memoryAdapter());
    const refs = openReferences(source, { now: clock() });
    const [a, b] = await source.putMany([{ a: 1 }, { b: 2 }]);
    await refs.set('doc', a!);
    const bundle = await bundleOf(source);
    const target = await openArchive(memoryAdapter());
    await importBundle(target, bundle);
    await openReferences(target).set('doc', await target.put({ b: 2 }));
    const before = await state(target);
    expect((await importBundle(target, bundle)).references).toEqual({ created: 0, advanced: 0, unchanged: 0, behind: 1, conflicts: [] });
    expect((await state(target)).refs).toEqual(before.refs);
    expect((await openReferences(target).get('doc'))?.hash).toBe(b);
  });

  it('a name on another history: CONFLICT refuses the whole import before anything is stored; skip-conflicts takes the rest', async () => {
    const source = await openArchive(memoryAdapter());
    await fill(source, openReferences(source, { now: clock() }));
    const bundle = await bundleOf(source);
    const target = await openArchive(memoryAdapter());
    const mine = openReferences(target);
    const [x, y] = await target.putMany([{ mine: 1 }, { mine: 2 }]);
    await mine.set('notes/2', x!); // the same name, its own history
    await mine.set('todo', y!);
    const before = await state(target);

    const error = await importBundle(target, bundle).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReferenceTransferConflictError);
    const conflict = error as ReferenceTransferConflictError;
    expect(conflict.code).toBe('CONFLICT');
    const srcRefs = openReferences(source);
    expect(conflict.conflicts).toEqual([
      { name: 'notes/2', target: { seq: 1, hash: x }, incoming: { seq: 3, hash: (await srcRefs.get('notes/2'))!.hash } },
      { name: 'todo', target: { seq: 1, hash: y }, incoming: { seq: 1, hash: (await srcRefs.get('todo'))!.hash } },
    ]);
    expect(conflict.message).toContain('"notes/2"');
    expect(await state(target)).toEqual(before); // no object, no reference, no staging

    const report = await importBundle(target, bundle, { references: 'skip-conflicts' });
    expect(report.references).toMatchObject({ created: 5, conflicts: [{ name: 'notes/2' }, { name: 'todo' }] });
    expect((await mine.get('notes/2'))?.hash).toBe(x);
    expect((await mine.get('todo'))?.hash).toBe(y);
    expect(await mine.history('notes/4')).toEqual(await srcRefs.history('notes/4'));
    await expect(importBundle(target, bundle, { references: 'overwrite' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a writer that changes a name between the decision and the write is never overwritten: the name is reported as a conflict', async () => {
    const source = await openArchive(memoryAdapter());
    await fill(source, openReferences(source, { now: clock() }));
    const bundle = await bundleOf(source);
    const inner = memoryAdapter();
    const other = await openArchive(inner);
    const otherRefs = openReferences(other);
    const theirs = await other.put({ concurrent: 'writer' });
    // The import's record write is the moment after its decisions and before its first reference write.
    const adapter: StorageAdapter = Object.create(inner, {
      write: {
        value: async (key: string, bytes: Uint8Array, o?: { signal?: AbortSignal }) => {
          if (key.endsWith('/references.json')) await otherRefs.set('notes/3', theirs);
          return inner.write(key, bytes, o);
        },
      },
    });
    const target = await openArchive(adapter);
    const report = await importBundle(target, bundle);
    expect(report.references).toMatchObject({ created: 6, conflicts: [{ name: 'notes/3', target: { seq: 1, hash: theirs } }] });
    expect(await otherRefs.history('notes/3')).toMatchObject([{ seq: 1, hash: theirs }]);
    expect((await openReferences(target).get('notes/4'))?.seq).toBe(3);
  });

  it('a failure before the reference record takes every object back and writes no reference', async () => {
    const source = await openArchive(memoryAdapter());
    await fill(source, openReferences(source, { now: clock() }));
    const bundle = await bundleOf(source);
    const inner = memoryAdapter();
    const adapter: StorageAdapter = Object.create(inner, {
      write: {
        value: async (key: string, bytes: Uint8Array, o?: { signal?: AbortSignal }) => {
          if (key.endsWith('/references.json')) throw new BackendError(`${key}: disk on fire (test)`);
          return inner.write(key, bytes, o);
        },
      },
    });
    const target = await openArchive(adapter);
    await target.put({ already: 'here' });
    const before = await state(target);
    await expect(importBundle(target, bundle)).rejects.toBeInstanceOf(BackendError);
    expect(await state(target)).toEqual(before);
  });
});
