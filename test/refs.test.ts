/**
 * References (src/refs/, docs/format.md "References v1"): names, set / get /
 * compareAndSet / delete / list / history / check, the stored document,
 * refusals that leave the store unchanged, on every compare-and-swap path of
 * the memory adapter (lock, native swap, single writer).
 */
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { openArchive } from '../src/archive/index.js';
import { gcTrashKey, objectKey, referenceKey } from '../src/archive/layout.js';
import type { ContentArchive } from '../src/archive/types.js';
import { ConflictError } from '../src/errors.js';
import { canonicalize } from '../src/json/canonical.js';
import { assertReferenceName, openReferences, ReferenceConflictError, type References } from '../src/refs/index.js';
import { caught, expectCode } from '../src/testing/expect-code.js';
import { hiding } from './support/refs-adapters.js';
import { compareAndSetRetrying } from './support/refs-race.js';

const dec = new TextDecoder();
const enc = new TextEncoder();

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A clock that ticks 1 ms per call from a fixed start. */
function ticking(start = 1_700_000_000_000): () => number {
  let t = start;
  return () => t++;
}

async function setup(adapter: StorageAdapter = memoryAdapter(), options: Parameters<typeof openReferences>[1] = {}) {
  const archive = await openArchive(adapter);
  const refs = openReferences(archive, { now: ticking(), ...options });
  const [a, b, c] = await archive.putMany([{ v: 'a' }, { v: 'b' }, { v: 'c' }]);
  return { adapter, archive, refs, a: a!, b: b!, c: c! };
}

/** Every key and its bytes, to prove a refusal changed nothing. */
async function snapshot(adapter: StorageAdapter): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const key of adapter.list('')) out.set(key, dec.decode((await adapter.read(key))!));
  return out;
}

describe('reference names', () => {
  it('accepts key-safe names and refuses the rest with INVALID_KEY', async () => {
    for (const good of ['a', 'notes/42', 'a.b/c_d~e-f', 'x'.repeat(200), '.hidden', 'a/b/c/d', 'a.jsonx']) expect(() => assertReferenceName(good)).not.toThrow();
    const { refs, a, adapter } = await setup();
    const before = await snapshot(adapter);
    for (const bad of ['', '..', '.', 'a/../b', '/a', 'a/', 'a//b', 'a b', 'é', 'x'.repeat(201), 'a.json', 'a.json/b', 'a:b', 42, null]) {
      await expectCode(refs.set(bad as string, a), 'INVALID_KEY');
      await expectCode(refs.get(bad as string), 'INVALID_KEY');
    }
    await expectCode(collect(refs.list({ prefix: '../' })), 'INVALID_KEY');
    await expectCode(collect(refs.list({ prefix: 'a b' })), 'INVALID_KEY');
    expect(await snapshot(adapter)).toEqual(before);
  });
});

