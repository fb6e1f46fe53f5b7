/**
 * detectForeignLayout (src/ccos/detect.ts): CCOS's FileArchive and
 * FileArchiveStorage and any index.json this SDK did not write are told
 * apart from the SDK's own archives (v1, v2, torn, of a newer version, new
 * and empty), reading only (read of index.json, one list), on memory and on
 * node-fs. The typed error names what was found and what to do.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { openArchive } from '../src/archive/archive.js';
import { encodeIndex } from '../src/archive/index-file.js';
import { detectForeignLayout, foreignLayoutError, refuseForeignLayout } from '../src/ccos/index.js';
import { ForeignLayoutError } from '../src/errors.js';
import { sha256Hex } from '../src/hash.js';
import { FIXTURE_STORAGE_DIR, pictureOf, putTree, readOnly, readTree } from './fixtures/ccos/helpers.js';

const enc = new TextEncoder();
const fixture = readTree(FIXTURE_STORAGE_DIR);
const scratch = mkdtempSync(join(tmpdir(), 'ccos-foreign-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A memory adapter holding `files` (relative path → bytes or text). */
async function holding(files: Iterable<[string, Uint8Array | string]>): Promise<StorageAdapter> {
  const a = memoryAdapter();
  for (const [k, v] of files) await a.write(k, typeof v === 'string' ? enc.encode(v) : v);
  return a;
}

/** The intents/ FileArchive of the fixture, as a bare FileArchive at the root. */
const bareFileArchive = () => [...fixture].filter(([k]) => k.startsWith('intents/')).map(([k, v]) => [k.slice('intents/'.length), v] as [string, Uint8Array]);

/** Detects through an adapter that refuses (and logs) anything but read, has and list. */
async function detect(adapter: StorageAdapter) {
  const ro = readOnly(adapter);
  const found = await detectForeignLayout(ro);
  expect(ro.log.refused).toEqual([]);
  return found;
}

describe('detectForeignLayout: CCOS directories', () => {
  it('a FileArchiveStorage (intents/, edges/), with or without its indices', async () => {
    const found = await detect(await holding(fixture));
    expect(found?.layout).toBe('ccos-file-archive-storage');
    expect(found?.found).toContain('intents/index.json');
    expect(found?.found).toContain('edges/index.json');
    expect(found?.description).toBe('a CCOS FileArchiveStorage (intents/, edges/)');
    const noIndices = await holding([...fixture].filter(([k]) => !k.endsWith('index.json')));
    expect((await detect(noIndices))?.layout).toBe('ccos-file-archive-storage');
    const edgesOnly = await holding([...fixture].filter(([k]) => k.startsWith('edges/')));
    expect((await detect(edgesOnly))?.layout).toBe('ccos-file-archive-storage');
  });

  it("a FileArchive: index.json CCOS's pretty map hash → <aa>/<bb>/<hash>.json, or only the shard files", async () => {
    const found = await detect(await holding(bareFileArchive()));
    expect(found).toMatchObject({ layout: 'ccos-file-archive', found: ['index.json'] });
    expect(found?.description).toMatch(/^a CCOS FileArchive \(index\.json maps 7 hashes to <aa>\/<bb>\/<hash>\.json files\)$/);
    const withoutIndex = bareFileArchive().filter(([k]) => k !== 'index.json');
    const bare = await detect(await holding(withoutIndex));
    expect(bare?.layout).toBe('ccos-file-archive');
    expect(bare?.found[0]).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}\.json$/);
    // An empty CCOS FileArchive is the map {}.
    expect((await detect(await holding([['index.json', '{}']])))?.layout).toBe('ccos-file-archive');
  });

  it('on node-fs, read-only: the directory is left byte for byte as it was', async () => {
    const dir = join(scratch, 'storage');
    cpSync(FIXTURE_STORAGE_DIR, dir, { recursive: true });
    const before = pictureOf(dir);
    const fs = nodeFsAdapter({ dir, sweep: false });
    expect((await detect(fs))?.layout).toBe('ccos-file-archive-storage');
    await fs.close();
    expect(pictureOf(dir)).toEqual(before);
  });
});

describe('detectForeignLayout: index.json of another format', () => {
  const cases: [string, RegExp][] = [
    ['{"format":"someone-else/index","version":2,"runs":[]}', /another format \("someone-else\/index", not "archive-storage\/index"\)/],
    ['{"format":"x"}', /another format/],
    ['[1,2,3]', /not an archive-storage index \(a JSON array\)/],
    ['"hello"', /the JSON value "hello"/],
    ['null', /the JSON value null/],
    ['{"items":[],"kind":"catalog"}', /a JSON object with keys "items", "kind"/],
  ];
  for (const [text, description] of cases) {
    it(`${text} is unknown-index`, async () => {
      const found = await detect(await holding([['index.json', text]]));
      expect(found?.layout).toBe('unknown-index');
      expect(found?.found).toEqual(['index.json']);
      expect(found?.description).toMatch(description);
    });
  }
});

