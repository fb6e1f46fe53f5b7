// The archive on the S3 adapter next to raw aws4fetch PUT/GET, against s3rver on loopback
// (its own process, started and stopped here), in the same run with cases interleaved round
// by round. s3rver is a slow, single-threaded server: the ratios say what the adapter and
// the archive add per request, not what a real S3 would do per second.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AwsClient } from 'aws4fetch';
import { canonicalBytes, objectKey, openArchive, sha256Hex } from '../dist/index.js';
import { s3Adapter } from '../dist/adapters/s3.js';
import { fmt, median, table } from './lib.js';
import { interleaved, verifyRate } from './sqlite.bench.js';

const SINGLES = 100; // sequential requests per round
const BATCH = 400; // objects per putMany / parallel raw PUTs
const IN_FLIGHT = 16; // the adapter's default writeMany concurrency
const ROUNDS = 5;
const DELETES = 1000; // keys per delete round: one compaction's worth of journal segments
const SEGMENTS = 200; // single puts (one journal segment each) before a timed compaction
const DELETE_ROUNDS = 3;
const BUCKET = 'bench-bucket';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** s3rver in a child process (see test/support/s3rver-process.cjs); resolves its endpoint and a stop(). */
async function startServer(directory) {
  const script = fileURLToPath(new URL('../test/support/s3rver-process.cjs', import.meta.url));
  const config = JSON.stringify({ directory, buckets: [BUCKET], conditionalPut: 'supported' });
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, config], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]).port);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      child.once('exit', resolve);
      child.stdin.end();
    }),
  };
}

function values(tag, count) {
  return Array.from({ length: count }, (_, i) => ({ tag, i, name: `item ${i} of ${tag}`, tags: ['alpha', String(i % 13)], meta: { score: i / 7 } }));
}

function perRound(tag, count) {
  const out = new Map();
  for (let r = -1; r < ROUNDS; r++) {
    const vals = values(`${tag}-${r}`, count);
    out.set(r, { values: vals, rows: vals.map((v) => ({ key: objectKey(sha256Hex(canonicalBytes(v))), bytes: canonicalBytes(v) })) });
  }
  return out;
}

/** The same adapter without deleteMany: what the archive did before it (one DELETE per key, 16 in flight). */
function perKeyDeletes(adapter) {
  return { ...adapter, capabilities: { ...adapter.capabilities, deleteMany: false }, deleteMany: undefined };
}

/**
 * Deletes with and without DeleteObjects, in the same run, order alternating round by round:
 * the adapter alone (keys/s), then an archive compaction (close() after SEGMENTS single puts;
 * only close() is timed) that deletes the journal segments it folded.
 */
async function deleteRates(options) {
  const adapter = s3Adapter({ ...options, prefix: 'deletes' });
  const variants = [
    { label: `DELETE per key, ${IN_FLIGHT} in flight`, adapter: perKeyDeletes(adapter) },
    { label: 'DeleteObjects', adapter },
  ];
  const removeAll = (a, keys) => (a.deleteMany ? a.deleteMany(keys) : pool(keys, IN_FLIGHT, (k) => a.delete(k)));
  const keyRates = variants.map(() => []);
  const compactMs = variants.map(() => []);
  for (let r = -1; r < DELETE_ROUNDS; r++) {
    for (let j = 0; j < variants.length; j++) {
      const i = (r + 2 + j) % variants.length;
      const keys = Array.from({ length: DELETES }, (_, n) => `d/${r + 1}/${i}/${n % 16}/${n}`);
      await adapter.writeMany(keys.map((key) => ({ key, bytes: new TextEncoder().encode(key) })));
      let t0 = performance.now();
      await removeAll(variants[i].adapter, keys);
      if (r >= 0) keyRates[i].push((DELETES * 1000) / (performance.now() - t0));

      const archiveAdapter = s3Adapter({ ...options, prefix: `compact-${r + 1}-${i}` });
      const archive = await openArchive(i === 0 ? perKeyDeletes(archiveAdapter) : archiveAdapter, { compactAfter: 1e9 });
      for (const v of values(`compact-${r}-${i}`, SEGMENTS)) await archive.put(v);
      t0 = performance.now();
      await archive.close();
      if (r >= 0) compactMs[i].push(performance.now() - t0);
    }
  }
  const rows = [];
  variants.forEach((v, i) => {
    const rate = median(keyRates[i]);
    rows.push({ operation: `adapter: remove ${DELETES} keys, ${v.label} (keys/s)`, value: fmt(rate), 'x baseline': i === 0 ? '' : `${(rate / median(keyRates[0])).toFixed(2)} (${variants[0].label})` });
  });
  variants.forEach((v, i) => {
    const ms = median(compactMs[i]);
    rows.push({ operation: `archive compaction of ${SEGMENTS} journal segments, ${v.label} (ms)`, value: fmt(ms), 'x baseline': i === 0 ? '' : `${(median(compactMs[0]) / ms).toFixed(2)} faster (${variants[0].label})` });
  });
  return rows;
}

