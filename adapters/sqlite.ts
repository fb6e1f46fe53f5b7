/**
 * The SQLite adapter (Node): every key is one row of a real database file,
 * through `better-sqlite3`.
 *
 * - `better-sqlite3` is an optional dependency, imported lazily when an adapter
 *   is opened, so the core and browser bundles never need a native build. When
 *   it is missing, opening rejects with `DependencyMissingError` saying what to
 *   install.
 * - WAL journal, prepared statements, `writeMany` in one transaction (one
 *   durability barrier for the whole batch).
 * - Durability: `strict` (default) runs `synchronous=FULL`, so a resolved write
 *   survives power loss; `relaxed` runs `synchronous=NORMAL`, which in WAL mode
 *   survives a crash of the process but may lose the last commits on power loss.
 * - `list(prefix)` pages with keyset pagination on the primary key: never more
 *   than one page of keys in memory, and safe against writes during iteration.
 * - `lock` is a lease in a `locks` table, taken with `BEGIN IMMEDIATE`, renewed
 *   by a heartbeat and taken over when stale: exclusion across connections and
 *   processes sharing the file.
 *
 * One connection per adapter: better-sqlite3 is synchronous and each statement
 * takes microseconds, so a pool of connections in one JS thread would only add
 * contention; WAL already lets other processes read while this one writes.
 *
 * Built on `defineAdapter` (closed, aborted, keys and bytes checked before a
 * statement runs; every failure through `wrapError`). The data calls answer
 * synchronously, as better-sqlite3 does, so the wrapper adds no await tick.
 *
 * Table layout (`PRAGMA user_version = 1`):
 * `entries(key TEXT PRIMARY KEY, bytes BLOB)` and
 * `locks(name TEXT PRIMARY KEY, owner TEXT, expires_at INTEGER)`.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import type BetterSqlite3 from 'better-sqlite3';
import type { AdapterCapabilities, LockOptions, StorageAdapter, StorageEstimate, WriteEntry } from '../src/adapter/contract.js';
import { defineAdapter } from '../src/adapter/define.js';
import {
  ArchiveStorageError,
  BackendError,
  ClosedError,
  DependencyMissingError,
  InvalidArgumentError,
  LockTimeoutError,
  QuotaExceededError,
  UnsupportedVersionError,
  throwIfAborted,
} from '../src/errors.js';
import { sleep } from '../src/internal/abort.js';
import { KeyedMutex } from '../src/internal/mutex.js';
import { randomHex } from '../src/internal/random-id.js';
import { processId } from '../src/platform.js';

/** Options of {@link sqliteAdapter}. */
export interface SqliteAdapterOptions {
  /** Path of the database file; created with its tables when missing. `':memory:'` for a scratch database. */
  file: string;
  /**
   * `strict` (default): `synchronous=FULL`, each commit is fsynced and survives power loss.
   * `relaxed`: `synchronous=NORMAL`, survives a process crash; a power loss may drop the last commits
   * (never corrupts the file). Faster for single writes; batches (`writeMany`) cost the same either way.
   */
  durability?: 'strict' | 'relaxed';
  /** How long a statement waits for another connection's write lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Keys fetched per page by `list` (default 512). */
  listPageSize?: number;
  /** Lease of a `lock`: a holder that stops renewing it (crashed) loses it after this long (default 30 s). */
  lockTtlMs?: number;
}

/** The default wait of `lock` before `LockTimeoutError`. */
const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const SCHEMA_VERSION = 1;
/** Every key character is below DEL, so `prefix + DEL` bounds the keys that start with `prefix`. */
const PREFIX_END = '\u007f';

type DatabaseConstructor = typeof BetterSqlite3;
type Database = BetterSqlite3.Database;

/**
 * Opens (creating when missing) a SQLite database file as a storage adapter.
 * Rejects with `DependencyMissingError` when `better-sqlite3` is not installed,
 * `BackendError` when the file is not a usable database, and
 * `UnsupportedVersionError` when it was written by a newer release.
 */
export async function sqliteAdapter(options: SqliteAdapterOptions): Promise<StorageAdapter> {
  const config = checkOptions(options);
  const Driver = (await _loadDriver()) as DatabaseConstructor;
  const db = openDatabase(Driver, config);
  return makeAdapter(db, config);
}

interface Config {
  file: string;
  durability: 'strict' | 'relaxed';
  busyTimeoutMs: number;
  listPageSize: number;
  lockTtlMs: number;
}

