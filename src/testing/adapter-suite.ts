/**
 * The adapter conformance suite. Every adapter runs it with a few lines:
 *
 * ```ts
 * runAdapterConformance('memory', async () => ({ adapter: memoryAdapter() }));
 * ```
 *
 * `setup` is called before each test and must give a fresh, empty adapter;
 * `teardown` (optional) runs after each test; `reopen` (optional) opens a new
 * adapter on the same storage, to prove data survives it.
 */
import { describe, expect, it } from 'vitest';
import type { StorageAdapter } from '../adapter/contract.js';
import { isArchiveStorageError } from '../errors.js';
import { bytesEqual } from '../internal/bytes.js';
import { expectCode } from './expect-code.js';

export interface ConformanceHarness {
  adapter: StorageAdapter;
  teardown?: () => Promise<void> | void;
  reopen?: () => Promise<StorageAdapter>;
}

export interface ConformanceOptions {
  /** Size of the "multi-megabyte" value (default 4 MiB). */
  largeBytes?: number;
  /** Number of keys in the "thousands of keys" list test (default 2000). */
  manyKeys?: number;
  /** Per-test timeout in ms (default 60 s). */
  timeoutMs?: number;
}

const enc = new TextEncoder();
const bytesOf = (s: string) => enc.encode(s);

/** A value whose every byte is `fill`: a torn mix of two such values is detectable. */
function uniform(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

function isUniform(bytes: Uint8Array): boolean {
  const first = bytes[0];
  for (let i = 1; i < bytes.length; i++) if (bytes[i] !== first) return false;
  return true;
}

async function collect(iter: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of iter) out.push(k);
  return out;
}

