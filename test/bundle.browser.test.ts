/// <reference types="vite/client" />
/**
 * The browser half of the round trip node-fs → bundle → IndexedDB → bundle → node-fs,
 * in real headless Chromium, Firefox and WebKit.
 *
 * `roundtrip.zip` was exported by node-fs (`bundle-roundtrip.test.ts` checks
 * node-fs still makes exactly these bytes, and imports them back). Here it is
 * streamed from the dev server into IndexedDB, and IndexedDB must export the
 * same bytes: the bundle IndexedDB makes is the one node-fs imports.
 */
import { afterAll, describe, expect, it } from 'vitest';
import goldenUrl from './fixtures/bundles/roundtrip.zip?url';
import { engine, engineName, userAgentMark } from './support/engines/current.js';
import { deleteIndexedDbArchive, indexedDbAdapter } from '../adapters/indexeddb/index.js';
import { memoryAdapter } from '../adapters/memory.js';
import { openArchive } from '../src/archive/index.js';
import type { ContentArchive } from '../src/archive/types.js';
import { canonicalize } from '../src/json/canonical.js';
import { defaultHashBackend, sha256Hex } from '../src/hash.js';
import {
  BUNDLE_STAGING_PREFIX,
  downloadBundle,
  exportBundle,
  exportBundleStream,
  exportBundleToBlob,
  exportBundleToFileHandle,
  importBundle,
  verifyBundle,
} from '../src/bundle/index.js';
import { ROUNDTRIP_OPTIONS, roundTripValues } from './fixtures/bundles/roundtrip-values.js';

const databases: string[] = [];
afterAll(async () => {
  for (const name of databases) await deleteIndexedDbArchive(name);
});

async function idbArchive(tag: string): Promise<ContentArchive> {
  const name = `bundle-${tag}-${Date.now().toString(36)}-${databases.length}`;
  databases.push(name);
  return openArchive(indexedDbAdapter({ name }));
}

async function goldenBytes(): Promise<Uint8Array> {
  return new Uint8Array(await (await fetch(goldenUrl)).arrayBuffer());
}

const expectedHashes = () => [...new Set(roundTripValues().map((v) => sha256Hex(canonicalize(v))))].sort();

