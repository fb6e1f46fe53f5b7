/**
 * A real S3 server for tests: Ceph's radosgw on a throwaway cluster (one
 * monitor, one OSD on memstore, no cephx), on 127.0.0.1, free ports and a
 * fresh temporary directory; `radosgw-cluster.mjs` beside this file builds it
 * and supervises it (see there for the settings and why).
 *
 * `close()` kills the daemons and removes the directory. The cluster also goes
 * when the test process ends in any way (SIGKILL included): the supervisor
 * stops it when its stdin closes or its parent goes, and the daemons carry a
 * parent-death signal, so they die with the supervisor.
 *
 * Needs Debian's `radosgw ceph-mon ceph-osd ceph-common` (`.ci/run` installs
 * them); without them `startRadosgw` fails saying so.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RadosgwOptions {
  /** Buckets created before it resolves (default `['test-bucket']`). */
  buckets?: string[];
  /** The access key of the cluster's one user (default: random). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Default 45 s. */
  startTimeoutMs?: number;
}

export interface RadosgwServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** The first configured bucket. */
  bucket: string;
  /** The access key the cluster's user has (SigV4 is checked: anything else is refused). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The cluster's directory (conf, mon store, logs; removed by close). */
  directory: string;
  /** How long the start took, in ms. */
  startMs: number;
  /** Runs `radosgw-admin <args>` on this cluster (e.g. to add a user); resolves its stdout. */
  admin(args: string[]): Promise<string>;
  close(): Promise<void>;
}

const script = fileURLToPath(new URL('./radosgw-cluster.mjs', import.meta.url));

interface Started {
  endpoint: string;
  directory: string;
  accessKeyId: string;
  secretAccessKey: string;
  startMs: number;
}

export async function startRadosgw(options: RadosgwOptions = {}): Promise<RadosgwServer> {
  const buckets = options.buckets ?? ['test-bucket'];
  const config = { buckets, ...options.credentials, startTimeoutMs: options.startTimeoutMs };
  const child = spawn(process.execPath, [script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let ready = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    // After the start, whatever the supervisor says (a daemon died) goes to the test's stderr.
    if (ready) process.stderr.write(chunk);
    else stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const info = await new Promise<Started>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      let line: Started & { error?: string };
      try {
        line = JSON.parse(out.slice(0, nl)) as Started & { error?: string };
      } catch {
        return reject(new Error(`radosgw: unreadable answer from the supervisor: ${out.slice(0, 500)}\n${stderr}`));
      }
      if (line.error !== undefined) reject(new Error(`radosgw: ${line.error}${stderr ? `\n${stderr}` : ''}`));
      else resolve(line);
    });
    child.once('exit', (code, signal) => reject(new Error(`radosgw: the cluster supervisor exited (${signal ?? code}) before the cluster was up\n${stderr}`)));
    child.once('error', reject);
  });
  ready = true;
  if (stderr) process.stderr.write(stderr);
  return {
    endpoint: info.endpoint,
    bucket: buckets[0]!,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    directory: info.directory,
    startMs: info.startMs,
    admin: (args) =>
      new Promise((resolve, reject) => {
        execFile('radosgw-admin', ['-c', join(info.directory, 'ceph.conf'), ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
          error ? reject(new Error(`radosgw-admin ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
        );
      }),
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin!.end();
        const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(late);
      }
    },
  };
}
