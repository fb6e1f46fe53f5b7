// The S3 adapter and the archive on it next to raw aws4fetch signed requests, against Ceph's
// radosgw: a throwaway cluster on 127.0.0.1 (one monitor, one OSD on memstore, beast; see
// test/support/radosgw-cluster.mjs, started and stopped here by bench/radosgw.js). Everything is
// compared in the same run: sequential cases request by request in turn (so a swing of the
// machine's load hits both sides alike), 16-in-flight batches interleaved round by round. Every
// adapter's fetch is wrapped to count its requests by method, by what they touch (objects/,
// journal/, index root and runs, listings) and by status, and each case's client CPU is measured,
// so a ratio below its aim comes with where the requests go; the archive rows also have a raw
// baseline sending the archive's own requests (the floor of its design). Many writers: 4 handles
// on one prefix against 1 doing the same, and a check that every acknowledged hash is listed.
// The server is one OSD in RAM on a shared machine: the ratios say what the adapter and the
// archive add, not what S3 does per second.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { AwsClient } from 'aws4fetch';
import { canonicalBytes, objectKey, openArchive, sha256Hex } from '../dist/index.js';
import { s3Adapter } from '../dist/adapters/s3.js';
import { fmt, median, table } from './lib.js';
import { startRadosgw } from './radosgw.js';
import { interleaved, verifyRate } from './sqlite.bench.js';

const SINGLES = 100; // sequential requests per round
const BATCH = 400; // objects per putMany / parallel raw PUTs
const IN_FLIGHT = 16; // the adapter's default writeMany concurrency
const ROUNDS = 5;
const PAR_ROUNDS = 9; // rounds of the 16-in-flight groups (each round is one batch of BATCH per case)
const DELETES = 1000; // keys per delete round: one DeleteObjects page
const SEGMENTS = 200; // single puts (one journal segment each) before a timed compaction
const DELETE_ROUNDS = 3;
const WRITERS = 4; // archive handles on one prefix in the many-writers rows
const PER_WRITER = 300; // values each of them puts
const WRITER_BATCH = 50; // values per putMany of a writer
const WRITER_ROUNDS = 2;
const BUCKET = 'bench-bucket';
const AIMS = { adapter: 0.9, putMany: 0.6 };

const secs = (t0) => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

function cephVersion() {
  try {
    return execFileSync('radosgw', ['--version'], { encoding: 'utf8' }).match(/ceph version (\S+)/)?.[1] ?? '?';
  } catch {
    return '?';
  }
}

// --- request counting ---------------------------------------------------------------------------

/**
 * A fetch for an adapter on `prefix` that counts what it sends, by method and by what the key
 * is (`objects`, `journal`, `index.json`, `index/` runs, `list`, `DeleteObjects`, other; HEADs
 * always with their status, the rest with theirs when not 2xx), and the answers that are not 2xx
 * by status (412: a conditional write refused; 404: mostly HEADs of values not stored yet; 500:
 * radosgw's answer to some losers of a race).
 */
function countingFetch(prefix, { traceObjectGets = false } = {}) {
  const counts = new Map();
  /** Who asked, for the first GET of an object (traceObjectGets): the archive's functions on the way, innermost first. */
  const traced = { stack: undefined };
  const base = `/${BUCKET}/${prefix ? `${prefix}/` : ''}`;
  const bump = (k) => counts.set(k, (counts.get(k) ?? 0) + 1);
  const fn = async (input, init) => {
    const req = input instanceof Request ? input : new Request(input, init);
    const url = new URL(req.url);
    let what;
    if (url.searchParams.has('list-type')) what = 'list';
    else if (url.searchParams.has('delete')) what = 'DeleteObjects';
    else if (url.pathname.startsWith(base)) {
      const key = url.pathname.slice(base.length);
      what = key === 'index.json' ? 'index.json' : key.startsWith('.archive-storage-probe') ? 'probe' : `${key.split('/')[0]}/`;
    } else what = 'other';
    let res;
    try {
      res = await fetch(req);
    } catch (e) {
      bump(`${req.method} ${what}`);
      bump('status none (network error)');
      throw e;
    }
    // A HEAD's answer says who asked: 404 before a write (the put's presence check), 200 for a
    // stored object (a fold checking another writer's journal lines against the objects). Other
    // requests carry their status only when it is not 2xx (GET index/ 404: a run piece another
    // writer deleted; PUT index.json 412: a lost compare-and-swap of the root).
    const ok = res.status >= 200 && res.status < 300;
    bump(`${req.method} ${what}${req.method === 'HEAD' || !ok ? ` ${res.status}` : ''}`);
    if (traceObjectGets && req.method === 'GET' && what === 'objects/' && traced.stack === undefined) {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 60;
      traced.stack = callers(new Error().stack);
      Error.stackTraceLimit = limit;
    }
    if (res.status >= 300) bump(`status ${res.status}`);
    return res;
  };
  return { fetch: fn, counts, traced };
}

