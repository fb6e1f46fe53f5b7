/**
 * The derived compare-and-swap (src/adapter/cas.ts): the path each adapter
 * gets, the semantics on every path (memory with its lock hidden: native
 * swap; with its swap hidden: read-compare-write under the lock; with both
 * hidden: refused, or an in-process mutex for a single writer), and two
 * node-fs processes incrementing one counter without losing an increment.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { bytesVersion, casLockName, compareAndSwapOf, type CompareAndSwap } from '../src/adapter/cas.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { isArchiveStorageError } from '../src/errors.js';
import { removeChildScripts } from './support/archive-child.js';
import { makeTempDir } from './support/fs-tmp.js';
import { raceChildren } from './support/refs-processes.js';
import { hiding } from './support/refs-adapters.js';
import { caught, expectCode } from '../src/testing/expect-code.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** `n` concurrent incrementers, `k` increments each, on one key: no increment may be lost. */
async function counterRace(cas: CompareAndSwap, n: number, k: number): Promise<number[]> {
  const seen: number[] = [];
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let i = 0; i < k; i++) {
        for (;;) {
          const cur = await cas.read('counter/n');
          const v = cur ? Number(dec.decode(cur.bytes)) : 0;
          if ((await cas.swap('counter/n', enc.encode(String(v + 1)), cur?.version ?? null)) !== null) {
            seen.push(v + 1);
            break;
          }
        }
      }
    }),
  );
  return seen;
}

describe('compareAndSwapOf', () => {
  afterAll(removeChildScripts);

  it('picks the lock where there is one, native swap where there is only that, and refuses neither by name', async () => {
    const memory = memoryAdapter();
    expect(compareAndSwapOf(memory).mode).toBe('lock');
    expect(compareAndSwapOf(hiding(memory, ['lock'])).mode).toBe('native');
    expect(compareAndSwapOf(hiding(memory, ['swap'])).mode).toBe('lock');
    const refusal = await caught(() => compareAndSwapOf(hiding(memory, ['lock', 'swap'])));
    expect(isArchiveStorageError(refusal, 'CONDITIONAL_WRITES_UNSUPPORTED')).toBe(true);
    expect(String((refusal as Error).message)).toMatch(/^memory: .*neither compare-and-swap .* nor a lock/);
    expect(compareAndSwapOf(hiding(memory, ['lock', 'swap']), { singleWriter: true }).mode).toBe('single-writer');
    expect(() => compareAndSwapOf({} as StorageAdapter)).toThrow(/needs a StorageAdapter/);
  });

  it('lock names fit every adapter (node-fs: 1-100 of A-Z a-z 0-9 . _ ~ -)', () => {
    for (const key of ['refs/a.json', `refs/${'x/'.repeat(200)}y.json`]) expect(casLockName(key)).toMatch(/^cas-[0-9a-f]{40}$/);
    expect(casLockName('refs/a.json')).not.toBe(casLockName('refs/b.json'));
  });

  for (const [label, hide] of [
    ['native swap (lock hidden)', ['lock']],
    ['read-compare-write under the lock (swap hidden)', ['swap']],
    ['single writer (both hidden)', ['lock', 'swap']],
  ] as const) {
    it(`memory, ${label}: compare-and-swap semantics, races and refusals`, async () => {
      const store = new Map<string, Uint8Array>();
      const adapter = hiding(memoryAdapter({ store }), hide);
      const cas = compareAndSwapOf(adapter, { singleWriter: true });
      expect(await cas.read('k/1')).toBeUndefined();
      const v1 = await cas.swap('k/1', enc.encode('one'), null);
      expect(v1).toEqual(expect.any(String));
      expect(await cas.swap('k/1', enc.encode('other'), null)).toBeNull();
      const r1 = await cas.read('k/1');
      expect(dec.decode(r1!.bytes)).toBe('one');
      expect(r1!.version).toBe(v1);
      const v2 = await cas.swap('k/1', enc.encode('two'), v1);
      expect(v2).not.toBe(v1);
      expect(await cas.swap('k/1', enc.encode('stale'), v1)).toBeNull();
      expect(dec.decode(store.get('k/1')!)).toBe('two');
      // Racing swaps from one version: exactly one wins, and its bytes are what is stored.
      const base = (await cas.read('k/1'))!.version;
      const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => cas.swap('k/1', enc.encode(`race ${i}`), base)));
      expect(wins.filter((w) => w !== null)).toHaveLength(1);
      expect(dec.decode(store.get('k/1')!)).toBe(`race ${wins.findIndex((w) => w !== null)}`);
      // Racing creates: one wins.
      const creates = await Promise.all(Array.from({ length: 8 }, (_, i) => cas.swap('k/new', enc.encode(`c${i}`), null)));
      expect(creates.filter((w) => w !== null)).toHaveLength(1);
      // No lost increment among concurrent read-modify-swap loops.
      const seen = await counterRace(cas, 6, 15);
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
      // Refusals: a bad key, bytes that are not bytes, an aborted call; nothing stored.
      await expectCode(cas.swap('../bad', enc.encode('x'), null), 'INVALID_KEY');
      await expectCode(cas.swap('k/2', 'text' as unknown as Uint8Array, null), 'INVALID_ARGUMENT');
      await expectCode(cas.swap('k/2', enc.encode('x'), null, { signal: AbortSignal.abort() }), 'ABORTED');
      expect(store.has('k/2')).toBe(false);
    });
  }

  it('lock mode: the version is the SHA-256 of the bytes, so a copy of the store agrees on it', async () => {
    const store = new Map<string, Uint8Array>();
    const cas = compareAndSwapOf(memoryAdapter({ store }));
    const v = await cas.swap('k/1', enc.encode('one'), null);
    expect(v).toBe(bytesVersion(enc.encode('one')));
    expect((await compareAndSwapOf(memoryAdapter({ store })).read('k/1'))!.version).toBe(v);
  });

  it('node-fs: two processes incrementing one counter lose no increment', async () => {
    const { dir, cleanup } = await makeTempDir('cas');
    try {
      const runs = await raceChildren(dir, 'counter', 2, 40);
      const values = runs.flatMap((r) => r.lines.map(Number)).sort((a, b) => a - b);
      expect(values).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
      const adapter = nodeFsAdapter({ dir });
      expect(dec.decode((await adapter.read('counter/n'))!)).toBe('80');
      // In-process racers on a second handle agree with the processes' lock.
      const seen = await counterRace(compareAndSwapOf(adapter), 3, 5);
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 81));
      await adapter.close();
    } finally {
      await cleanup();
    }
  }, 60_000);
});
