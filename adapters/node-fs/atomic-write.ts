/**
 * Atomic, durable file writes, the way the crash-consistency literature asks
 * (Pillai et al., "All File Systems Are Not Created Equal", OSDI 2014):
 *
 * 1. write the bytes to a temp file in the SAME directory (so the rename stays
 *    on one file system and in one directory);
 * 2. fsync the temp file (its data is on disk before its name is);
 * 3. rename it over the target (atomic: readers see old or new bytes);
 * 4. fsync the directory (the rename itself is on disk);
 * 5. fsync every directory the write had to create, and the parent of the
 *    first one (a new shard directory's entry is on disk too).
 *
 * Temp files are named `<file>.#<host tag>-<pid>-<12 hex>.tmp` ({@link TEMP_RE}):
 * `#` cannot occur in a key, so `list` never shows them, and the temp sweep
 * knows from the name which process left one behind.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import * as nodePath from 'node:path';
import process from 'node:process';
import { InvalidArgumentError, throwIfAborted } from '../../src/errors.js';
import { abortErrorOf, sleep } from '../../src/internal/abort.js';
import { randomHex } from '../../src/internal/random-id.js';
import { Fs, errno, fsError, type FsLike } from './fs.js';
import { HOST_TAG, PID } from './host.js';

/** A temp file's name ending: host tag, pid and random part, as {@link AtomicWriter.tempPath} makes them. */
export const TEMP_RE = /\.#([0-9a-f]{6})-(\d+)-([0-9a-z]+)\.tmp$/;

/** An object file's name: the SHA-256 of its bytes. */
const OBJECT_FILE = /^([0-9a-f]{64})\.json$/;

/** Directory fsync errors of file systems that refuse it (their renames are ordered by other means). */
const DIR_FSYNC_REFUSED = ['EISDIR', 'EINVAL', 'EPERM', 'ENOTSUP', 'EBADF'];

/** Rename errors Windows gives while another process (a virus scanner, an indexer) has the target open. */
const WINDOWS_RENAME_BUSY = ['EPERM', 'EACCES', 'EBUSY', 'EEXIST'];

/** What an atomic write stores: bytes, text, or a stream of chunks (a bundle), written as they come. */
export type FileContent = Uint8Array | string | AsyncIterable<Uint8Array>;

const isChunkStream = (data: FileContent): data is AsyncIterable<Uint8Array> => typeof data !== 'string' && !(data instanceof Uint8Array);

/** The atomic-write steps over one {@link FsLike}, shared by the adapter and {@link writeFileAtomic}. */
export class AtomicWriter {
  readonly p: Fs;
  private readonly knownDirs = new Set<string>();
  private readonly dirMaking = new Map<string, Promise<void>>();

  constructor(
    fs: FsLike,
    readonly durable: boolean,
    readonly platform: NodeJS.Platform,
  ) {
    this.p = new Fs(fs);
  }

  /** A fresh temp-file path next to `path`, in the format {@link TEMP_RE} reads. */
  tempPath(path: string): string {
    return `${path}.#${HOST_TAG}-${PID}-${randomHex(6)}.tmp`;
  }

  /** fsyncs a directory so renames and new entries in it are on disk. */
  async fsyncDir(dir: string): Promise<void> {
    if (!this.durable || this.platform === 'win32') return; // Windows cannot open a directory for fsync
    let fd: number | undefined;
    try {
      fd = await this.p.open(dir, 'r');
      await this.p.fsync(fd);
    } catch (e) {
      if (!DIR_FSYNC_REFUSED.includes(errno(e) ?? '')) throw e;
    } finally {
      if (fd !== undefined) await this.p.close(fd).catch(() => {});
    }
  }

