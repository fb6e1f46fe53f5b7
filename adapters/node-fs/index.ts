/**
 * The Node file-system adapter: one file per key under a directory, each
 * written atomically and (by default) durably; see `atomic-write.ts` for the
 * steps and why. Built on `defineAdapter`, which gives every call its
 * prologue (closed, aborted, keys and bytes checked) and maps failures.
 *
 * `durable: false` skips the fsyncs (scratch use: still atomic for readers and
 * against a crash of the process, not against a power cut). `writeMany` is a
 * group commit, one durability barrier in two fsync rounds whatever the batch
 * holds: all temp files are written and fsynced in parallel (one round, which
 * the file system journals together), renamed, then each touched directory is
 * fsynced once (the second round). The first entry is renamed before the
 * others (`batchHeadFirst`): the archive puts its journal segment there, so a
 * reader, or a process crash at any point, never finds an object without the
 * line that names it. After a power cut the same holds where the file system
 * commits metadata in order (ext4, XFS: the head's rename is journaled before
 * the rest); elsewhere a cut during the barrier can keep an object of a batch
 * that never resolved without its line, an orphan that `verify` reports and a
 * later put of the value adopts. Nothing of a resolved batch is ever lost.
 *
 * The modules beside this one, by concern:
 * - `fs.ts`: {@link FsLike} (what `node:fs` and `memfs` give), errno tests, error mapping;
 * - `atomic-write.ts`: temp file, fsync, rename, fsync of the directory; {@link writeFileAtomic};
 * - `temp-sweep.ts`: writer markers under `#writers/` and the sweep of dead writers' temp files;
 * - `lock.ts`: lock files under `#locks/` with heartbeat and safe takeover of stale ones;
 * - `host.ts`: this host and process as file names name them, and whether a pid is alive.
 *
 * @module
 */
import * as nodeFs from 'node:fs';
import * as nodePath from 'node:path';
import process from 'node:process';
import type { AdapterCapabilities, CallOptions, LockOptions, StorageAdapter, WriteEntry } from '../../src/adapter/contract.js';
import { defineAdapter } from '../../src/adapter/define.js';
import { InvalidArgumentError, throwIfAborted } from '../../src/errors.js';
import { KeyedMutex } from '../../src/internal/mutex.js';
import { forEachSettled } from '../../src/internal/pool.js';
import { AtomicWriter } from './atomic-write.js';
import { errno, fsError, isMissing, type DirentLike, type FsLike } from './fs.js';
import { FileLocks } from './lock.js';
import { TempSweeper } from './temp-sweep.js';

export { writeFileAtomic, type FileContent, type WriteFileAtomicOptions } from './atomic-write.js';
export type { DirentLike, FsLike } from './fs.js';

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

/** Files written by one writeMany at a time (file descriptors in flight). */
const BATCH_CONCURRENCY = 32;
/** A directory entry that can be a key segment: temp files (`#`), `#locks` and `#writers` are not. */
const KEY_SEGMENT = /^[A-Za-z0-9._~-]+$/;
const LOCK_NAME = /^[A-Za-z0-9._~-]{1,100}$/;
/** Hard links are not supported here (FAT, some network shares). */
const NO_HARD_LINKS = ['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'];

