/**
 * A strict, streaming ZIP reader: it walks the local headers in
 * order as the bytes arrive, then checks that the central directory and the
 * end records describe exactly the entries that were read — same names, same
 * order, same offsets, sizes and CRCs — and that nothing follows.
 *
 * Why not fflate's `Unzip`: it returns names verbatim, never checks CRCs or
 * declared sizes, finds the end of a data-descriptor entry by scanning for a
 * signature, and ignores the central directory, which is what other unzip
 * tools trust. A zip that shows one list of files to `unzip -l` and
 * another to its reader must be refused, so this reader compares both.
 *
 * The comparison keeps O(1) memory: each side feeds its records into three
 * running digests (layout, sizes, CRCs) that must agree at the end. The
 * caller supplies the digest (a collision-resistant one such as SHA-256: a
 * hostile zip must not be able to make two different directories agree), so
 * this module depends on no hash implementation.
 *
 * It reads store and deflate, no encryption, no data descriptors, Zip64 end
 * records; anything else is a {@link ZipFormatError} with reason `unsupported`.
 *
 * @module
 */
import type { ByteReader } from './byte-reader.js';
import { readEntryData, type ReadEntryDataOptions } from './entry-data.js';
import { ZipFormatError, type ZipFeature } from './errors.js';
import {
  CENTRAL_HEADER_SIG,
  CENTRAL_HEADER_SIZE,
  DATA_DESCRIPTOR_SIG,
  EOCD_SIG,
  EOCD_SIZE,
  FLAG_DATA_DESCRIPTOR,
  FLAG_ENCRYPTED,
  FLAG_STRONG_ENCRYPTION,
  getU64,
  readU16,
  readU32,
  LOCAL_HEADER_SIG,
  LOCAL_HEADER_SIZE,
  MAX_U16,
  MAX_U32,
  METHOD_DEFLATE,
  METHOD_STORE,
  ZIP64_EOCD_SIG,
  ZIP64_EOCD_SIZE,
  ZIP64_LOCATOR_SIG,
  ZIP64_LOCATOR_SIZE,
  type ZipEntryInfo,
} from './format.js';

/** A local entry as its header states it; its data (compressedSize bytes) follows at `dataOffset`. */
export interface LocalEntry extends ZipEntryInfo {
  /** General-purpose flags. */
  flags: number;
  /** Offset of the local header in the zip. */
  offset: number;
  /** Offset of the entry's data. */
  dataOffset: number;
}

const nameDecoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function malformed(message: string, entry?: string): ZipFormatError {
  return new ZipFormatError('malformed', message, { entry });
}

function unsupported(feature: ZipFeature, message: string, details: { entry?: string; offset?: number; method?: number } = {}): ZipFormatError {
  return new ZipFormatError('unsupported', message, { ...details, feature });
}

/** An incremental digest the reader compares the two sides with (e.g. SHA-256 from `archive-storage`'s `createSha256`). */
export interface ZipDigest {
  update(data: Uint8Array): unknown;
  /** The digest of everything given; the digest is not used again after this. */
  digest(): string;
}

/** Options of {@link ZipStreamReader}. */
export interface ZipReaderOptions {
  /** Most entries accepted; one more is `too-many-entries`. */
  maxEntries: number;
  /** Largest ratio of uncompressed to compressed size for an entry above 1 MiB (see {@link readEntryData}). */
  maxCompressionRatio: number;
  /** Makes a fresh collision-resistant digest (six are used per zip). */
  digest: () => ZipDigest;
  /**
   * Called between central directory records and between the pieces of a
   * large entry's data, which are otherwise read in one go when they are in
   * memory: a promise it returns is awaited (a time slicer's pause, which
   * gives the event loop a turn and may throw to stop), `undefined` costs
   * nothing. `readData`'s own `pause` option overrides it.
   */
  pause?: () => Promise<void> | undefined;
}

/**
 * Three running digests over what one side (local headers or central
 * directory) says about the entries: layout (offset, method, name), sizes,
 * CRCs. Records are packed into buffers hashed 64 KiB at a time, so the cost
 * per entry is a few stores, not three hash calls.
 */
class Fingerprint {
  private readonly layout: Digest;
  private readonly sizes: Digest;
  private readonly crcs: Digest;

  constructor(digest: () => ZipDigest) {
    this.layout = new Digest(digest());
    this.sizes = new Digest(digest());
    this.crcs = new Digest(digest());
  }

