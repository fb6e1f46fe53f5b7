/**
 * CLI failures and the exit-code contract:
 * 0 success; 1 not found or verify found damage; 2 usage error; 3 bad input
 * (invalid JSON, invalid or hostile backup or bundle, hash mismatch); 4 backend
 * failure (I/O, lock timeout, quota, missing backend); 130 interrupted.
 */
import { ArchiveStorageError } from '../src/errors.js';

export const EXIT = { ok: 0, notFound: 1, damage: 1, usage: 2, badInput: 3, backend: 4, interrupted: 130 } as const;

/** An error raised by the CLI itself (not by the SDK), with its own stable code. */
export class CliError extends Error {
  constructor(
    readonly code: 'USAGE' | 'INPUT_UNREADABLE' | 'OUTPUT_UNWRITABLE' | 'UNKNOWN_BACKEND' | 'BACKEND_UNREACHABLE',
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError('USAGE', `${message} (see archive-storage --help)`, EXIT.usage);

/** The exit code for any thrown value. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ArchiveStorageError) {
    const code = error.code;
    if (code === 'NOT_FOUND') return EXIT.notFound;
    if (code === 'ABORTED') return EXIT.interrupted;
    if (
      code === 'INVALID_JSON' ||
      code === 'INVALID_KEY' ||
      code === 'INVALID_ARGUMENT' ||
      code === 'INVALID_BACKUP' ||
      code === 'UNSUPPORTED_VERSION' ||
      code === 'CORRUPT_OBJECT' ||
      code.startsWith('BUNDLE_') ||
      code === 'RTFS_SYNTAX'
    ) {
      return EXIT.badInput;
    }
    return EXIT.backend;
  }
  return EXIT.backend;
}

/** Stable code and message for any thrown value. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof CliError || error instanceof ArchiveStorageError) {
    return { code: error.code, message: oneLine(error.message) };
  }
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return { code: 'INTERNAL', message: oneLine(message) };
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
