/**
 * A wrapped {@link FsLike} for node-fs tests: counts fsyncs of files and of
 * directories, opens and closes, logs when each rename starts and ends, and
 * lets a test inject failures into rename and write.
 */
import type { FsLike } from '../../adapters/node-fs/index.js';

export interface FsCounts {
  fileSyncs: number;
  dirSyncs: number;
}

export interface InstrumentedFs {
  fs: FsLike;
  counts: FsCounts;
  /** `start <to>` / `end <to>` per rename, in the order they happened. */
  renames: string[];
  /** Descriptors opened and not closed yet. */
  openFds(): number;
}

export function instrumented(base: FsLike, hooks: { rename?: (from: string, to: string) => void; write?: () => void } = {}): InstrumentedFs {
  const counts: FsCounts = { fileSyncs: 0, dirSyncs: 0 };
  const renames: string[] = [];
  const dirFds = new Set<number>();
  const open = new Set<number>();
  const fs: FsLike = {
    ...base,
    open: (path, flags, mode, cb) =>
      base.open(path, flags, mode, (err, fd) => {
        if (err) return cb(err, fd);
        open.add(fd);
        base.stat(path, (e2, st) => {
          if (!e2 && !st.isFile()) dirFds.add(fd);
          cb(null, fd);
        });
      }),
    write: (fd, buf, off, len, pos, cb) => {
      try {
        hooks.write?.();
      } catch (e) {
        return cb(e as NodeJS.ErrnoException, 0);
      }
      base.write(fd, buf, off, len, pos, cb);
    },
    fsync: (fd, cb) => {
      if (dirFds.has(fd)) counts.dirSyncs++;
      else counts.fileSyncs++;
      base.fsync(fd, cb);
    },
    close: (fd, cb) => {
      dirFds.delete(fd);
      open.delete(fd);
      base.close(fd, cb);
    },
    rename: (from, to, cb) => {
      try {
        hooks.rename?.(from, to);
      } catch (e) {
        return cb(e as NodeJS.ErrnoException, undefined);
      }
      renames.push(`start ${to}`);
      base.rename(from, to, (err, r) => {
        renames.push(`end ${to}`);
        cb(err, r);
      });
    },
  };
  // node:fs functions are not all own enumerable properties of a spread: bind what we did not wrap.
  for (const k of ['read', 'fstat', 'link', 'unlink', 'mkdir', 'readdir', 'stat', 'utimes'] as const) {
    (fs as unknown as Record<string, unknown>)[k] = (base[k] as (...a: unknown[]) => void).bind(base);
  }
  return { fs, counts, renames, openFds: () => open.size };
}
