/**
 * gc and references (docs/format.md, "Garbage collection and references"):
 * what is reachable from a reference (current or retained history), a journal
 * line of a put in flight, the keep set or the intent store's index is never
 * deleted; only objects older than the grace period are; a dry run changes
 * nothing; a gc that died leaves trash the next one resolves; and a
 * randomized run of writers setting references while gc runs in a loop
 * (grace 0, the harshest) never leaves a reference to a missing object.
 */
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { openArchive } from '../src/archive/index.js';
import { gcTrashKey, objectKey, referenceKey } from '../src/archive/layout.js';
import type { ContentArchive } from '../src/archive/types.js';
import { isArchiveStorageError } from '../src/errors.js';
import { openReferences, ReferenceConflictError } from '../src/refs/index.js';
import { expectCode } from '../src/testing/expect-code.js';
import { makeTempDir } from './support/fs-tmp.js';
import { hiding } from './support/refs-adapters.js';
import { mulberry32 } from './support/seeded-random.js';

const HOUR = 3_600_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

async function snapshot(adapter: StorageAdapter): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const key of adapter.list('')) out.set(key, dec.decode((await adapter.read(key))!));
  return out;
}

/** An archive whose clock the test moves. */
async function clocked(adapter: StorageAdapter = memoryAdapter()) {
  const clock = { t: 1_700_000_000_000 };
  const now = () => clock.t;
  const archive = await openArchive(adapter, { now });
  const refs = openReferences(archive, { now, keepVersions: 2 });
  return { adapter, archive, refs, clock };
}

describe('gc with references', () => {
  it('unreferenced: deletes only what nothing keeps and is older than the grace; a dry run changes nothing', async () => {
    const { adapter, archive, refs, clock } = await clocked();
    const [a, b, c, d, e] = (await archive.putMany(['a', 'b', 'c', 'd', 'e'].map((v) => ({ v })))) as [string, string, string, string, string];
    await refs.set('r', b);
    await refs.set('r', a); // b is history now
    await refs.set('gone', d);
    await refs.delete('gone'); // a deleted reference keeps its history
    clock.t += HOUR + 1;
    const fresh = await archive.put({ v: 'fresh' }); // stored just now: within the grace
    await archive.close(); // fold: nothing is "in flight"
    const again = await openArchive(adapter, { now: () => clock.t });
    const before = await snapshot(adapter);
    const dry = await again.gc({ unreferenced: true, dryRun: true });
    expect(dry).toEqual({ deleted: 0, bytesFreed: 0, dryRun: true, wouldDelete: [c, e].sort(), wouldFree: 2 * '{"v":"c"}'.length, leftovers: 0 });
    expect(await snapshot(adapter)).toEqual(before);
    const report = await again.gc({ unreferenced: true });
    expect(report).toEqual({ deleted: 2, bytesFreed: 18 });
    for (const h of [a, b, d, fresh]) expect(await again.has(h)).toBe(true);
    for (const h of [c, e]) expect(await again.has(h)).toBe(false);
    expect(await adapter.has(gcTrashKey(c))).toBe(false);
    expect((await again.verify()).ok).toBe(true);
    // A shorter grace takes the fresh one too; keep still keeps.
    expect((await again.gc({ unreferenced: true, graceMs: 0, keep: [fresh] })).deleted).toBe(0);
    expect((await again.gc({ unreferenced: true, graceMs: 0 })).deleted).toBe(1);
    await expectCode(again.gc({ graceMs: -1 }), 'INVALID_ARGUMENT');
    await expectCode(again.gc({ unreferenced: 'yes' as never }), 'INVALID_ARGUMENT');
  });

  it('retention decides: a version pushed out of the history is collectable', async () => {
    const { archive, refs, clock } = await clocked();
    const hashes = await archive.putMany([1, 2, 3, 4].map((i) => ({ i })));
    for (const h of hashes) await refs.set('r', h); // keepVersions 2: hashes[1..3] retained
    clock.t += 2 * HOUR;
    const r = await archive.gc({ unreferenced: true, dryRun: true });
    expect(r.wouldDelete).toEqual([hashes[0]]);
  });

  it('keep alone (the 0.1 mode) still deletes the rest, but never a referenced object', async () => {
    const { archive, refs } = await clocked();
    const [a, b, c] = (await archive.putMany([1, 2, 3].map((i) => ({ i })))) as [string, string, string];
    await refs.set('r', a);
    expect(await archive.gc({ keep: [b] })).toEqual({ deleted: 1, bytesFreed: 7 });
    expect(await archive.has(a)).toBe(true);
    expect(await archive.has(b)).toBe(true);
    expect(await archive.has(c)).toBe(false);
  });

  it('a put line of another writer that is not folded yet keeps its object', async () => {
    const store = new Map<string, Uint8Array>();
    const mine = await openArchive(memoryAdapter({ store }));
    const other = await openArchive(memoryAdapter({ store }));
    const x = await other.put({ in: 'flight' });
    expect((await mine.gc({ keep: [] })).deleted).toBe(0);
    expect(await mine.has(x)).toBe(true);
    await other.close(); // folded: the line is gone, the object is an ordinary one
    expect((await mine.gc({ keep: [] })).deleted).toBe(1);
  });

  it('with unreferenced, the intent store\'s default index keeps its objects', async () => {
    const { adapter, archive } = await clocked();
    const [x, y] = (await archive.putMany([{ intent: 1 }, { edge: 1 }])) as [string, string];
    await adapter.write('intent-graph/index.json', enc.encode(JSON.stringify({ edges: [y], format: 'archive-storage/intent-graph-index', intents: { i: x }, version: 1 })));
    expect((await archive.gc({ unreferenced: true, graceMs: 0 })).deleted).toBe(0);
    await adapter.write('intent-graph/index.json', enc.encode('{not json'));
    await expectCode(archive.gc({ unreferenced: true, graceMs: 0 }), 'CORRUPT_INDEX');
    expect(await archive.has(x)).toBe(true);
  });

  it('a reference document gc cannot read stops it before anything is deleted', async () => {
    const { adapter, archive } = await clocked();
    await archive.putMany([{ n: 1 }, { n: 2 }]);
    await adapter.write(referenceKey('future'), enc.encode('{"format":"archive-storage/reference","name":"future","version":9}'));
    const before = await snapshot(adapter);
    await expectCode(archive.gc({ unreferenced: true, graceMs: 0 }), 'UNSUPPORTED_VERSION');
    await expectCode(archive.gc({ keep: [] }), 'UNSUPPORTED_VERSION');
    expect(await snapshot(adapter)).toEqual(before);
  });

  it('trash a gc left behind: put back when referenced, removed when not, left while its object is there', async () => {
    const { adapter, archive, refs } = await clocked();
    const [x, y, z] = (await archive.putMany(['x', 'y', 'z'].map((v) => ({ v })))) as [string, string, string];
    // As a gc killed after its delete: x and y are in the trash only; z is in both (killed before its delete).
    for (const h of [x, y, z]) await adapter.write(gcTrashKey(h), (await adapter.read(objectKey(h)))!);
    await archive.delete(x);
    await archive.delete(y);
    await refs.set('keeps-x', x, { allowMissing: true });
    expect(await archive.gc({ dryRun: true })).toMatchObject({ leftovers: 1, wouldDelete: [] });
    expect(await archive.gc()).toEqual({ deleted: 1, bytesFreed: 9, restored: 1 });
    expect(await archive.get(x)).toEqual({ v: 'x' });
    expect(await archive.has(y)).toBe(false);
    expect(await adapter.has(gcTrashKey(x))).toBe(false);
    expect(await adapter.has(gcTrashKey(y))).toBe(false);
    expect(await adapter.has(gcTrashKey(z))).toBe(true); // could be another gc's, between its copy and its delete
    expect((await refs.check()).ok).toBe(true);
  });
});

