/** The core under happy-dom: importing it in a DOM-like environment works and hashes the same. */
import { describe, expect, it } from 'vitest';
import * as core from '../src/index.js';

describe('core under happy-dom', () => {
  it('imports and hashes the same canonical bytes', () => {
    expect(typeof window).toBe('object');
    const h = core.sha256Hex(core.canonicalBytes({ b: 1, a: [true, null] }));
    expect(h).toBe(core.sha256Hex('{"a":[true,null],"b":1}'));
  });
});
