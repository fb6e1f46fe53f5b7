// The in-page half of `npm run bench -- browser`: runs in headless Chromium, Firefox and WebKit, imports the BUILT
// library (dist/) as an app would, and measures the browser adapters and the archive on them next
// to their raw baselines, in one run: raw `idb` (one transaction per put; one for the batch) and raw
// OPFS (createWritable per object, in the portable objects/aa/bb/<hash>.json layout). 1 KiB values.
//
// Rounds are interleaved (round r of every row, then round r+1 ...), so a slow spell of the shared
// machine hits every row alike; each row reports the median of its rounds. Every round writes fresh
// keys (the archive never rewrites an object it has).
import { openDB } from 'idb';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { canonicalBytes, openArchive, sha256Hex, sha256HexAsync } from '/dist/index.js';
import { indexedDbAdapter, deleteIndexedDbArchive } from '/dist/adapters/indexeddb.js';
import { opfsAdapter } from '/dist/adapters/opfs.js';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A 1 KiB JSON object (1024 canonical bytes), distinct per (tag, i). */
function value(tag, i) {
  const head = { tag, i, kind: 'bench-object' };
  const pad = 1024 - canonicalBytes({ ...head, pad: '' }).byteLength;
  return { ...head, pad: 'p'.repeat(pad) };
}

const KIB = new Uint8Array(1024).map((_, i) => (i * 31 + 7) & 0xff);
const LINE = new Uint8Array(100).fill(0x61);
const hexKey = (tag, i) => sha256Hex(`${tag}:${i}`);
const objectKey = (h) => `objects/${h.slice(0, 2)}/${h.slice(2, 4)}/${h}.json`;

let seq = 0;
const unique = (tag) => `bench-${tag}-${Date.now().toString(36)}-${++seq}`;

async function removeOpfs(root) {
  const top = await navigator.storage.getDirectory();
  await top.removeEntry(root, { recursive: true }).catch(() => {});
}

/**
 * Each row: `setup()` once (not timed) returning `{ run(round), teardown() }`; `run` does `n`
 * operations. Rounds are interleaved across rows; the first round is a warm-up, not counted.
 */
async function measure(rows, n, rounds) {
  const states = [];
  for (const row of rows) states.push(await row.setup());
  const rates = rows.map(() => []);
  for (let r = -1; r < rounds; r++) {
    for (let i = 0; i < rows.length; i++) {
      const t0 = performance.now();
      await states[i].run(r + 1);
      const ms = performance.now() - t0;
      if (r >= 0) rates[i].push((n * 1000) / ms);
    }
  }
  for (const s of states) await s.teardown();
  return rows.map((row, i) => ({ name: row.name, group: row.group, rate: median(rates[i]), rounds: rates[i] }));
}

// ---------------------------------------------------------------- IndexedDB

function rawIdbRow(name, group, n, mode, durability = 'relaxed') {
  return {
    name,
    group,
    async setup() {
      const dbName = unique('raw-idb');
      const db = await openDB(dbName, 1, { upgrade: (d) => d.createObjectStore('kv') });
      const putOne = async (key) => {
        const tx = db.transaction('kv', 'readwrite', { durability });
        await Promise.all([tx.store.put(KIB, key), tx.done]);
      };
      return {
        async run(round) {
          const keys = Array.from({ length: n }, (_, i) => objectKey(hexKey(`raw-${round}`, i)));
          if (mode === 'seq') for (const k of keys) await putOne(k);
          else if (mode === 'seq+journal') {
            // What a journaled put must write at least: the object and a ~100-byte journal line, one transaction.
            for (const [i, k] of keys.entries()) {
              const tx = db.transaction('kv', 'readwrite', { durability });
              await Promise.all([tx.store.put(KIB, k), tx.store.put(LINE, `journal/${round}-${String(i).padStart(6, '0')}.log`), tx.done]);
            }
          }
          else if (mode === 'together') await Promise.all(keys.map(putOne));
          else {
            const tx = db.transaction('kv', 'readwrite', { durability });
            await Promise.all([...keys.map((k) => tx.store.put(KIB, k)), tx.done]);
          }
        },
        async teardown() {
          db.close();
          await deleteIndexedDbArchive(dbName);
        },
      };
    },
  };
}

