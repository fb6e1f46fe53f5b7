/**
 * Browser downloads: hand a Blob to the user as a file. Globals are read when
 * called, never at import time, so importing this in Node is harmless.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { pageDocument } from '../platform.js';

/**
 * Starts a download of `blob` named `filename` in a browser (an `<a download>`
 * click on an object URL, revoked afterwards). Throws `INVALID_ARGUMENT` outside
 * a DOM environment.
 */
export function downloadBlob(blob: Blob, filename: string): void {
  const page = pageDocument();
  if (!page) {
    throw new InvalidArgumentError('downloadBlob needs a browser document; in Node write the bytes to a file instead');
  }
  const { document: doc, url } = page;
  const href = url.createObjectURL(blob);
  const a = doc.createElement('a');
  a.href = href;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  doc.body.appendChild(a);
  try {
    a.click();
  } finally {
    a.remove();
    // Revoke on a later task: revoking synchronously can cancel the download in some browsers.
    setTimeout(() => url.revokeObjectURL(href), 30_000);
  }
}
