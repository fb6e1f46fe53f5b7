/**
 * Checks on what callers hand the archive: hashes and canonical bytes.
 *
 * @module
 */
import { canonicalize } from '../json/canonical.js';
import { InvalidArgumentError, InvalidJsonError } from '../errors.js';
import { isSha256Hex } from '../hash.js';

/**
 * Throws `INVALID_ARGUMENT` unless `hash` is a lowercase hex SHA-256. An
 * address of any other shape cannot name an object, so it is refused rather
 * than reported as "not found": a typo'd or truncated hash is a bug to surface.
 */
export function assertHash(hash: unknown, label = 'hash'): asserts hash is string {
  if (isSha256Hex(hash)) return;
  const shown = typeof hash === 'string' ? JSON.stringify(hash.length > 80 ? hash.slice(0, 80) + '…' : hash) : String(hash);
  const hint =
    typeof hash === 'string' && /^[0-9a-fA-F]{64}$/.test(hash)
      ? ' (addresses are lowercase: use hash.toLowerCase())'
      : ' (an address is 64 lowercase hex characters, the SHA-256 of the canonical bytes)';
  throw new InvalidArgumentError(`${label} ${shown} is not a valid archive address${hint}`);
}

const fatalDecoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 text of `bytes`, or `INVALID_JSON` when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array, path = '$'): string {
  try {
    return fatalDecoder.decode(bytes);
  } catch (e) {
    throw new InvalidJsonError(path, 'bytes are not valid UTF-8', { cause: e });
  }
}

/**
 * True when `bytes` are exactly the RFC 8785 canonical form of some JSON value.
 * Uses the native `JSON.parse` (fast) and compares the re-canonicalised text:
 * anything `JSON.parse` is lax about (duplicate keys, lone surrogates, inexact
 * numbers, whitespace) changes the canonical text, so the comparison catches it.
 */
export function isCanonicalJsonBytes(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = fatalDecoder.decode(bytes);
  } catch {
    return false;
  }
  try {
    return canonicalize(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

/** Throws `INVALID_JSON` (path `$`) unless `bytes` are canonical JSON. */
export function assertCanonicalBytes(bytes: unknown, label = '$'): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new InvalidJsonError(label, `expected a Uint8Array of canonical JSON bytes, got ${typeof bytes}`);
  if (isCanonicalJsonBytes(bytes)) return;
  const text = decodeUtf8(bytes, label);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new InvalidJsonError(label, `bytes are not JSON: ${(e as Error).message}`, { cause: e });
  }
  canonicalize(parsed); // throws the precise INVALID_JSON (lone surrogate, ...) when there is one
  throw new InvalidJsonError(label, 'bytes are JSON but not in RFC 8785 canonical form; store the value with put() instead');
}