/**
 * Writers (each on its own archive handle, as tabs or processes are) set,
 * compare-and-set and delete references to fresh objects and to old,
 * unreferenced ones while a gc handle collects in a loop with no grace.
 * Afterwards every hash any reference keeps must be there.
 */
async function randomizedRun(openHandle: () => Promise<ContentArchive>, seed: number): Promise<{ sets: number; gcs: number; deleted: number }> {
  const random = mulberry32(seed);
  const setup = await openHandle();
  // Old objects nothing references: exactly what a gc deletes, and what a writer may point a reference at.
  const old = await setup.putMany(Array.from({ length: 60 }, (_, i) => ({ old: i })));
  await setup.close();
  const gcHandle = await openHandle();
  let writing = true;
  let gcs = 0;
  let deleted = 0;
  const collector = (async () => {
    while (writing) {
      const r = await gcHandle.gc({ unreferenced: true, graceMs: 0 });
      deleted += r.deleted;
      gcs++;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  let sets = 0;
  const writer = async (w: number) => {
    const archive = await openHandle();
    const refs = openReferences(archive, { keepVersions: 3 });
    for (let i = 0; i < 40; i++) {
      const name = `w/${Math.floor(random() * 6)}`;
      const roll = random();
      try {
        if (roll < 0.1) {
          await refs.delete(name);
          continue;
        }
        const hash = roll < 0.55 ? await archive.put({ w, i }) : old[Math.floor(random() * old.length)]!;
        if (roll < 0.8) await refs.set(name, hash);
        else await refs.compareAndSet(name, (await refs.get(name))?.hash ?? null, hash);
        sets++;
      } catch (e) {
        // Lost to another writer, or the object was collected before the set could keep it: both leave the reference consistent.
        if (!(e instanceof ReferenceConflictError) && !isArchiveStorageError(e, 'NOT_FOUND')) throw e;
      }
      await new Promise((resolve) => setImmediate(resolve)); // let the collector interleave
    }
    await archive.close();
  };
  try {
    await Promise.all([0, 1, 2, 3].map(writer));
  } finally {
    writing = false;
    await collector;
  }
  const final = await gcHandle.gc({ unreferenced: true, graceMs: 0 });
  deleted += final.deleted;
  const check = await openReferences(gcHandle).check();
  expect(check.dangling).toEqual([]);
  expect(check.checked).toBeGreaterThan(0);
  await gcHandle.close();
  return { sets, gcs, deleted };
}

describe('gc under concurrent reference writers (randomized, grace 0)', () => {
  for (const [label, make] of [
    ['memory, lock', (store: Map<string, Uint8Array>) => memoryAdapter({ store })],
    ['memory, native swap', (store: Map<string, Uint8Array>) => hiding(memoryAdapter({ store }), ['lock'])],
  ] as const) {
    it(`${label}: never deletes an object a reference keeps`, async () => {
      for (const seed of [1, 2]) {
        const store = new Map<string, Uint8Array>();
        const r = await randomizedRun(() => openArchive(make(store)), seed);
        expect(r.sets).toBeGreaterThan(50);
        expect(r.gcs).toBeGreaterThan(1);
        expect(r.deleted).toBeGreaterThan(0);
      }
    }, 60_000);
  }

  it('node-fs, several handles on one directory: never deletes an object a reference keeps', async () => {
    const { dir, cleanup } = await makeTempDir('refs-gc');
    try {
      const r = await randomizedRun(() => openArchive(nodeFsAdapter({ dir, durable: false })), 7);
      expect(r.gcs).toBeGreaterThan(1);
    } finally {
      await cleanup();
    }
  }, 60_000);
});
