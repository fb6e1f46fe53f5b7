/**
 * SHA-256, lowercase hex.
 *
 * `@noble/hashes` works everywhere; where the platform has a faster native
 * digest it is used instead, found lazily so that importing this module reads
 * no global and imports no `node:*` module:
 * - Node: `node:crypto`, reached through `process.getBuiltinModule` (Node >= 20.16).
 * - Browsers: WebCrypto `crypto.subtle.digest`, async only
 *   ({@link sha256HexAsync}), from {@link WEBCRYPTO_THRESHOLD} bytes up; tiny
 *   inputs stay on noble, where WebCrypto's per-call cost dominates.
 *
 * Every path gives the same digest; the tests check that on the same inputs.
 *
 * @module
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { InvalidArgumentError } from './errors.js';
import { nodeBuiltin, subtleCrypto } from './platform.js';

/** Which implementation computes a digest. */
export type HashBackend = 'noble' | 'node' | 'webcrypto';

/** An incremental SHA-256: feed pieces with `update`, read the hex with `digest` once. */
export interface Sha256Stream {
  update(data: Uint8Array | string): Sha256Stream;
  /** Lowercase hex of the digest. The stream cannot be used after this. */
  digest(): string;
}

interface NodeHash {
  update(data: Uint8Array | string): NodeHash;
  digest(encoding: 'hex'): string;
}
interface NodeCrypto {
  createHash(algorithm: 'sha256'): NodeHash;
  /** One-shot digest (Node >= 20.12): no Hash object per call, about twice as fast for small inputs. */
  hash?(algorithm: 'sha256', data: Uint8Array | string, outputEncoding: 'hex'): string;
}

let nodeCrypto: NodeCrypto | null | undefined;

/** node:crypto when running in Node, else null. Resolved once, on first use. */
function getNodeCrypto(): NodeCrypto | null {
  if (nodeCrypto === undefined) {
    const mod = nodeBuiltin<NodeCrypto>('node:crypto');
    nodeCrypto = mod && typeof mod.createHash === 'function' ? mod : null;
  }
  return nodeCrypto;
}

const getSubtle = (): SubtleCrypto | null => subtleCrypto() ?? null;

const encoder = /* @__PURE__ */ new TextEncoder();
const toBytes = (data: Uint8Array | string): Uint8Array => (typeof data === 'string' ? encoder.encode(data) : data);

/**
 * Inputs at least this large go to WebCrypto in {@link sha256HexAsync} when no
 * sync native hash exists (browsers). Measured in headless Chromium 156
 * (`npm run bench -- browser`), digests awaited in turn: WebCrypto is 1.5x
 * noble at 256 B, 3.6x at 1 KiB, 21x at 64 KiB; at 32 B noble wins (4.5 us vs
 * 8.9 us). Node never gets here: node:crypto is synchronous and faster.
 */
export const WEBCRYPTO_THRESHOLD = 256;

/** The synchronous backend this runtime uses: `node` in Node, else `noble`. */
export function defaultHashBackend(): 'node' | 'noble' {
  return getNodeCrypto() ? 'node' : 'noble';
}

/** SHA-256 of `data` (strings are hashed as UTF-8) as lowercase hex, on the fastest synchronous path. */
export function sha256Hex(data: Uint8Array | string): string {
  const nc = getNodeCrypto();
  if (nc) return nc.hash ? nc.hash('sha256', data, 'hex') : nc.createHash('sha256').update(data).digest('hex');
  return bytesToHex(nobleSha256(toBytes(data)));
}

/**
 * SHA-256 as lowercase hex, allowed to go async: in browsers, inputs from
 * {@link WEBCRYPTO_THRESHOLD} bytes use WebCrypto (native: about 3x faster
 * than noble at 1 KiB in Chromium, 10x at 4 KiB).
 */
export async function sha256HexAsync(data: Uint8Array | string): Promise<string> {
  if (getNodeCrypto()) return sha256Hex(data);
  const bytes = toBytes(data);
  const subtle = bytes.byteLength >= WEBCRYPTO_THRESHOLD ? getSubtle() : null;
  if (subtle) return bytesToHex(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
  return bytesToHex(nobleSha256(bytes));
}

/** A streaming SHA-256 for inputs that arrive in pieces (native in Node, noble elsewhere). */
export function createSha256(): Sha256Stream {
  const nc = getNodeCrypto();
  if (nc) {
    const h = nc.createHash('sha256');
    const stream: Sha256Stream = {
      update(data) {
        h.update(data);
        return stream;
      },
      digest: () => h.digest('hex'),
    };
    return stream;
  }
  const h = nobleSha256.create();
  const stream: Sha256Stream = {
    update(data) {
      h.update(toBytes(data));
      return stream;
    },
    digest: () => bytesToHex(h.digest()),
  };
  return stream;
}

/** The backends available in this runtime (for tests and benchmarks). */
export function availableHashBackends(): HashBackend[] {
  const out: HashBackend[] = ['noble'];
  if (getNodeCrypto()) out.push('node');
  if (getSubtle()) out.push('webcrypto');
  return out;
}

/** SHA-256 hex computed by one named backend (for tests and benchmarks). */
export async function sha256HexWith(backend: HashBackend, data: Uint8Array | string): Promise<string> {
  const bytes = toBytes(data);
  switch (backend) {
    case 'noble':
      return bytesToHex(nobleSha256(bytes));
    case 'node': {
      const nc = getNodeCrypto();
      if (!nc) throw new InvalidArgumentError("hash backend 'node' needs node:crypto, which this runtime does not have");
      return nc.createHash('sha256').update(bytes).digest('hex');
    }
    case 'webcrypto': {
      const subtle = getSubtle();
      if (!subtle) throw new InvalidArgumentError("hash backend 'webcrypto' needs crypto.subtle, which this runtime does not have (browsers expose it only on secure origins)");
      return bytesToHex(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
    }
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

/** True when `s` is a lowercase hex SHA-256 (64 characters). */
export function isSha256Hex(s: unknown): s is string {
  return typeof s === 'string' && HEX64.test(s);
}