/** "rebuild <- guard <- compact": the function names of a stack inside dist/, innermost first. */
function callers(stack) {
  const names = [];
  for (const line of stack.split('\n').slice(1)) {
    const m = line.match(/at (?:async )?([\w$.<>]+) \(.*dist\//);
    if (m && names.at(-1) !== m[1]) names.push(m[1]);
  }
  return names.slice(1, 30).join(' <- ') || '?';
}

/** Counts since `before` (a copy of a counter's map). */
function since(counter, before) {
  const out = new Map();
  for (const [k, n] of counter.counts) if (n - (before.get(k) ?? 0) > 0) out.set(k, n - (before.get(k) ?? 0));
  return out;
}

function addInto(total, part) {
  for (const [k, n] of part) total.set(k, (total.get(k) ?? 0) + n);
}

/** "PUT 1.00, HEAD 1.00, GET 0.01" per operation, by method (statuses apart). */
function perOpByMethod(counts, ops) {
  const byMethod = new Map();
  let statuses = '';
  for (const [k, n] of counts) {
    if (k.startsWith('status ')) {
      statuses += `, ${k.slice(7)}: ${(n / ops).toFixed(3)}`;
      continue;
    }
    const m = k.split(' ')[0];
    byMethod.set(m, (byMethod.get(m) ?? 0) + n);
  }
  const total = [...byMethod.values()].reduce((a, b) => a + b, 0);
  const parts = [...byMethod].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${(n / ops).toFixed(2)}`);
  return `${(total / ops).toFixed(2)} (${parts.join(', ')}${statuses})`;
}

/** "PUT objects/ 1.00, HEAD objects/ 1.00, PUT journal/ 0.0025, ..." per operation. */
function perOpDetail(counts, ops) {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n / ops >= 0.1 ? (n / ops).toFixed(2) : (n / ops).toPrecision(2)}`)
    .join(', ');
}

/**
 * `interleaved` (bench/sqlite.bench.js) with each case's requests counted over its timed
 * rounds: cases may name a `counter` (from countingFetch). Returns { rates, counts }.
 */
async function interleavedCounted(cases, rounds) {
  const totals = cases.map(() => new Map());
  const cpu = cases.map(() => 0);
  const wrapped = cases.map((c, i) => ({
    ...c,
    fn: async (r) => {
      const before = c.counter ? new Map(c.counter.counts) : undefined;
      const c0 = process.cpuUsage();
      await c.fn(r);
      const used = process.cpuUsage(c0);
      if (r < 0) return;
      cpu[i] += used.user + used.system;
      if (c.counter) addInto(totals[i], since(c.counter, before));
    },
  }));
  const rates = await interleaved(wrapped, rounds);
  return { rates, counts: totals, cpu };
}

/**
 * Sequential cases compared request by request: in each round, value k of every case is done
 * in turn (who goes first rotates with k), each timed on its own, so a swing of the machine's
 * load hits every case alike; per round a case's rate is its ops over the sum of its own times.
 * Cases have the same `ops` and a `step(round, k)`; round -1 is a warm-up. At most one case of
 * a group may use a given counter. Returns { rates (medians), counts and cpu (µs of this
 * process, user + system) over the timed rounds }.
 */
async function alternating(cases, rounds) {
  const ops = cases[0].ops;
  const rates = cases.map(() => []);
  const totals = cases.map(() => new Map());
  const cpu = cases.map(() => 0);
  for (let r = -1; r < rounds; r++) {
    const ms = cases.map(() => 0);
    const us = cases.map(() => 0);
    const before = cases.map((c) => (c.counter ? new Map(c.counter.counts) : undefined));
    for (let k = 0; k < ops; k++) {
      for (let j = 0; j < cases.length; j++) {
        const i = r % 2 === 0 ? (k + j) % cases.length : (cases.length - 1 - ((k + j) % cases.length));
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await cases[i].step(r, k);
        ms[i] += performance.now() - t0;
        const used = process.cpuUsage(c0);
        us[i] += used.user + used.system;
      }
    }
    if (r < 0) continue;
    cases.forEach((c, i) => {
      rates[i].push((ops * 1000) / ms[i]);
      cpu[i] += us[i];
      if (c.counter) addInto(totals[i], since(c.counter, before[i]));
    });
  }
  return { rates: rates.map(median), counts: totals, cpu };
}

/** Table rows of one group of cases (`vs` and `floor` index the group). */
function groupRows(cases, { rates, counts, cpu }, rounds, how) {
  const names = cases.map((c) => c.name);
  return cases.map((c, i) => ({
    operation: c.name,
    measured: how,
    'ops/s': fmt(rates[i]),
    'x raw': c.vs === undefined ? '' : ratio(rates, i, c.vs, names),
    aim: c.aim === undefined ? '' : aimCell(rates[i] / rates[c.vs], c.aim),
    'x raw sending the same requests': c.floor === undefined ? '' : ratio(rates, i, c.floor, names),
    'requests/op': c.counter ? perOpByMethod(counts[i], c.ops * rounds) : c.same ? 'as named' : '1.00 (raw)',
    'client CPU µs/op': fmt(cpu[i] / (c.ops * rounds)),
  }));
}

const IN_TURN = `request by request, in turn, ${ROUNDS} rounds`;
const ROUND_BY_ROUND = `interleaved round by round, ${PAR_ROUNDS} rounds`;

// --- data ---------------------------------------------------------------------------------------

function values(tag, count) {
  return Array.from({ length: count }, (_, i) => ({ tag, i, name: `item ${i} of ${tag}`, tags: ['alpha', String(i % 13)], meta: { score: i / 7 } }));
}

/** Per round (-1 is the warm-up): the values and their canonical bytes under their object keys. */
function perRound(tag, count, rounds = ROUNDS) {
  const out = new Map();
  for (let r = -1; r < rounds; r++) {
    const vals = values(`${tag}-${r}`, count);
    out.set(r, { values: vals, rows: vals.map((v) => ({ key: objectKey(sha256Hex(canonicalBytes(v))), bytes: canonicalBytes(v) })) });
  }
  return out;
}

async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

const ratio = (rates, i, j, names) => `${(rates[i] / rates[j]).toFixed(2)} (${names[j]})`;
const aimCell = (value, aim) => `${aim}x: ${value >= aim ? 'met' : '**missed**'}`;

// --- the adapter and the archive against raw requests ------------------------------------------

function rawClient(gw) {
  const client = new AwsClient({ ...gw.credentials, service: 's3', region: 'us-east-1', retries: 0 });
  const url = (prefix, key) => `${gw.endpoint}/${BUCKET}/${prefix}/${key}`;
  return {
    put: async (prefix, row) => {
      const res = await client.fetch(url(prefix, row.key), { method: 'PUT', body: row.bytes });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`raw PUT ${res.status}`);
    },
    /** PUT with If-None-Match: * (what the adapter's create sends). */
    create: async (prefix, row) => {
      const res = await client.fetch(url(prefix, row.key), { method: 'PUT', body: row.bytes, headers: { 'if-none-match': '*' } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`raw conditional PUT ${res.status}`);
    },
    get: async (prefix, key) => {
      const res = await client.fetch(url(prefix, key), { method: 'GET' });
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (res.status !== 200) throw new Error(`raw GET ${res.status}`);
      return bytes;
    },
  };
}

/** Adapter write/read, sequential and 16 in flight, vs raw signed PUT/GET of the same bytes. */
async function adapterRows(gw, raw, options) {
  const counter = countingFetch('adapter');
  const adapter = s3Adapter({ ...options, prefix: 'adapter', fetch: counter.fetch });
  const seq = perRound('seq', SINGLES);
  const par = perRound('par', BATCH, PAR_ROUNDS);
  // What the reads read: one set of keys, stored under both prefixes before the rounds.
  const readSeq = seq.get(-1).rows;
  const readPar = par.get(-1).rows;
  await pool([...readSeq, ...readPar], IN_FLIGHT, (row) => raw.put('raw-adapter', row));
  await adapter.writeMany([...readSeq, ...readPar]);
  const check = await adapter.read(readSeq[0].key);
  if (check === undefined || check.byteLength !== readSeq[0].bytes.byteLength) throw new Error('adapter read back the wrong bytes');
  // The warm-up round (-1) rewrites the keys the reads use: same bytes.
  const writes = [
    { name: 'raw aws4fetch PUT', ops: SINGLES, step: (r, k) => raw.put('raw-adapter', seq.get(r).rows[k]) },
    { name: 'adapter write', ops: SINGLES, counter, step: (r, k) => adapter.write(seq.get(r).rows[k].key, seq.get(r).rows[k].bytes), vs: 0, aim: AIMS.adapter },
  ];
  const reads = [
    { name: 'raw aws4fetch GET', ops: SINGLES, step: (r, k) => raw.get('raw-adapter', readSeq[k].key) },
    { name: 'adapter read', ops: SINGLES, counter, step: (r, k) => adapter.read(readSeq[k].key), vs: 0, aim: AIMS.adapter },
  ];
  const parallel = [
    { name: `raw aws4fetch PUT, ${IN_FLIGHT} in flight`, ops: BATCH, fn: (r) => pool(par.get(r).rows, IN_FLIGHT, (row) => raw.put('raw-adapter', row)) },
    { name: `adapter writeMany (${BATCH}, ${IN_FLIGHT} in flight)`, ops: BATCH, counter, fn: (r) => adapter.writeMany(par.get(r).rows), vs: 0, aim: AIMS.adapter },
    { name: `raw aws4fetch GET, ${IN_FLIGHT} in flight`, ops: BATCH, fn: () => pool(readPar, IN_FLIGHT, (row) => raw.get('raw-adapter', row.key)) },
    { name: `adapter read, ${IN_FLIGHT} in flight`, ops: BATCH, counter, fn: () => pool(readPar, IN_FLIGHT, (row) => adapter.read(row.key)), vs: 2, aim: AIMS.adapter },
  ];
  return [
    ...groupRows(writes, await alternating(writes, ROUNDS), ROUNDS, IN_TURN),
    ...groupRows(reads, await alternating(reads, ROUNDS), ROUNDS, IN_TURN),
    ...groupRows(parallel, await interleavedCounted(parallel, PAR_ROUNDS), PAR_ROUNDS, ROUND_BY_ROUND),
  ];
}

/** Archive putMany and put vs raw PUTs of the same canonical bytes; archive get vs raw GET; verify. */
async function archiveRows(gw, raw, options) {
  const counter = countingFetch('archive');
  const open = () => openArchive(s3Adapter({ ...options, prefix: 'archive', fetch: counter.fetch }));
  const archive = await open();
  const many = perRound('many', BATCH, PAR_ROUNDS);
  const singles = perRound('singles', SINGLES);
  const stored = perRound('stored', SINGLES, 0).get(-1);
  await pool(stored.rows, IN_FLIGHT, (row) => raw.put('raw-archive', row));
  const hashes = await archive.putMany(stored.values);
  // A journal line's worth of bytes for the raw rows that send what the archive sends.
  const line = (row) => ({ key: `journal/${row.key.slice(-20)}`, bytes: new TextEncoder().encode(`{"op":"put","hash":"${row.key}","size":${row.bytes.byteLength},"storedAt":${Date.now()}}\n`) });
  const batches = [
    { name: `raw aws4fetch PUT, ${IN_FLIGHT} in flight (same canonical bytes)`, ops: BATCH, fn: (r) => pool(many.get(r).rows, IN_FLIGHT, (row) => raw.put('raw-archive', row)) },
    {
      name: `raw aws4fetch PUT a segment, conditional PUT ${IN_FLIGHT} in flight (putMany's requests)`,
      ops: BATCH,
      same: true,
      fn: async (r) => {
        const rows = many.get(r).rows;
        await raw.put('raw-archive-requests', line(rows[0]));
        await pool(rows, IN_FLIGHT, (row) => raw.create('raw-archive-requests', row));
      },
    },
    { name: `archive putMany (${BATCH})`, ops: BATCH, counter, fn: (r) => archive.putMany(many.get(r).values), vs: 0, floor: 1, aim: AIMS.putMany },
  ];
  const b = await interleavedCounted(batches, PAR_ROUNDS);
  const puts = [
    { name: 'raw aws4fetch PUT (same canonical bytes)', ops: SINGLES, step: (r, k) => raw.put('raw-archive', singles.get(r).rows[k]) },
    {
      name: "raw aws4fetch PUT a line, conditional PUT, in turn (put's requests)",
      ops: SINGLES,
      same: true,
      step: async (r, k) => {
        const row = singles.get(r).rows[k];
        await raw.put('raw-archive-requests', line(row));
        await raw.create('raw-archive-requests', row);
      },
    },
    { name: 'archive put (one commit each)', ops: SINGLES, counter, step: (r, k) => archive.put(singles.get(r).values[k]), vs: 0, floor: 1 },
  ];
  const p = await alternating(puts, ROUNDS);
  await archive.close();
  // Reads on the archive reopened after close() (no compaction left to run).
  const reopened = await open();
  const reads = [
    { name: 'raw aws4fetch GET', ops: SINGLES, step: (r, k) => raw.get('raw-archive', stored.rows[k].key) },
    { name: 'archive get (verified)', ops: SINGLES, counter, step: (r, k) => reopened.get(hashes[k]), vs: 0 },
  ];
  const g = await alternating(reads, ROUNDS);
  const before = new Map(counter.counts);
  const { count, rate } = await verifyRate(reopened);
  const verifyCounts = since(counter, before);
  await reopened.close();
  const rows = [...groupRows(batches, b, PAR_ROUNDS, ROUND_BY_ROUND), ...groupRows(puts, p, ROUNDS, IN_TURN), ...groupRows(reads, g, ROUNDS, IN_TURN)];
  // verifyRate runs verify() three times over `count` objects.
  rows.push({
    operation: `archive verify (${count} objects, objects/s)`,
    measured: 'after the reads, 3 runs',
    'ops/s': fmt(rate),
    'x raw': `${(rate / g.rates[0]).toFixed(2)} (raw aws4fetch GET)`,
    aim: '',
    'x raw sending the same requests': '',
    'requests/op': perOpByMethod(verifyCounts, count * 3),
    'client CPU µs/op': '',
  });
  const detail = [
    { operation: batches[2].name, 'requests per value, by method and key': perOpDetail(b.counts[2], BATCH * PAR_ROUNDS) },
    { operation: puts[2].name, 'requests per value, by method and key': perOpDetail(p.counts[2], SINGLES * ROUNDS) },
    { operation: reads[1].name, 'requests per value, by method and key': perOpDetail(g.counts[1], SINGLES * ROUNDS) },
    { operation: 'archive verify', 'requests per value, by method and key': perOpDetail(verifyCounts, count * 3) },
  ];
  return { rows, detail };
}

// --- many writers -------------------------------------------------------------------------------

/**
 * `writers` archive handles (each on its own adapter, one process) putting `perWriter` values
 * each, in putMany batches of WRITER_BATCH, into one fresh prefix, all at once; then closed. A
 * fresh reader lists the prefix: every acknowledged hash must be there. Resolves the time,
 * the requests (all handles, opening and closing included), and the check.
 */
async function writersRound(options, prefix, writers, perWriter, compactAfter) {
  const counter = countingFetch(prefix, { traceObjectGets: true });
  const t0 = performance.now();
  const acked = [];
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const archive = await openArchive(s3Adapter({ ...options, prefix, fetch: counter.fetch }), { compactAfter });
      for (let i = 0; i < perWriter; i += WRITER_BATCH) {
        const batch = Array.from({ length: Math.min(WRITER_BATCH, perWriter - i) }, (_, k) => ({ prefix, writer: w, n: i + k, body: 'x'.repeat(100) }));
        acked.push(...(await archive.putMany(batch)));
      }
      await archive.close();
    }),
  );
  const ms = performance.now() - t0;
  const counts = new Map(counter.counts);
  const reader = await openArchive(s3Adapter({ ...options, prefix }));
  const listed = new Set();
  for await (const h of reader.list()) listed.add(h);
  const report = await reader.verify();
  await reader.close();
  const missing = acked.filter((h) => !listed.has(h)).length;
  return { ms, counts, objectGets: counts.get('GET objects/') ?? 0, whoRead: counter.traced.stack, acked: acked.length, listed: listed.size, missing, orphaned: report.orphaned.length, corrupt: report.corrupt.length, unseen: report.missing.length };
}

