/**
 * Random ids for writers, staging folders and temp names: unique enough to
 * never collide between processes and tabs, short enough for a key segment.
 *
 * @module
 */
import { fillRandom } from '../platform.js';

/** `n` random lowercase base-36 characters (`[0-9a-z]`), safe in every key and file name. */
export function randomId(n = 16): string {
  const bytes = fillRandom(new Uint8Array(n));
  let out = '';
  for (const b of bytes) out += (b % 36).toString(36);
  return out;
}

/** `bytes` random bytes as lowercase hex. */
export function randomHex(bytes = 8): string {
  return Array.from(fillRandom(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}
