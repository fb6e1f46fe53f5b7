/**
 * Where bundle bytes come from: every accepted source turned into one
 * {@link ChunkSource} that the ZIP reader's byte reader pulls from.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { blobConstructor, readableStreamConstructor } from '../platform.js';
import type { ChunkSource } from '../zip/byte-reader.js';

/**
 * A bundle to import: bytes in memory, a `Blob`/`File` (browser upload), a
 * `ReadableStream` (fetch body), or any (async) iterable of byte chunks (a
 * Node `fs.createReadStream`, a generator).
 */
export type BundleSource =
  | Uint8Array
  | ArrayBuffer
  | Blob
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>;

/** In-memory sources are handed out in pieces of this size, so abort is noticed between them. */
const MEMORY_PIECE = 1 << 20;
function* pieces(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += MEMORY_PIECE) yield bytes.subarray(at, at + MEMORY_PIECE);
}

function fromIterator(it: Iterator<unknown> | AsyncIterator<unknown>): ChunkSource {
  return {
    async next() {
      const r = await it.next();
      if (r.done) return undefined;
      if (!(r.value instanceof Uint8Array)) {
        throw new InvalidArgumentError(`a bundle source must yield Uint8Array chunks, got ${r.value === null ? 'null' : typeof r.value}`);
      }
      return r.value;
    },
    async cancel() {
      await it.return?.();
    },
  };
}

/** The chunks of `source`, pulled one at a time (`INVALID_ARGUMENT` for a source of another kind, or a chunk that is not a Uint8Array). */
export function bundleChunks(source: BundleSource): ChunkSource {
  if (source instanceof Uint8Array) return fromIterator(pieces(source));
  if (source instanceof ArrayBuffer) return fromIterator(pieces(new Uint8Array(source)));
  const BlobCtor = blobConstructor();
  if (BlobCtor && source instanceof BlobCtor) return bundleChunks(source.stream() as ReadableStream<Uint8Array>);
  const RS = readableStreamConstructor();
  if (RS && source instanceof RS) {
    const reader = (source as ReadableStream<Uint8Array>).getReader();
    return {
      async next() {
        const r = await reader.read();
        if (r.done) return undefined;
        if (!(r.value instanceof Uint8Array)) throw new InvalidArgumentError('a bundle stream must carry Uint8Array chunks');
        return r.value;
      },
      async cancel() {
        await reader.cancel().catch(() => {});
      },
    };
  }
  if (source != null && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return fromIterator((source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]());
  }
  if (source != null && typeof (source as Iterable<Uint8Array>)[Symbol.iterator] === 'function') {
    return fromIterator((source as Iterable<Uint8Array>)[Symbol.iterator]());
  }
  throw new InvalidArgumentError(
    'a bundle source must be a Uint8Array, ArrayBuffer, Blob, ReadableStream or (async) iterable of Uint8Array chunks',
  );
}
