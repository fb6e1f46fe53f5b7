/**
 * An index.json of a version this release does not know is refused with
 * UNSUPPORTED_VERSION and left untouched: no journal, no lock, no write, no
 * rebuild over it. Checked on the memory adapter (every key and its bytes) and
 * on node-fs on a real disk (every file under the directory, markers and
 * lock files included).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { openArchive } from '../src/archive/index.js';
import { INDEX_KEY } from '../src/archive/layout.js';
import { UnsupportedVersionError } from '../src/errors.js';
import { makeTempDir } from './support/fs-tmp.js';

const enc = new TextEncoder();
const futureRoots = [
  '{"format":"archive-storage/index","runs":[{"id":"x"}],"version":3}',
  '{"objects":{},"version":99}',
  '{"version":0}',
  // version 2 but another format: someone else's document, not a torn index of ours
  '{"format":"somebody-else","runs":[],"version":2}',
];

async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) {
        out[relative(dir, full) + '/'] = '';
        await walk(full);
      } else out[relative(dir, full)] = (await readFile(full)).toString('hex');
    }
  };
  await walk(dir);
  return out;
}

describe('an index of an unknown version is refused and left untouched', () => {
  it('memory: every key and byte unchanged, with and without auto-repair', async () => {
    const store = new Map<string, Uint8Array>();
    const archive = await openArchive(memoryAdapter({ store }), { compactAfter: 10_000 });
    await archive.putMany([1, 2, 3]);
    await archive.put('in the journal'); // no close: a journal segment stays
    for (const root of futureRoots) {
      store.set(INDEX_KEY, enc.encode(root));
      const before = [...store].map(([k, v]) => [k, Buffer.from(v).toString('hex')]).sort();
      for (const autoRepairIndex of [true, false]) {
        const adapter = memoryAdapter({ store });
        await expect(openArchive(adapter, { autoRepairIndex })).rejects.toBeInstanceOf(UnsupportedVersionError);
        await expect(openArchive(adapter, { autoRepairIndex })).rejects.toMatchObject({ code: 'UNSUPPORTED_VERSION' });
      }
      expect([...store].map(([k, v]) => [k, Buffer.from(v).toString('hex')]).sort()).toEqual(before);
    }
  });

  it('node-fs on disk: every file unchanged (no journal, no lock file, no writer marker)', async () => {
    const { dir, cleanup } = await makeTempDir('future-index');
    try {
      const adapter = nodeFsAdapter({ dir, durable: false });
      const archive = await openArchive(adapter, { compactAfter: 10_000 });
      await archive.putMany([{ a: 1 }, { b: 2 }]);
      await archive.close();
      await adapter.close();
      for (const root of futureRoots) {
        await writeFile(join(dir, INDEX_KEY), root);
        const before = await tree(dir);
        for (const autoRepairIndex of [true, false]) {
          const again = nodeFsAdapter({ dir, durable: false });
          const e = await openArchive(again, { autoRepairIndex }).catch((x: unknown) => x);
          expect(e).toBeInstanceOf(UnsupportedVersionError);
          await again.close();
        }
        expect(await tree(dir)).toEqual(before);
      }
    } finally {
      await cleanup();
    }
  });
});