/** Creates an adapter storing each key as a file under `options.dir`. */
export function nodeFsAdapter(options: NodeFsAdapterOptions): NodeFsAdapter {
  if (!options || typeof options.dir !== 'string' || options.dir === '') {
    throw new InvalidArgumentError('nodeFsAdapter needs { dir }: the directory that holds the archive');
  }
  const durable = options.durable ?? true;
  const root = nodePath.resolve(options.dir);
  const writer = new AtomicWriter(options.fs ?? (nodeFs as FsLike), durable, options.platform ?? process.platform);
  const p = writer.p;
  const temps = new TempSweeper(writer, root);
  const fileLocks = new FileLocks(writer, root, {
    staleLockMs: options.staleLockMs ?? 30_000,
    defaultTimeoutMs: options.lockTimeoutMs ?? 10_000,
  });
  const inProcess = new KeyedMutex();
  const background = (options.sweep ?? true) ? temps.sweepAfterDeadWriters() : undefined;

  const capabilities: AdapterCapabilities = Object.freeze({
    writeMany: true,
    batchHeadFirst: true,
    create: true,
    append: true,
    locking: true,
    quota: false,
    durability: durable ? 'strict' : 'relaxed',
    deleteMany: true,
  });

  const pathOf = (key: string) => nodePath.join(root, ...key.split('/'));

  async function* walk(dir: string, keyPrefix: string, prefix: string, signal?: AbortSignal): AsyncGenerator<string> {
    let entries: DirentLike[] | undefined;
    try {
      entries = await p.readdirIfAny(dir);
    } catch (e) {
      throw fsError(e, `list ${dir}`);
    }
    for (const ent of entries ?? []) {
      throwIfAborted(signal);
      const name = String(ent.name);
      if (!KEY_SEGMENT.test(name) || name === '.' || name === '..') continue;
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

  async function has(key: string): Promise<boolean> {
    try {
      return (await p.stat(pathOf(key))).isFile();
    } catch (e) {
      if (isMissing(e)) return false;
      throw fsError(e, `stat ${key}`);
    }
  }

  const adapter = defineAdapter(
    {
      name: 'node-fs',
      label: `node-fs adapter on ${root}`,
      capabilities,
      mapError: fsError,

      async read(key, opts) {
        try {
          const bytes = await p.readFile(pathOf(key));
          throwIfAborted(opts?.signal);
          return bytes;
        } catch (e) {
          if (isMissing(e) || errno(e) === 'EISDIR') return undefined;
          throw e;
        }
      },

      has,

      async write(key, bytes, opts) {
        await temps.registerWriter();
        await writer.writeAtomic(pathOf(key), bytes, opts?.signal);
      },

      async writeMany(entries, opts) {
        if (entries.length === 0) return;
        // The last entry for a key wins, as if written in turn.
        const byPath = new Map<string, Uint8Array>();
        for (const e of entries) byPath.set(pathOf(e.key), e.bytes);
        const paths = [...byPath.keys()];
        const [head, ...rest] = paths;
        const dirs = [...new Set(paths.map((f) => nodePath.dirname(f)))];
        const tempOf = new Map<string, string>();
        // New directories are fsynced in the batch's single round below, with the rest.
        const syncs = new Set(dirs);
        try {
          await temps.registerWriter();
          await forEachSettled(dirs, BATCH_CONCURRENCY, (d) => writer.ensureDir(d, syncs));
          // One round: every temp file written and fsynced in parallel.
          await forEachSettled(paths, BATCH_CONCURRENCY, async (f) => {
            tempOf.set(f, await writer.writeTemp(f, byPath.get(f)!));
          });
          throwIfAborted(opts?.signal);
          // The head first (batchHeadFirst), then the rest in parallel. No fsync in between: the
          // directory round below is the batch's one barrier for every rename.
          const rename = async (f: string) => {
            await writer.replace(tempOf.get(f)!, f);
            tempOf.delete(f);
          };
          await rename(head!);
          await forEachSettled(rest, BATCH_CONCURRENCY, rename);
          await forEachSettled([...syncs], BATCH_CONCURRENCY, (d) => writer.fsyncDir(d));
        } catch (e) {
          await Promise.all([...tempOf.values()].map((t) => p.unlink(t).catch(() => {})));
          throw e;
        }
      },

      async create(key, bytes, opts) {
        const path = pathOf(key);
        const dir = nodePath.dirname(path);
        await temps.registerWriter();
        await writer.ensureDir(dir);
        const tmp = await writer.writeTemp(path, bytes);
        try {
          throwIfAborted(opts?.signal);
          // link() fails with EEXIST when the name is taken: an atomic write-if-absent.
          await p.link(tmp, path);
        } catch (e) {
          const code = errno(e);
          if (code === 'EEXIST') return false;
          if (!NO_HARD_LINKS.includes(code ?? '')) throw e;
          // No hard links here: check, then rename.
          if (await has(key)) return false;
          await writer.replace(tmp, path);
          await writer.fsyncDir(dir);
          return true;
        } finally {
          await p.unlink(tmp).catch(() => {});
        }
        await writer.fsyncDir(dir);
        return true;
      },

      async append(key, bytes) {
        const path = pathOf(key);
        const dir = nodePath.dirname(path);
        await writer.ensureDir(dir);
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
        if (isNew) await writer.fsyncDir(dir);
      },

      async delete(key) {
        const path = pathOf(key);
        try {
          await p.unlink(path);
        } catch (e) {
          if (isMissing(e)) return;
          throw e;
        }
        await writer.fsyncDir(nodePath.dirname(path));
      },

      async deleteMany(keys) {
        // Unlinks in parallel, then one fsync per directory touched (not one per key).
        const dirs = new Set<string>();
        await forEachSettled([...new Set(keys)], BATCH_CONCURRENCY, async (key) => {
          const path = pathOf(key);
          try {
            await p.unlink(path);
            dirs.add(nodePath.dirname(path));
          } catch (e) {
            if (!isMissing(e)) throw e;
          }
        });
        await forEachSettled([...dirs], BATCH_CONCURRENCY, (d) => writer.fsyncDir(d));
      },

      list(prefix, opts) {
        // Start at the deepest directory the prefix fully names.
        const cut = prefix.lastIndexOf('/');
        const base = cut >= 0 ? prefix.slice(0, cut + 1) : '';
        const start = base ? nodePath.join(root, ...base.slice(0, -1).split('/')) : root;
        return walk(start, base, prefix, opts?.signal);
      },

      lock<T>(name: string, fn: () => Promise<T>, opts?: LockOptions): Promise<T> {
        if (typeof name !== 'string' || !LOCK_NAME.test(name)) {
          throw new InvalidArgumentError(`node-fs: lock name ${JSON.stringify(name)} must be 1-100 of A-Z a-z 0-9 . _ ~ -`);
        }
        // Holders in this process queue in memory; the file lock excludes other processes.
        return inProcess.run(
          name,
          async () => {
            let release: () => Promise<void>;
            try {
              release = await fileLocks.acquire(name, opts);
            } catch (e) {
              throw fsError(e, `lock ${name}`);
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

      async close() {
        await background;
        // A clean shutdown: nothing of ours for the next opener to sweep.
        await temps.unregisterWriter();
      },
    },
    (guarded) => ({
      dir: root,
      sweep: (opts?: CallOptions) => guarded(`sweep ${root}`, opts, () => temps.sweep(opts?.signal)),
    }),
  );
  return adapter as NodeFsAdapter;
}