async function writersRows(options) {
  const total = WRITERS * PER_WRITER;
  const variants = [
    { label: `1 writer x ${total}, putMany(${WRITER_BATCH}), default compactAfter`, writers: 1, perWriter: total, compactAfter: undefined },
    { label: `1 writer x ${total}, putMany(${WRITER_BATCH}), compactAfter: 2`, writers: 1, perWriter: total, compactAfter: 2 },
    { label: `${WRITERS} writers x ${PER_WRITER} on one prefix, putMany(${WRITER_BATCH}), compactAfter: 2`, writers: WRITERS, perWriter: PER_WRITER, compactAfter: 2 },
  ];
  const results = variants.map(() => []);
  for (let r = 0; r < WRITER_ROUNDS; r++) {
    for (let j = 0; j < variants.length; j++) {
      const i = r % 2 === 0 ? j : variants.length - 1 - j;
      const v = variants[i];
      results[i].push(await writersRound(options, `writers-${r}-${i}`, v.writers, v.perWriter, v.compactAfter));
    }
  }
  const rate = (i) => median(results[i].map((x) => (total * 1000) / x.ms));
  const rows = [];
  const checks = [];
  variants.forEach((v, i) => {
    const counts = new Map();
    for (const x of results[i]) addInto(counts, x.counts);
    const ops = total * results[i].length;
    rows.push({
      operation: v.label,
      'puts/s': fmt(rate(i)),
      'ms/put': (1000 / rate(i)).toFixed(2),
      'x 1 writer, compactAfter: 2': i === 1 ? '' : (rate(i) / rate(1)).toFixed(2),
      'requests/put': perOpByMethod(counts, ops),
      'by method and key': perOpDetail(counts, ops),
    });
    results[i].forEach((x, r) =>
      checks.push({
        case: `${v.label}, round ${r + 1}`,
        's': (x.ms / 1000).toFixed(1),
        acknowledged: String(x.acked),
        listed: String(x.listed),
        'acknowledged not listed': String(x.missing),
        'verify: orphaned / missing / corrupt': `${x.orphaned} / ${x.unseen} / ${x.corrupt}`,
        'GET objects/ by the writers (who asked first)': x.objectGets ? `${x.objectGets} (${x.whoRead})` : '0',
      }),
    );
  });
  return { rows, checks };
}