function idbAdapterRow(name, group, n, mode, durability = 'relaxed') {
  return {
    name,
    group,
    async setup() {
      const dbName = unique('adapter-idb');
      const adapter = indexedDbAdapter({ name: dbName, durability });
      await adapter.write('warm', KIB);
      return {
        async run(round) {
          const keys = Array.from({ length: n }, (_, i) => objectKey(hexKey(`ad-${round}`, i)));
          if (mode === 'seq') for (const k of keys) await adapter.write(k, KIB);
          else if (mode === 'together') await Promise.all(keys.map((k) => adapter.write(k, KIB)));
          else await adapter.writeMany(keys.map((key) => ({ key, bytes: KIB })));
        },
        async teardown() {
          await adapter.close();
          await deleteIndexedDbArchive(dbName);
        },
      };
    },
  };
}

function archiveRow(name, group, n, mode, makeAdapter, forget, options = {}) {
  return {
    name,
    group,
    async setup() {
      const id = unique('archive');
      const adapter = makeAdapter(id);
      const archive = await openArchive(adapter, options);
      await archive.put(value('warm', 0));
      return {
        async run(round) {
          const vs = Array.from({ length: n }, (_, i) => value(`r${round}`, i));
          if (mode === 'seq') for (const v of vs) await archive.put(v);
          else if (mode === 'together') await Promise.all(vs.map((v) => archive.put(v)));
          else await archive.putMany(vs);
        },
        async teardown() {
          await archive.close();
          await adapter.close?.();
          await forget(id);
        },
      };
    },
  };
}

const idbArchive = (durability) => [(id) => indexedDbAdapter({ name: id, durability }), (id) => deleteIndexedDbArchive(id)];

export async function benchIndexedDb({ n = 1000, rounds = 5 } = {}) {
  const [mk, forget] = idbArchive('relaxed');
  const [mkStrict, forgetStrict] = idbArchive('strict');
  return measure(
    [
      rawIdbRow('raw idb: 1 tx per put, awaited in turn', 'raw', n, 'seq'),
      rawIdbRow('raw idb: 1 tx per put, issued together', 'raw', n, 'together'),
      rawIdbRow('raw idb: 1 tx for the batch', 'raw', n, 'batch'),
      rawIdbRow('raw idb: 1 tx per put of object + journal line, awaited in turn', 'raw', n, 'seq+journal'),
      idbAdapterRow('adapter write, issued together', 'adapter', n, 'together'),
      idbAdapterRow('adapter write, awaited in turn', 'adapter', n, 'seq'),
      idbAdapterRow('adapter writeMany', 'adapter', n, 'batch'),
      archiveRow('archive put, issued together', 'archive', n, 'together', mk, forget),
      archiveRow('archive put, awaited in turn', 'archive', n, 'seq', mk, forget),
      archiveRow('archive putMany', 'archive', n, 'batch', mk, forget),
      rawIdbRow('raw idb strict: 1 tx per put, awaited in turn', 'strict', n, 'seq', 'strict'),
      archiveRow('archive strict: put, issued together', 'strict', n, 'together', mkStrict, forgetStrict),
      archiveRow('archive strict: put, awaited in turn', 'strict', n, 'seq', mkStrict, forgetStrict),
    ],
    n,
    rounds,
  );
}

// ---------------------------------------------------------------- OPFS

