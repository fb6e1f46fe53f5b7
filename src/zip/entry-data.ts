/**
 * An entry's data, read the strict way: the declared sizes checked against
 * what the method allows, DEFLATE inflated with early stops (output beyond
 * the declared size, ratios of zip bombs), the CRC-32 computed and compared.
 * The caller sees the uncompressed bytes through `onData` as they come, so it
 * can hash or parse them without this module knowing what they are.
 *
 * @module
 */
import { Inflate, inflateSync } from 'fflate';
import { concatBytes, type ByteReader } from './byte-reader.js';
import { crc32, crc32Hex as hex8 } from './crc32.js';
import { ZipFormatError } from './errors.js';
import { METHOD_DEFLATE, METHOD_STORE, type ZipEntryInfo } from './format.js';

/** What the caller wants of an entry's data. */
export interface ReadEntryDataOptions {
  /** Return the uncompressed bytes whole (default false: only `onData` sees them). */
  keep?: boolean;
  /** Called with the uncompressed bytes in order, in pieces (each valid only during the call). */
  onData?: (piece: Uint8Array) => void;
  /**
   * Called between the 16 KiB pieces of a large entry: a promise it returns
   * is awaited (a time slicer giving the event loop a turn; it may throw to
   * stop), `undefined` costs nothing.
   */
  pause?: () => Promise<void> | undefined;
}

/** Entries at most this large are inflated in one call into an exact-size buffer. */
const SMALL_ENTRY = 64 * 1024;
/** Ratios only matter for entries that could blow up: below this size an entry is harmless. */
const RATIO_FLOOR = 1024 * 1024;
/** Compressed bytes fed to the inflater at a time when streaming: bounds what one push can produce. */
const INFLATE_PIECE = 16 * 1024;

/** The most a deflate stream of `size` bytes can take (stored blocks: 5 bytes per 16 KiB or more, plus slack). */
function maxDeflatedSize(size: number): number {
  return size + Math.ceil(size / 16384) * 5 + 64;
}

function invalidDeflate(name: string, e: unknown): ZipFormatError {
  return new ZipFormatError('malformed', `entry ${name} is not valid deflate data (${(e as Error).message})`, { entry: name }, { cause: e });
}

/**
 * Reads the data of `entry` (its `compressedSize` bytes, next in `bytes`),
 * checks sizes, ratio and CRC, and hands the uncompressed bytes to `onData`.
 * Returns them whole when `keep`. Throws {@link ZipFormatError}.
 *
 * `maxCompressionRatio` is the largest ratio of uncompressed to compressed
 * size for an entry above 1 MiB (smaller entries cannot blow up far), checked
 * on the header and again while inflating.
 */
export async function readEntryData(
  bytes: ByteReader,
  entry: ZipEntryInfo,
  maxCompressionRatio: number,
  options: ReadEntryDataOptions = {},
): Promise<Uint8Array | undefined> {
  const { name, method, size, compressedSize } = entry;
  const { keep = false, onData, pause } = options;
  if (method === METHOD_STORE && compressedSize !== size) {
    throw new ZipFormatError('size-mismatch', `entry ${name} is stored uncompressed but declares ${size} bytes and holds ${compressedSize}`, { entry: name });
  }
  if (method === METHOD_DEFLATE) {
    if (compressedSize > maxDeflatedSize(size)) {
      throw new ZipFormatError('size-mismatch', `entry ${name} declares ${size} bytes but holds ${compressedSize} compressed bytes, more than deflate ever needs`, { entry: name });
    }
    if (size > RATIO_FLOOR && size / Math.max(1, compressedSize) > maxCompressionRatio) {
      throw new ZipFormatError(
        'compression-ratio',
        `entry ${name} would inflate ${compressedSize} bytes to ${size} (ratio ${Math.round(size / Math.max(1, compressedSize))}, limit ${maxCompressionRatio}): a zip bomb`,
        { entry: name },
      );
    }
  }

  const checkCrc = (crc: number) => {
    if (crc >>> 0 !== entry.crc >>> 0) {
      throw new ZipFormatError('crc-mismatch', `entry ${name} has CRC-32 ${hex8(crc)} but its header says ${hex8(entry.crc)}: the zip is damaged or was tampered with`, {
        entry: name,
        expectedCrc: entry.crc >>> 0,
        actualCrc: crc >>> 0,
      });
    }
  };
  const wrongSize = (actual: number | 'more') =>
    new ZipFormatError('size-mismatch', `entry ${name} inflates to ${actual === 'more' ? `more than ${size}` : actual} bytes but declares ${size}`, { entry: name });

  // Small entries: one read, one inflate into an exact buffer (plus one byte to notice overflow).
  if (size <= SMALL_ENTRY && compressedSize <= maxDeflatedSize(SMALL_ENTRY)) {
    const raw = await bytes.read(compressedSize, `entry ${name}`);
    let data: Uint8Array;
    if (method === METHOD_STORE) data = raw.slice();
    else {
      try {
        data = inflateSync(raw, { out: new Uint8Array(size + 1) });
      } catch (e) {
        throw invalidDeflate(name, e);
      }
      if (data.length !== size) throw wrongSize(data.length > size ? 'more' : data.length);
    }
    checkCrc(crc32(data));
    onData?.(data);
    return keep ? data : undefined;
  }

  // Large entries: stream, with the size and ratio checked after every piece.
  const parts: Uint8Array[] = [];
  let produced = 0;
  let consumed = 0;
  let crc = 0;
  /** A failure of our own checks or of `onData` inside the inflater's callback: passed through, not taken for bad deflate data. */
  let ownFailure: unknown;
  const take = (piece: Uint8Array) => {
    try {
      produced += piece.length;
      if (produced > size) throw wrongSize('more');
      if (produced > RATIO_FLOOR && produced / Math.max(1, consumed) > maxCompressionRatio) {
        throw new ZipFormatError('compression-ratio', `entry ${name} inflates past ratio ${maxCompressionRatio} (${consumed} bytes gave ${produced}): a zip bomb`, { entry: name });
      }
      crc = crc32(piece, crc);
      onData?.(piece);
      if (keep) parts.push(method === METHOD_STORE ? piece.slice() : piece);
    } catch (e) {
      ownFailure = e;
      throw e;
    }
  };
  const inflater = method === METHOD_DEFLATE ? new Inflate((d) => take(d)) : undefined;
  let left = compressedSize;
  for await (const piece of bytes.stream(compressedSize, INFLATE_PIECE, `entry ${name}`)) {
    const paused = pause?.();
    if (paused) await paused;
    consumed += piece.length;
    left -= piece.length;
    if (!inflater) take(piece);
    else {
      try {
        inflater.push(piece, left === 0);
      } catch (e) {
        if (e === ownFailure) throw e;
        throw invalidDeflate(name, e);
      }
    }
  }
  if (compressedSize === 0 && inflater) throw new ZipFormatError('malformed', `entry ${name} is deflated but empty`, { entry: name });
  if (produced !== size) throw wrongSize(produced);
  checkCrc(crc);
  return keep ? concatBytes(parts, size) : undefined;
}
