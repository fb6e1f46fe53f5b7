/**
 * ZIP errors in the bundle's terms: every {@link ZipFormatError} of the
 * generic reader becomes the `HostileBundleError` code (and, where the bundle
 * says it its own way, the message) a bundle import has always reported.
 *
 * @module
 */
import { HostileBundleError, type HostileBundleCode } from '../errors.js';
import { crc32Hex as hex8 } from '../zip/crc32.js';
import type { ZipFormatError, ZipFormatReason } from '../zip/errors.js';

/** The bundle code of each reason (exhaustive: a new reason must be given one). */
const CODE_OF: Readonly<Record<ZipFormatReason, HostileBundleCode>> = {
  empty: 'BUNDLE_MALFORMED',
  'not-a-zip': 'BUNDLE_MALFORMED',
  truncated: 'BUNDLE_MALFORMED',
  malformed: 'BUNDLE_MALFORMED',
  'unsafe-name': 'BUNDLE_UNSAFE_PATH',
  'too-many-entries': 'BUNDLE_TOO_MANY_ENTRIES',
  'size-mismatch': 'BUNDLE_SIZE_MISMATCH',
  'crc-mismatch': 'BUNDLE_CRC_MISMATCH',
  'compression-ratio': 'BUNDLE_COMPRESSION_RATIO',
  unsupported: 'BUNDLE_UNSUPPORTED',
};

/** The bundle's own wording, for the problems it words differently from the ZIP reader; undefined keeps the reader's message. */
function bundleMessage(e: ZipFormatError): string | undefined {
  const name = e.entry;
  switch (e.reason) {
    case 'empty':
      return 'the bundle is empty (0 bytes)';
    case 'not-a-zip':
      return 'this is not a bundle: a ZIP file starts with the bytes "PK\\x03\\x04"';
    case 'truncated':
      return `the bundle ends early (truncated at byte ${e.offset} while reading ${e.reading})`;
    case 'too-many-entries':
      return `the bundle has more than ${e.limit} entries (the configured limit)`;
    case 'crc-mismatch':
      return name !== undefined && e.actualCrc !== undefined && e.expectedCrc !== undefined
        ? `entry ${name} has CRC-32 ${hex8(e.actualCrc)} but its header says ${hex8(e.expectedCrc)}: the bundle is damaged or was tampered with`
        : undefined;
    case 'unsupported':
      switch (e.feature) {
        case 'data-descriptor':
          return name === undefined
            ? `a data descriptor at byte ${e.offset}: bundles never use them`
            : `entry ${name} defers its sizes to a data descriptor; bundles state them in the header (was this zip made by another tool?)`;
        case 'method':
          return `entry ${name} uses compression method ${e.method}; bundles use store (0) or deflate (8)`;
        case 'zip64-entry':
          return `entry ${name} has Zip64 sizes (4 GiB or more); bundle entries stay below 4 GiB`;
        default:
          return undefined;
      }
    default:
      return undefined;
  }
}

/** `e` as the `HostileBundleError` a bundle import reports (entry kept; the ZIP error, and through it any cause, kept as `cause`). */
export function hostileFromZip(e: ZipFormatError): HostileBundleError {
  return new HostileBundleError(CODE_OF[e.reason], bundleMessage(e) ?? e.message, e.entry, { cause: e });
}
