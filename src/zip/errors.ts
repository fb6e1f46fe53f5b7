/**
 * The one error of the ZIP reader: a zip that is broken, hostile, or uses
 * what the reader does not read. `reason` says which, as a stable string; the
 * fields carry the details, so a caller that words the problem its own way
 * never has to take the message apart.
 *
 * @module
 */
import { ArchiveStorageError, type ErrorOptions } from '../errors.js';

/** Why a zip was refused. Stable across releases. */
export type ZipFormatReason =
  /** Zero bytes. */
  | 'empty'
  /** The first bytes are not a local file header. */
  | 'not-a-zip'
  /** The bytes end inside a record or an entry's data. */
  | 'truncated'
  /** The structure does not hold together: unexpected bytes, invalid deflate data, a central directory or end record that disagrees with the entries, bytes after the end. */
  | 'malformed'
  /** An entry name that is not valid UTF-8. */
  | 'unsafe-name'
  /** More entries than the configured limit. */
  | 'too-many-entries'
  /** An entry's data, or the central directory, disagrees with a declared size. */
  | 'size-mismatch'
  /** An entry's data, or the central directory, disagrees with a declared CRC-32. */
  | 'crc-mismatch'
  /** An entry inflates beyond the configured ratio (a zip bomb). */
  | 'compression-ratio'
  /** A feature the reader does not read; `feature` says which. */
  | 'unsupported';

/** What an `unsupported` zip uses. */
export type ZipFeature = 'encryption' | 'data-descriptor' | 'method' | 'zip64-entry' | 'multi-disk' | 'zip64-extensible-data';

/** Details of a {@link ZipFormatError}; each present where it applies. */
export interface ZipFormatDetails {
  /** The entry concerned. */
  entry?: string;
  /** The byte offset in the zip where the problem was found. */
  offset?: number;
  /** For `truncated`: what was being read. */
  reading?: string;
  /** For `too-many-entries`: the limit. */
  limit?: number;
  /** For `unsupported`: the feature. */
  feature?: ZipFeature;
  /** For `unsupported` method: the compression method number. */
  method?: number;
  /** For an entry's `crc-mismatch`: the CRC-32 the header declares and the one its data has. */
  expectedCrc?: number;
  actualCrc?: number;
}

/** A zip refused by the reader (`code` `ZIP_FORMAT`); `reason` and the detail fields say why. */
export class ZipFormatError extends ArchiveStorageError {
  readonly reason: ZipFormatReason;
  readonly entry: string | undefined;
  readonly offset: number | undefined;
  readonly reading: string | undefined;
  readonly limit: number | undefined;
  readonly feature: ZipFeature | undefined;
  readonly method: number | undefined;
  readonly expectedCrc: number | undefined;
  readonly actualCrc: number | undefined;

  constructor(reason: ZipFormatReason, message: string, details: ZipFormatDetails = {}, options?: ErrorOptions) {
    super('ZIP_FORMAT', message, options);
    this.reason = reason;
    this.entry = details.entry;
    this.offset = details.offset;
    this.reading = details.reading;
    this.limit = details.limit;
    this.feature = details.feature;
    this.method = details.method;
    this.expectedCrc = details.expectedCrc;
    this.actualCrc = details.actualCrc;
  }
}
