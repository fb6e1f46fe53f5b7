/**
 * node-fs specifics the conformance suites cannot see: the fsync protocol and
 * group commit (counted on a wrapped fs), temp-file sweeping, stale-lock
 * takeover, the Windows rename rule, writeFileAtomic, and typed errors.
 */
import { spawnSync } from 'node:child_process';
import * as realFs from 'node:fs';
import { readdir, readFile, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createFsFromVolume, Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { nodeFsAdapter, writeFileAtomic, type FsLike } from '../adapters/node-fs/index.js';
import { isArchiveStorageError } from '../src/errors.js';
import { objectKey } from '../src/archive/types.js';
import { makeTempDir } from './support/fs-tmp.js';
import { instrumented } from './support/instrumented-fs.js';

const enc = new TextEncoder();
const hostTag = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isArchiveStorageError(e) ? e.code : `untyped: ${String(e)}`;
  }
  return undefined;
}

/** A pid that no longer runs (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

describe('node-fs: the fsync protocol', () => {
  it('write fsyncs the file, the directory, and every directory it creates', async () => {
    const { dir, cleanup } = await makeTempDir('sync');
    try {
      const { fs, counts } = instrumented(realFs as FsLike);
      const a = nodeFsAdapter({ dir, fs, sweep: false });
      await a.write('warm-up', enc.encode('0')); // registers this writer under #writers/ (its own fsyncs)
      counts.dirSyncs = counts.fileSyncs = 0;
      await a.write('objects/ab/cd/x.json', enc.encode('1'));
      // temp file; the new dirs objects, ab, cd and the root holding the first; then cd again after the rename
      expect(counts.fileSyncs).toBe(1);
      expect(counts.dirSyncs).toBe(5);
      counts.dirSyncs = counts.fileSyncs = 0;
      await a.write('objects/ab/cd/y.json', enc.encode('2'));
      expect(counts).toEqual({ fileSyncs: 1, dirSyncs: 1 });
      counts.dirSyncs = 0;
      await a.delete('objects/ab/cd/y.json');
      expect(counts.dirSyncs).toBe(1);
      await a.close();
    } finally {
      await cleanup();
    }
  });

  it('writeMany is one group commit: N file fsyncs in parallel, one fsync per directory', async () => {
    const { dir, cleanup } = await makeTempDir('group');
    try {
      const { fs, counts } = instrumented(realFs as FsLike);
      const a = nodeFsAdapter({ dir, fs, sweep: false });
      await a.write('d/0/seed', enc.encode('seed'));
      await a.write('d/1/seed', enc.encode('seed'));
      counts.dirSyncs = counts.fileSyncs = 0;
      await a.writeMany!(Array.from({ length: 40 }, (_, i) => ({ key: `d/${i % 2}/k${i}`, bytes: enc.encode(String(i)) })));
      expect(counts).toEqual({ fileSyncs: 40, dirSyncs: 2 });
      expect((await readdir(join(dir, 'd', '0'))).length).toBe(21);
      await a.close();
    } finally {
      await cleanup();
    }
  });

  it('durable: false writes atomically without a single fsync', async () => {
    const { dir, cleanup } = await makeTempDir('nosync');
    try {
      const { fs, counts } = instrumented(realFs as FsLike);
      const a = nodeFsAdapter({ dir, fs, durable: false, sweep: false });
      expect(a.capabilities.durability).toBe('relaxed');
      await a.write('a/b/c', enc.encode('x'));
      await a.writeMany!([{ key: 'a/b/d', bytes: enc.encode('y') }]);
      await a.create!('a/b/e', enc.encode('z'));
      await a.append!('a/b/f', enc.encode('w'));
      await a.delete('a/b/c');
      expect(counts).toEqual({ fileSyncs: 0, dirSyncs: 0 });
      expect(await readFile(join(dir, 'a', 'b', 'd'), 'utf8')).toBe('y');
      await a.close();
    } finally {
      await cleanup();
    }
  });

  it('leaves no temp file behind, and list never shows one', async () => {
    const { dir, cleanup } = await makeTempDir('clean');
    try {
      const a = nodeFsAdapter({ dir, sweep: false });
      await a.writeMany!(Array.from({ length: 20 }, (_, i) => ({ key: `x/${i}`, bytes: enc.encode('v') })));
      await a.create!('x/0', enc.encode('again'));
      await a.lock('l', async () => {
        const keys: string[] = [];
        for await (const k of a.list('')) keys.push(k);
        expect(keys.length).toBe(20);
      });
      const names = await readdir(join(dir, 'x'));
      expect(names.filter((n) => n.includes('#'))).toEqual([]);
      await a.close();
    } finally {
      await cleanup();
    }
  });
});

describe('node-fs: leftovers and locks', () => {
  it('sweeps temp files of dead processes, leaves those of live ones', async () => {
    const { dir, cleanup } = await makeTempDir('sweep');
    try {
      await mkdir(join(dir, 'objects', 'aa', 'bb'), { recursive: true });
      const dead = join(dir, 'objects', 'aa', 'bb', `x.json.#${hostTag}-${deadPid()}-abc123.tmp`);
      const live = join(dir, 'objects', 'aa', 'bb', `y.json.#${hostTag}-${process.pid}-abc123.tmp`);
      const foreignOld = join(dir, `z.json.#ffffff-1-abc123.tmp`);
      const foreignNew = join(dir, `w.json.#ffffff-1-abc124.tmp`);
      for (const f of [dead, live, foreignOld, foreignNew]) await writeFile(f, 'partial');
      const hourAgo = new Date(Date.now() - 2 * 3600_000);
      await utimes(foreignOld, hourAgo, hourAgo);
      const a = nodeFsAdapter({ dir, sweep: false });
      expect(await a.sweep()).toBe(2);
      await expect(stat(dead)).rejects.toThrow();
      await expect(stat(foreignOld)).rejects.toThrow();
      expect((await stat(live)).isFile()).toBe(true);
      expect((await stat(foreignNew)).isFile()).toBe(true);
      await a.close();
      await expect(a.sweep()).rejects.toMatchObject({ code: 'CLOSED' });
      // On creation nothing is walked while no writer died here...
      await writeFile(dead, 'partial');
      const b = nodeFsAdapter({ dir });
      await b.close();
      expect((await stat(dead)).isFile()).toBe(true);
      // ...but the marker a crashed writer left behind triggers the same sweep in the background.
      await mkdir(join(dir, '#writers'), { recursive: true });
      await writeFile(join(dir, '#writers', `${hostTag}-${deadPid()}-0badc0de`), '');
      const c = nodeFsAdapter({ dir });
      await c.close();
      await expect(stat(dead)).rejects.toThrow();
      expect(await readdir(join(dir, '#writers'))).toEqual([]);
      // A writer registers on its first write and unregisters on close.
      const d = nodeFsAdapter({ dir });
      await d.write('k', enc.encode('v'));
      expect((await readdir(join(dir, '#writers'))).length).toBe(1);
      await d.close();
      expect(await readdir(join(dir, '#writers'))).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('two adapters on one directory exclude each other', async () => {
    const { dir, cleanup } = await makeTempDir('lock');
    try {
      const a = nodeFsAdapter({ dir });
      const b = nodeFsAdapter({ dir });
      let inside = 0;
      let max = 0;
      const hold = (x: typeof a) =>
        x.lock('idx', async () => {
          inside++;
          max = Math.max(max, inside);
          await new Promise((r) => setTimeout(r, 10));
          inside--;
        });
      await Promise.all([hold(a), hold(b), hold(a), hold(b), hold(b)]);
      expect(max).toBe(1);
      expect(await readdir(join(dir, '#locks'))).toEqual([]);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await cleanup();
    }
  });

  it('takes over a lock whose holder died, or that has no heartbeat; waits for a live one', async () => {
    const { dir, cleanup } = await makeTempDir('stale');
    try {
      await mkdir(join(dir, '#locks'), { recursive: true });
      const lockFile = join(dir, '#locks', 'idx.lock');
      const a = nodeFsAdapter({ dir, staleLockMs: 2000 });
      // Holder died on this host: taken over at once.
      await writeFile(lockFile, JSON.stringify({ host: hostname(), pid: deadPid(), token: 't1', created: Date.now() }));
      const t0 = Date.now();
      expect(await a.lock('idx', async () => 'mine', { timeoutMs: 1000 })).toBe('mine');
      expect(Date.now() - t0).toBeLessThan(900);
      // Holder on another host, silent for longer than staleLockMs: taken over.
      await writeFile(lockFile, JSON.stringify({ host: 'elsewhere', pid: 1, token: 't2', created: 0 }));
      const old = new Date(Date.now() - 10_000);
      await utimes(lockFile, old, old);
      expect(await a.lock('idx', async () => 'again', { timeoutMs: 1000 })).toBe('again');
      // A fresh lock of another host is respected: LOCK_TIMEOUT, and the holder's file is untouched.
      await writeFile(lockFile, JSON.stringify({ host: 'elsewhere', pid: 1, token: 't3', created: Date.now() }));
      expect(await codeOf(a.lock('idx', async () => 'no', { timeoutMs: 200 }))).toBe('LOCK_TIMEOUT');
      expect(JSON.parse(await readFile(lockFile, 'utf8')).token).toBe('t3');
      // A torn lock file is judged by age alone.
      await writeFile(lockFile, '{"host":');
      await utimes(lockFile, old, old);
      expect(await a.lock('idx', async () => 'torn', { timeoutMs: 1000 })).toBe('torn');
      const signal = AbortSignal.abort();
      expect(await codeOf(a.lock('idx', async () => 1, { signal }))).toBe('ABORTED');
      expect(await codeOf(a.lock('../x', async () => 1))).toBe('INVALID_ARGUMENT');
      await a.close();
    } finally {
      await cleanup();
    }
  });

  it('a long holder keeps its lock alive with a heartbeat', async () => {
    const { dir, cleanup } = await makeTempDir('beat');
    try {
      const a = nodeFsAdapter({ dir, staleLockMs: 200 });
      const b = nodeFsAdapter({ dir, staleLockMs: 200 });
      let bInside = false;
      let overlap = false;
      const long = a.lock('idx', async () => {
        await new Promise((r) => setTimeout(r, 600));
        overlap = bInside;
      });
      await new Promise((r) => setTimeout(r, 50));
      const other = b.lock('idx', async () => {
        bInside = true;
      }, { timeoutMs: 5000 });
      await Promise.all([long, other]);
      expect(overlap).toBe(false);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await cleanup();
    }
  });
});

describe('node-fs: the Windows rename rule', () => {
  const failingRename = (base: FsLike) =>
    instrumented(base, {
      rename: (_from, to) => {
        let exists = true;
        try {
          (base as unknown as { statSync(p: string): unknown }).statSync(to);
        } catch {
          exists = false;
        }
        if (exists) throw Object.assign(new Error('EPERM: operation not permitted, rename'), { code: 'EPERM' });
      },
    }).fs;

  it('a failed rename onto an existing object counts as success only if its bytes hash to its name', async () => {
    const base = createFsFromVolume(new Volume()) as unknown as FsLike;
    const a = nodeFsAdapter({ dir: '/w', fs: failingRename(base), platform: 'win32', sweep: false });
    const bytes = enc.encode('{"a":1}');
    const hash = createHash('sha256').update(bytes).digest('hex');
    await a.write(objectKey(hash), bytes);
    await a.write(objectKey(hash), bytes); // rename fails, existing bytes are right: success
    expect(new TextDecoder().decode(await a.read(objectKey(hash)))).toBe('{"a":1}');
    // Damaged existing object: the failure stands.
    (base as unknown as { writeFileSync(p: string, d: string): void }).writeFileSync(`/w/${objectKey(hash)}`, '{"a":2}');
    expect(await codeOf(a.write(objectKey(hash), bytes))).toBe('BACKEND_FAILURE');
    // Not an object: the failure stands.
    await a.write('index.json', enc.encode('1'));
    expect(await codeOf(a.write('index.json', enc.encode('2')))).toBe('BACKEND_FAILURE');
    const left = (base as unknown as { readdirSync(p: string): string[] }).readdirSync(`/w/objects/${hash.slice(0, 2)}/${hash.slice(2, 4)}`);
    expect(left.filter((n) => String(n).includes('#'))).toEqual([]);
  });

  it('the same failure on Linux is an error whatever the bytes', async () => {
    const base = createFsFromVolume(new Volume()) as unknown as FsLike;
    const a = nodeFsAdapter({ dir: '/w', fs: failingRename(base), platform: 'linux', sweep: false });
    const bytes = enc.encode('{"a":1}');
    const hash = createHash('sha256').update(bytes).digest('hex');
    await a.write(objectKey(hash), bytes);
    expect(await codeOf(a.write(objectKey(hash), bytes))).toBe('BACKEND_FAILURE');
  });
});

describe('node-fs: typed errors', () => {
  it('disk full is QUOTA_EXCEEDED and leaves the old value and no temp file', async () => {
    const base = createFsFromVolume(new Volume()) as unknown as FsLike;
    let full = false;
    const { fs } = instrumented(base, {
      write: () => {
        if (full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
    });
    const a = nodeFsAdapter({ dir: '/q', fs, sweep: false });
    await a.write('k/v', enc.encode('old'));
    full = true;
    expect(await codeOf(a.write('k/v', enc.encode('new')))).toBe('QUOTA_EXCEEDED');
    expect(await codeOf(a.writeMany!([{ key: 'k/w', bytes: enc.encode('new') }]))).toBe('QUOTA_EXCEEDED');
    expect(await codeOf(a.create!('k/z', enc.encode('new')))).toBe('QUOTA_EXCEEDED');
    expect(new TextDecoder().decode(await a.read('k/v'))).toBe('old');
    expect((base as unknown as { readdirSync(p: string): string[] }).readdirSync('/q/k')).toEqual(['v']);
  });

  it('refuses a missing dir with INVALID_ARGUMENT; other failures are BACKEND_FAILURE with the cause', async () => {
    expect(() => nodeFsAdapter({} as { dir: string })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const { dir, cleanup } = await makeTempDir('err');
    try {
      await writeFile(join(dir, 'file'), 'x');
      const a = nodeFsAdapter({ dir });
      let caught: unknown;
      try {
        await a.write('file/below', enc.encode('y'));
      } catch (e) {
        caught = e;
      }
      expect(isArchiveStorageError(caught, 'BACKEND_FAILURE')).toBe(true);
      expect((caught as Error).cause).toBeDefined();
      expect((caught as Error).message).toContain('node-fs');
      expect(await a.read('file/below')).toBeUndefined();
      await a.close();
      expect(await codeOf(a.read('file'))).toBe('CLOSED');
    } finally {
      await cleanup();
    }
  });
});

describe('writeFileAtomic', () => {
  it('writes, replaces, creates parents, leaves no temp file; abort keeps the old bytes', async () => {
    const { dir, cleanup } = await makeTempDir('wfa');
    try {
      const file = join(dir, 'deep', 'er', 'backup.json');
      await writeFileAtomic(file, '{"v":1}');
      expect(await readFile(file, 'utf8')).toBe('{"v":1}');
      await writeFileAtomic(file, enc.encode('{"v":2}'), { durable: false });
      expect(await readFile(file, 'utf8')).toBe('{"v":2}');
      expect(await codeOf(writeFileAtomic(file, 'new', { signal: AbortSignal.abort() }))).toBe('ABORTED');
      expect(await readFile(file, 'utf8')).toBe('{"v":2}');
      expect(await readdir(join(dir, 'deep', 'er'))).toEqual(['backup.json']);
      expect(await codeOf(writeFileAtomic('', 'x'))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(writeFileAtomic(join(file, 'under-a-file'), 'x'))).toBe('BACKEND_FAILURE');
    } finally {
      await cleanup();
    }
  });

  it('works on an injected fs', async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FsLike;
    await writeFileAtomic('/m/out.json', 'hello', { fs });
    expect((fs as unknown as { readFileSync(p: string, e: string): string }).readFileSync('/m/out.json', 'utf8')).toBe('hello');
  });
});