// --- deletes and compaction of single puts ----------------------------------------------------

/** The same adapter without deleteMany: what the archive did before it (one DELETE per key, 16 in flight). */
function perKeyDeletes(adapter) {
  return { ...adapter, capabilities: { ...adapter.capabilities, deleteMany: false }, deleteMany: undefined };
}

/**
 * Deletes with and without DeleteObjects, in the same run, order alternating round by round:
 * the adapter alone (keys/s), then an archive compaction (close() after SEGMENTS single puts;
 * only close() is timed, its requests counted) that deletes the journal segments it folded.
 */
async function deleteRows(options) {
  const adapter = s3Adapter({ ...options, prefix: 'deletes' });
  const variants = [
    { label: `DELETE per key, ${IN_FLIGHT} in flight`, adapter: perKeyDeletes(adapter) },
    { label: 'DeleteObjects', adapter },
  ];
  const removeAll = (a, keys) => (a.deleteMany ? a.deleteMany(keys) : pool(keys, IN_FLIGHT, (k) => a.delete(k)));
  const keyRates = variants.map(() => []);
  const compactMs = variants.map(() => []);
  const compactCounts = variants.map(() => new Map());
  for (let r = -1; r < DELETE_ROUNDS; r++) {
    for (let j = 0; j < variants.length; j++) {
      const i = (r + 2 + j) % variants.length;
      const keys = Array.from({ length: DELETES }, (_, n) => `d/${r + 1}/${i}/${n % 16}/${n}`);
      await adapter.writeMany(keys.map((key) => ({ key, bytes: new TextEncoder().encode(key) })));
      let t0 = performance.now();
      await removeAll(variants[i].adapter, keys);
      if (r >= 0) keyRates[i].push((DELETES * 1000) / (performance.now() - t0));

      const prefix = `compact-${r + 1}-${i}`;
      const counter = countingFetch(prefix);
      const archiveAdapter = s3Adapter({ ...options, prefix, fetch: counter.fetch });
      const archive = await openArchive(i === 0 ? perKeyDeletes(archiveAdapter) : archiveAdapter, { compactAfter: 1e9 });
      for (const v of values(`compact-${r}-${i}`, SEGMENTS)) await archive.put(v);
      const before = new Map(counter.counts);
      t0 = performance.now();
      await archive.close();
      if (r >= 0) {
        compactMs[i].push(performance.now() - t0);
        addInto(compactCounts[i], since(counter, before));
      }
    }
  }
  const rows = [];
  variants.forEach((v, i) => {
    const rate = median(keyRates[i]);
    rows.push({ operation: `adapter: remove ${DELETES} keys, ${v.label} (keys/s)`, value: fmt(rate), 'x baseline': i === 0 ? '' : `${(rate / median(keyRates[0])).toFixed(2)} (${variants[0].label})`, requests: '' });
  });
  variants.forEach((v, i) => {
    const ms = median(compactMs[i]);
    rows.push({
      operation: `archive compaction (close) of ${SEGMENTS} journal segments, ${v.label} (ms)`,
      value: fmt(ms),
      'x baseline': i === 0 ? '' : `${(median(compactMs[0]) / ms).toFixed(2)} faster (${variants[0].label})`,
      requests: `per compaction: ${perOpDetail(compactCounts[i], DELETE_ROUNDS)}`,
    });
  });
  return rows;
}

