/**
 * Exact byte counts out of a chunked source: what the streaming ZIP reader
 * pulls its records and entry data through, so it never holds more than the
 * piece it is looking at, whatever size the chunks arrive in.
 *
 * @module
 */
import { throwIfAborted } from '../errors.js';
import { ZipFormatError } from './errors.js';

/** Where the bytes come from: the next non-final chunk (or `undefined` at the end), and a way to stop the source. */
export interface ChunkSource {
  next(): Promise<Uint8Array | undefined>;
  cancel(): Promise<void>;
}

const EMPTY = new Uint8Array(0);

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
 * Pulls exact byte counts out of a {@link ChunkSource}. `read` hands out views
 * into the source's chunks when it can (valid until the next call; copy to keep).
 */
export class ByteReader {
  private chunk: Uint8Array = EMPTY;
  private at = 0;
  private ended = false;
  /** Bytes consumed so far (the offset of the next byte). */
  position = 0;

  constructor(
    private readonly source: ChunkSource,
    private readonly signal?: AbortSignal,
  ) {}

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
      const next = await this.source.next();
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

  private truncated(reading: string): ZipFormatError {
    return new ZipFormatError('truncated', `the zip ends early (truncated at byte ${this.position} while reading ${reading})`, {
      offset: this.position,
      reading,
    });
  }

  /** Exactly `n` bytes (a view when they sit in one chunk, else a copy); `truncated` at a premature end. */
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
    await this.source.cancel().catch(() => {});
  }
}