function checkOptions(options: SqliteAdapterOptions): Config {
  if (!options || typeof options.file !== 'string' || options.file === '') {
    throw new InvalidArgumentError('sqlite: `file` must be the path of the database file (or ":memory:")');
  }
  const durability = options.durability ?? 'strict';
  if (durability !== 'strict' && durability !== 'relaxed') {
    throw new InvalidArgumentError(`sqlite: durability must be 'strict' or 'relaxed', not ${JSON.stringify(durability)}`);
  }
  return {
    file: options.file,
    durability,
    busyTimeoutMs: positiveInt('busyTimeoutMs', options.busyTimeoutMs, 5000, 0),
    listPageSize: positiveInt('listPageSize', options.listPageSize, 512, 1),
    lockTtlMs: positiveInt('lockTtlMs', options.lockTtlMs, 30_000, 100),
  };
}

function positiveInt(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`sqlite: ${name} must be an integer >= ${min}, not ${String(value)}`);
  }
  return value;
}

/**
 * Imports better-sqlite3 (or what `importer` gives) and returns its Database
 * constructor, mapping "not installed" to `DependencyMissingError`. Internal:
 * exported for the tests; typed `unknown` so the published declarations never
 * need better-sqlite3's types.
 */
export async function _loadDriver(importer: () => Promise<unknown> = () => import('better-sqlite3')): Promise<unknown> {
  let mod: unknown;
  try {
    mod = await importer();
  } catch (e) {
    throw new DependencyMissingError(
      'sqlite: the optional dependency better-sqlite3 is not installed (or could not be loaded); ' +
        'run `npm install better-sqlite3` (it needs a prebuilt binary or python3, make and a C++ compiler)',
      { cause: e },
    );
  }
  const Driver = (mod as { default?: unknown }).default ?? mod;
  if (typeof Driver !== 'function') {
    throw new DependencyMissingError('sqlite: the module better-sqlite3 does not export a Database constructor; reinstall it with `npm install better-sqlite3`');
  }
  return Driver;
}

/** Errors that mean the native addon, not the database, failed to load. */
const NATIVE_LOAD_FAILURE = /bindings|NODE_MODULE_VERSION|compiled against|\.node\b|ELF|dlopen/i;

function openDatabase(Driver: DatabaseConstructor, config: Config): Database {
  let db: Database;
  try {
    db = new Driver(config.file, { timeout: config.busyTimeoutMs });
  } catch (e) {
    if (!(e instanceof Error && 'code' in e && String(e.code).startsWith('SQLITE')) && e instanceof Error && NATIVE_LOAD_FAILURE.test(e.message)) {
      throw new DependencyMissingError(
        `sqlite: better-sqlite3 is installed but its native module failed to load (${e.message}); run \`npm rebuild better-sqlite3\``,
        { cause: e },
      );
    }
    throw wrapError(e, `open ${config.file}`);
  }
  try {
    initSchema(db, config);
    return db;
  } catch (e) {
    db.close();
    throw e instanceof ArchiveStorageError ? e : wrapError(e, `open ${config.file}`);
  }
}

