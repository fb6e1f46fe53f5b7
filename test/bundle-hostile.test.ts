/**
 * The hostile-bundle corpus: every case is refused as a whole with its own
 * error code, by import and by verify, whether the bytes come in one piece or
 * in tiny chunks, and the target archive is left exactly as it was.
 */
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { openArchive } from '../src/archive/index.js';
import type { ContentArchive } from '../src/archive/types.js';
import { importBundle, verifyBundle } from '../src/bundle/index.js';
import { HostileBundleError, UnsupportedVersionError, type HostileBundleCode } from '../src/errors.js';
import { openReferences } from '../src/refs/index.js';
import { BASE_VALUES, writeHostileBundles } from './fixtures/make-hostile-bundles.js';

const cases = writeHostileBundles(new URL('./fixtures/generated/hostile/', import.meta.url).pathname);

async function snapshot(archive: ContentArchive) {
  const list: string[] = [];
  for await (const h of archive.list()) list.push(h);
  const entries: string[] = [];
  for await (const e of archive.entries()) entries.push(JSON.stringify(e));
  const keys: string[] = [];
  for await (const k of archive.adapter.list('')) keys.push(k);
  // Reference documents byte for byte: a refused bundle must not move one.
  const refs: string[] = [];
  for (const k of keys) if (k.startsWith('refs/')) refs.push(`${k} ${new TextDecoder().decode(await archive.adapter.read(k))}`);
  return { list: list.sort(), entries: entries.sort(), keys: keys.sort(), refs: refs.sort() };
}

/** A target that already holds one object of the bundle and one of its own, and a reference to each (one of the bundle's names). */
async function target(): Promise<ContentArchive> {
  const archive = await openArchive(memoryAdapter());
  const [mine, theirs] = await archive.putMany([{ unrelated: true }, BASE_VALUES[0]]);
  const refs = openReferences(archive);
  await refs.set('keep/me', mine!);
  await refs.set('notes/42', theirs!);
  return archive;
}

function* inChunks(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; error: unknown }> {
  try {
    await p;
  } catch (error) {
    return { code: (error as { code?: string }).code ?? 'no code', error };
  }
  return { code: 'accepted', error: undefined };
}

const ALL_HOSTILE_CODES: HostileBundleCode[] = [
  'BUNDLE_MALFORMED',
  'BUNDLE_UNSAFE_PATH',
  'BUNDLE_PROTOTYPE_KEY',
  'BUNDLE_DUPLICATE_ENTRY',
  'BUNDLE_SIZE_MISMATCH',
  'BUNDLE_CRC_MISMATCH',
  'BUNDLE_HASH_MISMATCH',
  'BUNDLE_MANIFEST_MISMATCH',
  'BUNDLE_TOO_MANY_ENTRIES',
  'BUNDLE_TOO_LARGE',
  'BUNDLE_COMPRESSION_RATIO',
  'BUNDLE_UNSUPPORTED',
];

describe('hostile bundle corpus', () => {
  it('covers every hostile-bundle code and the unsupported version', () => {
    const codes = new Set(cases.map((c) => c.code));
    for (const code of ALL_HOSTILE_CODES) expect(codes, code).toContain(code);
    expect(codes).toContain('UNSUPPORTED_VERSION');
    expect(cases.length).toBeGreaterThan(40);
  });

  it('the control bundle imports: the corpus writer makes real bundles', async () => {
    const valid = cases.find((c) => c.name === 'valid')!;
    const archive = await target();
    const report = await importBundle(archive, valid.bytes);
    expect(report).toMatchObject({ objects: 3, added: 2, present: 1 });
    for (const v of BASE_VALUES) expect(await archive.get(await archive.put(v))).toEqual(v);
  });

  it('the version 2 control bundle imports: its reference fast-forwards the one the target holds at its first version', async () => {
    const valid = cases.find((c) => c.name === 'refs-valid')!;
    const archive = await target();
    const refs = openReferences(archive);
    const before = await refs.history('notes/42');
    expect((await verifyBundle(valid.bytes)).manifest).toMatchObject({ version: 2, refs: [{ name: 'notes/42' }] });
    const report = await importBundle(archive, valid.bytes);
    expect(report).toMatchObject({ objects: 3, added: 2, present: 1, references: { created: 0, advanced: 1, unchanged: 0, behind: 0, conflicts: [] } });
    // The target's notes/42 was set here (seq 1, the same hash, another time): the same state as the bundle's version 1.
    const after = await refs.history('notes/42');
    expect(after.map((v) => [v.seq, v.hash])).toEqual([[2, (await archive.put(BASE_VALUES[1]))], [1, before[0]!.hash]]);
    expect((await refs.get('keep/me'))?.hash).toBe(await archive.put({ unrelated: true }));
  });

  for (const c of cases.filter((x) => x.code !== null)) {
    it(`${c.name}: ${c.why} → ${c.code}`, async () => {
      const archive = await target();
      const before = await snapshot(archive);
      const options = c.limits ? { limits: c.limits } : {};

      const whole = await refusal(importBundle(archive, c.bytes, options));
      expect(whole.code, String((whole.error as Error | undefined)?.message)).toBe(c.code);
      expect(whole.error).toBeInstanceOf(c.code === 'UNSUPPORTED_VERSION' ? UnsupportedVersionError : HostileBundleError);
      expect((whole.error as Error).message.length).toBeGreaterThan(20);

      // The same refusal when the bytes trickle in 7 at a time, and from verify alone.
      const trickled = await refusal(importBundle(archive, inChunks(c.bytes, 7), options));
      expect(trickled.code).toBe(c.code);
      expect((await refusal(verifyBundle(c.bytes, options))).code).toBe(c.code);

      expect(await snapshot(archive)).toEqual(before);
    });
  }
});