/** Raw OPFS: one file per object in objects/aa/bb/, written with createWritable (directory handles cached). */
function rawOpfsRow(name, group, n, mode) {
  return {
    name,
    group,
    async setup() {
      const rootName = unique('raw-opfs');
      const top = await navigator.storage.getDirectory();
      const root = await top.getDirectoryHandle(rootName, { create: true });
      const dirs = new Map();
      const dirOf = async (h) => {
        const path = `${h.slice(0, 2)}/${h.slice(2, 4)}`;
        let d = dirs.get(path);
        if (!d) {
          d = (async () => {
            const objects = await root.getDirectoryHandle('objects', { create: true });
            const aa = await objects.getDirectoryHandle(h.slice(0, 2), { create: true });
            return aa.getDirectoryHandle(h.slice(2, 4), { create: true });
          })();
          dirs.set(path, d);
        }
        return d;
      };
      const putOne = async (h) => {
        const fh = await (await dirOf(h)).getFileHandle(`${h}.json`, { create: true });
        const w = await fh.createWritable();
        await w.write(KIB);
        await w.close();
      };
      const getOne = async (h) => new Uint8Array(await (await (await (await dirOf(h)).getFileHandle(`${h}.json`)).getFile()).arrayBuffer());
      return {
        async run(round) {
          const hashes = Array.from({ length: n }, (_, i) => hexKey(`raw-${round}`, i));
          if (mode === 'seq') for (const h of hashes) await putOne(h);
          else if (mode === 'together') await Promise.all(hashes.map(putOne));
          else if (mode === 'get') {
            // Reads of the objects the setup wrote (round 0's names), issued together.
            await Promise.all(Array.from({ length: n }, (_, i) => getOne(hexKey('raw-get', i))));
          }
        },
        async prepare() {
          await Promise.all(Array.from({ length: n }, (_, i) => putOne(hexKey('raw-get', i))));
        },
        async teardown() {
          await removeOpfs(rootName);
        },
      };
    },
  };
}

function withPrepare(row) {
  return {
    ...row,
    async setup() {
      const state = await row.setup();
      await state.prepare?.();
      return state;
    },
  };
}

function opfsAdapterRow(name, group, n, mode, worker) {
  return {
    name,
    group,
    async setup() {
      const root = unique('adapter-opfs');
      const adapter = opfsAdapter({ root, worker });
      await adapter.write('warm', KIB);
      return {
        async run(round) {
          const keys = Array.from({ length: n }, (_, i) => objectKey(hexKey(`ad-${round}`, i)));
          if (mode === 'seq') for (const k of keys) await adapter.write(k, KIB);
          else if (mode === 'together') await Promise.all(keys.map((k) => adapter.write(k, KIB)));
          else if (mode === 'batch') await adapter.writeMany(keys.map((key) => ({ key, bytes: KIB })));
          else await Promise.all(Array.from({ length: n }, (_, i) => adapter.read(objectKey(hexKey('ad-get', i)))));
        },
        async prepare() {
          if (mode === 'get') await adapter.writeMany(Array.from({ length: n }, (_, i) => ({ key: objectKey(hexKey('ad-get', i)), bytes: KIB })));
        },
        async teardown() {
          await adapter.close();
          await removeOpfs(root);
        },
      };
    },
  };
}

const opfsArchive = (worker) => [(id) => opfsAdapter({ root: id, worker }), (id) => removeOpfs(id)];

function archiveGetRow(name, group, n, makeAdapter, forget) {
  return {
    name,
    group,
    async setup() {
      const id = unique('archive-get');
      const adapter = makeAdapter(id);
      const archive = await openArchive(adapter);
      const hashes = await archive.putMany(Array.from({ length: n }, (_, i) => value('get', i)));
      return {
        async run() {
          await Promise.all(hashes.map((h) => archive.get(h)));
        },
        async teardown() {
          await archive.close();
          await adapter.close?.();
          await forget(id);
        },
      };
    },
  };
}

/** Whether the OPFS worker engine runs here: `opfsAdapter({})` proves a sync access handle opens (WebKitGTK refuses). */
async function workerEngineRuns() {
  const root = unique('probe');
  const adapter = opfsAdapter({ root });
  const mode = await adapter.mode();
  await adapter.close();
  await removeOpfs(root);
  return mode === 'worker';
}

