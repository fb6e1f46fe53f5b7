/**
 * Cross-backend hash stability: the same values give the same hashes, the
 * same object bytes and the same index.json on the memory adapter, node-fs on
 * memfs and node-fs on a real disk. Inputs: the RFC 8785 reference vectors
 * (whose canonical bytes are published) and random JSON values.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { createFsFromVolume, Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter, type FsLike } from '../adapters/node-fs/index.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { openArchive } from '../src/archive/index.js';
import { INDEX_KEY, objectKey } from '../src/archive/types.js';
import { sha256Hex } from '../src/hash.js';
import { makeTempDir } from './support/fs-tmp.js';

const vectors = fileURLToPath(new URL('./vectors/jcs/', import.meta.url));
const names = readdirSync(join(vectors, 'input')).filter((n) => n.endsWith('.json')).sort();

async function withBackends<T>(fn: (adapters: [string, StorageAdapter][]) => Promise<T>): Promise<T> {
  const { dir, cleanup } = await makeTempDir('xbackend');
  const disk = nodeFsAdapter({ dir });
  try {
    return await fn([
      ['memory', memoryAdapter()],
      ['node-fs on memfs', nodeFsAdapter({ dir: '/x', fs: createFsFromVolume(new Volume()) as unknown as FsLike, sweep: false })],
      ['node-fs on disk', disk],
    ]);
  } finally {
    await disk.close();
    await cleanup();
  }
}

describe('cross-backend hash stability', () => {
  it('RFC 8785 vectors: same hashes, the published canonical bytes, same index.json everywhere', async () => {
    await withBackends(async (adapters) => {
      const now = () => 1_700_000_000_000;
      // JSON.parse, not the strict parseJson: the vectors deliberately hold numbers a double rounds.
      const values = names.map((n) => JSON.parse(readFileSync(join(vectors, 'input', n), 'utf8')) as unknown);
      const expected = names.map((n) => readFileSync(join(vectors, 'output', n)));
      const results: { hashes: string[]; objects: Uint8Array[]; index: Uint8Array }[] = [];
      for (const [, adapter] of adapters) {
        const archive = await openArchive(adapter, { now });
        const hashes = await archive.putMany(values);
        await archive.close();
        const objects = await Promise.all(hashes.map(async (h) => (await adapter.read(objectKey(h)))!));
        results.push({ hashes, objects, index: (await adapter.read(INDEX_KEY))! });
      }
      expected.forEach((bytes, i) => {
        expect(results[0]!.hashes[i], names[i]).toBe(sha256Hex(new Uint8Array(bytes)));
        expect(Buffer.from(results[0]!.objects[i]!).equals(bytes), names[i]).toBe(true);
      });
      for (const r of results.slice(1)) {
        expect(r.hashes).toEqual(results[0]!.hashes);
        r.objects.forEach((o, i) => expect(Buffer.from(o).equals(Buffer.from(results[0]!.objects[i]!))).toBe(true));
        expect(Buffer.from(r.index).equals(Buffer.from(results[0]!.index))).toBe(true);
      }
    });
  });

  it('random JSON values: same hashes and object bytes on every backend', async () => {
    await withBackends(async (adapters) => {
      const archives = await Promise.all(adapters.map(([, a]) => openArchive(a)));
      await fc.assert(
        fc.asyncProperty(fc.array(fc.jsonValue({ maxDepth: 4 }), { minLength: 1, maxLength: 8 }), async (values) => {
          const all = await Promise.all(archives.map((a) => a.putMany(values)));
          for (const hashes of all.slice(1)) expect(hashes).toEqual(all[0]);
          for (const h of all[0]!) {
            const bytes = await Promise.all(adapters.map(([, a]) => a.read(objectKey(h))));
            for (const b of bytes.slice(1)) expect(Buffer.from(b!).equals(Buffer.from(bytes[0]!))).toBe(true);
            expect(sha256Hex(bytes[0]!)).toBe(h);
          }
        }),
        { numRuns: 60 },
      );
      await Promise.all(archives.map((a) => a.close()));
    });
  });
});
