/** index.json: the byte writer gives exactly the canonical JSON of the document, and decodes back. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeIndex, encodeIndex, type IndexRecord } from '../src/archive/index-file.js';
import { objectKey } from '../src/archive/types.js';
import { canonicalize } from '../src/json/canonical.js';

const enc = new TextEncoder();
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''));
const count = fc.oneof(fc.constantFrom(0, 9, 10, 99, 100, 1024, Number.MAX_SAFE_INTEGER), fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const index = fc.dictionary(hex64, fc.record({ size: count, storedAt: count }), { maxKeys: 60 }).map((d) => new Map(Object.entries(d)));

function canonicalDocument(entries: ReadonlyMap<string, IndexRecord>): Uint8Array {
  const objects: Record<string, unknown> = {};
  for (const [h, e] of entries) objects[h] = { path: objectKey(h), size: e.size, storedAt: e.storedAt };
  return enc.encode(canonicalize({ objects, version: 1 }));
}

describe('index.json encoding', () => {
  it('is canonicalize() of the document, byte for byte, and decodes to the same entries', () => {
    fc.assert(
      fc.property(index, (entries) => {
        const bytes = encodeIndex(entries);
        expect(bytes).toEqual(canonicalDocument(entries));
        const back = decodeIndex(bytes);
        expect(back).toBeInstanceOf(Map);
        const byKey = (m: ReadonlyMap<string, IndexRecord>) => [...m].map(([h, e]) => [h, { size: e.size, storedAt: e.storedAt }]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
        expect(byKey(back as Map<string, IndexRecord>)).toEqual(byKey(entries));
      }),
      { numRuns: 300 },
    );
  });

  it('writes an empty index and the largest counts', () => {
    expect(new TextDecoder().decode(encodeIndex(new Map()))).toBe('{"objects":{},"version":1}');
    const h = 'ab'.repeat(32);
    const big = new Map([[h, { size: Number.MAX_SAFE_INTEGER, storedAt: 0 }]]);
    expect(encodeIndex(big)).toEqual(canonicalDocument(big));
  });

  it('spans many pieces (more entries than one piece holds)', () => {
    const entries = new Map<string, IndexRecord>();
    for (let i = 0; i < 1000; i++) entries.set((i.toString(16).padStart(8, '0') + 'e'.repeat(56)).slice(0, 64), { size: i, storedAt: 1764000000000 + i });
    expect(encodeIndex(entries)).toEqual(canonicalDocument(entries));
  });
});