function initSchema(db: Database, config: Config): void {
  if (config.file !== ':memory:') {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new BackendError(`sqlite: ${config.file} could not switch to WAL journal mode (got ${String(mode)})`);
  }
  db.pragma(`synchronous = ${config.durability === 'strict' ? 'FULL' : 'NORMAL'}`);
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version > SCHEMA_VERSION) {
    throw new UnsupportedVersionError(
      String(version),
      `sqlite: ${config.file} has schema version ${version}; this release reads version ${SCHEMA_VERSION}. Upgrade archive-storage.`,
    );
  }
  if (version < SCHEMA_VERSION) {
    db.transaction(() => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY NOT NULL, bytes BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY NOT NULL, owner TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
        PRAGMA user_version = ${SCHEMA_VERSION};
      `);
    }).immediate();
  }
}

/** Wraps a SQLite failure in the SDK's typed errors, naming what was being done. */
function wrapError(e: unknown, what: string): ArchiveStorageError {
  if (e instanceof ArchiveStorageError) return e;
  const code = e instanceof Error && 'code' in e ? String((e as { code: unknown }).code) : '';
  const detail = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_FULL') return new QuotaExceededError(`sqlite: ${what}: the disk or database is full (${detail})`, { cause: e });
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new BackendError(`sqlite: ${what}: the database is locked by another connection for longer than busyTimeoutMs (${detail})`, { cause: e });
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new BackendError(`sqlite: ${what}: the file is not a SQLite database or is damaged (${detail})`, { cause: e });
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM')) {
    return new BackendError(`sqlite: ${what}: cannot open or write the database file; check the path and its permissions (${detail})`, { cause: e });
  }
  return new BackendError(`sqlite: ${what} failed: ${detail}`, { cause: e });
}

/** A Buffer view of `bytes` (no copy): SQLite copies bound blobs itself. */
const asBlob = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const utf8 = new TextEncoder();
/**
 * The bytes of a stored value: a plain Uint8Array over the fresh Buffer better-sqlite3 returns for a
 * BLOB. A row another tool wrote as TEXT (SQLite columns are loosely typed) reads as its UTF-8 bytes;
 * anything else (a number, NULL) is not bytes and is refused.
 */
function fromBlob(value: unknown, key: string): Uint8Array {
  if (Buffer.isBuffer(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return utf8.encode(value);
  throw new BackendError(`sqlite: read ${key}: the row holds a ${value === null ? 'NULL' : typeof value}, not bytes; it was not written by this adapter`);
}

function makeAdapter(db: Database, config: Config): StorageAdapter {
  const capabilities: AdapterCapabilities = Object.freeze({
    writeMany: true,
    create: true,
    append: true,
    locking: true,
    quota: true,
    durability: config.file === ':memory:' ? 'none' : config.durability,
    hasMany: true,
    atomicBatch: true,
    deleteMany: true,
  });

  const sql = {
    read: db.prepare<[string], unknown>('SELECT bytes FROM entries WHERE key = ?').pluck(),
    has: db.prepare<[string], number>('SELECT 1 FROM entries WHERE key = ?').pluck(),
    upsert: db.prepare<[string, Buffer]>('INSERT INTO entries (key, bytes) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET bytes = excluded.bytes'),
    create: db.prepare<[string, Buffer]>('INSERT OR IGNORE INTO entries (key, bytes) VALUES (?, ?)'),
    delete: db.prepare<[string]>('DELETE FROM entries WHERE key = ?'),
    firstPage: db.prepare<[string, string, number], string>('SELECT key FROM entries WHERE key >= ? AND key < ? ORDER BY key LIMIT ?').pluck(),
    nextPage: db.prepare<[string, string, number], string>('SELECT key FROM entries WHERE key > ? AND key < ? ORDER BY key LIMIT ?').pluck(),
    lockRow: db.prepare<[string], { owner: string; expires_at: number }>('SELECT owner, expires_at FROM locks WHERE name = ?'),
    lockTake: db.prepare<[string, string, number]>('INSERT OR REPLACE INTO locks (name, owner, expires_at) VALUES (?, ?, ?)'),
    lockRenew: db.prepare<[number, string, string]>('UPDATE locks SET expires_at = ? WHERE name = ? AND owner = ?'),
    lockRelease: db.prepare<[string, string]>('DELETE FROM locks WHERE name = ? AND owner = ?'),
  };

  const writeAll = db.transaction((entries: readonly WriteEntry[]) => {
    for (const { key, bytes } of entries) sql.upsert.run(key, asBlob(bytes));
  });
  const deleteAll = db.transaction((keys: readonly string[]) => {
    for (const key of keys) sql.delete.run(key);
  });
  /** Every lookup of a hasMany in one read transaction: one consistent snapshot, one lock round. */
  const hasAll = db.transaction((keys: readonly string[]) => keys.map((key) => sql.has.get(key) !== undefined));
  const appendOne = db.transaction((key: string, bytes: Uint8Array) => {
    const old = sql.read.get(key);
    const joined = old === undefined ? asBlob(bytes) : Buffer.concat([fromBlob(old, key), bytes]);
    sql.upsert.run(key, joined);
  });
  /** One attempt to take the lease `name`: free or stale leases are taken over. */
  const tryTakeLease = db.transaction((name: string, owner: string, now: number): { owner: string; expires_at: number } | undefined => {
    const row = sql.lockRow.get(name);
    if (row && row.expires_at > now && row.owner !== owner) return row;
    sql.lockTake.run(name, owner, now + config.lockTtlMs);
    return undefined;
  });

  const label = `sqlite adapter on ${config.file}`;
  const localLocks = new KeyedMutex();
  const heartbeats = new Set<ReturnType<typeof setInterval>>();
  /** Set by close: a lease poll, a heartbeat or a listing between pages stops here. */
  let closed = false;
  const throwIfClosed = () => {
    if (closed) throw new ClosedError(`${label} is closed`);
  };
  /** Runs one synchronous database step, wrapping its failure as `<op> <subject>` (built only on failure). */
  const run = <T>(op: string, subject: string, step: () => T): T => {
    try {
      return step();
    } catch (e) {
      throw wrapError(e, subject === '' ? op : `${op} ${subject}`);
    }
  };

  /** Takes the cross-connection lease, polling with backoff until `deadline`. */
  async function takeLease(name: string, owner: string, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    let pause = 5;
    for (;;) {
      throwIfAborted(signal);
      throwIfClosed();
      let holder: { owner: string; expires_at: number } | undefined;
      try {
        holder = tryTakeLease.immediate(name, owner, Date.now());
      } catch (e) {
        // Another connection holds the write lock past busyTimeoutMs: the lease is busy, try again.
        if (!String((e as { code?: unknown }).code).startsWith('SQLITE_BUSY')) throw wrapError(e, `lock ${name}`);
        holder = { owner: 'another connection (database busy)', expires_at: Date.now() };
      }
      if (!holder) return;
      const now = Date.now();
      if (now >= deadline) {
        throw new LockTimeoutError(
          `sqlite: lock "${name}" on ${config.file} is held by ${holder.owner} ` +
            `(lease ends in ${Math.max(0, holder.expires_at - now)} ms unless renewed); gave up waiting`,
        );
      }
      await sleep(Math.min(pause * (0.5 + Math.random()), deadline - now), signal);
      pause = Math.min(pause * 2, 200);
    }
  }

  /** Holds the lease `name` while `fn` runs, renewing it on a heartbeat. */
  async function withLease<T>(name: string, fn: () => Promise<T>, deadline: number, signal: AbortSignal | undefined): Promise<T> {
    const owner = newOwnerToken();
    await takeLease(name, owner, deadline, signal);
    const renew = setInterval(() => {
      // A failed renewal (database busy) is retried on the next beat; the lease lasts lockTtlMs.
      try {
        if (!closed) sql.lockRenew.run(Date.now() + config.lockTtlMs, name, owner);
      } catch {
        /* next beat */
      }
    }, Math.max(50, Math.floor(config.lockTtlMs / 3)));
    (renew as { unref?: () => void }).unref?.();
    heartbeats.add(renew);
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      heartbeats.delete(renew);
      if (!closed) run('release lock', name, () => sql.lockRelease.run(name, owner));
    }
  }

  return defineAdapter({
    name: 'sqlite',
    label,
    capabilities,
    mapError: wrapError,
    read(key) {
      const blob = sql.read.get(key);
      return blob === undefined ? undefined : fromBlob(blob, key);
    },
    has(key) {
      return sql.has.get(key) !== undefined;
    },
    hasMany(keys) {
      return keys.length === 0 ? [] : hasAll(keys);
    },
    write(key, bytes) {
      sql.upsert.run(key, asBlob(bytes));
    },
    writeMany(entries) {
      if (entries.length > 0) writeAll(entries);
    },
    create(key, bytes) {
      return sql.create.run(key, asBlob(bytes)).changes === 1;
    },
    append(key, bytes) {
      appendOne.immediate(key, bytes);
    },
    delete(key) {
      sql.delete.run(key);
    },
    deleteMany(keys) {
      if (keys.length > 0) deleteAll(keys);
    },
    async *list(prefix, opts) {
      const end = prefix + PREFIX_END;
      let page = run('list', prefix, () => sql.firstPage.all(prefix, end, config.listPageSize));
      while (page.length > 0) {
        for (const key of page) {
          throwIfAborted(opts?.signal);
          yield key;
        }
        if (page.length < config.listPageSize) return;
        throwIfClosed();
        throwIfAborted(opts?.signal);
        const last = page[page.length - 1]!;
        page = run('list', prefix, () => sql.nextPage.all(last, end, config.listPageSize));
      }
    },
    lock<T>(name: string, fn: () => Promise<T>, opts?: LockOptions): Promise<T> {
      if (typeof name !== 'string' || name === '' || name.length > 512) {
        throw new InvalidArgumentError('sqlite: a lock name must be a non-empty string of at most 512 characters');
      }
      const timeoutMs = opts?.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
      const deadline = Date.now() + timeoutMs;
      const signal = opts?.signal;
      // Holders in this process queue on an in-memory mutex first, so only one of them polls the table.
      return localLocks.run(name, () => withLease(name, fn, deadline, signal), { signal, timeoutMs });
    },
    async estimate(): Promise<StorageEstimate> {
      const pages = Number(db.pragma('page_count', { simple: true }));
      const pageSize = Number(db.pragma('page_size', { simple: true }));
      return { usage: pages * pageSize };
    },
    async close() {
      closed = true;
      for (const h of heartbeats) clearInterval(h);
      heartbeats.clear();
      db.close();
    },
  });
}

/** A lease owner id unique across processes: pid (when there is one) and random bits. */
function newOwnerToken(): string {
  return `pid ${processId() ?? 0}/${randomHex(8)}`;
}