async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-s3-'));
  const server = await startServer(dir);
  try {
    const client = new AwsClient({ ...CREDENTIALS, service: 's3', region: 'us-east-1', retries: 0 });
    const url = (key) => `${server.endpoint}/${BUCKET}/raw/${key}`;
    const rawPut = async (row) => {
      const res = await client.fetch(url(row.key), { method: 'PUT', body: row.bytes });
      if (res.status !== 200) throw new Error(`raw PUT ${res.status}`);
      await res.arrayBuffer();
    };
    const rawGet = async (key) => {
      const res = await client.fetch(url(key), { method: 'GET' });
      if (res.status !== 200) throw new Error(`raw GET ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    };
    const options = { endpoint: server.endpoint, bucket: BUCKET, credentials: CREDENTIALS };
    const adapter = s3Adapter({ ...options, prefix: 'adapter' });
    const archive = await openArchive(s3Adapter({ ...options, prefix: 'archive' }));

    const data = Object.fromEntries(
      ['rawPut', 'rawPar', 'write', 'writeMany', 'put', 'putMany'].map((n) => [n, perRound(n, n === 'rawPar' || n.endsWith('Many') ? BATCH : SINGLES)]),
    );
    const readRows = data.rawPut.get(-1).rows;
    for (const row of readRows) await rawPut(row);
    await adapter.writeMany(readRows);
    const hashes = await archive.putMany(data.put.get(-1).values);

    // Writes first, then reads on the archive reopened after close() (no background compaction left).
    const writes = [
      { name: 'raw aws4fetch PUT', ops: SINGLES, fn: async (r) => { for (const row of data.rawPut.get(r).rows) await rawPut(row); } },
      { name: `raw aws4fetch PUT, ${IN_FLIGHT} in flight`, ops: BATCH, fn: (r) => pool(data.rawPar.get(r).rows, IN_FLIGHT, rawPut) },
      { name: 'adapter write', ops: SINGLES, fn: async (r) => { for (const row of data.write.get(r).rows) await adapter.write(row.key, row.bytes); }, vs: 0 },
      { name: `adapter writeMany (${BATCH})`, ops: BATCH, fn: (r) => adapter.writeMany(data.writeMany.get(r).rows), vs: 1 },
      { name: 'archive put (one commit each)', ops: SINGLES, fn: async (r) => { for (const v of data.put.get(r).values) await archive.put(v); }, vs: 0 },
      { name: `archive putMany (${BATCH})`, ops: BATCH, fn: (r) => archive.putMany(data.putMany.get(r).values), vs: 1 },
    ];
    const writeRates = await interleaved(writes, ROUNDS);
    await archive.close();
    const reopened = await openArchive(s3Adapter({ ...options, prefix: 'archive' }));
    const reads = [
      { name: 'raw aws4fetch GET', ops: SINGLES, fn: async () => { for (const row of readRows) await rawGet(row.key); } },
      { name: 'adapter read', ops: SINGLES, fn: async () => { for (const row of readRows) await adapter.read(row.key); }, vs: 0 },
      { name: 'archive get (verified)', ops: SINGLES, fn: async () => { for (const h of hashes) await reopened.get(h); }, vs: 0 },
    ];
    const readRates = await interleaved(reads, ROUNDS);
    const { count, rate: verifyObjectsPerSecond } = await verifyRate(reopened);
    const rows = [];
    const report = (list, rates) =>
      list.forEach((c, i) =>
        rows.push({
          operation: c.name,
          'ops/s': fmt(rates[i]),
          'x baseline': c.vs === undefined ? '' : `${(rates[i] / rates[c.vs]).toFixed(2)} (${list[c.vs].name})`,
        }),
      );
    report(writes, writeRates);
    report([...reads, { name: `archive verify (${count} objects, objects/s)`, vs: 0 }], [...readRates, verifyObjectsPerSecond]);
    await reopened.close();
    table(`S3 adapter vs raw aws4fetch on s3rver over loopback (medians of ${ROUNDS} interleaved rounds)`, rows);
    const deleteRows = await deleteRates(options);
    table(`S3 deletes: one DELETE per key vs DeleteObjects (1000 keys a request), same run (medians of ${DELETE_ROUNDS} alternating rounds)`, deleteRows);
    return [...rows, ...deleteRows];
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
