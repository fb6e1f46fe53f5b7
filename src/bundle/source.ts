/**
 * Where bundle bytes come from: every accepted source turned into one pull
 * reader that hands out exact byte counts, so the ZIP parser never holds more
 * than the piece it is looking at.
 *
 * @module
 */
import { HostileBundleError, InvalidArgumentError, throwIfAborted } from '../errors.js';

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
const EMPTY = new Uint8Array(0);

interface ChunkPuller {
  next(): Promise<Uint8Array | undefined>;
  cancel(): Promise<void>;
}

function* pieces(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += MEMORY_PIECE) yield bytes.subarray(at, at + MEMORY_PIECE);
}

function fromIterator(it: Iterator<unknown> | AsyncIterator<unknown>): ChunkPuller {
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

function toPuller(source: BundleSource): ChunkPuller {
  if (source instanceof Uint8Array) return fromIterator(pieces(source));
  if (source instanceof ArrayBuffer) return fromIterator(pieces(new Uint8Array(source)));
  const BlobCtor = (globalThis as { Blob?: typeof Blob }).Blob;
  if (BlobCtor && source instanceof BlobCtor) return toPuller(source.stream() as ReadableStream<Uint8Array>);
  const RS = (globalThis as { ReadableStream?: typeof ReadableStream }).ReadableStream;
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

/** `parts` joined into one array of `total` bytes. */
export function concatBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Pulls exact byte counts out of a chunked source. `read` hands out views into
 * the source's chunks when it can (valid until the next call; copy to keep).
 */
export class ByteReader {
  private chunk: Uint8Array = EMPTY;
  private at = 0;
  private ended = false;
  /** Bytes consumed so far (the offset of the next byte in the bundle). */
  position = 0;
  private readonly puller: ChunkPuller;

  constructor(
    source: BundleSource,
    private readonly signal?: AbortSignal,
  ) {
    this.puller = toPuller(source);
  }

  /** Bytes available in the current chunk without pulling. */
  private get buffered(): number {
    return this.chunk.length - this.at;
  }

  /** Pulls the next non-empty chunk; false at the end of the source. */
  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    for (;;) {
      throwIfAborted(this.signal);
      // A source that fails (network drop, file read error) rejects here with its own error.
      const next = await this.puller.next();
      if (next === undefined) {
        this.ended = true;
        return false;
      }
      if (next.length > 0) {
        this.chunk = next;
        this.at = 0;
        return true;
      }
    }
  }

  private truncated(what: string): HostileBundleError {
    return new HostileBundleError('BUNDLE_MALFORMED', `the bundle ends early (truncated at byte ${this.position} while reading ${what})`);
  }

  /** Exactly `n` bytes (a view when they sit in one chunk, else a copy); BUNDLE_MALFORMED at a premature end. */
  async read(n: number, what: string): Promise<Uint8Array> {
    if (n === 0) return EMPTY;
    if (this.buffered >= n) {
      const out = this.chunk.subarray(this.at, this.at + n);
      this.at += n;
      this.position += n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.buffered === 0 && !(await this.pull())) throw this.truncated(what);
      const take = Math.min(n - filled, this.buffered);
      out.set(this.chunk.subarray(this.at, this.at + take), filled);
      this.at += take;
      this.position += take;
      filled += take;
    }
    return out;
  }

  /** `n` bytes as they come, in views of at most `maxPiece` bytes (each valid until the next call). */
  async *stream(n: number, maxPiece: number, what: string): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.pull())) throw this.truncated(what);
      const take = Math.min(left, this.buffered, maxPiece);
      const piece = this.chunk.subarray(this.at, this.at + take);
      this.at += take;
      this.position += take;
      left -= take;
      yield piece;
    }
  }

  /** Skips `n` bytes. */
  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.stream(n, Number.MAX_SAFE_INTEGER, what)) {
      // nothing to keep
    }
  }

  /** True when the source has no byte left. */
  async atEnd(): Promise<boolean> {
    if (this.buffered > 0) return false;
    return !(await this.pull());
  }

  /** Stops the source (cancels the stream / returns the iterator). */
  async cancel(): Promise<void> {
    this.ended = true;
    await this.puller.cancel().catch(() => {});
  }
}