for (const [label, make] of [
  ['memory, lock', () => memoryAdapter()],
  ['memory, native swap', () => hiding(memoryAdapter(), ['lock'])],
  ['memory, single writer', () => hiding(memoryAdapter(), ['lock', 'swap'])],
] as const) {
  describe(`references on ${label}`, () => {
    const open = (options = {}) => setup(make(), { singleWriter: true, ...options });

    it('set, get and history: newest first, with times, seq and canonical meta; set is idempotent', async () => {
      const { refs, a, b, adapter } = await open();
      expect(await refs.get('notes/1')).toBeUndefined();
      expect(await refs.history('notes/1')).toEqual([]);
      const r1 = await refs.set('notes/1', a, { meta: { z: 1, a: [true, 1.5] } });
      expect(r1).toEqual({ name: 'notes/1', hash: a, meta: { a: [true, 1.5], z: 1 }, seq: 1, time: expect.any(Number) });
      expect(await refs.set('notes/1', a, { meta: { a: [true, 1.5], z: 1 } })).toEqual(r1); // same value: nothing written
      const r2 = await refs.set('notes/1', b);
      expect(r2.seq).toBe(2);
      expect(r2.time).toBeGreaterThan(r1.time);
      expect(await refs.get('notes/1')).toEqual(r2);
      const history = await refs.history('notes/1');
      expect(history.map((v) => [v.hash, v.seq])).toEqual([
        [b, 2],
        [a, 1],
      ]);
      expect(history[1]!.meta).toEqual({ a: [true, 1.5], z: 1 });
      // The stored document is exactly the canonical bytes of docs/format.md.
      const raw = dec.decode((await adapter.read(referenceKey('notes/1')))!);
      expect(raw).toBe(
        canonicalize({
          format: 'archive-storage/reference',
          name: 'notes/1',
          version: 1,
          versions: [
            { hash: b, seq: 2, time: r2.time },
            { hash: a, meta: { a: [true, 1.5], z: 1 }, seq: 1, time: r1.time },
          ],
        }),
      );
    });

    it('refuses a hash the archive lacks (NOT_FOUND), bad hashes, bad or large meta, all without writing', async () => {
      const { refs, a, adapter } = await open();
      await refs.set('n', a);
      const before = await snapshot(adapter);
      await expectCode(refs.set('n', 'f'.repeat(64)), 'NOT_FOUND');
      await expectCode(refs.set('m', 'f'.repeat(64)), 'NOT_FOUND');
      await expectCode(refs.set('n', 'F'.repeat(64)), 'INVALID_ARGUMENT');
      await expectCode(refs.set('n', 'abc'), 'INVALID_ARGUMENT');
      await expectCode(refs.compareAndSet('n', 'nope', a), 'INVALID_ARGUMENT');
      await expectCode(refs.set('n', a, { meta: { big: 'x'.repeat(1020) } }), 'INVALID_ARGUMENT');
      await expectCode(refs.set('n', a, { meta: { bad: Number.NaN } as never }), 'INVALID_JSON');
      await expectCode(refs.set('n', a, { meta: { f: (() => 1) as never } }), 'INVALID_JSON');
      await expectCode(refs.set('n', a, { signal: AbortSignal.abort() }), 'ABORTED');
      expect(await snapshot(adapter)).toEqual(before);
      // Told to, it points at a hash it lacks; check() reports it.
      await refs.set('m', 'f'.repeat(64), { allowMissing: true });
      expect(await refs.check()).toEqual({ checked: 2, dangling: [{ name: 'm', hash: 'f'.repeat(64), seq: 1, current: true }], ok: false });
      // Meta of exactly the limit is fine.
      const meta = { m: 'x'.repeat(1024 - '{"m":""}'.length) };
      expect((await refs.set('n', a, { meta })).meta).toEqual(meta);
    });

    it('compareAndSet: the loser gets CONFLICT with the current value and writes nothing', async () => {
      const { refs, a, b, c, adapter } = await open();
      const r1 = await refs.compareAndSet('doc', null, a);
      expect(r1.seq).toBe(1);
      const before = await snapshot(adapter);
      const lost = await caught(refs.compareAndSet('doc', null, b));
      expect(lost).toBeInstanceOf(ReferenceConflictError);
      expect(lost).toBeInstanceOf(ConflictError);
      expect(lost).toMatchObject({ code: 'CONFLICT', key: 'refs/doc.json', reference: 'doc', expected: null, current: r1, name: 'ReferenceConflictError' });
      expect(String((lost as Error).message)).toContain(`is at ${a}`);
      await expectCode(refs.compareAndSet('doc', b, c), 'CONFLICT');
      expect(await snapshot(adapter)).toEqual(before);
      const r2 = await refs.compareAndSet('doc', a, b, { meta: 'second' });
      expect(r2).toMatchObject({ hash: b, meta: 'second', seq: 2 });
      // After a delete, "absent" is what to expect.
      expect(await refs.delete('doc')).toBe(true);
      expect((await caught(refs.compareAndSet('doc', b, c))) as ReferenceConflictError).toMatchObject({ current: undefined });
      expect((await refs.compareAndSet('doc', null, c)).seq).toBe(4);
    });

    it('delete keeps the history (the deletion on top); expected guards it; deleting the absent is false', async () => {
      const { refs, a, b, adapter } = await open();
      expect(await refs.delete('gone')).toBe(false);
      expect(await adapter.has(referenceKey('gone'))).toBe(false);
      await refs.set('x', a);
      await refs.set('x', b);
      await expectCode(refs.delete('x', { expected: a }), 'CONFLICT');
      expect((await refs.get('x'))!.hash).toBe(b);
      expect(await refs.delete('x', { expected: b })).toBe(true);
      expect(await refs.get('x')).toBeUndefined();
      expect(await refs.delete('x')).toBe(false);
      expect((await refs.history('x')).map((v) => [v.hash, v.seq])).toEqual([
        [null, 3],
        [b, 2],
        [a, 1],
      ]);
      await expectCode(refs.delete('x', { expected: a }), 'CONFLICT');
    });

    it('retention keeps the last keepVersions earlier versions', async () => {
      const { refs, archive } = await open({ keepVersions: 2 });
      const hashes = await archive.putMany(Array.from({ length: 6 }, (_, i) => ({ i })));
      for (const h of hashes) await refs.set('r', h);
      expect((await refs.history('r')).map((v) => [v.hash, v.seq])).toEqual([
        [hashes[5], 6],
        [hashes[4], 5],
        [hashes[3], 4],
      ]);
      await expectCode(() => openReferences(archive, { keepVersions: -1 }), 'INVALID_ARGUMENT');
      await expectCode(() => openReferences(archive, { keepVersions: 1001 }), 'INVALID_ARGUMENT');
    });

    it('list streams present references by prefix, page after page', async () => {
      const { refs, a, b } = await open();
      const names = Array.from({ length: 150 }, (_, i) => `n/${String(i).padStart(3, '0')}`);
      for (const n of names) await refs.set(n, a);
      await refs.set('n/a', b);
      await refs.set('other', b);
      await refs.delete('n/007');
      const all = await collect(refs.list());
      expect(all.map((r) => r.name).sort()).toEqual([...names.filter((n) => n !== 'n/007'), 'n/a', 'other'].sort());
      expect((await collect(refs.list({ prefix: 'n/01' }))).map((r) => r.name).sort()).toEqual(names.slice(10, 20));
      // A prefix that the key of 'n/a' ('refs/n/a.json') starts with, but the name does not.
      expect(await collect(refs.list({ prefix: 'n/a.j' }))).toEqual([]);
      expect((await collect(refs.list({ prefix: 'oth' }))).map((r) => [r.name, r.hash])).toEqual([['other', b]]);
    });

    it('an unknown version is UNSUPPORTED_VERSION and left untouched; a damaged document CORRUPT_INDEX', async () => {
      const { refs, a, adapter } = await open();
      const future = enc.encode('{"format":"archive-storage/reference","name":"f","version":2,"versions":[]}');
      await adapter.write(referenceKey('f'), future);
      for (const call of [() => refs.get('f'), () => refs.set('f', a), () => refs.compareAndSet('f', null, a), () => refs.delete('f'), () => refs.history('f'), () => collect(refs.list())]) {
        await expectCode(call, 'UNSUPPORTED_VERSION');
      }
      expect(await adapter.read(referenceKey('f'))).toEqual(future);
      await adapter.delete(referenceKey('f'));
      await refs.set('d', a);
      const good = dec.decode((await adapter.read(referenceKey('d')))!);
      for (const bad of [
        'nonsense',
        good.replace('"name":"d"', '"name":"e"'),
        good.replace('archive-storage/reference', 'other/format'),
        good.replace('{"format"', '{ "format"'),
        good.replace('"seq":1', '"seq":0'),
        good.replace(a, 'x'.repeat(64)),
        good.replace('"versions":[', '"extra":1,"versions":['),
      ]) {
        await adapter.write(referenceKey('d'), enc.encode(bad));
        const e = await expectCode<ConflictError>(() => refs.set('d', a), 'CORRUPT_INDEX');
        expect(e.key).toBe('refs/d.json');
        expect(dec.decode((await adapter.read(referenceKey('d')))!)).toBe(bad);
      }
    });

    it('N concurrent compare-and-set writers on one name: every success once in the history, none lost', async () => {
      const { refs, archive } = await open({ keepVersions: 1000 });
      const writers = 8;
      const each = 10;
      const successes: { seq: number; hash: string }[] = [];
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const mine = openReferences(archive, { singleWriter: true, keepVersions: 1000 }); // one handle per writer, one storage
          let seen = (await mine.get('race'))?.hash ?? null;
          for (let i = 0; i < each; i++) {
            const hash = await archive.put({ w, i });
            const r = await compareAndSetRetrying(mine, 'race', seen, hash);
            successes.push({ seq: r.seq, hash: r.hash });
            seen = r.hash;
          }
        }),
      );
      const history = await refs.history('race');
      expect(history.map((v) => v.seq)).toEqual(Array.from({ length: writers * each }, (_, i) => writers * each - i));
      expect(new Set(successes.map((s) => `${s.seq} ${s.hash}`))).toEqual(new Set(history.map((v) => `${v.seq} ${v.hash}`)));
      expect(successes).toHaveLength(writers * each);
    });

    it('a concurrent gc that trashed the object: set puts it back from gc-trash, or takes its version back', async () => {
      let trashOnWrite: ((key: string) => Promise<void>) | undefined;
      // After the reference document lands, "a gc" moves the object to its trash (and maybe removes it).
      const adapter = new Proxy(make(), {
        get(target, p) {
          const v = Reflect.get(target, p) as unknown;
          if (p === 'write' || p === 'swap') {
            return async (key: string, ...rest: unknown[]) => {
              const r = await (v as (...a: unknown[]) => Promise<unknown>).call(target, key, ...rest);
              if (key.startsWith('refs/') && trashOnWrite) await trashOnWrite(key);
              return r;
            };
          }
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const { refs, archive, a, b } = await setup(adapter, { singleWriter: true });
      await refs.set('t', a);
      const trash = (purge: boolean) => async () => {
        trashOnWrite = undefined;
        await adapter.write(gcTrashKey(b), (await adapter.read(objectKey(b)))!);
        await archive.delete(b);
        if (purge) await adapter.delete(gcTrashKey(b));
      };
      trashOnWrite = trash(false);
      expect((await refs.set('t', b)).hash).toBe(b);
      expect(await archive.has(b)).toBe(true); // put back, through the archive (indexed again)
      expect(await archive.get(b)).toEqual({ v: 'b' });
      expect((await archive.verify()).ok).toBe(true);
      await refs.set('t', a);
      trashOnWrite = trash(true);
      await expectCode(refs.set('t', b), 'NOT_FOUND');
      expect(await archive.has(b)).toBe(false);
      // Its version was taken back: the reference is as it was before that set.
      expect((await refs.get('t'))!.hash).toBe(a);
      expect((await refs.history('t')).map((v) => v.hash)).toEqual([a, b, a]);
    });
  });
}

