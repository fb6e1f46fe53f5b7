/**
 * The Node file-system adapter: one file per key under a directory, written
 * the way the crash-consistency literature asks (Pillai et al., "All File
 * Systems Are Not Created Equal", OSDI 2014):
 *
 * 1. write the bytes to a temp file in the SAME directory (so the rename stays
 *    on one file system and in one directory);
 * 2. fsync the temp file (its data is on disk before its name is);
 * 3. rename it over the key's file (atomic: readers see old or new bytes);
 * 4. fsync the directory (the rename itself is on disk);
 * 5. fsync every directory this write had to create, and the parent of the
 *    first one (a new shard directory's entry is on disk too).
 *
 * `durable: false` skips the fsyncs (scratch use: still atomic for readers and
 * against a crash of the process, not against a power cut). `writeMany` is a
 * group commit: all temp files are written and fsynced in parallel (one round,
 * which the file system journals together), renamed, then each touched
 * directory is fsynced once.
 *
 * Temp files are named `<file>.#<host>-<pid>-<random>.tmp`; `#` cannot occur
 * in a key, so `list` never shows them. A writing process registers under
 * `#writers/` until it closes; when the adapter is created and finds the
 * marker of a process that died, it sweeps that process's leftovers in the
 * background (temp files of dead processes on this host, or old ones). Locks are files under `#locks/`, with
 * the holder's host, pid and a heartbeat; a lock whose holder died (dead pid
 * on this host, or no heartbeat for `staleLockMs`) is taken over safely.
 *
 * @module
 */
import * as nodeFs from 'node:fs';
import { hostname } from 'node:os';
import * as nodePath from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import {
  assertBytes,
  assertValidKey,
  assertValidPrefix,
  assertWriteEntries,
  type AdapterCapabilities,
  type CallOptions,
  type LockOptions,
  type StorageAdapter,
  type WriteEntry,
} from '../../src/adapter/contract.js';
import {
  AbortError,
  ArchiveStorageError,
  BackendError,
  ClosedError,
  InvalidArgumentError,
  LockTimeoutError,
  QuotaExceededError,
  throwIfAborted,
} from '../../src/errors.js';
import { KeyedMutex } from '../../src/internal/mutex.js';

/** Callback of a `node:fs` call. */
type Cb<T = void> = (err: NodeJS.ErrnoException | null, result: T) => void;

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

/** Promise versions of the {@link FsLike} calls, plus whole-file helpers. */
class Fs {
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
   */
  async readFile(path: string): Promise<Uint8Array> {
    const fd = await this.open(path, 'r');
    try {
      let buf = new Uint8Array(READ_GUESS);
      let n = await this.readAt(fd, buf, 0);
      if (n < buf.byteLength) return buf.subarray(0, n);
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
      await this.close(fd).catch(() => {});
    }
  }

  private readAt(fd: number, buf: Uint8Array, at: number): Promise<number> {
    return this.call<number>((cb) => this.fs.read(fd, buf, at, buf.byteLength - at, at, cb));
  }
}

/** First read of a file: objects and segments are usually far smaller. */
const READ_GUESS = 16 * 1024;

/** Options of {@link nodeFsAdapter}. */
export interface NodeFsAdapterOptions {
  /** Directory holding the keys (created on first write). */
  dir: string;
  /** File system to use (default `node:fs`; pass `memfs`'s `fs` in unit tests). */
  fs?: FsLike;
  /** fsync files and directories (default true). `false`: atomic, but only crash-of-process safe. */
  durable?: boolean;
  /** On creation, sweep leftover temp files in the background if a writer died here (default true). */
  sweep?: boolean;
  /** A lock whose holder has not refreshed it for this long is stale (default 30 000 ms). */
  staleLockMs?: number;
  /** Default lock wait before `LockTimeoutError` (default 10 000 ms). */
  lockTimeoutMs?: number;
  /** Platform rules to follow (default `process.platform`; tests use `'win32'` to check the Windows rename rule). */
  platform?: NodeJS.Platform;
}

