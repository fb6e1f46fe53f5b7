import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { availableHashBackends, createSha256, defaultHashBackend, isSha256Hex, sha256Hex, sha256HexAsync, sha256HexWith } from '../src/hash.js';
import { hashInputs } from './support/hash-inputs.js';

const reference = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('sha256 in Node', () => {
  it('uses node:crypto by default and offers every backend', () => {
    expect(defaultHashBackend()).toBe('node');
    expect(availableHashBackends().sort()).toEqual(['noble', 'node', 'webcrypto']);
  });

  it('gives the published digest of the empty string and "abc"', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  for (const [label, input] of hashInputs()) {
    it(`every path agrees on ${label}`, async () => {
      const want = reference(input);
      expect(sha256Hex(input)).toBe(want);
      expect(await sha256HexAsync(input)).toBe(want);
      for (const b of availableHashBackends()) expect(await sha256HexWith(b, input)).toBe(want);
      const s = createSha256();
      for (let i = 0; i < input.length; i += 100_003) s.update(input.subarray(i, i + 100_003));
      expect(s.digest()).toBe(want);
    });
  }

  it('hashes strings as UTF-8', () => {
    expect(sha256Hex('€')).toBe(reference(new TextEncoder().encode('€')));
    expect(createSha256().update('€').digest()).toBe(sha256Hex('€'));
  });

  it('recognises hex digests', () => {
    expect(isSha256Hex(sha256Hex('x'))).toBe(true);
    expect(isSha256Hex(sha256Hex('x').toUpperCase())).toBe(false);
    expect(isSha256Hex('abc')).toBe(false);
    expect(isSha256Hex(42)).toBe(false);
  });
});
