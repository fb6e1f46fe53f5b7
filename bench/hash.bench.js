// Digest throughput at 1 KiB and 1 MiB for every path, next to raw node:crypto.
import { createHash, webcrypto } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { sha256Hex, sha256HexAsync, sha256HexWith } from '../dist/index.js';
import { fmt, loopRate, table } from './lib.js';

export async function run() {
  const rows = [];
  for (const [label, size] of [['1 KiB', 1024], ['1 MiB', 1024 * 1024]]) {
    const input = new Uint8Array(size).map((_, i) => i * 7);
    const ms = size > 4096 ? 600 : 300;
    const native = await loopRate(() => createHash('sha256').update(input).digest('hex'), { ms });
    const paths = [
      ['node:crypto (baseline)', native],
      ['sha256Hex (fast path)', await loopRate(() => sha256Hex(input), { ms })],
      ['sha256HexAsync', await loopRate(() => sha256HexAsync(input), { ms })],
      ['@noble/hashes', await loopRate(() => sha256(input), { ms })],
      ['WebCrypto (Node)', await loopRate(() => webcrypto.subtle.digest('SHA-256', input), { ms })],
      ['sha256HexWith(noble)', await loopRate(() => sha256HexWith('noble', input), { ms })],
    ];
    const noble = paths[3][1];
    for (const [name, rate] of paths) {
      rows.push({
        input: label,
        path: name,
        'ops/s': fmt(rate),
        'MB/s': fmt((rate * size) / 1e6),
        'x native': (rate / native).toFixed(2),
        'x noble': (rate / noble).toFixed(2),
      });
    }
  }
  table('SHA-256 digest throughput (median of 5 rounds)', rows);
  return rows;
}
