/**
 * The file-system surface of the node-fs adapter: {@link FsLike} (the callback
 * calls it needs, which `node:fs` and `memfs` both provide), their promise
 * versions with whole-file helpers, errno tests, and the mapping of a
 * file-system failure to the SDK's typed errors.
 *
 * @module
 */
import { ArchiveStorageError, BackendError, QuotaExceededError } from '../../src/errors.js';

/** Callback of a `node:fs` call. */
export type Cb<T = void> = (err: NodeJS.ErrnoException | null, result: T) => void;

/**
 * The subset of `node:fs` the adapter uses (callback API: measurably cheaper per
 * call than `fs.promises` with its FileHandle objects, which matters at
 * thousands of small files per second). `memfs` provides it too.
 */
export interface FsLike {
  open(path: string, flags: string, mode: number, cb: Cb<number>): void;
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null, cb: Cb<number>): void;
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null, cb: Cb<number>): void;
  fstat(fd: number, cb: Cb<{ size: number }>): void;
  fsync(fd: number, cb: Cb<void>): void;
  close(fd: number, cb: Cb<void>): void;
  rename(from: string, to: string, cb: Cb<void>): void;
  link(existing: string, newPath: string, cb: Cb<void>): void;
  unlink(path: string, cb: Cb<void>): void;
  mkdir(path: string, options: { recursive: true }, cb: Cb<string | undefined>): void;
  readdir(path: string, options: { withFileTypes: true }, cb: Cb<DirentLike[]>): void;
  stat(path: string, cb: Cb<{ mtimeMs: number; isFile(): boolean }>): void;
  utimes(path: string, atime: Date, mtime: Date, cb: Cb<void>): void;
}

/** What the adapter needs of a directory entry. */
export interface DirentLike {
  name: string | { toString(): string };
  isDirectory(): boolean;
  isFile(): boolean;
}

/** First read of a file: objects and segments are usually far smaller. */
const READ_GUESS = 16 * 1024;

/** Promise versions of the {@link FsLike} calls, plus whole-file helpers. */
export class Fs {
  constructor(private readonly fs: FsLike) {}

  private call<T>(fn: (cb: Cb<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => fn((err, result) => (err ? reject(err) : resolve(result))));
  }
  open = (path: string, flags: string, mode = 0o644) => this.call<number>((cb) => this.fs.open(path, flags, mode, cb));
  fsync = (fd: number) => this.call<void>((cb) => this.fs.fsync(fd, cb));
  close = (fd: number) => this.call<void>((cb) => this.fs.close(fd, cb));
  rename = (a: string, b: string) => this.call<void>((cb) => this.fs.rename(a, b, cb));
  link = (a: string, b: string) => this.call<void>((cb) => this.fs.link(a, b, cb));
  unlink = (path: string) => this.call<void>((cb) => this.fs.unlink(path, cb));
  mkdir = (path: string) => this.call<string | undefined>((cb) => this.fs.mkdir(path, { recursive: true }, cb));
  readdir = (path: string) => this.call<DirentLike[]>((cb) => this.fs.readdir(path, { withFileTypes: true }, cb));
  stat = (path: string) => this.call<{ mtimeMs: number; isFile(): boolean }>((cb) => this.fs.stat(path, cb));
  utimes = (path: string, t: Date) => this.call<void>((cb) => this.fs.utimes(path, t, t, cb));

  /** Writes all of `bytes` at the current position of `fd`. */
  async writeAll(fd: number, bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) {
      off += await this.call<number>((cb) => this.fs.write(fd, bytes, off, bytes.byteLength - off, null, cb));
    }
  }

  /**
   * Reads a whole file: open, one read into a buffer that fits small files
   * (no fstat round trip for them), close. Larger files get an fstat and the rest.
   * A small file's bytes are returned without waiting for the close (one
   * thread-pool round trip of the three; 78 -> 70 us a read of 1 KiB, measured
   * with one caller): the descriptor is closed at once, only not awaited, and
   * a failed close of a file opened read-only loses nothing.
   */
  async readFile(path: string): Promise<Uint8Array> {
    const fd = await this.open(path, 'r');
    let closing = false;
    try {
      let buf = new Uint8Array(READ_GUESS);
      let n = await this.readAt(fd, buf, 0);
      if (n < buf.byteLength) {
        closing = true;
        this.fs.close(fd, () => {});
        return buf.subarray(0, n);
      }
      const { size } = await this.call<{ size: number }>((cb) => this.fs.fstat(fd, cb));
      const big = new Uint8Array(Math.max(size, n) + 1);
      big.set(buf);
      buf = big;
      for (;;) {
        if (n === buf.byteLength) {
          const grown = new Uint8Array(buf.byteLength * 2);
          grown.set(buf);
          buf = grown;
        }
        const got = await this.readAt(fd, buf, n);
        if (got === 0) return buf.subarray(0, n);
        n += got;
      }
    } finally {
      if (!closing) await this.close(fd).catch(() => {});
    }
  }

  /** Lists `dir`, or resolves `undefined` when it does not exist (or is a file). */
  async readdirIfAny(dir: string): Promise<DirentLike[] | undefined> {
    try {
      return await this.readdir(dir);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  private readAt(fd: number, buf: Uint8Array, at: number): Promise<number> {
    return this.call<number>((cb) => this.fs.read(fd, buf, at, buf.byteLength - at, at, cb));
  }
}

/** The `code` of a file-system error (`ENOENT`, ...), if it has one. */
export function errno(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/** The path (or one of its parents) is not there: `ENOENT`, or `ENOTDIR` when a parent is a file. */
export function isMissing(e: unknown): boolean {
  const code = errno(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Wraps a file-system failure in the SDK's typed errors, keeping the cause. */
export function fsError(e: unknown, what: string): Error {
  if (e instanceof ArchiveStorageError) return e;
  const code = errno(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new QuotaExceededError(`node-fs: no space left to ${what}`, { cause: e });
  return new BackendError(`node-fs: ${what} failed${code ? ` (${code})` : ''}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}
