/**
 * CLI failures and the exit-code contract:
 * 0 success; 1 not found (a value, an intent, a store, a reference), verify
 * found damage, or `ref cas` found the reference at another hash, or `import`
 * found references on another history (CONFLICT);
 * 2 usage error; 3 bad input (invalid JSON, invalid or hostile backup or bundle,
 * hash mismatch, a file given as a store, an input over the size limit);
 * 4 backend failure (I/O, lock timeout, quota, missing backend); 130 interrupted.
 *
 * @module
 */
import { ArchiveStorageError } from '../src/errors.js';
import { ReferenceConflictError } from '../src/refs/errors.js';
import { ReferenceTransferConflictError } from '../src/refs/transfer.js';

export const EXIT = { ok: 0, notFound: 1, damage: 1, usage: 2, badInput: 3, backend: 4, interrupted: 130 } as const;

/** Every code a {@link CliError} can carry (the README's table lists them with the SDK's). */
export const CLI_ERROR_CODES = [
  'USAGE',
  'INPUT_UNREADABLE',
  'INPUT_TOO_LARGE',
  'OUTPUT_UNWRITABLE',
  'UNKNOWN_BACKEND',
  'BACKEND_UNREACHABLE',
  'STORE_NOT_FOUND',
  'NOT_A_STORE',
] as const;

/** A code of {@link CliError}. */
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** An error raised by the CLI itself (not by the SDK), with its own stable code. */
export class CliError extends Error {
  constructor(
    readonly code: CliErrorCode,
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** A usage error (exit 2); `helpFor` names the command whose help to point at. */
export const usageError = (message: string, helpFor?: string) =>
  new CliError('USAGE', `${message} (see archive-storage ${helpFor ? `help ${helpFor}` : '--help'})`, EXIT.usage);

/** SDK codes that mean the input (not the backend) is wrong: exit 3. */
const BAD_INPUT_CODES = new Set([
  'INVALID_JSON',
  'INVALID_KEY',
  'INVALID_ARGUMENT',
  'INVALID_BACKUP',
  'UNSUPPORTED_VERSION',
  'CORRUPT_OBJECT',
  'RTFS_SYNTAX',
  'ZIP_FORMAT',
  'FOREIGN_LAYOUT',
]);

/** The exit code for any thrown value. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ArchiveStorageError) {
    const code: string = error.code;
    // A reference that is not at the hash the caller expected (or an import that would move one): the answer is no, as for a value not found.
    // A change position the log no longer covers: the answer is no, re-read and watch again from now.
    if (code === 'NOT_FOUND' || code === 'CHANGES_TRIMMED' || error instanceof ReferenceConflictError || error instanceof ReferenceTransferConflictError) return EXIT.notFound;
    if (code === 'ABORTED') return EXIT.interrupted;
    if (BAD_INPUT_CODES.has(code) || code.startsWith('BUNDLE_')) return EXIT.badInput;
    return EXIT.backend;
  }
  return EXIT.backend;
}

/**
 * The SDK's advice names API calls; on the command line, name the command
 * that does the same.
 */
function cliAdvice(message: string): string {
  return message
    .replace(/run verify\(\{ repair: true \}\)/g, 'run `archive-storage verify --repair`')
    .replace(/pass \{ skipInvalid: true \}/g, 'pass --skip-invalid')
    .replace(/pass \{ overwrite: true \}/g, 'pass --overwrite')
    .replace(/resume with \{ since: 'now' \}/g, "run `archive-storage watch` without a position")
    .replace(/^(importCcosArchive|exportCcosArchive): /, '');
}

/** Stable code and message for any thrown value. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof CliError || error instanceof ArchiveStorageError) {
    return { code: error.code, message: cliAdvice(oneLine(error.message)) };
  }
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return { code: 'INTERNAL', message: oneLine(message) };
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