export async function benchOpfs({ n = 1000, rounds = 5 } = {}) {
  const [mkW, forgetW] = opfsArchive(true);
  const [mkM, forgetM] = opfsArchive(false);
  const withWorker = await workerEngineRuns();
  // The same rows in every engine; the worker engine's read n/a (rate NaN) where it cannot run.
  const rows = [
      rawOpfsRow('raw OPFS: createWritable per object, awaited in turn', 'raw', n, 'seq'),
      rawOpfsRow('raw OPFS: createWritable per object, issued together', 'raw', n, 'together'),
      opfsAdapterRow('adapter (worker) write, issued together', 'adapter', n, 'together', true),
      opfsAdapterRow('adapter (worker) write, awaited in turn', 'adapter', n, 'seq', true),
      opfsAdapterRow('adapter (worker) writeMany', 'adapter', n, 'batch', true),
      opfsAdapterRow('adapter (main thread) write, issued together', 'adapter', n, 'together', false),
      archiveRow('archive (worker) put, issued together', 'archive', n, 'together', mkW, forgetW),
      archiveRow('archive (worker) put, awaited in turn', 'archive', n, 'seq', mkW, forgetW),
      archiveRow('archive (worker) putMany', 'archive', n, 'batch', mkW, forgetW),
      archiveRow('archive (main thread) put, issued together', 'archive', n, 'together', mkM, forgetM),
      archiveRow('archive (main thread) putMany', 'archive', n, 'batch', mkM, forgetM),
      withPrepare(rawOpfsRow('raw OPFS: getFile per object, issued together', 'get', n, 'get')),
      withPrepare(opfsAdapterRow('adapter (worker) read, issued together', 'get', n, 'get', true)),
      archiveGetRow('archive (worker) get, issued together', 'get', n, mkW, forgetW),
  ];
  const runnable = withWorker ? rows : rows.filter((r) => !r.name.includes('(worker)'));
  const measured = await measure(runnable, n, rounds);
  return rows.map((r) => measured.find((m) => m.name === r.name) ?? { name: r.name, group: r.group, rate: NaN });
}

// ---------------------------------------------------------------- hashing

function hashRow(name, group, n, size, digest) {
  return {
    name,
    group,
    async setup() {
      const data = new Uint8Array(size).map((_, i) => (i * 13 + 1) & 0xff);
      return {
        async run() {
          for (let i = 0; i < n; i++) await digest(data);
        },
        async teardown() {},
      };
    },
  };
}

/** SHA-256 in the page: the SDK's async path next to noble and WebCrypto called directly, awaited in turn. */
export async function benchHash({ n = 2000, rounds = 5 } = {}) {
  const subtle = async (d) => bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', d)));
  const rows = [];
  for (const [label, size] of [['256 B', 256], ['1 KiB', 1024], ['64 KiB', 65536]]) {
    const count = size > 4096 ? Math.ceil(n / 20) : n;
    rows.push(
      { ...hashRow(`${label}: @noble/hashes`, label, count, size, (d) => bytesToHex(sha256(d))), n: count },
      { ...hashRow(`${label}: WebCrypto`, label, count, size, subtle), n: count },
      { ...hashRow(`${label}: sha256HexAsync`, label, count, size, sha256HexAsync), n: count },
      { ...hashRow(`${label}: sha256Hex (sync)`, label, count, size, sha256Hex), n: count },
    );
  }
  const out = [];
  for (const label of ['256 B', '1 KiB', '64 KiB']) {
    const group = rows.filter((r) => r.group === label);
    out.push(...(await measure(group, group[0].n, rounds)));
  }
  return out;
}

globalThis.browserBench = { benchIndexedDb, benchOpfs, benchHash };
globalThis.browserBenchReady = true;
