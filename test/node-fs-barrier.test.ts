/**
 * node-fs's one durability barrier per put: `writeMany` stores its first entry
 * before the others (`batchHeadFirst`), so the archive sends a put's journal
 * segment and its object as ONE `writeMany` (one round of file fsyncs, one of
 * directory fsyncs) and still never shows an object without its line. And the
 * read path: a small file's bytes come back before its descriptor is closed,
 * which is closed all the same.
 */
import * as realFs from 'node:fs';
import { sep } from 'node:path';
import { createFsFromVolume, Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { nodeFsAdapter, type FsLike } from '../adapters/node-fs/index.js';
import { openArchive } from '../src/archive/index.js';
import { sha256Hex } from '../src/hash.js';
import { canonicalBytes } from '../src/json/canonical.js';
import { makeTempDir } from './support/fs-tmp.js';
import { instrumented } from './support/instrumented-fs.js';

const enc = new TextEncoder();

/** Index of the first log line matching `re`. */
const at = (log: string[], re: RegExp) => log.findIndex((l) => re.test(l));

describe('node-fs: writeMany stores its head first', () => {
  it('declares batchHeadFirst, and renames the first entry before any other starts', async () => {
    const { dir, cleanup } = await makeTempDir('head');
    try {
      const { fs, renames } = instrumented(realFs as FsLike);
      const a = nodeFsAdapter({ dir, fs, sweep: false });
      expect(a.capabilities.batchHeadFirst).toBe(true);
      await a.writeMany!([
        { key: 'journal/seg', bytes: enc.encode('line') },
        ...Array.from({ length: 30 }, (_, i) => ({ key: `objects/${i % 3}/o${i}`, bytes: enc.encode(String(i)) })),
      ]);
      const headEnd = at(renames, /^end .*journal.seg$/);
      expect(headEnd).toBe(1); // start head, end head, then the rest
      expect(renames.filter((l) => l.startsWith('start ')).length).toBe(31);
      await a.close();
    } finally {
      await cleanup();
    }
  });

  it('a head that cannot be renamed leaves nothing of the batch, not even temp files', async () => {
    const base = createFsFromVolume(new Volume()) as unknown as FsLike;
    const { fs } = instrumented(base, {
      rename: (_from, to) => {
        if (to.endsWith(`${sep}seg`) || to.endsWith('/seg')) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
      },
    });
    const a = nodeFsAdapter({ dir: '/x', fs, sweep: false });
    await expect(
      a.writeMany!([
        { key: 'journal/seg', bytes: enc.encode('line') },
        { key: 'objects/o1', bytes: enc.encode('1') },
        { key: 'objects/o2', bytes: enc.encode('2') },
      ]),
    ).rejects.toMatchObject({ code: 'BACKEND_FAILURE' });
    const keys: string[] = [];
    for await (const k of a.list('')) keys.push(k);
    expect(keys).toEqual([]);
    const names = (d: string) => (base as unknown as { readdirSync(p: string): string[] }).readdirSync(d);
    expect([...names('/x/journal'), ...names('/x/objects')]).toEqual([]);
    await a.close();
  });
});

describe('archive on durable node-fs: a put is one barrier', () => {
  it('segment and object go in one writeMany: 2 file fsyncs, 2 directory fsyncs, the segment renamed first', async () => {
    const { dir, cleanup } = await makeTempDir('one-barrier');
    try {
      const { fs, counts, renames } = instrumented(realFs as FsLike);
      const adapter = nodeFsAdapter({ dir, fs, sweep: false });
      const archive = await openArchive(adapter);
      // A value whose object lands in the shard directory the first put made (no directory to create).
      const first = await archive.put({ n: 0 });
      let n = 1;
      while (sha256Hex(canonicalBytes({ n })).slice(0, 4) !== first.slice(0, 4)) n++;
      counts.fileSyncs = counts.dirSyncs = 0;
      renames.length = 0;
      const hash = await archive.put({ n });
      // The segment's temp file and the object's, fsynced in one round; journal/ and the shard directory in the next.
      expect(counts).toEqual({ fileSyncs: 2, dirSyncs: 2 });
      const seg = at(renames, /^end .*journal.*\.log$/);
      const obj = at(renames, new RegExp(`^start .*${hash}\\.json$`));
      expect(seg).toBeGreaterThanOrEqual(0);
      expect(obj).toBeGreaterThan(seg);
      expect(await archive.get(first)).toEqual({ n: 0 });
      await archive.close();
      await adapter.close();
    } finally {
      await cleanup();
    }
  });
});

describe('node-fs: reads', () => {
  it('a read returns the bytes and closes every descriptor it opened, small file or large', async () => {
    const { dir, cleanup } = await makeTempDir('reads');
    try {
      const { fs, openFds } = instrumented(realFs as FsLike);
      const a = nodeFsAdapter({ dir, fs, sweep: false });
      const small = enc.encode('x'.repeat(1000));
      const large = new Uint8Array(100_000).map((_, i) => i % 251);
      await a.write('s', small);
      await a.write('l', large);
      await a.write('empty', new Uint8Array(0));
      const same = (x: Uint8Array | undefined, y: Uint8Array) => x !== undefined && Buffer.from(x).equals(Buffer.from(y));
      for (let i = 0; i < 20; i++) {
        expect(same(await a.read('s'), small)).toBe(true);
        expect(same(await a.read('l'), large)).toBe(true);
        expect(same(await a.read('empty'), new Uint8Array(0))).toBe(true);
      }
      expect(await a.read('missing')).toBeUndefined();
      await new Promise((r) => setTimeout(r, 50)); // the closes not awaited by the reads
      expect(openFds()).toBe(0);
      await a.close();
    } finally {
      await cleanup();
    }
  });
});
