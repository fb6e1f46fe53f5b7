// The archive on the SQLite adapter next to raw better-sqlite3 doing the same inserts and reads,
// in the same run, on files in a temp dir. Durability `strict` (synchronous=FULL, the adapter's
// default) and `relaxed` (NORMAL) are each compared with a raw connection using the same setting.
// Cases are interleaved round by round, so a load change on a shared machine hits every case alike.
//
// An archive folds its journal into the index (a compaction) AFTER the putMany that filled the
// journal has resolved, in the background, once per ~4096 records (3 putMany(2000)). A round that
// only timed `putMany` left that fold out of the archive's figure and charged it to whichever case
// ran next (the median then mostly picked rounds without one). So every batch case does
// BATCHES_PER_ROUND batches per round, and the archive cases wait for their own background work
// (`settle`) before their time stops: each archive round pays for exactly the folds it causes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { canonicalBytes, objectKey, openArchive, sha256Hex } from '../dist/index.js';
import { memoryAdapter } from '../dist/adapters/memory.js';
import { sqliteAdapter } from '../dist/adapters/sqlite.js';
import { fmt, median, table } from './lib.js';

const BATCH = 2000; // values per putMany / raw transaction
/** Batches per round of a batch case: 3 x 2000 values pass the fold threshold (4 x compactAfter = 4096 records) once. */
const BATCHES_PER_ROUND = 3;
const SINGLES = 200; // values per round of single puts / autocommit inserts (fsync-bound when strict)
const READS = 5000; // point reads per round
const ROUNDS = 7;

/** Distinct small JSON values (about 200 bytes canonical). */
function dataset(tag, count) {
  return Array.from({ length: count }, (_, i) => ({
    tag,
    i,
    name: `item ${i} of ${tag}`,
    tags: ['alpha', 'beta', String(i % 13)],
    meta: { created: 1_700_000_000 + i, score: i / 7, ok: i % 2 === 0 },
  }));
}

/** Fresh values (and their rows) for the warm-up (-1) and every round, made before any timing; `batches` lists of `count`. */
function perRound(tag, count, batches = 1) {
  const out = new Map();
  for (let r = -1; r < ROUNDS; r++) {
    const round = [];
    for (let b = 0; b < batches; b++) {
      const values = dataset(`${tag}-${r}-${b}`, count);
      const rows = values.map((v) => {
        const bytes = canonicalBytes(v);
        return { hash: sha256Hex(bytes), key: objectKey(sha256Hex(bytes)), bytes };
      });
      round.push({ values, rows });
    }
    out.set(r, batches === 1 ? round[0] : round);
  }
  return out;
}

/** A hash nothing stores: deleting it changes nothing and writes nothing. */
const ABSENT = '0'.repeat(64);

/**
 * Resolves once the archive's background work is done: a delete joins the commit queue behind
 * the fold (compaction) that the last commit started, and, the hash being absent, writes nothing.
 */
const settle = (archive) => archive.delete(ABSENT);

/**
 * Runs every case once per round (after one warm-up), in turn, in reverse order every other round
 * and starting one case later each round, so no case always follows the same neighbour (an
 * fsync-heavy case slows the next one); median ops/s per case.
 */
export async function interleaved(cases, rounds = ROUNDS) {
  return (await interleavedCpu(cases, rounds)).wall;
}

/**
 * {@link interleaved}, with each case's median ops per CPU second of this process beside its wall
 * rate (`cpu`): on a shared machine at load 10-20 the wall rates say as much about the neighbours
 * as about the case. CPU time leaves out waiting for the disk (an fsync), so a ratio of CPU rates
 * compares the work each case does, not the durability it waits for.
 */
