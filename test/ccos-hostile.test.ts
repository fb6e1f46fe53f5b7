/**
 * Hostile CCOS directories on node-fs, each refused with the path named,
 * nothing imported, and the directory byte for byte as it was (every entry's
 * type, size, mode, mtime, link target and bytes compared): a symbolic link
 * out of the tree, an index path with `..`, a 10 GB (sparse) file, a non-JSON
 * file, a file outside the shard layout.
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { openArchive } from '../src/archive/archive.js';
import { importCcosArchive, type CcosImportOptions } from '../src/ccos/index.js';
import { createMemoryIntentStore } from '../src/intent-graph/index.js';
import { adapterBytes, FIXTURE_STORAGE_DIR, pictureOf, readOnly } from './fixtures/ccos/helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'ccos-hostile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

/** A fresh copy of the fixture directory, changed by `edit`. */
function hostile(edit: (dir: string) => void): string {
  const dir = join(scratch, `case-${n++}`);
  cpSync(FIXTURE_STORAGE_DIR, join(dir, 'ccos'), { recursive: true });
  edit(join(dir, 'ccos'));
  return join(dir, 'ccos');
}

const intentIndex = (dir: string) => JSON.parse(readFileSync(join(dir, 'intents', 'index.json'), 'utf8')) as Record<string, string>;
const firstIntent = (dir: string) => Object.entries(intentIndex(dir))[0]!;

/** Imports `dir` read-only through node-fs and returns the error, after checking that nothing changed anywhere. */
async function refused(dir: string, options?: CcosImportOptions) {
  const before = pictureOf(dir);
  const fs = nodeFsAdapter({ dir, sweep: false });
  const source = readOnly(fs);
  const adapter = memoryAdapter();
  const archive = await openArchive(adapter);
  const store = createMemoryIntentStore();
  const targetBefore = await adapterBytes(adapter);
  const error = await importCcosArchive(source, archive, store, options).then(
    () => undefined,
    (e: unknown) => e as Error & { code: string; path?: string },
  );
  await fs.close();
  expect(error, 'the import must be refused').toBeDefined();
  expect(source.log.refused).toEqual([]);
  expect(pictureOf(dir)).toEqual(before);
  expect(await adapterBytes(adapter)).toEqual(targetBefore);
  expect(await store.snapshot()).toEqual({ intents: {}, edges: [] });
  return { error: error!, reads: source.log.reads };
}

