import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { _loadDriver, sqliteAdapter } from '../adapters/sqlite.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { isArchiveStorageError } from '../src/errors.js';
import { openArchive } from '../src/archive/index.js';
import { sha256Hex } from '../src/hash.js';
import { runAdapterConformance } from '../src/testing/index.js';

/** The statement docs/sqlite-s3.md gives for databases of the original scaffold (kept identical to it). */
const MIGRATION_SQL = `INSERT OR IGNORE INTO entries (key, bytes)
  SELECT 'objects/' || substr(hash, 1, 2) || '/' || substr(hash, 3, 2) || '/' || hash || '.json', CAST(payload AS BLOB)
  FROM objects;`;

const root = mkdtempSync(join(tmpdir(), 'sqlite-adapter-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(root, `db-${++n}.sqlite`);
const enc = new TextEncoder();

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isArchiveStorageError(e) ? e.code : `not an archive error: ${String(e)}`;
  }
  return undefined;
}

async function collect(iter: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of iter) out.push(k);
  return out;
}

runAdapterConformance('sqlite (file on disk, durability strict)', async () => {
  const file = freshFile();
  return { adapter: await sqliteAdapter({ file }), reopen: () => sqliteAdapter({ file }) };
});

// Small pages so that every list in the suite crosses page boundaries.
runAdapterConformance(
  'sqlite (relaxed, 7-key pages)',
  async () => {
    const file = freshFile();
    return { adapter: await sqliteAdapter({ file, durability: 'relaxed', listPageSize: 7 }), reopen: () => sqliteAdapter({ file }) };
  },
  { largeBytes: 1024 * 1024, manyKeys: 500 },
);