  add(e: ZipEntryInfo & { offset: number }, nameBytes: Uint8Array): void {
    const l = this.layout.reserve(14 + nameBytes.length);
    l.view.setFloat64(l.at, e.offset, true);
    l.view.setUint16(l.at + 8, e.method, true);
    l.view.setUint32(l.at + 10, nameBytes.length, true);
    l.bytes.set(nameBytes, l.at + 14);
    const s = this.sizes.reserve(8);
    s.view.setUint32(s.at, e.compressedSize, true);
    s.view.setUint32(s.at + 4, e.size, true);
    const c = this.crcs.reserve(4);
    c.view.setUint32(c.at, e.crc >>> 0, true);
  }

  digests(): [string, string, string] {
    return [this.layout.digest(), this.sizes.digest(), this.crcs.digest()];
  }
}

/** Buffered bytes are hashed once they pass this many. */
const DIGEST_FLUSH = 64 * 1024;
/** Largest record: 14 bytes of fixed fields and a name of up to 65,535 bytes. */
const MAX_RECORD = 14 + 0xffff;

/** A digest fed through a buffer. */
class Digest {
  private readonly bytes = new Uint8Array(DIGEST_FLUSH + MAX_RECORD);
  private readonly view = new DataView(this.bytes.buffer);
  private at = 0;

  constructor(private readonly hash: ZipDigest) {}

  /** Room for a record of `n` bytes at `at` (fill it before the next call). */
  reserve(n: number): { bytes: Uint8Array; view: DataView; at: number } {
    if (this.at >= DIGEST_FLUSH) this.flush();
    const at = this.at;
    this.at += n;
    return { bytes: this.bytes, view: this.view, at };
  }

  private flush(): void {
    if (this.at > 0) this.hash.update(this.bytes.subarray(0, this.at));
    this.at = 0;
  }

  digest(): string {
    this.flush();
    return this.hash.digest();
  }
}

function decodeName(bytes: Uint8Array, offset: number): string {
  try {
    return nameDecoder.decode(bytes);
  } catch {
    throw new ZipFormatError('unsafe-name', `the entry at byte ${offset} has a name that is not valid UTF-8`, { offset });
  }
}

/**
 * Reads a ZIP from a {@link ByteReader}, one entry at a time: `next()` gives
 * an entry's header, `readData()` its checked data, `finish()` checks the
 * central directory and the end records against what was read.
 */
export class ZipStreamReader {
  private readonly local: Fingerprint;
  private readonly central: Fingerprint;
  private count = 0;
  /** Where the current entry's data ends: the caller must have consumed up to here before `next()`. */
  private expectedPosition = 0;
  /** A signature read by `next()` that starts the central directory or the end records. */
  private pendingSig: number | undefined;
  private finished = false;

  constructor(
    private readonly bytes: ByteReader,
    private readonly options: ZipReaderOptions,
  ) {
    this.local = new Fingerprint(options.digest);
    this.central = new Fingerprint(options.digest);
  }

  /** Entries read so far. */
  get entries(): number {
    return this.count;
  }