export async function interleavedCpu(cases, rounds = ROUNDS) {
  for (const c of cases) await c.fn(-1);
  const rates = cases.map(() => []);
  const cpuRates = cases.map(() => []);
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < cases.length; j++) {
      const k = (j + r) % cases.length;
      const i = r % 2 === 0 ? k : cases.length - 1 - k;
      const c = cases[i];
      const c0 = cpuMs();
      const t0 = performance.now();
      await c.fn(r);
      rates[i].push((c.ops * 1000) / (performance.now() - t0));
      cpuRates[i].push((c.ops * 1000) / Math.max(cpuMs() - c0, 0.001));
    }
  }
  return { wall: rates.map(median), cpu: cpuRates.map(median) };
}

/** Median objects/s of three full `verify()` runs, and the object count. */
export async function verifyRate(archive) {
  const count = (await archive.stats()).count;
  const rates = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await archive.verify();
    rates.push((count * 1000) / (performance.now() - t0));
  }
  return { count, rate: median(rates) };
}

function rawDb(file, synchronous) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec('CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY NOT NULL, bytes BLOB NOT NULL)');
  return db;
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-sqlite-'));
  const rows = [];
  try {
    for (const [durability, synchronous] of [['strict', 'FULL'], ['relaxed', 'NORMAL']]) {
      const raw = rawDb(join(dir, `raw-${durability}.sqlite`), synchronous);
      const insert = raw.prepare('INSERT INTO entries (key, bytes) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET bytes = excluded.bytes');
      const insertAll = raw.transaction((list) => {
        for (const r of list) insert.run(r.key, r.bytes);
      });
      // The floor of any content-addressed put on SQLite: canonical bytes, SHA-256, then the same
      // inserts in one transaction (its own file, so its table grows like the archive's).
      const floorDb = rawDb(join(dir, `raw-floor-${durability}.sqlite`), synchronous);
      const insertFloor = floorDb.prepare('INSERT INTO entries (key, bytes) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET bytes = excluded.bytes');
      const floorAll = floorDb.transaction((values) => {
        for (const v of values) {
          const bytes = canonicalBytes(v);
          insertFloor.run(objectKey(sha256Hex(bytes)), bytes);
        }
      });
      const select = raw.prepare('SELECT bytes FROM entries WHERE key = ?').pluck();
      // Autocommit inserts get a file of their own, as the adapter's single writes do (the archive's file):
      // the WAL they leave behind would otherwise be checkpointed inside the transaction being timed.
      const rawAutoDb = rawDb(join(dir, `raw-auto-${durability}.sqlite`), synchronous);
      const insertAuto = rawAutoDb.prepare('INSERT INTO entries (key, bytes) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET bytes = excluded.bytes');
      const adapter = await sqliteAdapter({ file: join(dir, `archive-${durability}.sqlite`), durability });
      const archive = await openArchive(adapter);
      const rawOnly = await sqliteAdapter({ file: join(dir, `adapter-${durability}.sqlite`), durability });
      const inMemory = await openArchive(memoryAdapter());

      const data = Object.fromEntries(
        ['rawAuto', 'rawTx', 'writeMany', 'canon', 'floor', 'put', 'putMany', 'memPutMany'].map((name) => {
          const single = name === 'rawAuto' || name === 'put';
          return [name, perRound(`${name}-${durability}`, single ? SINGLES : BATCH, single ? 1 : BATCHES_PER_ROUND)];
        }),
      );
      // Something to read: one batch in each store.
      const readSet = data.rawTx.get(-1)[0].rows;
      insertAll(readSet);
      await archive.putMany(data.putMany.get(-1)[0].values);
      const archiveHashes = data.putMany.get(-1)[0].rows.map((r) => r.hash);
      await rawOnly.writeMany(readSet);
      const adapterKeys = readSet.map((r) => r.key);
      const ops = BATCH * BATCHES_PER_ROUND;
      const each = (name, r, fn) => data[name].get(r).forEach(fn);
      const eachAsync = async (name, r, fn) => {
        for (const batch of data[name].get(r)) await fn(batch);
      };

      // Writes first, then reads on the archive reopened after close(), so background index
      // compaction started by the writes never overlaps a read measurement.
      // `floor`: the index of the case a row is also compared with (its 'x floor' columns).
      const writes = [
        { name: 'raw autocommit insert', ops: SINGLES, fn: (r) => data.rawAuto.get(r).rows.forEach((x) => insertAuto.run(x.key, x.bytes)) },
        { name: `raw insert, one transaction of ${BATCH}`, ops, fn: (r) => each('rawTx', r, (b) => insertAll(b.rows)) },
        { name: `adapter writeMany (same ${BATCH} rows)`, ops, fn: (r) => eachAsync('writeMany', r, (b) => rawOnly.writeMany(b.rows)), vs: 1 },
        { name: 'canonicalBytes + sha256Hex only (no storage)', ops, fn: (r) => each('canon', r, (b) => b.values.forEach((v) => sha256Hex(canonicalBytes(v)))), vs: 1 },
        { name: `canonicalBytes + sha256Hex + raw insert, one transaction of ${BATCH} (the floor)`, ops, fn: (r) => each('floor', r, (b) => floorAll(b.values)), vs: 1 },
        {
          name: 'archive put (one commit each)',
          ops: SINGLES,
          fn: async (r) => {
            for (const v of data.put.get(r).values) await archive.put(v);
            await settle(archive);
          },
          vs: 0,
        },
        {
          name: `archive putMany (${BATCH}), its folds included`,
          ops,
          fn: async (r) => {
            await eachAsync('putMany', r, (b) => archive.putMany(b.values));
            await settle(archive);
          },
          vs: 1,
          floor: 4,
        },
        {
          name: `archive putMany (${BATCH}) on the memory adapter, its folds included`,
          ops,
          fn: async (r) => {
            await eachAsync('memPutMany', r, (b) => inMemory.putMany(b.values));
            await settle(inMemory);
          },
          vs: 3,
        },
      ];
      const writeRates = await interleavedCpu(writes);
      await archive.close();
      const reopened = await openArchive(adapter);
      const reads = [
        { name: 'raw point read', ops: READS, fn: () => { for (let i = 0; i < READS; i++) select.get(readSet[i % BATCH].key); } },
        { name: 'adapter read', ops: READS, fn: async () => { for (let i = 0; i < READS; i++) await rawOnly.read(adapterKeys[i % BATCH]); }, vs: 0 },
        { name: 'archive get (verified)', ops: READS, fn: async () => { for (let i = 0; i < READS; i++) await reopened.get(archiveHashes[i % BATCH]); }, vs: 0 },
      ];
      const readRates = await interleavedCpu(reads);
      const { count, rate: verifyObjectsPerSecond } = await verifyRate(reopened);
      const report = (list, { wall, cpu }) => {
        for (const [i, c] of list.entries()) {
          const ratio = (rates, base) => (base === undefined || rates[i] === undefined ? '' : (rates[i] / rates[base]).toFixed(2));
          rows.push({
            durability,
            operation: c.name,
            'ops/s': fmt(wall[i]),
            'x baseline': c.vs === undefined ? '' : `${ratio(wall, c.vs)} (${list[c.vs].name})`,
            'ops per cpu s': cpu[i] === undefined ? '' : fmt(cpu[i]),
            'x baseline, cpu': ratio(cpu, c.vs),
            'x floor': ratio(wall, c.floor),
            'x floor, cpu': ratio(cpu, c.floor),
          });
        }
      };
      report(writes, writeRates);
      report([...reads, { name: `archive verify (${count} objects, objects/s)`, vs: 0 }], { wall: [...readRates.wall, verifyObjectsPerSecond], cpu: readRates.cpu });
      raw.close();
      floorDb.close();
      rawAutoDb.close();
      await reopened.close();
      await inMemory.close();
      await adapter.close();
      await rawOnly.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  table(`SQLite adapter vs raw better-sqlite3 (WAL; ~200-byte values; medians of ${ROUNDS} interleaved rounds)`, rows);
  return rows;
}
