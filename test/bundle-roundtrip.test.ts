/**
 * The Node half of the round trip node-fs → bundle → IndexedDB → bundle → node-fs.
 *
 * `test/fixtures/bundles/roundtrip.zip` is a committed golden bundle. Here,
 * node-fs must export exactly those bytes from the fixture values, and a
 * node-fs archive that imports them must hold the same hashes and export the
 * same bytes again. The browser half (`bundle.browser.test.ts`) imports the
 * same file into IndexedDB and must export it back byte for byte; so the
 * IndexedDB-made bundle is these bytes, which node-fs imports here.
 *
 * `UPDATE_GOLDEN=1` rewrites the golden file (only on a deliberate format change).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { exportBundleToFile, importBundleFromFile } from '../node/bundle-file.js';
import { openArchive } from '../src/archive/index.js';
import { canonicalize } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { verifyBundle } from '../src/bundle/index.js';
import { ROUNDTRIP_OPTIONS, roundTripValues } from './fixtures/bundles/roundtrip-values.js';

const golden = new URL('./fixtures/bundles/roundtrip.zip', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'bundle-roundtrip-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const expectedHashes = () => [...new Set(roundTripValues().map((v) => sha256Hex(canonicalize(v))))].sort();

async function hashesOf(archive: { list(): AsyncIterable<string> }): Promise<string[]> {
  const out: string[] = [];
  for await (const h of archive.list()) out.push(h);
  return out.sort();
}

it('node-fs exports the golden bundle byte for byte', async () => {
  const source = await openArchive(nodeFsAdapter({ dir: join(root, 'source'), durable: false }));
  await source.putMany(roundTripValues());
  const file = join(root, 'from-node-fs.zip');
  await exportBundleToFile(source, file, ROUNDTRIP_OPTIONS);
  const made = readFileSync(file);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, made);
  expect(made.equals(readFileSync(golden)), 'node-fs export differs from test/fixtures/bundles/roundtrip.zip (format change? see UPDATE_GOLDEN)').toBe(true);
  expect(await hashesOf(source)).toEqual(expectedHashes());
  await source.close();
});

it('the golden bundle (what IndexedDB exports in the browser test) imports into node-fs with the same hashes and exports the same bytes', async () => {
  const report = await verifyBundle(readFileSync(golden));
  expect(report.manifest).toMatchObject({ format: 'archive-storage-bundle', version: 1, createdAt: ROUNDTRIP_OPTIONS.createdAt, producer: ROUNDTRIP_OPTIONS.producer });
  expect(report.manifest.count).toBe(expectedHashes().length);
  expect(report.extras).toEqual({ backup: ROUNDTRIP_OPTIONS.extras.backup, rtfs: ROUNDTRIP_OPTIONS.extras.rtfs });

  const target = await openArchive(nodeFsAdapter({ dir: join(root, 'target'), durable: false }));
  const imported = await importBundleFromFile(target, golden);
  expect(imported).toMatchObject({ objects: expectedHashes().length, added: expectedHashes().length, present: 0 });
  expect(await hashesOf(target)).toEqual(expectedHashes());
  for (const v of roundTripValues()) expect(await target.get(sha256Hex(canonicalize(v)))).toEqual(v);
  const again = join(root, 'again.zip');
  await exportBundleToFile(target, again, ROUNDTRIP_OPTIONS);
  expect(readFileSync(again).equals(readFileSync(golden))).toBe(true);
  await target.close();
});
