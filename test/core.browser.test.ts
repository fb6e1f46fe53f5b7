/** The core in real headless Chromium, Firefox and WebKit: same canonical bytes and digests as in Node. */
import { describe, expect, it } from 'vitest';
import { availableHashBackends, canonicalize, createSha256, defaultHashBackend, parseJson, sha256Hex, sha256HexAsync, sha256HexWith, WEBCRYPTO_THRESHOLD } from '../src/index.js';
import { hashInputs } from './support/hash-inputs.js';
import { engine, engineName, userAgentMark } from './support/engines/current.js';

describe('core in a real browser', () => {
  it(`is really ${engineName}, with no Node crypto`, () => {
    expect(navigator.userAgent).toContain(userAgentMark);
    if (engine === 'webkit') expect(navigator.userAgent).not.toContain('Chrome');
    expect(defaultHashBackend()).toBe('noble');
    expect(availableHashBackends()).toEqual(['noble', 'webcrypto']);
  });

  for (const [label, input] of hashInputs()) {
    it(`noble, WebCrypto, async and streaming agree on ${label}`, async () => {
      const want = await sha256HexWith('webcrypto', input);
      expect(sha256Hex(input)).toBe(want);
      expect(await sha256HexWith('noble', input)).toBe(want);
      expect(await sha256HexAsync(input)).toBe(want);
      const s = createSha256();
      for (let i = 0; i < input.length; i += 65_537) s.update(input.subarray(i, i + 65_537));
      expect(s.digest()).toBe(want);
    });
  }

  it('the async path takes WebCrypto from the threshold up, and noble below it', async () => {
    expect(WEBCRYPTO_THRESHOLD).toBe(256);
    const subtle = crypto.subtle;
    const calls: number[] = [];
    const original = subtle.digest.bind(subtle);
    subtle.digest = ((alg: AlgorithmIdentifier, data: BufferSource) => {
      calls.push((data as ArrayBufferView).byteLength);
      return original(alg, data);
    }) as typeof subtle.digest;
    try {
      await sha256HexAsync(new Uint8Array(255));
      await sha256HexAsync(new Uint8Array(256));
    } finally {
      subtle.digest = original;
    }
    expect(calls).toEqual([256]);
  });

  it('gives the published digests', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('canonicalizes like Node', () => {
    const text = '{"b":[1e30,0.002,"\\u20ac"],"a":{"\\ufb33":1,"\\ud83d\\ude02":2}}';
    expect(canonicalize(parseJson(text))).toBe('{"a":{"\u{1f602}":2,"\ufb33":1},"b":[1e+30,0.002,"€"]}');
    expect(sha256Hex(canonicalize(parseJson(text)))).toBe(sha256Hex('{"a":{"\u{1f602}":2,"\ufb33":1},"b":[1e+30,0.002,"€"]}'));
  });
});
