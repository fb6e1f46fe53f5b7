/**
 * Hash stability, browser half: archives on IndexedDB and on OPFS (both
 * engines) in real Chromium, Firefox and WebKit store the committed fixture's values under the
 * same hashes, as the same bytes, as memory and node-fs do in Node
 * (`browser-hash-stability.test.ts`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { describeOpfsEngine, engineName } from './support/engines/current.js';
import { deleteIndexedDbArchive, indexedDbAdapter } from '../adapters/indexeddb/index.js';
import { opfsAdapter } from '../adapters/opfs/index.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { openArchive } from '../src/archive/index.js';
import { objectKey } from '../src/archive/types.js';
import { canonicalBytes } from '../src/json/canonical.js';
import { defaultHashBackend, sha256Hex } from '../src/hash.js';
import fixture from './fixtures/hash-stability.json';

function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const expected = fixture.expected.map((e) => ({ hash: e.hash, bytes: fromBase64(e.base64) }));
const stamp = Date.now().toString(36);
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

const backends: [string, () => StorageAdapter, boolean][] = [
  [
    'indexeddb',
    () => {
      const name = `hash-stability-${stamp}`;
      cleanup.push(() => deleteIndexedDbArchive(name));
      return indexedDbAdapter({ name });
    },
    false,
  ],
  ...([true, false] as const).map((worker): [string, () => StorageAdapter, boolean] => [
    `opfs (${worker ? 'worker' : 'main thread'})`,
    () => {
      const root = `hash-stability-${stamp}-${worker}`;
      cleanup.push(async () => (await navigator.storage.getDirectory()).removeEntry(root, { recursive: true }).catch(() => {}));
      return opfsAdapter({ root, worker });
    },
    worker,
  ]),
];

describe(`hash stability fixture in ${engineName}`, () => {
  it('canonical bytes and hashes here (noble, no Node crypto) are the fixture', () => {
    expect(defaultHashBackend()).toBe('noble');
    fixture.values.forEach((v, i) => {
      expect(canonicalBytes(v)).toEqual(expected[i]!.bytes);
      expect(sha256Hex(canonicalBytes(v))).toBe(expected[i]!.hash);
    });
  });

  for (const [name, make, worker] of backends) {
    describeOpfsEngine(worker, () => it(`${name}: put and putMany store the fixture's bytes under the fixture's hashes`, async () => {
      const adapter = make();
      const archive = await openArchive(adapter);
      const one = await Promise.all(fixture.values.map((v) => archive.put(v)));
      expect(one).toEqual(expected.map((e) => e.hash));
      expect(await archive.putMany(fixture.values)).toEqual(one);
      for (const [i, e] of expected.entries()) {
        expect(await adapter.read(objectKey(e.hash)), `value ${i}`).toEqual(e.bytes);
        expect(await archive.getBytes(e.hash)).toEqual(e.bytes);
      }
      await archive.close();
      await adapter.close?.();
    }));
  }
});
