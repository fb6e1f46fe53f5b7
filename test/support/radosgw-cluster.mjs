// A throwaway Ceph cluster serving S3 (radosgw), for tests and benchmarks: one monitor, one OSD
// on memstore (RAM), no cephx, radosgw's beast frontend, everything on 127.0.0.1 and in one
// temporary directory. Started by test/support/radosgw.ts as
//   node radosgw-cluster.mjs '{"buckets":[...],"accessKeyId":...,"secretAccessKey":...}'
// It prints one JSON line on stdout, {"endpoint":..., "directory":...} once the buckets exist, or
// {"error":...} (with the tails of the daemons' logs) and exits 1.
//
// This process is the cluster's supervisor: the daemons are its children (in the foreground),
// each started under `setpriv --pdeathsig KILL`, so they die with it whatever kills it. It stops
// the cluster (SIGKILL: memstore has nothing to flush) and removes the directory when its stdin
// closes (the parent called close(), or the parent died: SIGKILL included), when the parent pid
// goes away, or on SIGTERM/SIGINT. A directory left by a supervisor that was itself SIGKILLed is
// removed by the next start.
//
// Settings (Ceph 16, Debian 12): without `ms mon client mode = crc` and `ms client mode = crc`
// radosgw loops on -13; `objecter tick interval` is lowered because a client whose first ops were
// sent before the OSD was up ("homeless" ops) only asks for a new OSD map on that tick (5 s by
// default): the daemons all start at once instead of one after the other. Beast's `tcp_nodelay=1`:
// without it a GET or a listing waits ~40 ms a request (Nagle against delayed ACKs on loopback);
// 32 frontend threads instead of 512 suit a small test machine.
import { spawn, execFile } from 'node:child_process';
import { randomUUID, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClient } from 'aws4fetch';

const config = JSON.parse(process.argv[2] || '{}');
const buckets = config.buckets ?? ['test-bucket'];
const accessKeyId = config.accessKeyId ?? `RGW${randomBytes(8).toString('hex').toUpperCase()}`;
const secretAccessKey = config.secretAccessKey ?? randomBytes(20).toString('hex');
const startTimeoutMs = config.startTimeoutMs ?? 45_000;
const DIR_PREFIX = 'archive-rgw-';
const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'osdmaptool'];

/** Live children: daemons and the one-shot commands still running. */
const children = new Set();
let directory;
let stopping = false;

function fail(message) {
  process.stdout.write(JSON.stringify({ error: message }) + '\n');
  stop(1);
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const waitAll = Promise.all([...children].map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  const bound = new Promise((r) => setTimeout(r, 3000));
  Promise.race([waitAll, bound]).then(() => {
    if (directory) rmSync(directory, { recursive: true, force: true, maxRetries: 3 });
    process.exit(code);
  });
}

// --- the parent's lifetime ------------------------------------------------------------------------
const parentPid = process.ppid;
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.on('SIGHUP', () => stop(0));
setInterval(() => {
  if (process.ppid !== parentPid || !alive(parentPid)) stop(0);
}, 500).unref();

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

// --- helpers -------------------------------------------------------------------------------------
function which(bin) {
  for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':')) if (existsSync(join(dir, bin))) return join(dir, bin);
  return undefined;
}
const setpriv = which('setpriv');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Runs a one-shot command; resolves its stdout, rejects with its output. */
function run(bin, args, timeoutMs = startTimeoutMs) {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      children.delete(child);
      if (error) reject(new Error(`${bin} ${args.join(' ')} failed (${error.killed ? `no answer within ${timeoutMs} ms` : error.code ?? error.signal}): ${(stderr || stdout || error.message).trim().slice(-2000)}`));
      else resolve(stdout);
    });
    children.add(child);
  });
}