describe("detectForeignLayout: the SDK's own stores are not foreign", () => {
  it('a v2 archive, a v1 index, a torn index, an index of a newer version, an empty or new store', async () => {
    const adapter = memoryAdapter();
    const archive = await openArchive(adapter);
    await archive.putMany([{ a: 1 }, { b: 2 }]);
    await archive.close();
    expect(await detect(adapter)).toBeUndefined();
    const bytes = enc.encode('{"a":1}');
    const v1 = encodeIndex(new Map([[sha256Hex(bytes), { size: bytes.length, storedAt: 1 }]]));
    expect(await detect(await holding([['index.json', v1]]))).toBeUndefined();
    expect(await detect(await holding([['index.json', '{"objects":{"zz":{}},"version":1}']]))).toBeUndefined();
    expect(await detect(await holding([['index.json', '{"bytes":1,"count"']]))).toBeUndefined(); // torn: rebuilt by the archive
    expect(await detect(await holding([['index.json', new Uint8Array([0xff, 0xfe])]]))).toBeUndefined();
    for (const future of ['{"objects":{},"version":99}', '{"format":"archive-storage/index","runs":[],"version":99}', '{"version":99}']) {
      expect(await detect(await holding([['index.json', future]])), future).toBeUndefined(); // the archive says UNSUPPORTED_VERSION
    }
    expect(await detect(memoryAdapter())).toBeUndefined();
    // Objects whose index was lost, and the SDK's other keys, hold nothing CCOS's layout names.
    expect(await detect(await holding([[`objects/ab/cd/${'abcd'.padEnd(64, '0')}.json`, '{}'], ['intent-graph/index.json', '{}'], ['journal/1-a-0.log', '']]))).toBeUndefined();
  });

  it('a torn index.json beside CCOS files is CCOS', async () => {
    expect((await detect(await holding([...fixture, ['index.json', '{"bytes":1,']])))?.layout).toBe('ccos-file-archive-storage');
  });
});

describe('ForeignLayoutError', () => {
  it('FOREIGN_LAYOUT, naming what was found and what to do', async () => {
    const error = await refuseForeignLayout(await holding(fixture)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForeignLayoutError);
    expect(error).toMatchObject({ code: 'FOREIGN_LAYOUT', layout: 'ccos-file-archive-storage', name: 'ForeignLayoutError' });
    expect((error as ForeignLayoutError).found).toEqual(expect.arrayContaining(['edges/index.json', 'intents/index.json']));
    expect((error as Error).message).toBe(
      'this store holds a CCOS FileArchiveStorage (intents/, edges/): it is not an archive-storage archive: import it into one with importCcosArchive ' +
        '(on the command line: `archive-storage --store <store> import-ccos <dir>`), which only reads it; nothing was changed',
    );
    const other = foreignLayoutError({ layout: 'unknown-index', found: ['index.json'], description: 'an index.json of another format ("x")' });
    expect(other.message).toMatch(/^this store holds an index\.json of another format \("x"\): this SDK did not write it, so it will not rebuild or write over it/);
    await expect(refuseForeignLayout(memoryAdapter())).resolves.toBeUndefined();
  });
});

describe('openArchive refuses foreign data and writes nothing (no index, journal, lock or writer marker, no rebuild)', () => {
  const layouts: [string, () => Iterable<[string, Uint8Array | string]>][] = [
    ['a CCOS FileArchiveStorage', () => fixture],
    ['a CCOS FileArchive', bareFileArchive],
    ['an index.json of another format', () => [['index.json', '{"entries":[],"format":"someone-else/catalog"}']]],
  ];
  for (const [what, files] of layouts) {
    it(`${what}: memory and node-fs, with and without auto-repair`, async () => {
      const store = new Map<string, Uint8Array>();
      const mem = memoryAdapter({ store });
      for (const [k, v] of files()) await mem.write(k, typeof v === 'string' ? enc.encode(v) : v);
      const keys = [...store].map(([k, v]) => `${k} ${sha256Hex(v)}`).sort();
      const dir = join(scratch, `open-${what.replace(/\W+/g, '-')}`);
      for (const [k, v] of files()) {
        const file = join(dir, ...k.split('/'));
        mkdirSync(join(file, '..'), { recursive: true });
        writeFileSync(file, v);
      }
      const before = pictureOf(dir);
      for (const autoRepairIndex of [true, false]) {
        await expect(openArchive(memoryAdapter({ store }), { autoRepairIndex })).rejects.toBeInstanceOf(ForeignLayoutError);
        const fs = nodeFsAdapter({ dir });
        await expect(openArchive(fs, { autoRepairIndex })).rejects.toMatchObject({ code: 'FOREIGN_LAYOUT' });
        await fs.close();
      }
      expect([...store].map(([k, v]) => `${k} ${sha256Hex(v)}`).sort()).toEqual(keys);
      expect(pictureOf(dir)).toEqual(before);
    });
  }
});