  /**
   * The next local entry, or `null` when the central directory (or the end
   * record) begins. The caller then consumes exactly `compressedSize` bytes of
   * data from the byte reader before calling `next()` again.
   */
  async next(): Promise<LocalEntry | null> {
    if (this.pendingSig !== undefined || this.finished) return null;
    if (this.bytes.position !== this.expectedPosition) {
      throw new Error(`internal: entry data not consumed (at ${this.bytes.position}, expected ${this.expectedPosition})`);
    }
    const offset = this.bytes.position;
    if (offset === 0 && (await this.bytes.atEnd())) throw new ZipFormatError('empty', 'the zip is empty (0 bytes)', { offset });
    const sig = readU32(await this.bytes.read(4, 'an entry signature'), 0);
    if (sig !== LOCAL_HEADER_SIG) {
      if (offset === 0) throw new ZipFormatError('not-a-zip', 'this is not a zip: a ZIP file starts with the bytes "PK\\x03\\x04"', { offset });
      if (sig === CENTRAL_HEADER_SIG || sig === EOCD_SIG || sig === ZIP64_EOCD_SIG) {
        this.pendingSig = sig;
        return null;
      }
      if (sig === DATA_DESCRIPTOR_SIG) throw unsupported('data-descriptor', `a data descriptor at byte ${offset}: this reader needs the sizes in the local headers`, { offset });
      throw malformed(`unexpected bytes at offset ${offset}: neither an entry nor the central directory`);
    }
    const h = await this.bytes.read(LOCAL_HEADER_SIZE - 4, 'a local header');
    const flags = readU16(h, 2);
    const method = readU16(h, 4);
    const crc = readU32(h, 10);
    const compressedSize = readU32(h, 14);
    const size = readU32(h, 18);
    const nameLength = readU16(h, 22);
    const extraLength = readU16(h, 24);
    const nameBytes = await this.bytes.read(nameLength, 'an entry name');
    const name = decodeName(nameBytes, offset);
    this.local.add({ name, method, crc, compressedSize, size, offset }, nameBytes);
    await this.bytes.skip(extraLength, 'an extra field');

    this.count++;
    const { maxEntries } = this.options;
    if (this.count > maxEntries) {
      throw new ZipFormatError('too-many-entries', `the zip has more than ${maxEntries} entries (the configured limit)`, { entry: name, offset, limit: maxEntries });
    }
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) throw unsupported('encryption', `entry ${name} is encrypted`, { entry: name, offset });
    if (flags & FLAG_DATA_DESCRIPTOR) {
      throw unsupported('data-descriptor', `entry ${name} defers its sizes to a data descriptor; this reader needs them in the local header`, { entry: name, offset });
    }
    if (method !== METHOD_STORE && method !== METHOD_DEFLATE) {
      throw unsupported('method', `entry ${name} uses compression method ${method}; this reader reads store (0) and deflate (8)`, { entry: name, offset, method });
    }
    if (compressedSize === MAX_U32 || size === MAX_U32) {
      throw unsupported('zip64-entry', `entry ${name} has Zip64 sizes (4 GiB or more); this reader reads entries below 4 GiB`, { entry: name, offset });
    }

