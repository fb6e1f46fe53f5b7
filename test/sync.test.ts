import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { s3Adapter } from '../adapters/s3/index.js';
import { sqliteAdapter } from '../adapters/sqlite.js';
import { openArchive } from '../src/archive/index.js';
import { syncArchive, type SyncProgress } from '../src/archive/sync.js';
import { objectKey, type ContentArchive } from '../src/archive/types.js';
import { isArchiveStorageError } from '../src/errors.js';
import { sha256Hex } from '../src/hash.js';
import { startRadosgw, type RadosgwServer } from './support/radosgw.js';

let server: RadosgwServer;
let root: string;
beforeAll(async () => {
  server = await startRadosgw();
  root = await mkdtemp(join(tmpdir(), 'sync-'));
}, 120_000);
afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

let n = 0;
const fsArchive = async () => {
  const dir = join(root, `fs-${++n}`);
  return { dir, archive: await openArchive(nodeFsAdapter({ dir })) };
};
const s3Archive = (prefix = `sync-${++n}/`) =>
  openArchive(s3Adapter({ endpoint: server.endpoint, bucket: server.bucket, credentials: server.credentials, prefix }));

const values = (count: number, tag: string) =>
  Array.from({ length: count }, (_, i) => ({ tag, i, text: `value ${i} ✓`, list: [i, i * 2, { nested: i % 7 === 0 }] }));

async function sortedHashes(a: ContentArchive): Promise<string[]> {
  const out: string[] = [];
  for await (const h of a.list()) out.push(h);
  return out.sort();
}

describe('syncArchive', () => {
  it('round-trips node-fs → S3 → a fresh node-fs with identical hashes and bytes; a second run copies nothing', async () => {
    const { dir: sourceDir, archive: source } = await fsArchive();
    const hashes = await source.putMany(values(150, 'round-trip'));
    await source.put({ big: 'x'.repeat(300_000) }); // one object larger than a typical batch
    const remote = await s3Archive();
    const progress: SyncProgress[] = [];
    const up = await syncArchive(source, remote, { batchSize: 40, onProgress: (p) => progress.push(p) });
    expect(up).toMatchObject({ copied: 151, skipped: 0, corrupt: [], missing: [], ok: true });
    expect(progress.at(-1)).toMatchObject({ done: 151, total: 151, copied: 151 });
    expect(progress.length).toBe(4);

    const { dir: copyDir, archive: copy } = await fsArchive();
    const down = await syncArchive(remote, copy);
    expect(down.copied).toBe(151);
    expect(down.bytes).toBe(up.bytes);

    const expected = await sortedHashes(source);
    expect(await sortedHashes(remote)).toEqual(expected);
    expect(await sortedHashes(copy)).toEqual(expected);
    expect(expected).toEqual(expect.arrayContaining(hashes));
    // The very same files, and each one's name is its hash.
    for (const h of expected) {
      const [a, b] = await Promise.all([readFile(join(sourceDir, objectKey(h))), readFile(join(copyDir, objectKey(h)))]);
      expect(b.equals(a)).toBe(true);
      expect(sha256Hex(b)).toBe(h);
    }
    expect((await copy.verify()).ok).toBe(true);
    expect(await copy.get(hashes[3]!)).toEqual(values(150, 'round-trip')[3]);

    expect(await syncArchive(source, remote)).toMatchObject({ copied: 0, skipped: 151, bytes: 0, ok: true });
    // The target's index, not only its objects, is up to date: a reopened target lists everything.
    await copy.close();
    const reopened = await openArchive(nodeFsAdapter({ dir: copyDir }));
    expect(await sortedHashes(reopened)).toEqual(expected);
    await Promise.all([reopened.close(), remote.close(), source.close()]);
  });

  it('an interrupted sync resumes: the second run copies only what is left', async () => {
    const { archive: source } = await fsArchive();
    await source.putMany(values(120, 'resume'));
    const target = await s3Archive();
    const ctl = new AbortController();
    let error: unknown;
    try {
      await syncArchive(source, target, {
        batchSize: 25,
        signal: ctl.signal,
        onProgress: (p) => {
          if (p.copied >= 50) ctl.abort();
        },
      });
    } catch (e) {
      error = e;
    }
    expect(isArchiveStorageError(error, 'ABORTED')).toBe(true);
    const landed = (await target.stats()).count;
    expect(landed).toBe(50);

    const resumed = await syncArchive(source, target, { batchSize: 25 });
    expect(resumed).toMatchObject({ copied: 120 - landed, skipped: landed, ok: true });
    expect(await sortedHashes(target)).toEqual(await sortedHashes(source));
    expect((await target.verify()).ok).toBe(true);
    await Promise.all([target.close(), source.close()]);
  });

  it('a corrupt or missing source object is refused and reported, never copied; the rest is', async () => {
    const store = new Map<string, Uint8Array>();
    const source = await openArchive(memoryAdapter({ store }));
    const [good, damaged, gone, other] = await source.putMany([{ n: 'good' }, { n: 'damaged' }, { n: 'gone' }, { n: 'other' }]);
    // Bytes changed under the name of `damaged`; `gone` deleted behind the archive's back.
    store.set(objectKey(damaged!), new TextEncoder().encode('{"n":"tampered"}'));
    store.delete(objectKey(gone!));
    const target = await openArchive(await sqliteAdapter({ file: join(root, `t-${++n}.sqlite`) }));
    const report = await syncArchive(source, target, { readBack: true });
    expect(report.corrupt).toEqual([damaged]);
    expect(report.missing).toEqual([gone]);
    expect(report.ok).toBe(false);
    expect(report.copied).toBe(2);
    expect(await target.has(damaged!)).toBe(false);
    expect(await target.has(gone!)).toBe(false);
    expect(await target.get(good!)).toEqual({ n: 'good' });
    expect(await target.get(other!)).toEqual({ n: 'other' });
    expect(await sortedHashes(target)).toEqual([good!, other!].sort());
    await Promise.all([target.close(), source.close()]);
    await target.adapter.close?.();
  });

  it('refuses bad arguments and an aborted signal up front', async () => {
    const a = await openArchive(memoryAdapter());
    const b = await openArchive(memoryAdapter());
    const code = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        return isArchiveStorageError(e) ? e.code : String(e);
      }
      return undefined;
    };
    expect(await code(syncArchive(a, a))).toBe('INVALID_ARGUMENT');
    expect(await code(syncArchive(a, null as never))).toBe('INVALID_ARGUMENT');
    expect(await code(syncArchive(a, b, { batchSize: 0 }))).toBe('INVALID_ARGUMENT');
    expect(await code(syncArchive(a, b, { signal: AbortSignal.abort() }))).toBe('ABORTED');
  });
});