/** Starts a daemon in the foreground; its own output goes to log/<name>.out. */
function daemon(name, bin, args) {
  const out = openSync(join(directory, 'log', `${name}.out`), 'a');
  const [cmd, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', out, out] });
  closeSync(out);
  child.daemonName = name;
  children.add(child);
  child.once('exit', (code, signal) => {
    children.delete(child);
    child.exited = { code, signal };
    if (!stopping && started) {
      process.stderr.write(`radosgw-cluster: ${name} exited (${signal ?? code}) while the cluster was in use\n${logTails()}\n`);
    }
  });
  return child;
}

/** The last lines of every log of the cluster, for failure messages. */
function logTails(lines = 12) {
  if (!directory) return '';
  const dir = join(directory, 'log');
  let out = '';
  for (const file of readdirSync(dir).sort()) {
    if (file.includes('audit')) continue;
    const text = readFileSync(join(dir, file), 'utf8');
    const tail = text
      .split('\n')
      .filter((l) => l.trim() && !/rocksdb:|Options\.|^\s/.test(l))
      .slice(-lines);
    if (tail.length) out += `--- ${file} (last ${tail.length} lines)\n${tail.join('\n')}\n`;
  }
  return out;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Removes directories of earlier clusters whose supervisor is gone (it was SIGKILLed). */
function removeStaleDirectories() {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    try {
      const pid = Number(readFileSync(join(dir, 'supervisor.pid'), 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && !alive(pid)) rmSync(dir, { recursive: true, force: true });
    } catch {
      /* not ours, or being created: leave it */
    }
  }
}

function cephConf(d, fsid, monPort, rgwPort) {
  return `# A throwaway cluster of test/support/radosgw-cluster.mjs
[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${monPort}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms cluster mode = crc
ms service mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
run dir = ${d}/run
admin socket = ${d}/run/$name.asok
pid file = ${d}/run/$name.pid
crash dir = ${d}/crash
keyring = ${d}/keyring
log file = ${d}/log/$name.log
log to stderr = false
err to stderr = false
mon cluster log file = ${d}/log/cluster.$channel.log
mon data = ${d}/mon/$name
osd data = ${d}/osd/$name
osd journal = ${d}/osd/$name/journal
osd objectstore = memstore
memstore device bytes = 4294967296
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon osd down out interval = 0
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.05
[client]
objecter tick interval = 0.1
rgw data = ${d}/rgw
rgw rados pool pg num min = 1
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw thread pool size = 32
`;
}

let started = false;

/** One attempt at a cluster; rejects with `{ retry: true }` when a port was taken. */
async function attempt(deadline) {
  directory = join(tmpdir(), `${DIR_PREFIX}${randomBytes(5).toString('hex')}`);
  const d = directory;
  for (const sub of ['run', 'log', 'crash', 'mon/mon.a', 'osd/osd.0', 'rgw']) mkdirSync(join(d, sub), { recursive: true });
  writeFileSync(join(d, 'supervisor.pid'), String(process.pid));
  writeFileSync(join(d, 'keyring'), '');
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = randomUUID();
  const conf = join(d, 'ceph.conf');
  writeFileSync(conf, cephConf(d, fsid, monPort, rgwPort));
  const c = ['-c', conf];

  const osdMkfs = run('ceph-osd', [...c, '--no-mon-config', '-i', '0', '--mkfs', '--osd-uuid', randomUUID()]);
  osdMkfs.catch(() => undefined); // awaited below; a failure before that must not be unhandled
  await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, join(d, 'monmap')]);
  // An OSD map that already has osd.0: no `ceph osd new` (a Python client, and a round trip) needed.
  await run('osdmaptool', [...c, '--createsimple', '1', join(d, 'osdmap')]);
  await run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', join(d, 'monmap'), '--osdmap', join(d, 'osdmap')]);
  const mon = daemon('mon.a', 'ceph-mon', [...c, '-i', 'a', '-f']);
  await osdMkfs;
  const osd = daemon('osd.0', 'ceph-osd', [...c, '-i', '0', '-f']);
  const rgw = daemon('client.rgw', 'radosgw', [...c, '-n', 'client.rgw', '-f']);
  const daemons = [mon, osd, rgw];

  let userDone = false;
  const user = run('radosgw-admin', [
    ...c,
    'user',
    'create',
    '--uid',
    'archive-test',
    '--display-name',
    'archive-storage tests',
    '--access-key',
    accessKeyId,
    '--secret-key',
    secretAccessKey,
  ]).then(() => {
    userDone = true;
  });
  let userError;
  user.catch((e) => (userError = e));

  const endpoint = `http://127.0.0.1:${rgwPort}`;
  let rgwUp = false;
  while (!(rgwUp && userDone)) {
    const dead = daemons.find((x) => x.exited);
    if (dead) {
      const tails = logTails();
      const collision = /Address already in use|unable to bind|failed to bind/i.test(tails);
      throw Object.assign(new Error(`${dead.daemonName} exited (${dead.exited.signal ?? dead.exited.code}) during startup`), { retry: collision });
    }
    if (userError) throw userError;
    if (Date.now() > deadline) throw new Error(`the cluster did not answer S3 within ${startTimeoutMs} ms`);
    if (!rgwUp) {
      try {
        const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        rgwUp = true;
        continue;
      } catch {
        /* not listening yet */
      }
    }
    await sleep(40);
  }

  const client = new AwsClient({ accessKeyId, secretAccessKey, service: 's3', region: 'us-east-1', retries: 0 });
  for (const bucket of buckets) {
    const res = await client.fetch(`${endpoint}/${bucket}`, { method: 'PUT' });
    const text = await res.text();
    if (res.status !== 200 && !text.includes('BucketAlreadyOwnedByYou')) throw new Error(`creating bucket "${bucket}" answered ${res.status}: ${text.slice(0, 500)}`);
  }
  return { endpoint, monPort, rgwPort };
}

async function main() {
  const missing = BINARIES.filter((b) => !which(b));
  if (missing.length) {
    return fail(
      `Ceph is not installed (missing ${missing.join(', ')}). The S3 tests run a throwaway radosgw: ` +
        `apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common (.ci/run does it)`,
    );
  }
  removeStaleDirectories();
  const t0 = Date.now();
  const deadline = t0 + startTimeoutMs;
  for (let n = 1; ; n++) {
    try {
      const info = await attempt(deadline);
      started = true;
      process.stdout.write(JSON.stringify({ ...info, directory, accessKeyId, secretAccessKey, startMs: Date.now() - t0, pid: process.pid }) + '\n');
      return;
    } catch (e) {
      const tails = logTails();
      for (const child of children) child.kill('SIGKILL');
      await sleep(100);
      if (e.retry && n < 3 && Date.now() < deadline) {
        rmSync(directory, { recursive: true, force: true });
        continue;
      }
      return fail(`radosgw test cluster did not start (attempt ${n}): ${e.message}\nin ${directory}\n${tails}`);
    }
  }
}

main().catch((e) => fail(`radosgw-cluster: ${e?.stack ?? e}`));