export async function run() {
  const gw = await startRadosgw({ buckets: [BUCKET] });
  const where = `Ceph radosgw ${cephVersion()} (1 OSD on memstore) on 127.0.0.1`;
  console.log(`\nradosgw cluster up in ${gw.startMs} ms; load average ${load()}`);
  try {
    const raw = rawClient(gw);
    const options = { endpoint: gw.endpoint, bucket: BUCKET, credentials: gw.credentials };
    const all = [];

    let l0 = load();
    let t0 = performance.now();
    const adapter = await adapterRows(gw, raw, options);
    table(`S3 adapter vs raw aws4fetch signed requests, ${where} (medians; each group measured as 'measured' says; load average ${l0} -> ${load()}, ${secs(t0)})`, adapter);
    all.push(...adapter);

    l0 = load();
    t0 = performance.now();
    const archive = await archiveRows(gw, raw, options);
    table(`S3 archive vs raw aws4fetch PUT/GET of the same canonical bytes, ${where} (medians; each group measured as 'measured' says; load average ${l0} -> ${load()}, ${secs(t0)})`, archive.rows);
    table('S3 archive: requests per value, by method and key (timed rounds)', archive.detail);
    all.push(...archive.rows);

    l0 = load();
    t0 = performance.now();
    const writers = await writersRows(options);
    table(`S3 compaction with many writers: ${WRITERS * PER_WRITER} values into one prefix, ${where} (medians of ${WRITER_ROUNDS} rounds, order alternating; requests counted over all rounds, opening and closing included; load average ${l0} -> ${load()}, ${secs(t0)})`, writers.rows);
    table('S3 many writers: a fresh reader after every handle closed (every acknowledged hash must be listed)', writers.checks);
    all.push(...writers.rows);

    l0 = load();
    t0 = performance.now();
    const deletes = await deleteRows(options);
    table(`S3 deletes: one DELETE per key vs DeleteObjects (1000 keys a request), ${where} (medians of ${DELETE_ROUNDS} alternating rounds; load average ${l0} -> ${load()}, ${secs(t0)})`, deletes);
    all.push(...deletes);
    return all;
  } finally {
    await gw.stop();
  }
}