describe('references on an adapter with neither compare-and-swap nor a lock', () => {
  it('are refused at once with CONDITIONAL_WRITES_UNSUPPORTED, unless the caller is the only writer', async () => {
    const archive: ContentArchive = await openArchive(hiding(memoryAdapter(), ['lock', 'swap']));
    await expectCode(() => openReferences(archive), 'CONDITIONAL_WRITES_UNSUPPORTED');
    expect(openReferences(archive, { singleWriter: true }).mode).toBe('single-writer');
    await expectCode(() => openReferences({} as ContentArchive), 'INVALID_ARGUMENT');
  });

  it('a second handle sees the first one\'s changes (one storage, two archives)', async () => {
    const store = new Map<string, Uint8Array>();
    const one = await setup(memoryAdapter({ store }));
    const two: References = openReferences(await openArchive(memoryAdapter({ store })));
    await one.refs.set('shared', one.a);
    expect((await two.get('shared'))!.hash).toBe(one.a);
    await two.compareAndSet('shared', one.a, one.b);
    await expectCode(one.refs.compareAndSet('shared', one.a, one.c), 'CONFLICT');
  });
});

describe('archive.refs', () => {
  it('is the archive\'s own references handle, opened on first use and kept', async () => {
    const archive = await openArchive(memoryAdapter());
    const hash = await archive.put({ note: 42 });
    expect(archive.refs).toBe(archive.refs);
    await archive.refs.set('notes/42', hash);
    const again = openReferences(archive);
    expect((await again.get('notes/42'))?.hash).toBe(hash);
    await archive.close();
  });
});
