// The in-page half of `npm run bench -- changes` (bench/changes.bench.js): two tabs of one Chromium
// open this page on one IndexedDB database. One listens (archive.changes(), woken across tabs by the
// archive's BroadcastChannel), the other writes; each stamps a shared clock (performance.timeOrigin +
// performance.now(), the same for every tab of one browser). The raw baseline is what the mechanism
// costs without the archive: one IndexedDB transaction, then a BroadcastChannel message the other tab
// receives.
import { openDB } from 'idb';
import { openArchive } from '/dist/index.js';
import { indexedDbAdapter } from '/dist/adapters/indexeddb.js';

const clock = () => performance.timeOrigin + performance.now();
const state = { arrivals: [], stop: undefined };

/** Archive listener: records [arrival, kind, hash or name, seq] for every change. */
async function listen({ name }) {
  const adapter = indexedDbAdapter({ name });
  const archive = await openArchive(adapter);
  const ac = new AbortController();
  state.arrivals = [];
  const loop = (async () => {
    for await (const c of archive.changes({ signal: ac.signal })) state.arrivals.push([clock(), c.kind === 'put' ? c.hash : `${c.name}#${c.seq}`]);
  })();
  state.stop = async () => {
    ac.abort();
    await loop;
    await archive.close();
    await adapter.close();
  };
  await new Promise((r) => setTimeout(r, 300)); // its first read of the log is done
}

/** Archive writer: n rounds of put, then reference set, `gapMs` apart; [sent, id] after each resolved. */
async function write({ name, n, gapMs }) {
  const adapter = indexedDbAdapter({ name });
  const archive = await openArchive(adapter);
  const sent = [];
  for (let i = 0; i < n; i++) {
    const h = await archive.put({ bench: 'changes', i, at: Date.now() });
    sent.push([clock(), h]);
    await new Promise((r) => setTimeout(r, gapMs));
    const r = await archive.refs.set('bench/latest', h);
    sent.push([clock(), `${r.name}#${r.seq}`]);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await archive.close();
  await adapter.close();
  return sent;
}

/** Raw baseline listener: a BroadcastChannel message after the writer's IndexedDB transaction. */
async function rawListen({ name }) {
  const channel = new BroadcastChannel(`raw-${name}`);
  state.arrivals = [];
  channel.onmessage = (e) => state.arrivals.push([clock(), e.data]);
  state.stop = async () => channel.close();
}

async function rawWrite({ name, n, gapMs }) {
  const db = await openDB(`raw-${name}`, 1, { upgrade: (d) => d.createObjectStore('kv') });
  const channel = new BroadcastChannel(`raw-${name}`);
  const sent = [];
  for (let i = 0; i < 2 * n; i++) {
    const id = `k${i}`;
    const tx = db.transaction('kv', 'readwrite');
    await tx.store.put(new Uint8Array(64), id);
    await tx.done;
    sent.push([clock(), id]);
    channel.postMessage(id);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  channel.close();
  db.close();
  return sent;
}

async function collect() {
  await state.stop?.();
  return state.arrivals;
}

globalThis.changesBench = { listen, write, rawListen, rawWrite, collect };
globalThis.changesBenchReady = true;