    const dataOffset = this.bytes.position;
    this.expectedPosition = dataOffset + compressedSize;
    return { name, method, crc, compressedSize, size, flags, offset, dataOffset };
  }

  /**
   * The data of `entry` (the one `next()` just gave), checked: sizes, ratio,
   * CRC-32 (see {@link readEntryData}). Call it, or skip exactly
   * `compressedSize` bytes, before the next `next()`.
   */
  readData(entry: LocalEntry, options?: ReadEntryDataOptions): Promise<Uint8Array | undefined> {
    const { pause } = this.options;
    return readEntryData(this.bytes, entry, this.options.maxCompressionRatio, pause && !options?.pause ? { ...options, pause } : options);
  }

  /**
   * Reads the central directory and the end records after the last entry and
   * checks them against the entries read; throws {@link ZipFormatError} on any
   * disagreement or on bytes after the end record.
   */
  async finish(): Promise<void> {
    if (this.finished) return;
    if (this.pendingSig === undefined && (await this.next()) !== null) {
      throw new Error('internal: finish() called before the last entry was read');
    }
    let sig = this.pendingSig!;
    const cdOffset = this.bytes.position - 4;
    let cdCount = 0;
    const { pause } = this.options;
    while (sig === CENTRAL_HEADER_SIG) {
      const paused = pause?.();
      if (paused) await paused;
      const h = await this.bytes.read(CENTRAL_HEADER_SIZE - 4, 'a central directory record');
      const method = readU16(h, 6);
      const crc = readU32(h, 12);
      const compressedSize = readU32(h, 16);
      const size = readU32(h, 20);
      const nameLength = readU16(h, 24);
      const extraLength = readU16(h, 26);
      const commentLength = readU16(h, 28);
      const disk = readU16(h, 30);
      let offset = readU32(h, 38);
      const nameBytes = (await this.bytes.read(nameLength, 'a central directory name')).slice();
      const name = decodeName(nameBytes, this.bytes.position);
      const extra = await this.bytes.read(extraLength, 'a central directory extra field');
      if (offset === MAX_U32) offset = zip64Offset(extra, compressedSize === MAX_U32, size === MAX_U32, name);
      await this.bytes.skip(commentLength, 'a central directory comment');
      if (disk !== 0 && disk !== MAX_U16) throw unsupported('multi-disk', 'multi-disk (split) zips are not supported', { entry: name });
      cdCount++;
      if (cdCount > this.count) throw malformed(`the central directory lists ${name}, beyond the ${this.count} entries the zip holds`, name);
      this.central.add({ name, method, crc, compressedSize, size, offset }, nameBytes);
      sig = readU32(await this.bytes.read(4, 'the central directory'), 0);
    }
    const cdSize = this.bytes.position - 4 - cdOffset;
    if (cdCount !== this.count) throw malformed(`the central directory lists ${cdCount} entries but the zip holds ${this.count}`);
    const [localLayout, localSizes, localCrcs] = this.local.digests();
    const [centralLayout, centralSizes, centralCrcs] = this.central.digests();
    if (localLayout !== centralLayout) {
      throw malformed('the central directory names different entries (or order, or offsets) than the zip holds: unzip tools would see other files than the importer');
    }
    if (localSizes !== centralSizes) {
      throw new ZipFormatError('size-mismatch', 'the central directory declares other sizes than the entry headers');
    }
    if (localCrcs !== centralCrcs) {
      throw new ZipFormatError('crc-mismatch', 'the central directory declares other CRC-32s than the entry headers');
    }

    let zip64: { count: number; cdSize: number; cdOffset: number } | undefined;
    if (sig === ZIP64_EOCD_SIG) {
      const recordOffset = this.bytes.position - 4;
      const r = view(await this.bytes.read(ZIP64_EOCD_SIZE - 4, 'the Zip64 end record'));
      const recordSize = getU64(r, 0);
      if (recordSize !== ZIP64_EOCD_SIZE - 12) throw unsupported('zip64-extensible-data', 'the Zip64 end record carries extensible data');
      if (r.getUint32(12, true) !== 0 || r.getUint32(16, true) !== 0) throw unsupported('multi-disk', 'multi-disk (split) zips are not supported');
      const onDisk = getU64(r, 20);
      zip64 = { count: getU64(r, 28), cdSize: getU64(r, 36), cdOffset: getU64(r, 44) };
      if (onDisk !== zip64.count) throw malformed('the Zip64 end record disagrees with itself about the entry count');
      if (view(await this.bytes.read(4, 'the Zip64 locator')).getUint32(0, true) !== ZIP64_LOCATOR_SIG) throw malformed('the Zip64 end record is not followed by its locator');
      const l = view(await this.bytes.read(ZIP64_LOCATOR_SIZE - 4, 'the Zip64 locator'));
      if (l.getUint32(0, true) !== 0 || l.getUint32(12, true) !== 1) throw unsupported('multi-disk', 'multi-disk (split) zips are not supported');
      if (getU64(l, 4) !== recordOffset) throw malformed('the Zip64 locator points elsewhere than the Zip64 end record');
      sig = view(await this.bytes.read(4, 'the end record')).getUint32(0, true);
    }
    if (sig !== EOCD_SIG) throw malformed(`unexpected bytes at offset ${this.bytes.position - 4}: expected the end of central directory record`);
    const e = view(await this.bytes.read(EOCD_SIZE - 4, 'the end record'));
    if (e.getUint16(0, true) !== 0 || e.getUint16(2, true) !== 0) throw unsupported('multi-disk', 'multi-disk (split) zips are not supported');
    const agrees = (field: number, actual: number, max: number, what: string) => {
      if (field === actual || (zip64 !== undefined && field === max)) return;
      throw malformed(`the end record says the ${what} is ${field}, but it is ${actual}`);
    };
    agrees(e.getUint16(4, true), this.count, MAX_U16, 'entry count on this disk');
    agrees(e.getUint16(6, true), this.count, MAX_U16, 'entry count');
    agrees(e.getUint32(8, true), cdSize, MAX_U32, 'central directory size');
    agrees(e.getUint32(12, true), cdOffset, MAX_U32, 'central directory offset');
    if (zip64 && (zip64.count !== this.count || zip64.cdSize !== cdSize || zip64.cdOffset !== cdOffset)) {
      throw malformed('the Zip64 end record disagrees with the central directory it describes');
    }
    await this.bytes.skip(e.getUint16(16, true), 'the zip comment');
    if (!(await this.bytes.atEnd())) throw malformed(`bytes follow the end of the zip at offset ${this.bytes.position}`);
    this.finished = true;
  }
}

/** The local-header offset from a central record's Zip64 extra field (id 1: [size][csize][offset] as flagged). */
function zip64Offset(extra: Uint8Array, hasCompressed: boolean, hasSize: boolean, name: string): number {
  const v = view(extra);
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = v.getUint16(at, true);
    const len = v.getUint16(at + 2, true);
    if (at + 4 + len > extra.length) break;
    if (id === 0x0001) {
      const skip = (hasSize ? 8 : 0) + (hasCompressed ? 8 : 0);
      if (len < skip + 8) break;
      const offset = getU64(v, at + 4 + skip);
      if (!Number.isSafeInteger(offset)) break;
      return offset;
    }
    at += 4 + len;
  }
  throw malformed(`the central record of ${name} says its offset is in a Zip64 field, but has no valid one`, name);
}
