/**
 * Hash stability, Node half: the committed fixture (values, and the hash and
 * canonical bytes each must have) holds for archives on memory and on node-fs
 * on disk. `browser-hash-stability.browser.test.ts` checks the same fixture on
 * IndexedDB and OPFS in Chromium, so a value gets the same address and the same
 * object bytes in a browser tab as in Node.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { openArchive } from '../src/archive/index.js';
import { objectKey } from '../src/archive/types.js';
import { canonicalBytes } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import fixture from './fixtures/hash-stability.json' with { type: 'json' };

const expected = fixture.expected.map((e) => ({ hash: e.hash, bytes: new Uint8Array(Buffer.from(e.base64, 'base64')) }));

describe('hash stability fixture in Node', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the fixture is what canonicalize and SHA-256 give here', () => {
    expect(fixture.values.length).toBe(expected.length);
    fixture.values.forEach((v, i) => {
      const bytes = canonicalBytes(v);
      expect(Buffer.from(bytes).equals(Buffer.from(expected[i]!.bytes))).toBe(true);
      expect(sha256Hex(bytes)).toBe(expected[i]!.hash);
    });
  });

  it('memory and node-fs archives store exactly those bytes under exactly those hashes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hash-stability-'));
    dirs.push(dir);
    for (const adapter of [memoryAdapter(), nodeFsAdapter({ dir, durable: false })]) {
      const archive = await openArchive(adapter);
      const one = await Promise.all(fixture.values.map((v) => archive.put(v)));
      expect(one).toEqual(expected.map((e) => e.hash));
      expect(await archive.putMany(fixture.values)).toEqual(one);
      for (const [i, e] of expected.entries()) {
        expect(Buffer.from((await adapter.read(objectKey(e.hash)))!).equals(Buffer.from(e.bytes)), `value ${i}`).toBe(true);
      }
      await archive.close();
    }
    // On disk, the object file is the canonical text byte for byte.
    const e = expected[24]!;
    expect(readFileSync(join(dir, objectKey(e.hash))).equals(Buffer.from(e.bytes))).toBe(true);
  });
});