export function runAdapterConformance(
  name: string,
  setup: () => Promise<ConformanceHarness>,
  options: ConformanceOptions = {},
): void {
  const largeBytes = options.largeBytes ?? 4 * 1024 * 1024;
  const manyKeys = options.manyKeys ?? 2000;
  const timeout = options.timeoutMs ?? 60_000;

  describe(`adapter conformance: ${name}`, () => {
    const test = (title: string, body: (a: StorageAdapter, h: ConformanceHarness) => Promise<void>) =>
      it(
        title,
        async () => {
          const h = await setup();
          try {
            await body(h.adapter, h);
          } finally {
            await h.teardown?.();
          }
        },
        timeout,
      );

    test('round-trips empty, small and multi-megabyte values', async (a) => {
      const large = new Uint8Array(largeBytes);
      for (let i = 0; i < large.length; i++) large[i] = (i * 31 + 7) & 0xff;
      await a.write('v/empty', new Uint8Array(0));
      await a.write('v/small', bytesOf('{"a":1}'));
      await a.write('v/large', large);
      expect(await a.read('v/empty')).toEqual(new Uint8Array(0));
      expect(await a.read('v/small')).toEqual(bytesOf('{"a":1}'));
      const back = await a.read('v/large');
      expect(back?.byteLength).toBe(largeBytes);
      expect(bytesEqual(back!, large)).toBe(true);
      expect(await a.has('v/empty')).toBe(true);
    });

    test('a missing key reads undefined, has false, deletes without error', async (a) => {
      expect(await a.read('nope/never')).toBeUndefined();
      expect(await a.has('nope/never')).toBe(false);
      await a.delete('nope/never');
      expect(await a.has('nope/never')).toBe(false);
    });

    test('accepts keys with every allowed character', async (a) => {
      const keys = [
        'ABCDEFGHIJKLMNOPQRSTUVWXYZ/abcdefghijklmnopqrstuvwxyz/0123456789',
        'a.b_c~d-e/f.json',
        '.hidden/x',
        '~/-/_',
        'objects/ab/cd/' + 'ab'.repeat(32) + '.json',
        'x'.repeat(200) + '/' + 'y'.repeat(200),
      ];
      for (const [i, k] of keys.entries()) await a.write(k, bytesOf(String(i)));
      for (const [i, k] of keys.entries()) expect(await a.read(k)).toEqual(bytesOf(String(i)));
      expect((await collect(a.list(''))).sort()).toEqual([...keys].sort());
    });

    test('refuses invalid keys with INVALID_KEY and stores nothing', async (a) => {
      const bad = ['', '/abs', 'trailing/', 'a//b', '../up', 'a/../b', 'a/./b', 'back\\slash', 'sp ace', 'ü', 'c:/x', 'q?x', 'z'.repeat(600)];
      for (const k of bad) {
        await expectCode(a.write(k, bytesOf('x')), 'INVALID_KEY');
        await expectCode(a.read(k), 'INVALID_KEY');
      }
      expect(await collect(a.list(''))).toEqual([]);
    });

    test('refuses values that are not bytes with INVALID_ARGUMENT and stores nothing', async (a) => {
      const bad: unknown[] = ['text', [1, 2, 3], new Uint16Array(2), new DataView(new ArrayBuffer(2)), null, undefined, { length: 1, 0: 1 }];
      for (const v of bad) {
        await expectCode(a.write('nb/1', v as Uint8Array), 'INVALID_ARGUMENT');
        if (a.writeMany) await expectCode(a.writeMany([{ key: 'nb/2', bytes: bytesOf('ok') }, { key: 'nb/3', bytes: v as Uint8Array }]), 'INVALID_ARGUMENT');
        if (a.create) await expectCode(a.create('nb/4', v as Uint8Array), 'INVALID_ARGUMENT');
        if (a.append) await expectCode(a.append('nb/5', v as Uint8Array), 'INVALID_ARGUMENT');
      }
      expect(await collect(a.list(''))).toEqual([]);
      // A subclass of Uint8Array (Node's Buffer is one) is bytes.
      class Bytes extends Uint8Array {}
      await a.write('nb/6', new Bytes([1, 2]));
      expect([...(await a.read('nb/6'))!]).toEqual([1, 2]);
      // Node's Buffer: its slice() is a view, so an adapter must copy some other way.
      const NodeBuffer = (globalThis as { Buffer?: { from(a: number[]): Uint8Array } }).Buffer;
      if (NodeBuffer) {
        const buf = NodeBuffer.from([7, 8, 9]);
        await a.write('nb/7', buf);
        buf[0] = 0;
        expect([...(await a.read('nb/7'))!]).toEqual([7, 8, 9]);
      }
    });

    test('overwrite replaces the bytes', async (a) => {
      await a.write('k', bytesOf('one'));
      await a.write('k', bytesOf('two, longer'));
      await a.write('k', bytesOf('3'));
      expect(await a.read('k')).toEqual(bytesOf('3'));
    });

    test('delete removes the key and only it', async (a) => {
      await a.write('d/1', bytesOf('1'));
      await a.write('d/2', bytesOf('2'));
      await a.delete('d/1');
      expect(await a.has('d/1')).toBe(false);
      expect(await a.read('d/2')).toEqual(bytesOf('2'));
      expect(await collect(a.list('d/'))).toEqual(['d/2']);
    });

    test('bytes are not shared with the caller', async (a) => {
      const input = bytesOf('abc');
      await a.write('own', input);
      input[0] = 0x7a;
      const out = (await a.read('own'))!;
      expect(out).toEqual(bytesOf('abc'));
      out[1] = 0x7a;
      expect(await a.read('own')).toEqual(bytesOf('abc'));
    });

    test('list filters by prefix', async (a) => {
      for (const k of ['objects/aa/bb/1.json', 'objects/aa/cc/2.json', 'objects/ab/00/3.json', 'index.json', 'objectsX/4']) {
        await a.write(k, bytesOf(k));
      }
      expect((await collect(a.list('objects/'))).sort()).toEqual(['objects/aa/bb/1.json', 'objects/aa/cc/2.json', 'objects/ab/00/3.json']);
      expect((await collect(a.list('objects/aa/'))).sort()).toEqual(['objects/aa/bb/1.json', 'objects/aa/cc/2.json']);
      expect((await collect(a.list('objects/a'))).sort()).toEqual(['objects/aa/bb/1.json', 'objects/aa/cc/2.json', 'objects/ab/00/3.json']);
      expect(await collect(a.list('nothing/'))).toEqual([]);
      expect((await collect(a.list(''))).length).toBe(5);
    });

    test(`lists thousands of keys, each once`, async (a) => {
      const keys: string[] = [];
      for (let i = 0; i < manyKeys; i++) {
        const h = (i * 2654435761 >>> 0).toString(16).padStart(8, '0');
        keys.push(`many/${h.slice(0, 2)}/${h.slice(2, 4)}/${h}-${i}.json`);
      }
      const entries = keys.map((key, i) => ({ key, bytes: bytesOf(String(i)) }));
      if (a.writeMany) await a.writeMany(entries);
      else for (const e of entries) await a.write(e.key, e.bytes);
      const listed = await collect(a.list('many/'));
      expect(listed.length).toBe(manyKeys);
      expect(new Set(listed).size).toBe(manyKeys);
      expect([...listed].sort()).toEqual([...keys].sort());
    });

    test('many parallel writes to different keys all land', async (a) => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => a.write(`par/${i}`, bytesOf(`v${i}`))));
      const got = await Promise.all(Array.from({ length: 200 }, (_, i) => a.read(`par/${i}`)));
      got.forEach((v, i) => expect(v).toEqual(bytesOf(`v${i}`)));
    });

    test('parallel writes to one key leave one whole value, and readers never see a torn one', async (a) => {
      const size = 256 * 1024;
      await a.write('same', uniform(size, 0));
      const writers = Array.from({ length: 20 }, (_, i) => a.write('same', uniform(size, i + 1)));
      const readers = Array.from({ length: 20 }, async () => {
        const v = await a.read('same');
        expect(v?.byteLength).toBe(size);
        expect(isUniform(v!)).toBe(true);
      });
      await Promise.all([...writers, ...readers]);
      const final = (await a.read('same'))!;
      expect(final.byteLength).toBe(size);
      expect(isUniform(final)).toBe(true);
      expect(final[0]).toBeGreaterThanOrEqual(1);
    });

    test('an aborted signal rejects with ABORTED and changes nothing', async (a) => {
      await a.write('ab', bytesOf('old'));
      const signal = AbortSignal.abort();
      await expectCode(a.write('ab', bytesOf('new'), { signal }), 'ABORTED');
      await expectCode(a.read('ab', { signal }), 'ABORTED');
      await expectCode(a.has('ab', { signal }), 'ABORTED');
      await expectCode(a.delete('ab', { signal }), 'ABORTED');
      await expectCode(collect(a.list('', { signal })), 'ABORTED');
      expect(await a.read('ab')).toEqual(bytesOf('old'));
    });

    test('abort mid-write leaves the old or the new value, never a mix', async (a) => {
      const size = Math.max(1024 * 1024, Math.floor(largeBytes / 2));
      await a.write('mid', uniform(size, 1));
      for (let round = 0; round < 5; round++) {
        const ctl = new AbortController();
        const p = a.write('mid', uniform(size, 2 + round), { signal: ctl.signal });
        setTimeout(() => ctl.abort(), round);
        try {
          await p;
        } catch (e) {
          expect(isArchiveStorageError(e, 'ABORTED')).toBe(true);
        }
        const v = (await a.read('mid'))!;
        expect(v.byteLength).toBe(size);
        expect(isUniform(v)).toBe(true);
      }
    });

    test('abort mid-list stops the iteration with ABORTED', async (a) => {
      for (let i = 0; i < 50; i++) await a.write(`l/${i}`, bytesOf('x'));
      const ctl = new AbortController();
      let seen = 0;
      let caught: unknown;
      try {
        for await (const _ of a.list('l/', { signal: ctl.signal })) {
          if (++seen === 5) ctl.abort();
        }
      } catch (e) {
        caught = e;
      }
      expect(isArchiveStorageError(caught, 'ABORTED')).toBe(true);
      expect(seen).toBeLessThan(50);
    });

    test('writeMany commits every entry (when declared)', async (a) => {
      expect(Boolean(a.writeMany)).toBe(a.capabilities.writeMany);
      if (!a.writeMany) return;
      const entries = Array.from({ length: 500 }, (_, i) => ({ key: `wm/${i % 7}/${i}`, bytes: bytesOf(`e${i}`) }));
      await a.writeMany(entries);
      for (const e of entries) expect(await a.read(e.key)).toEqual(e.bytes);
      await a.writeMany([]);
      await expectCode(a.writeMany([{ key: 'ok/1', bytes: bytesOf('1') }, { key: '../bad', bytes: bytesOf('2') }]), 'INVALID_KEY');
      expect(await a.has('ok/1')).toBe(false);
    });

    test('writeMany is all-or-nothing under abort (when atomicBatch is declared)', async (a) => {
      expect(!a.capabilities.atomicBatch || a.capabilities.writeMany).toBe(true);
      if (!a.capabilities.atomicBatch || !a.writeMany) return;
      const keys = Array.from({ length: 200 }, (_, i) => `ab/${i % 10}/${i}`);
      await a.writeMany(keys.map((key) => ({ key, bytes: uniform(8192, 1) })));
      for (let round = 0; round < 6; round++) {
        const fill = 2 + round;
        const ctl = new AbortController();
        const p = a.writeMany(keys.map((key) => ({ key, bytes: uniform(8192, fill) })), { signal: ctl.signal });
        setTimeout(() => ctl.abort(), round);
        try {
          await p;
        } catch (e) {
          expect(isArchiveStorageError(e, 'ABORTED')).toBe(true);
        }
        // An aborted batch may still land (the abort came too late), but only whole.
        await new Promise((r) => setTimeout(r, 50));
        const fills = new Set<number>();
        for (const key of keys) {
          const v = (await a.read(key))!;
          expect(isUniform(v)).toBe(true);
          fills.add(v[0]!);
        }
        expect(fills.size, `round ${round}: a batch was half applied`).toBe(1);
        // Old bytes (of an earlier round) or this round's, nothing else.
        expect([...fills][0]).toBeLessThanOrEqual(fill);
      }
    });

    test('deleteMany removes every key given and only them (when declared)', async (a) => {
      expect(Boolean(a.deleteMany)).toBe(Boolean(a.capabilities.deleteMany));
      if (!a.deleteMany) return;
      await a.deleteMany([]);
      const keys = Array.from({ length: 300 }, (_, i) => `dm/${i % 7}/${i}`);
      // 30 writes in flight at a time: 300 one after the other took seconds on S3 and IndexedDB.
      for (let i = 0; i < keys.length; i += 30) await Promise.all(keys.slice(i, i + 30).map((key) => a.write(key, bytesOf(key))));
      const doomed = keys.filter((_, i) => i % 3 !== 0);
      // Missing keys and duplicates are no-ops.
      await a.deleteMany([...doomed, doomed[0]!, 'dm/none/here']);
      for (const [i, key] of keys.entries()) expect(await a.has(key), key).toBe(i % 3 === 0);
      expect((await collect(a.list('dm/'))).sort()).toEqual(keys.filter((_, i) => i % 3 === 0).sort());
      // A bad key refuses the whole call before anything is removed.
      await expectCode(a.deleteMany(['dm/0/0', '../bad']), 'INVALID_KEY');
      expect(await a.has('dm/0/0')).toBe(true);
      await expectCode(a.deleteMany(['dm/0/0'], { signal: AbortSignal.abort() }), 'ABORTED');
      expect(await a.has('dm/0/0')).toBe(true);
    });

    test('hasMany answers like has, in order (when declared)', async (a) => {
      expect(Boolean(a.hasMany)).toBe(Boolean(a.capabilities.hasMany));
      if (!a.hasMany) return;
      expect(await a.hasMany([])).toEqual([]);
      const stored = Array.from({ length: 100 }, (_, n) => 3 * n);
      for (let i = 0; i < stored.length; i += 30) await Promise.all(stored.slice(i, i + 30).map((k) => a.write(`hm/${k % 5}/${k}`, bytesOf(`v${k}`))));
      const keys = Array.from({ length: 300 }, (_, i) => `hm/${i % 5}/${i}`);
      // Duplicates and a prefix of a present key (not itself a key) are answered too.
      keys.push('hm/0/0', 'hm/0', 'hm/3/3', 'nothing/here');
      const answers = await a.hasMany(keys);
      expect(answers).toHaveLength(keys.length);
      const expected = await Promise.all(keys.map((k) => a.has(k)));
      expect(answers).toEqual(expected);
      expect(answers.filter(Boolean).length).toBe(102);
      await a.delete('hm/0/0');
      expect(await a.hasMany(['hm/0/0', 'hm/3/3'])).toEqual([false, true]);
      await expectCode(a.hasMany(['hm/0/0', '../bad']), 'INVALID_KEY');
      const ctl = new AbortController();
      ctl.abort();
      await expectCode(a.hasMany(['hm/3/3'], { signal: ctl.signal }), 'ABORTED');
    });

    test('create writes only when absent (when declared)', async (a) => {
      expect(Boolean(a.create)).toBe(a.capabilities.create);
      if (!a.create) return;
      expect(await a.create('c/1', bytesOf('first'))).toBe(true);
      expect(await a.create('c/1', bytesOf('second'))).toBe(false);
      expect(await a.read('c/1')).toEqual(bytesOf('first'));
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => a.create!('c/race', bytesOf(`r${i}`))));
      expect(results.filter(Boolean).length).toBe(1);
    });

    test('swap is compare-and-swap on one key (when declared)', async (a) => {
      const declared = Boolean(a.capabilities.compareAndSwap);
      expect(Boolean(a.swap) && Boolean(a.readVersioned)).toBe(declared);
      if (!a.swap || !a.readVersioned) return;
      expect(await a.readVersioned('cas/1')).toBeUndefined();
      const v1 = await a.swap('cas/1', bytesOf('one'), null);
      expect(typeof v1).toBe('string');
      // Absent-only: a second create loses and changes nothing.
      expect(await a.swap('cas/1', bytesOf('other'), null)).toBeNull();
      const read1 = await a.readVersioned('cas/1');
      expect(read1?.bytes).toEqual(bytesOf('one'));
      expect(read1?.version).toBe(v1);
      const v2 = await a.swap('cas/1', bytesOf('two'), read1!.version);
      expect(typeof v2).toBe('string');
      expect(v2).not.toBe(v1);
      // A stale version loses, whatever bytes it brings.
      expect(await a.swap('cas/1', bytesOf('stale'), v1!)).toBeNull();
      expect(await a.read('cas/1')).toEqual(bytesOf('two'));
      expect((await a.readVersioned('cas/1'))?.version).toBe(v2);
      // A plain write moves the version on too.
      await a.write('cas/1', bytesOf('three'));
      expect(await a.swap('cas/1', bytesOf('late'), v2!)).toBeNull();
      // Many racing swaps from one version: exactly one wins.
      const base = (await a.readVersioned('cas/1'))!.version;
      const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => a.swap!('cas/1', bytesOf(`race ${i}`), base)));
      const won = wins.filter((v) => v !== null);
      expect(won.length).toBe(1);
      const after = await a.readVersioned('cas/1');
      expect(after?.version).toBe(won[0]);
      expect(new TextDecoder().decode(after!.bytes)).toMatch(/^race \d$/);
      // Racing creates of an absent key: exactly one wins.
      const creates = await Promise.all(Array.from({ length: 8 }, (_, i) => a.swap!('cas/new', bytesOf(`c${i}`), null)));
      expect(creates.filter((v) => v !== null).length).toBe(1);
      await expectCode(a.swap('../bad', bytesOf('x'), null), 'INVALID_KEY');
      const ctl = new AbortController();
      ctl.abort();
      await expectCode(a.swap('cas/1', bytesOf('x'), null, { signal: ctl.signal }), 'ABORTED');
      expect(await a.read('cas/1')).toEqual(new TextEncoder().encode(new TextDecoder().decode(after!.bytes)));
    });

    test('append adds to the end (when declared)', async (a) => {
      expect(Boolean(a.append)).toBe(a.capabilities.append);
      if (!a.append) return;
      await a.append('ap', bytesOf('ab'));
      await a.append('ap', bytesOf('cd'));
      expect(await a.read('ap')).toEqual(bytesOf('abcd'));
    });

    test('lock excludes other holders of the same name (when declared)', async (a) => {
      expect(Boolean(a.lock)).toBe(a.capabilities.locking);
      if (!a.lock) return;
      let inside = 0;
      let maxInside = 0;
      await Promise.all(
        Array.from({ length: 8 }, () =>
          a.lock!('conf', async () => {
            inside++;
            maxInside = Math.max(maxInside, inside);
            await new Promise((r) => setTimeout(r, 5));
            inside--;
          }),
        ),
      );
      expect(maxInside).toBe(1);
      expect(await a.lock('conf', async () => 42)).toBe(42);
      await expect(a.lock('conf', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(await a.lock('conf', async () => 'free again')).toBe('free again');
    });

    test('data survives reopening the same storage (when the backend persists)', async (a, h) => {
      if (!h.reopen) return;
      await a.write('persist/1', bytesOf('kept'));
      await a.close?.();
      const b = await h.reopen();
      try {
        expect(await b.read('persist/1')).toEqual(bytesOf('kept'));
      } finally {
        await b.close?.();
      }
    });

    test('declares its capabilities', async (a) => {
      expect(typeof a.name).toBe('string');
      for (const c of ['writeMany', 'create', 'append', 'locking', 'quota'] as const) {
        expect(typeof a.capabilities[c]).toBe('boolean');
      }
      expect(['strict', 'relaxed', 'none']).toContain(a.capabilities.durability);
    });
  });
}