/** The node-fs adapter, with its directory and a sweep you can await. */
export interface NodeFsAdapter extends StorageAdapter {
  /** The root directory. */
  readonly dir: string;
  /**
   * Removes leftover temp files (of dead processes on this host, or older than
   * an hour); resolves how many were removed. The
   * sweep started on creation is the same promise until it finishes.
   */
  sweep(options?: CallOptions): Promise<number>;
  /** Waits for the background sweep; later calls reject with `ClosedError`. */
  close(): Promise<void>;
  writeMany(entries: readonly WriteEntry[], options?: CallOptions): Promise<void>;
  create(key: string, bytes: Uint8Array, options?: CallOptions): Promise<boolean>;
  append(key: string, bytes: Uint8Array, options?: CallOptions): Promise<void>;
  lock<T>(name: string, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
}

const LOCK_DIR = '#locks';
const WRITERS_DIR = '#writers';
const TEMP_RE = /\.#([0-9a-f]{6})-(\d+)-([0-9a-z]+)\.tmp$/;
/** A temp file of a live process (or of another host) is left alone until this old. */
const TEMP_ABANDONED_MS = 60 * 60 * 1000;
/** Files written by one writeMany at a time (file descriptors in flight). */
const BATCH_CONCURRENCY = 32;
const OBJECT_FILE = /^([0-9a-f]{64})\.json$/;

const HOST = hostname();
const HOST_TAG = createHash('sha256').update(HOST).digest('hex').slice(0, 6);

function errno(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/** Wraps a file-system failure in the SDK's typed errors, keeping the cause. */
function wrap(e: unknown, what: string): Error {
  if (e instanceof ArchiveStorageError) return e;
  const code = errno(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new QuotaExceededError(`node-fs: no space left to ${what}`, { cause: e });
  return new BackendError(`node-fs: ${what} failed${code ? ` (${code})` : ''}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM'; // exists, owned by someone else
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { e: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failed) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed.e;
}

/** Internals shared by the adapter and {@link writeFileAtomic}. */
class FsCore {
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

  tempPath(path: string): string {
    return `${path}.#${HOST_TAG}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  }

  /** fsyncs a directory so renames and new entries in it are on disk. */
  async fsyncDir(dir: string): Promise<void> {
    if (!this.durable || this.platform === 'win32') return; // Windows cannot open a directory for fsync
    let fd: number | undefined;
    try {
      fd = await this.p.open(dir, 'r');
      await this.p.fsync(fd);
    } catch (e) {
      // Some file systems refuse directory fsync; their renames are ordered by other means.
      if (!['EISDIR', 'EINVAL', 'EPERM', 'ENOTSUP', 'EBADF'].includes(errno(e) ?? '')) throw e;
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

  forgetDir(dir: string): void {
    this.knownDirs.delete(dir);
  }

  /** Writes `bytes` to a fresh temp file next to `path` (fsynced when durable); returns its path. */
  async writeTemp(path: string, bytes: Uint8Array | string): Promise<string> {
    const tmp = this.tempPath(path);
    const fd = await this.p.open(tmp, 'wx');
    try {
      await this.p.writeAll(fd, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
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
        const code = errno(e);
        if (this.platform !== 'win32' || !['EPERM', 'EACCES', 'EBUSY', 'EEXIST'].includes(code ?? '')) throw e;
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

  /** The whole atomic write of one file: temp, fsync, rename, fsync dir. */
  async writeAtomic(path: string, bytes: Uint8Array | string, signal?: AbortSignal): Promise<void> {
    const dir = nodePath.dirname(path);
    await this.ensureDir(dir);
    let tmp: string;
    try {
      tmp = await this.writeTemp(path, bytes);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e;
      // The directory vanished under us (removed by someone else): make it again, once.
      this.forgetDir(dir);
      await this.ensureDir(dir);
      tmp = await this.writeTemp(path, bytes);
    }
    if (signal?.aborted) {
      await this.p.unlink(tmp).catch(() => {});
      throw new AbortError(undefined, { cause: signal.reason });
    }
    await this.replace(tmp, path);
    await this.fsyncDir(dir);
  }
}

/**
 * Writes a plain file atomically and (by default) durably: temp file in the
 * same directory, fsync, rename, fsync of the directory (and of any directory
 * it had to create). For backup files, bundles and CLI output.
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array | string,
  options: { durable?: boolean; signal?: AbortSignal; fs?: FsLike } = {},
): Promise<void> {
  throwIfAborted(options.signal);
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('writeFileAtomic needs a file path');
  const core = new FsCore(options.fs ?? (nodeFs as FsLike), options.durable ?? true, process.platform);
  try {
    await core.writeAtomic(nodePath.resolve(path), bytes, options.signal);
  } catch (e) {
    throw wrap(e, `write ${path}`);
  }
}

/** Creates an adapter storing each key as a file under `options.dir`. */
export function nodeFsAdapter(options: NodeFsAdapterOptions): NodeFsAdapter {
  if (!options || typeof options.dir !== 'string' || options.dir === '') {
    throw new InvalidArgumentError('nodeFsAdapter needs { dir }: the directory that holds the archive');
  }
  const fs = options.fs ?? (nodeFs as FsLike);
  const durable = options.durable ?? true;
  const platform = options.platform ?? process.platform;
  const root = nodePath.resolve(options.dir);
  const core = new FsCore(fs, durable, platform);
  const p = core.p;
  const staleLockMs = options.staleLockMs ?? 30_000;
  const defaultLockTimeout = options.lockTimeoutMs ?? 10_000;
  const inProcess = new KeyedMutex();
  let closed = false;

  const capabilities: AdapterCapabilities = Object.freeze({
    writeMany: true,
    create: true,
    append: true,
    locking: true,
    quota: false,
    durability: durable ? 'strict' : 'relaxed',
    deleteMany: true,
  });

  const enter = (key: string | undefined, opts: CallOptions | undefined) => {
    if (closed) throw new ClosedError(`node-fs adapter on ${root} is closed`);
    throwIfAborted(opts?.signal);
    if (key !== undefined) assertValidKey(key);
  };
  const pathOf = (key: string) => nodePath.join(root, ...key.split('/'));

  // ------------------------------------------------------------ sweep
  let sweeping: Promise<number> | undefined;
  const sweepOnce = async (signal?: AbortSignal): Promise<number> => {
    let removed = 0;
    const now = Date.now();
    const visit = async (dir: string): Promise<void> => {
      let entries: DirentLike[];
      try {
        entries = await p.readdir(dir);
      } catch (e) {
        if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return;
        throw e;
      }
      for (const ent of entries) {
        throwIfAborted(signal);
        const name = String(ent.name);
        const full = nodePath.join(dir, name);
        if (ent.isDirectory()) {
          await visit(full);
          continue;
        }
        const m = TEMP_RE.exec(name);
        if (!m) continue;
        // Ours to sweep: a dead process's on this host; anyone's once it is an hour old.
        let abandoned = m[1] === HOST_TAG && !pidAlive(Number(m[2]));
        if (!abandoned) {
          try {
            abandoned = now - (await p.stat(full)).mtimeMs > TEMP_ABANDONED_MS;
          } catch {
            continue;
          }
        }
        if (abandoned) {
          try {
            await p.unlink(full);
            removed++;
          } catch (e) {
            if (errno(e) !== 'ENOENT') throw e;
          }
        }
      }
    };
    await visit(root);
    return removed;
  };
  const sweep = (opts?: CallOptions): Promise<number> => {
    if (closed) return Promise.reject(new ClosedError(`node-fs adapter on ${root} is closed`));
    if (!sweeping) {
      sweeping = sweepOnce(opts?.signal)
        .catch((e: unknown) => {
          throw wrap(e, `sweep ${root}`);
        })
        .finally(() => (sweeping = undefined));
    }
    return sweeping;
  };

  // Writer markers: a process that writes here registers `#writers/<host>-<pid>-<random>` on its
  // first write and removes it on close. Only a marker left by a dead process (or an hour old, for
  // another host) means temp files may have been abandoned, so opening a big archive after a clean
  // shutdown costs one readdir instead of a walk over every shard directory.
  const writersDir = nodePath.join(root, WRITERS_DIR);
  const marker = nodePath.join(writersDir, `${HOST_TAG}-${process.pid}-${randomBytes(4).toString('hex')}`);
  let registered: Promise<void> | undefined;
  const register = (): Promise<void> =>
    (registered ??= (async () => {
      await core.ensureDir(writersDir);
      await p.close(await p.open(marker, 'w'));
    })().catch((e: unknown) => {
      registered = undefined;
      throw e;
    }));
  const deadMarkers = async (): Promise<string[]> => {
    let names: DirentLike[];
    try {
      names = await p.readdir(writersDir);
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return [];
      throw e;
    }
    const dead: string[] = [];
    for (const ent of names) {
      const name = String(ent.name);
      const m = /^([0-9a-f]{6})-(\d+)-[0-9a-f]+$/.exec(name);
      const full = nodePath.join(writersDir, name);
      if (m && m[1] === HOST_TAG) {
        if (!pidAlive(Number(m[2]))) dead.push(full);
      } else {
        const st = await p.stat(full).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs > TEMP_ABANDONED_MS) dead.push(full);
      }
    }
    return dead;
  };
  let background: Promise<unknown> | undefined;
  if (options.sweep ?? true) {
    // Best effort: an explicit sweep() reports errors.
    background = (async () => {
      const dead = await deadMarkers();
      if (dead.length === 0) return 0;
      const removed = await sweep();
      await Promise.all(dead.map((d) => p.unlink(d).catch(() => {})));
      return removed;
    })().catch(() => 0);
  }

  // ------------------------------------------------------------ list
  async function* walk(dir: string, keyPrefix: string, prefix: string, signal?: AbortSignal): AsyncGenerator<string> {
    let entries: DirentLike[];
    try {
      entries = await p.readdir(dir);
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return;
      throw wrap(e, `list ${dir}`);
    }
    for (const ent of entries) {
      throwIfAborted(signal);
      const name = String(ent.name);
      if (!/^[A-Za-z0-9._~-]+$/.test(name) || name === '.' || name === '..') continue; // temp files, #locks
      const key = keyPrefix + name;
      if (ent.isDirectory()) {
        const sub = key + '/';
        // Descend only where the prefix can still match.
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* walk(nodePath.join(dir, name), sub, prefix, signal);
      } else if (ent.isFile() && key.startsWith(prefix)) {
        yield key;
      }
    }
  }

  // ------------------------------------------------------------ locks
  const lockPath = (name: string) => nodePath.join(root, LOCK_DIR, `${name}.lock`);

  interface LockBody {
    host: string;
    pid: number;
    token: string;
    created: number;
  }

  const readLock = async (path: string): Promise<{ body: LockBody | undefined; mtimeMs: number } | undefined> => {
    try {
      const [bytes, st] = await Promise.all([p.readFile(path), p.stat(path)]);
      let body: LockBody | undefined;
      try {
        body = JSON.parse(new TextDecoder().decode(bytes)) as LockBody;
      } catch {
        body = undefined; // torn while being written; judged by age alone
      }
      return { body, mtimeMs: st.mtimeMs };
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw e;
    }
  };

  const isStale = (lock: { body: LockBody | undefined; mtimeMs: number }): boolean => {
    const age = Date.now() - lock.mtimeMs;
    if (lock.body && lock.body.host === HOST && lock.body.pid !== process.pid && !pidAlive(lock.body.pid)) return true;
    return age > staleLockMs;
  };

  /** Creates the lock file exclusively; false when someone else holds it. */
  const tryCreateLock = async (path: string, body: LockBody): Promise<boolean> => {
    await core.ensureDir(nodePath.dirname(path));
    let fd: number;
    try {
      fd = await p.open(path, 'wx');
    } catch (e) {
      if (errno(e) === 'EEXIST') return false;
      throw e;
    }
    try {
      await p.writeAll(fd, new TextEncoder().encode(JSON.stringify(body)));
    } finally {
      await p.close(fd);
    }
    return true;
  };

  /**
   * Removes a stale lock, guarded by a short-lived breaker file so that two
   * processes judging the same stale lock cannot remove a fresh one: under the
   * breaker the lock is re-read and removed only if it is still the one judged.
   */
  const breakStaleLock = async (path: string, judged: { body: LockBody | undefined; mtimeMs: number }): Promise<void> => {
    const breaker = `${path}.break`;
    const me: LockBody = { host: HOST, pid: process.pid, token: randomBytes(8).toString('hex'), created: Date.now() };
    if (!(await tryCreateLock(breaker, me))) {
      const b = await readLock(breaker);
      // A breaker is held for milliseconds; an old one belongs to a process that died holding it.
      if (b && Date.now() - b.mtimeMs > 5_000) await p.unlink(breaker).catch(() => {});
      return;
    }
    try {
      const now = await readLock(path);
      if (now && now.mtimeMs === judged.mtimeMs && now.body?.token === judged.body?.token && isStale(now)) {
        await p.unlink(path).catch((e: unknown) => {
          if (errno(e) !== 'ENOENT') throw e;
        });
      }
    } finally {
      await p.unlink(breaker).catch(() => {});
    }
  };

  const acquireFileLock = async (name: string, opts: LockOptions | undefined): Promise<() => Promise<void>> => {
    const path = lockPath(name);
    const body: LockBody = { host: HOST, pid: process.pid, token: randomBytes(8).toString('hex'), created: Date.now() };
    const deadline = Date.now() + (opts?.timeoutMs ?? defaultLockTimeout);
    let wait = 2;
    for (;;) {
      throwIfAborted(opts?.signal);
      if (await tryCreateLock(path, body)) break;
      const held = await readLock(path);
      if (held && isStale(held)) {
        await breakStaleLock(path, held);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = held?.body ? ` (held by pid ${held.body.pid} on ${held.body.host})` : '';
        throw new LockTimeoutError(`node-fs: lock "${name}" on ${root} not acquired within ${opts?.timeoutMs ?? defaultLockTimeout} ms${who}`);
      }
      await sleep(wait + Math.random() * wait);
      wait = Math.min(wait * 2, 50);
    }
    // Heartbeat: a live holder keeps its lock fresh however long `fn` runs.
    const beat = setInterval(() => {
      const t = new Date();
      p.utimes(path, t).catch(() => {});
    }, Math.max(50, Math.floor(staleLockMs / 4)));
    (beat as { unref?: () => void }).unref?.();
    return async () => {
      clearInterval(beat);
      const now = await readLock(path).catch(() => undefined);
      // Remove it only if it is still ours (it may have been judged stale and taken over).
      if (now?.body?.token === body.token) await p.unlink(path).catch(() => {});
    };
  };

  // ------------------------------------------------------------ the adapter
  const adapter: NodeFsAdapter = {
    name: 'node-fs',
    capabilities,
    dir: root,

    async read(key, opts) {
      enter(key, opts);
      try {
        const bytes = await p.readFile(pathOf(key));
        throwIfAborted(opts?.signal);
        return bytes;
      } catch (e) {
        const code = errno(e);
        if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
        throw wrap(e, `read ${key}`);
      }
    },

    async has(key, opts) {
      enter(key, opts);
      try {
        return (await p.stat(pathOf(key))).isFile();
      } catch (e) {
        const code = errno(e);
        if (code === 'ENOENT' || code === 'ENOTDIR') return false;
        throw wrap(e, `stat ${key}`);
      }
    },

    async write(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      try {
        await register();
        await core.writeAtomic(pathOf(key), bytes, opts?.signal);
      } catch (e) {
        throw wrap(e, `write ${key}`);
      }
    },

    async writeMany(entries: readonly WriteEntry[], opts) {
      enter(undefined, opts);
      assertWriteEntries(entries);
      if (entries.length === 0) return;
      // The last entry for a key wins, as if written in turn.
      const byPath = new Map<string, Uint8Array>();
      for (const e of entries) byPath.set(pathOf(e.key), e.bytes);
      const paths = [...byPath.keys()];
      const dirs = [...new Set(paths.map((f) => nodePath.dirname(f)))];
      const temps = new Map<string, string>();
      // New directories are fsynced in the batch's single round below, with the rest.
      const syncs = new Set(dirs);
      try {
        await register();
        await mapLimit(dirs, BATCH_CONCURRENCY, (d) => core.ensureDir(d, syncs));
        // One round: every temp file written and fsynced in parallel.
        await mapLimit(paths, BATCH_CONCURRENCY, async (f) => {
          temps.set(f, await core.writeTemp(f, byPath.get(f)!));
        });
        throwIfAborted(opts?.signal);
        await mapLimit(paths, BATCH_CONCURRENCY, async (f) => {
          await core.replace(temps.get(f)!, f);
          temps.delete(f);
        });
        await mapLimit([...syncs], BATCH_CONCURRENCY, (d) => core.fsyncDir(d));
      } catch (e) {
        await Promise.all([...temps.values()].map((t) => p.unlink(t).catch(() => {})));
        throw wrap(e, `writeMany (${entries.length} entries)`);
      }
    },

    async create(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      const path = pathOf(key);
      const dir = nodePath.dirname(path);
      try {
        await register();
        await core.ensureDir(dir);
        const tmp = await core.writeTemp(path, bytes);
        try {
          throwIfAborted(opts?.signal);
          // link() fails with EEXIST when the name is taken: an atomic write-if-absent.
          await p.link(tmp, path);
        } catch (e) {
          const code = errno(e);
          if (code === 'EEXIST') return false;
          if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') {
            // No hard links here (FAT, some network shares): check, then rename.
            if (await adapter.has(key)) return false;
            await core.replace(tmp, path);
            await core.fsyncDir(dir);
            return true;
          }
          throw e;
        } finally {
          await p.unlink(tmp).catch(() => {});
        }
        await core.fsyncDir(dir);
        return true;
      } catch (e) {
        throw wrap(e, `create ${key}`);
      }
    },

    async append(key, bytes, opts) {
      enter(key, opts);
      assertBytes(bytes, key);
      const path = pathOf(key);
      const dir = nodePath.dirname(path);
      try {
        await core.ensureDir(dir);
        let isNew = false;
        let fd: number;
        try {
          fd = await p.open(path, 'ax');
          isNew = true;
        } catch (e) {
          if (errno(e) !== 'EEXIST') throw e;
          fd = await p.open(path, 'a');
        }
        try {
          await p.writeAll(fd, bytes);
          if (durable) await p.fsync(fd);
        } finally {
          await p.close(fd);
        }
        if (isNew) await core.fsyncDir(dir);
      } catch (e) {
        throw wrap(e, `append ${key}`);
      }
    },

    async delete(key, opts) {
      enter(key, opts);
      const path = pathOf(key);
      try {
        await p.unlink(path);
      } catch (e) {
        const code = errno(e);
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw wrap(e, `delete ${key}`);
      }
      try {
        await core.fsyncDir(nodePath.dirname(path));
      } catch (e) {
        throw wrap(e, `delete ${key}`);
      }
    },

    async deleteMany(keys: readonly string[], opts) {
      enter(undefined, opts);
      for (const key of keys) assertValidKey(key);
      // Unlinks in parallel, then one fsync per directory touched (not one per key).
      const dirs = new Set<string>();
      try {
        await mapLimit([...new Set(keys)], BATCH_CONCURRENCY, async (key) => {
          const path = pathOf(key);
          try {
            await p.unlink(path);
            dirs.add(nodePath.dirname(path));
          } catch (e) {
            const code = errno(e);
            if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
          }
        });
        await mapLimit([...dirs], BATCH_CONCURRENCY, (d) => core.fsyncDir(d));
      } catch (e) {
        throw wrap(e, `deleteMany (${keys.length} keys)`);
      }
    },

    async *list(prefix, opts) {
      enter(undefined, opts);
      assertValidPrefix(prefix);
      // Start at the deepest directory the prefix fully names.
      const cut = prefix.lastIndexOf('/');
      const base = cut >= 0 ? prefix.slice(0, cut + 1) : '';
      const start = base ? nodePath.join(root, ...base.slice(0, -1).split('/')) : root;
      yield* walk(start, base, prefix, opts?.signal);
    },

    async lock<T>(name: string, fn: () => Promise<T>, opts?: LockOptions): Promise<T> {
      enter(undefined, opts);
      if (typeof name !== 'string' || !/^[A-Za-z0-9._~-]{1,100}$/.test(name)) {
        throw new InvalidArgumentError(`node-fs: lock name ${JSON.stringify(name)} must be 1-100 of A-Z a-z 0-9 . _ ~ -`);
      }
      // Holders in this process queue in memory; the file lock excludes other processes.
      return inProcess.run(
        name,
        async () => {
          let release: () => Promise<void>;
          try {
            release = await acquireFileLock(name, opts);
          } catch (e) {
            throw wrap(e, `lock ${name}`);
          }
          try {
            return await fn();
          } finally {
            await release();
          }
        },
        opts,
      );
    },

    sweep,

    async close() {
      if (closed) return;
      await background;
      closed = true;
      // A clean shutdown: nothing of ours for the next opener to sweep.
      if (registered) await registered.then(() => p.unlink(marker)).catch(() => {});
    },
  };
  return adapter;
}