async function hashesOf(archive: ContentArchive): Promise<string[]> {
  const out: string[] = [];
  for await (const h of archive.list()) out.push(h);
  return out.sort();
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe(`bundle round trip in ${engineName}`, () => {
  it('runs in a real browser, hashing without Node', () => {
    expect(navigator.userAgent).toContain(userAgentMark);
    if (engine === 'webkit') expect(navigator.userAgent).not.toContain('Chrome');
    expect(defaultHashBackend()).toBe('noble');
  });

  it('the node-fs bundle streams from the server into IndexedDB and comes back out byte for byte', async () => {
    const golden = await goldenBytes();
    const archive = await idbArchive('roundtrip');
    const response = await fetch(goldenUrl);
    const report = await importBundle(archive, response.body!);
    expect(report).toMatchObject({ objects: expectedHashes().length, added: expectedHashes().length, present: 0 });
    expect(report.extras).toEqual({ backup: ROUNDTRIP_OPTIONS.extras.backup, rtfs: ROUNDTRIP_OPTIONS.extras.rtfs });
    expect(await hashesOf(archive)).toEqual(expectedHashes());
    for (const v of roundTripValues()) expect(await archive.get(sha256Hex(canonicalize(v)))).toEqual(v);

    const blob = await exportBundleToBlob(archive, ROUNDTRIP_OPTIONS);
    expect(blob.type).toBe('application/zip');
    expect(equalBytes(new Uint8Array(await blob.arrayBuffer()), golden)).toBe(true);
    await archive.close();

    // A fresh handle on the same database exports the same bytes (nothing lived only in memory).
    const name = databases.at(-1)!;
    const reopened = await openArchive(indexedDbAdapter({ name }));
    const parts: Uint8Array[] = [];
    for await (const c of exportBundle(reopened, ROUNDTRIP_OPTIONS)) parts.push(c);
    expect(equalBytes(new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer()), golden)).toBe(true);
    await reopened.close();
  });

  it('the memory adapter in Chromium gives the same bytes too', async () => {
    const archive = await openArchive(memoryAdapter());
    await archive.putMany(roundTripValues());
    const made = new Uint8Array(await (await exportBundleToBlob(archive, ROUNDTRIP_OPTIONS)).arrayBuffer());
    expect(equalBytes(made, await goldenBytes())).toBe(true);
  });

  it('a bundle made in the browser (deflated by fflate in Chromium) imports into another IndexedDB archive, adding only what is missing', async () => {
    const source = await openArchive(memoryAdapter());
    await source.putMany(roundTripValues());
    const target = await idbArchive('partial');
    await target.putMany(roundTripValues().slice(0, 50));
    const report = await importBundle(target, exportBundleStream(source, ROUNDTRIP_OPTIONS), { stagingMemoryBytes: 0 });
    expect(report).toMatchObject({ added: expectedHashes().length - 50, present: 50 });
    expect(await hashesOf(target)).toEqual(expectedHashes());
    const staging: string[] = [];
    for await (const k of target.adapter.list(BUNDLE_STAGING_PREFIX)) staging.push(k);
    expect(staging).toEqual([]);
    await target.close();
  });

  it('a damaged bundle is refused in the browser and IndexedDB is left as it was', async () => {
    const golden = await goldenBytes();
    const archive = await idbArchive('hostile');
    await archive.put({ before: true });
    const before = await hashesOf(archive);
    const flipped = golden.slice();
    flipped[golden.length >> 1]! ^= 0x40;
    for (const [bytes, codes] of [
      [golden.slice(0, golden.length - 100), ['BUNDLE_MALFORMED']],
      [flipped, ['BUNDLE_CRC_MISMATCH', 'BUNDLE_MALFORMED', 'BUNDLE_SIZE_MISMATCH', 'BUNDLE_UNSAFE_PATH', 'BUNDLE_HASH_MISMATCH']],
    ] as const) {
      const err = await importBundle(archive, new Blob([bytes as Uint8Array<ArrayBuffer>])).catch((e: unknown) => e);
      expect(codes).toContain((err as { code?: string }).code);
      expect(await hashesOf(archive)).toEqual(before);
    }
    await expect(verifyBundle(golden)).resolves.toMatchObject({ manifest: { count: expectedHashes().length } });
    await archive.close();
  });

  it('downloadBundle hands the browser an <a download> of the bundle', async () => {
    const archive = await openArchive(memoryAdapter());
    await archive.putMany(roundTripValues());
    const clicked: { href: string; download: string }[] = [];
    const original = HTMLAnchorElement.prototype.click;
    // Observe the click instead of letting headless Chromium save a file.
    HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
      clicked.push({ href: this.href, download: this.download });
    };
    try {
      await downloadBundle(archive, 'archive.zip', ROUNDTRIP_OPTIONS);
    } finally {
      HTMLAnchorElement.prototype.click = original;
    }
    expect(clicked).toHaveLength(1);
    expect(clicked[0]!.download).toBe('archive.zip');
    expect(clicked[0]!.href).toMatch(/^blob:/);
    const downloaded = new Uint8Array(await (await fetch(clicked[0]!.href)).arrayBuffer());
    expect(equalBytes(downloaded, await goldenBytes())).toBe(true);
  });

  it('streams into a file handle (OPFS here, showSaveFilePicker in an app); an aborted export leaves the old file intact', async () => {
    const source = await openArchive(memoryAdapter());
    await source.putMany(roundTripValues());
    const dir = await navigator.storage.getDirectory();
    const handle = await dir.getFileHandle(`bundle-test-${Date.now()}.zip`, { create: true });
    await exportBundleToFileHandle(source, handle, ROUNDTRIP_OPTIONS);
    expect(equalBytes(new Uint8Array(await (await handle.getFile()).arrayBuffer()), await goldenBytes())).toBe(true);

    const ac = new AbortController();
    const err = await exportBundleToFileHandle(source, handle, {
      ...ROUNDTRIP_OPTIONS,
      signal: ac.signal,
      onProgress: (p) => p.phase === 'write' && p.done >= 64 && ac.abort(),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ABORTED' });
    expect(equalBytes(new Uint8Array(await (await handle.getFile()).arrayBuffer()), await goldenBytes())).toBe(true);
    await dir.removeEntry(handle.name);
  });
});