describe('sqlite adapter', () => {
  it('runs WAL and declares the durability it was asked for', async () => {
    for (const durability of ['strict', 'relaxed'] as const) {
      const file = freshFile();
      const a = await sqliteAdapter({ file, durability });
      expect(a.capabilities.durability).toBe(durability);
      await a.write('k', enc.encode('v'));
      const probe = new Database(file);
      expect(probe.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(probe.prepare('SELECT count(*) FROM entries').pluck().get()).toBe(1);
      probe.close();
      await a.close?.();
    }
  });

  it('a missing better-sqlite3 is DEPENDENCY_MISSING naming the install command', async () => {
    const missing = 'better-sqlite3-that-is-not-installed';
    let caught: unknown;
    try {
      await _loadDriver(() => import(/* @vite-ignore */ missing));
    } catch (e) {
      caught = e;
    }
    expect(isArchiveStorageError(caught, 'DEPENDENCY_MISSING')).toBe(true);
    expect((caught as Error).message).toContain('npm install better-sqlite3');
    expect((caught as Error).cause).toBeDefined();
    expect(await codeOf(_loadDriver(async () => ({ default: 42 })))).toBe('DEPENDENCY_MISSING');
  });

  it('refuses bad options with INVALID_ARGUMENT', async () => {
    expect(await codeOf(sqliteAdapter({ file: '' }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(sqliteAdapter({ file: freshFile(), durability: 'fast' as never }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(sqliteAdapter({ file: freshFile(), listPageSize: 0 }))).toBe('INVALID_ARGUMENT');
  });

  it('a file that is not a database is BACKEND_FAILURE and stays untouched', async () => {
    const file = freshFile();
    writeFileSync(file, 'this is not a database, it is a text file that is long enough to have a header'.repeat(20));
    const before = readFileSync(file);
    let caught: unknown;
    try {
      await sqliteAdapter({ file });
    } catch (e) {
      caught = e;
    }
    expect(isArchiveStorageError(caught, 'BACKEND_FAILURE')).toBe(true);
    expect((caught as Error).message).toMatch(/not a SQLite database/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('a database from a newer schema is UNSUPPORTED_VERSION', async () => {
    const file = freshFile();
    const db = new Database(file);
    db.pragma('user_version = 9');
    db.close();
    expect(await codeOf(sqliteAdapter({ file }))).toBe('UNSUPPORTED_VERSION');
  });

  it('writeMany is one transaction: a failure in the middle leaves none of the batch', async () => {
    const file = freshFile();
    const a = await sqliteAdapter({ file });
    await a.write('keep', enc.encode('old'));
    // A real SQLite failure half-way through the batch: a trigger that aborts on one key.
    const db = new Database(file);
    db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON entries WHEN NEW.key = 'b/poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END`);
    db.close();
    const entries = [
      { key: 'b/1', bytes: enc.encode('1') },
      { key: 'keep', bytes: enc.encode('new') },
      { key: 'b/poison', bytes: enc.encode('x') },
      { key: 'b/3', bytes: enc.encode('3') },
    ];
    expect(await codeOf(a.writeMany!(entries))).toBe('BACKEND_FAILURE');
    expect(await a.has('b/1')).toBe(false);
    expect(await a.read('keep')).toEqual(enc.encode('old'));
    expect(await collect(a.list(''))).toEqual(['keep']);
    await a.close?.();
  });

  it('list pages by key and tolerates writes and deletes during iteration', async () => {
    const a = await sqliteAdapter({ file: freshFile(), listPageSize: 3 });
    for (let i = 0; i < 20; i++) await a.write(`p/${String(i).padStart(2, '0')}`, enc.encode(String(i)));
    await a.write('p', enc.encode('exact prefix'));
    await a.write('q/0', enc.encode('other'));
    const seen: string[] = [];
    for await (const k of a.list('p')) {
      seen.push(k);
      if (k === 'p/04') {
        await a.delete('p/10'); // not yet listed: must not appear
        await a.write('p/99', enc.encode('late')); // after the cursor: appears once
      }
    }
    expect(seen[0]).toBe('p');
    expect(seen).not.toContain('p/10');
    expect(seen.filter((k) => k === 'p/99')).toHaveLength(1);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(21);
    await a.close?.();
  });

  it('list(prefix) is exactly the keys under the prefix, in byte order, whatever sorts next to it', async () => {
    // The archive lists journal/, index/ and changes/ on every fold: a key range that leaked
    // (journal0, index.json) or stopped short (keys ending in '~', the highest key character)
    // would fold foreign rows or miss segments; a LIKE pattern would read '_' as a wildcard.
    const a = await sqliteAdapter({ file: freshFile(), listPageSize: 2 });
    const keys = [
      'journal', 'journal0', 'journal.x', 'journal-', 'journalZ/1', 'journal/a', 'journal/0', 'journal/~', 'journal/~~/x', 'journal/_-.~',
      'index.json', 'index0', 'index/r1/p', 'index/~', 'a_b/1', 'axb/1', 'a_b', 'a_bc/1',
    ];
    for (const k of keys) await a.write(k, enc.encode(k));
    const under = (prefix: string) => keys.filter((k) => k.startsWith(prefix)).sort();
    for (const prefix of ['journal/', 'index/', 'a_b/', 'journal', 'index', '']) {
      expect(await collect(a.list(prefix)), prefix).toEqual(under(prefix));
    }
    expect(await collect(a.list('journal/'))).toEqual(['journal/0', 'journal/_-.~', 'journal/a', 'journal/~', 'journal/~~/x']);
    expect(await collect(a.list('a_b/'))).toEqual(['a_b/1']);
    await a.close?.();
  });

  it('append survives reopen and a closed adapter refuses calls with CLOSED', async () => {
    const file = freshFile();
    const a = await sqliteAdapter({ file });
    await a.append!('log', enc.encode('ab'));
    await a.append!('log', new Uint8Array([0, 255, 0]));
    await a.close?.();
    expect(await codeOf(a.read('log'))).toBe('CLOSED');
    const b = await sqliteAdapter({ file });
    expect(await b.read('log')).toEqual(new Uint8Array([97, 98, 0, 255, 0]));
    expect((await b.estimate!()).usage).toBeGreaterThan(0);
    await b.close?.();
  });

  it('a row another tool wrote as TEXT reads as its UTF-8 bytes; a number is refused with BACKEND_FAILURE', async () => {
    const file = freshFile();
    const a = await sqliteAdapter({ file });
    const db = new Database(file);
    db.prepare('INSERT INTO entries (key, bytes) VALUES (?, ?), (?, ?)').run('text', '{"é":1}', 'number', 42);
    db.close();
    expect(await a.read('text')).toEqual(enc.encode('{"é":1}'));
    expect(await codeOf(a.read('number'))).toBe('BACKEND_FAILURE');
    expect(await a.has('number')).toBe(true);
    await a.close?.();
  });

  it('the migration in docs/sqlite-s3.md moves the original scaffold objects table into a verifiable archive', async () => {
    const file = freshFile();
    const legacy = new Database(file);
    legacy.exec('CREATE TABLE objects (hash TEXT PRIMARY KEY, payload TEXT NOT NULL, stored_at INTEGER NOT NULL, size INTEGER NOT NULL)');
    const payloads = ['{"a":1}', '{"b":[1,2,"x"]}', '"just a string"'];
    const insert = legacy.prepare('INSERT INTO objects VALUES (?, ?, ?, ?)');
    for (const p of payloads) insert.run(sha256Hex(p), p, 1_700_000_000, p.length);
    legacy.close();
    const adapter = await sqliteAdapter({ file }); // creates the entries table beside the old one
    const db = new Database(file);
    db.exec(MIGRATION_SQL);
    db.close();
    const archive = await openArchive(adapter);
    expect((await archive.verify()).ok).toBe(true);
    expect(await archive.get(sha256Hex(payloads[1]!))).toEqual({ b: [1, 2, 'x'] });
    expect((await archive.stats()).count).toBe(3);
    await archive.close();
    await adapter.close?.();
  });

  describe('lock across connections', () => {
    it('two adapters on one file exclude each other', async () => {
      const file = freshFile();
      const [a, b] = [await sqliteAdapter({ file }), await sqliteAdapter({ file })];
      let inside = 0;
      let maxInside = 0;
      const hold = (adapter: StorageAdapter) =>
        adapter.lock!('shared', async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setTimeout(r, 15));
          inside--;
        });
      await Promise.all([hold(a), hold(b), hold(a), hold(b), hold(a), hold(b)]);
      expect(maxInside).toBe(1);
      await a.close?.();
      await b.close?.();
    });

    it('a held lease times out the other connection with LOCK_TIMEOUT; a stale one is taken over', async () => {
      const file = freshFile();
      const a = await sqliteAdapter({ file, lockTtlMs: 300 });
      const b = await sqliteAdapter({ file, lockTtlMs: 300 });
      let release!: () => void;
      let entered!: () => void;
      const holding = new Promise<void>((r) => (entered = r));
      const held = a.lock!('L', () => new Promise<void>((r) => ((release = r), entered())));
      await holding; // a fixed 20 ms before was a guess that the lease had been taken
      // a renews its lease while it holds it, so waiting past the TTL is still not enough.
      expect(await codeOf(b.lock!('L', async () => 1, { timeoutMs: 500 }))).toBe('LOCK_TIMEOUT');
      release();
      await held;
      expect(await b.lock!('L', async () => 'free', { timeoutMs: 500 })).toBe('free');

      // A holder that died without releasing (its row stays, nobody renews it).
      const db = new Database(file);
      db.prepare('INSERT OR REPLACE INTO locks (name, owner, expires_at) VALUES (?, ?, ?)').run('L', 'pid 999999/dead', Date.now() + 200);
      db.close();
      const t0 = Date.now();
      expect(await b.lock!('L', async () => 'taken over', { timeoutMs: 2000 })).toBe('taken over');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      // Waiting for a held lease ends with ABORTED when the signal fires.
      let releaseAgain!: () => void;
      const heldAgain = a.lock!('L', () => new Promise<void>((r) => (releaseAgain = r)));
      await new Promise((r) => setTimeout(r, 20));
      const ctl = new AbortController();
      const waiting = b.lock!('L', async () => 0, { signal: ctl.signal });
      setTimeout(() => ctl.abort(), 50);
      expect(await codeOf(waiting)).toBe('ABORTED');
      releaseAgain();
      await heldAgain;
      await a.close?.();
      await b.close?.();
    });
  });

  it('waits for another process holding the write lock, and fails with BACKEND_FAILURE past busyTimeoutMs', async () => {
    const file = freshFile();
    const a = await sqliteAdapter({ file, busyTimeoutMs: 3000 });
    const impatient = await sqliteAdapter({ file, busyTimeoutMs: 50 });
    // A real second process takes SQLite's write lock for 600 ms.
    const script = `
      const Database = require('better-sqlite3');
      const db = new Database(process.argv[1]);
      db.exec('BEGIN IMMEDIATE');
      db.prepare("INSERT INTO entries (key, bytes) VALUES ('other', x'01')").run();
      process.stdout.write('locked\\n');
      const until = Date.now() + 600; while (Date.now() < until) {}
      db.exec('COMMIT');
    `;
    const child = spawn(process.execPath, ['-e', script, file], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const failed = await codeOf(impatient.write('mine', enc.encode('x')));
    expect(failed).toBe('BACKEND_FAILURE');
    await a.write('mine', enc.encode('y'));
    expect(await a.read('other')).toEqual(new Uint8Array([1]));
    await new Promise((r) => child.once('exit', r));
    await a.close?.();
    await impatient.close?.();
  });
});