describe('hostile CCOS directories are refused, the directory unchanged', () => {
  it('a symbolic link out of the tree, named by the index, is neither followed nor read', async () => {
    const outside = join(scratch, 'outside');
    mkdirSync(outside, { recursive: true });
    const dir = hostile((d) => {
      const [, rel] = firstIntent(d);
      const file = join(d, 'intents', rel);
      // The link's target is a perfectly valid copy: only where it lives is wrong.
      copyFileSync(file, join(outside, 'secret.json'));
      rmSync(file);
      symlinkSync(join(outside, 'secret.json'), file);
    });
    const [, rel] = firstIntent(dir);
    const { error, reads } = await refused(dir);
    expect(error.code).toBe('INVALID_BACKUP');
    expect(error.message).toContain('NOT_A_FILE');
    expect(error.message).toContain(`intents/${rel}`);
    expect(error.message).toContain('symbolic link');
    expect(reads).not.toContain(`intents/${rel}`);
  });

  it('a symbolic link to a folder out of the tree is not descended into', async () => {
    const outside = join(scratch, 'outside-dir');
    const dir = hostile((d) => {
      const [, rel] = firstIntent(d);
      const shard = join(d, 'intents', rel.slice(0, 2));
      cpSync(shard, outside, { recursive: true });
      rmSync(shard, { recursive: true });
      symlinkSync(outside, shard);
    });
    const { error } = await refused(dir);
    expect(error.message).toContain('NOT_A_FILE');
  });

  it("an index path with '..' is refused without reading anything there", async () => {
    const dir = hostile((d) => {
      const index = intentIndex(d);
      const [hash] = Object.keys(index);
      index[hash!] = '../../../../../../etc/passwd';
      writeFileSync(join(d, 'intents', 'index.json'), JSON.stringify(index, null, 2));
    });
    const { error, reads } = await refused(dir);
    expect(error.message).toContain('UNSAFE_PATH');
    expect(error.message).toContain('intents/index.json');
    expect(error.message).toContain('../../../../../../etc/passwd');
    expect(reads.some((k) => k.includes('passwd'))).toBe(false);
  });

  it('an index path outside the shard layout (another hash, an absolute path) is refused', async () => {
    const dir = hostile((d) => {
      const index = intentIndex(d);
      const [a, b] = Object.keys(index);
      index[a!] = index[b!]!;
      writeFileSync(join(d, 'intents', 'index.json'), JSON.stringify(index, null, 2));
    });
    expect((await refused(dir)).error.message).toContain('OUTSIDE_LAYOUT');
    const abs = hostile((d) => {
      const index = intentIndex(d);
      index[Object.keys(index)[0]!] = '/etc/passwd';
      writeFileSync(join(d, 'intents', 'index.json'), JSON.stringify(index, null, 2));
    });
    expect((await refused(abs)).error.message).toMatch(/UNSAFE_PATH.*absolute/);
  });

  it('a 10 GB file: refused unread when the size can be told (fs.stat), and by the adapter when it cannot', async () => {
    const hash = 'ab'.repeat(32);
    const rel = `intents/ab/ab/${hash}.json`;
    const dir = hostile((d) => {
      mkdirSync(join(d, 'intents', 'ab', 'ab'), { recursive: true });
      writeFileSync(join(d, rel), '');
      truncateSync(join(d, rel), 10 * 1024 ** 3);
    });
    const sizeOf = async (key: string) => statSync(join(dir, ...key.split('/'))).size;
    const { error, reads } = await refused(dir, { sizeOf });
    expect(error.message).toContain('TOO_LARGE');
    expect(error.message).toContain(rel);
    expect(error.message).toContain(String(10 * 1024 ** 3));
    expect(reads).not.toContain(rel);
    // Without sizeOf the adapter's read refuses it (without allocating 10 GB), naming the key.
    const bare = await refused(dir);
    expect(bare.error.message).toContain(rel);
  });

  it('a file over the per-object limit is refused after reading at most that file', async () => {
    const dir = hostile(() => {});
    const { error } = await refused(dir, { limits: { maxObjectBytes: 100 } });
    expect(error.message).toContain('TOO_LARGE');
  });

  it('a non-JSON file at an object path is refused, named', async () => {
    const dir = hostile((d) => {
      const [, rel] = firstIntent(d);
      writeFileSync(join(d, 'intents', rel), Buffer.from([0xff, 0xfe, 0x00, 0x42, 0x5a, 0x68]));
    });
    const [, rel] = firstIntent(dir);
    const { error } = await refused(dir);
    expect(error.message).toContain('NOT_JSON');
    expect(error.message).toContain(`intents/${rel}`);
  });

  it('a file that is not part of the layout, and a non-JSON index, are refused', async () => {
    const stray = hostile((d) => writeFileSync(join(d, 'edges', 'notes.txt'), 'hello'));
    expect((await refused(stray)).error.message).toMatch(/OUTSIDE_LAYOUT.*edges\/notes\.txt|edges\/notes\.txt.*OUTSIDE_LAYOUT/);
    const badIndex = hostile((d) => writeFileSync(join(d, 'edges', 'index.json'), '{"a": '));
    const { error } = await refused(badIndex);
    expect(error.code).toBe('INVALID_BACKUP');
    expect(error.message).toContain('edges/index.json');
  });

  it('an object edited by hand (same name, other content) is CORRUPT_OBJECT with its path', async () => {
    const dir = hostile((d) => {
      const [, rel] = firstIntent(d);
      const file = join(d, 'intents', rel);
      writeFileSync(file, readFileSync(file, 'utf8').replace('"status": "', '"status": "X'));
    });
    const [, rel] = firstIntent(dir);
    const { error } = await refused(dir);
    // An unknown status still hashes wrong first: the name check comes before the shape.
    expect(error.code).toBe('CORRUPT_OBJECT');
    expect(error.message).toContain(`intents/${rel}`);
  });
});
