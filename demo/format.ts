/** Small pure helpers of the demo: error and size formatting, a new intent from a goal. */
import { isArchiveStorageError } from '../src/index.js';
import type { StorableIntent } from '../src/intent-graph/index.js';

/** An error as the page shows it: the stable code first when the SDK threw it. */
export function describeError(error: unknown): { code: string; message: string } {
  if (isArchiveStorageError(error)) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: error.name, message: error.message };
  return { code: 'Error', message: String(error) };
}

/** `1234567` → `1.2 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A random id that works on plain http too (`crypto.randomUUID` needs a secure context). */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** `text` cut to `max` characters with an ellipsis. */
export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A timestamped file name safe on every platform: `<prefix>-2025-01-31T12-00-00Z.<ext>`. */
export function timestampedName(prefix: string, ext: string, now = Date.now()): string {
  const iso = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
  return `${prefix}-${iso}.${ext}`;
}