  /**
   * Creates `dir` (and parents) if needed; when durable, fsyncs each new
   * directory and the parent of the first, so the new entries are on disk.
   * With `deferSyncs`, the directories to fsync are added to it instead, for
   * the caller's single fsync round (writeMany).
   */
  async ensureDir(dir: string, deferSyncs?: Set<string>): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    let making = this.dirMaking.get(dir);
    if (!making) {
      making = (async () => {
        const first = await this.p.mkdir(dir);
        if (first && this.durable) {
          const chain: string[] = [];
          for (let d = dir; d.length >= first.length; d = nodePath.dirname(d)) {
            chain.unshift(d);
            if (d === first || nodePath.dirname(d) === d) break;
          }
          const toSync = [nodePath.dirname(first), ...chain];
          if (deferSyncs) for (const d of toSync) deferSyncs.add(d);
          else for (const d of toSync) await this.fsyncDir(d);
        }
        this.knownDirs.add(dir);
      })().finally(() => this.dirMaking.delete(dir));
      this.dirMaking.set(dir, making);
    }
    await making;
  }

  /** Forgets that `dir` exists (it was removed under us), so the next write makes it again. */
  forgetDir(dir: string): void {
    this.knownDirs.delete(dir);
  }

  /** Writes `data` to a fresh temp file next to `path` (fsynced when durable); returns its path. */
  async writeTemp(path: string, data: FileContent): Promise<string> {
    const tmp = this.tempPath(path);
    const fd = await this.p.open(tmp, 'wx');
    try {
      if (isChunkStream(data)) for await (const chunk of data) await this.p.writeAll(fd, chunk);
      else await this.p.writeAll(fd, typeof data === 'string' ? new TextEncoder().encode(data) : data);
      if (this.durable) await this.p.fsync(fd);
    } catch (e) {
      await this.p.close(fd).catch(() => {});
      await this.p.unlink(tmp).catch(() => {});
      throw e;
    }
    await this.p.close(fd);
    return tmp;
  }

  /**
   * Renames `tmp` over `path`. On Windows a rename onto an existing file can
   * fail while another process has it open; for an object file (named by the
   * hash of its bytes) that counts as success when the existing bytes hash to
   * the name, since they are then exactly the bytes being written.
   */
  async replace(tmp: string, path: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.p.rename(tmp, path);
        return;
      } catch (e) {
        if (this.platform !== 'win32' || !WINDOWS_RENAME_BUSY.includes(errno(e) ?? '')) throw e;
        if (await this.existingObjectIsIntact(path)) {
          await this.p.unlink(tmp).catch(() => {});
          return;
        }
        if (attempt >= 5) {
          await this.p.unlink(tmp).catch(() => {});
          throw e;
        }
        await sleep(10 * 2 ** attempt); // a virus scanner or indexer holding the file usually lets go quickly
      }
    }
  }

  private async existingObjectIsIntact(path: string): Promise<boolean> {
    const m = OBJECT_FILE.exec(nodePath.basename(path));
    if (!m) return false;
    try {
      const bytes = await this.p.readFile(path);
      return createHash('sha256').update(bytes).digest('hex') === m[1];
    } catch {
      return false;
    }
  }

  /**
   * The whole atomic write of one file: temp, fsync, rename, fsync dir. With
   * `createDir: false` a missing directory is an error instead of being made.
   */
  async writeAtomic(path: string, data: FileContent, signal?: AbortSignal, createDir = true): Promise<void> {
    const dir = nodePath.dirname(path);
    if (createDir) await this.ensureDir(dir);
    let tmp: string;
    try {
      tmp = await this.writeTemp(path, data);
    } catch (e) {
      // The directory vanished under us (removed by someone else): make it again, once. A stream is
      // never consumed twice: ENOENT comes from opening the temp file, before any chunk is read.
      if (errno(e) !== 'ENOENT' || !createDir) throw e;
      this.forgetDir(dir);
      await this.ensureDir(dir);
      tmp = await this.writeTemp(path, data);
    }
    if (signal?.aborted) {
      await this.p.unlink(tmp).catch(() => {});
      throw abortErrorOf(signal);
    }
    await this.replace(tmp, path);
    await this.fsyncDir(dir);
  }
}

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** fsync the file and the directories (default true). */
  durable?: boolean;
  signal?: AbortSignal;
  /** Make the file's directory (and parents) when missing (default true); false: a missing directory is an error. */
  createDir?: boolean;
  fs?: FsLike;
}

/**
 * Writes a plain file atomically and (by default) durably: temp file in the
 * same directory, fsync, rename, fsync of the directory (and of any directory
 * it had to create). `data` may be a stream of chunks, written as they come
 * (a bundle of any size). A failed or aborted write removes its temp file: the
 * target holds the old bytes or the new, never part of them. For backup
 * files, bundles and CLI output.
 */
export async function writeFileAtomic(path: string, data: FileContent, options: WriteFileAtomicOptions = {}): Promise<void> {
  throwIfAborted(options.signal);
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('writeFileAtomic needs a file path');
  const writer = new AtomicWriter(options.fs ?? (nodeFs as FsLike), options.durable ?? true, process.platform);
  try {
    await writer.writeAtomic(nodePath.resolve(path), data, options.signal, options.createDir ?? true);
  } catch (e) {
    throw fsError(e, `write ${path}`);
  }
}
