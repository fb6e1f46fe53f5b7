// A throwaway Ceph radosgw cluster for the S3 bench: test/support/radosgw-cluster.mjs (the
// tests' supervisor, used as is) in a child process, as test/support/radosgw.ts starts it. The
// supervisor prints one JSON line (endpoint, directory, credentials) once the buckets exist and
// stops the cluster, removing its directory, when its stdin closes, which stop() does (and which
// happens by itself when this process dies in any way).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../test/support/radosgw-cluster.mjs', import.meta.url));

/** Starts a cluster with `buckets`; resolves { endpoint, directory, credentials, startMs, stop() }. */
export async function startRadosgw({ buckets = ['bench-bucket'], startTimeoutMs = 60_000 } = {}) {
  const child = spawn(process.execPath, [script, JSON.stringify({ buckets, startTimeoutMs })], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let ready = false;
  child.stderr.on('data', (d) => {
    if (ready) process.stderr.write(d);
    else stderr += d;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const info = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      let line;
      try {
        line = JSON.parse(out.slice(0, nl));
      } catch {
        return reject(new Error(`radosgw: unreadable answer from the supervisor: ${out.slice(0, 500)}\n${stderr}`));
      }
      if (line.error !== undefined) reject(new Error(`radosgw: ${line.error}\n${stderr}`));
      else resolve(line);
    });
    child.once('exit', (code, signal) => reject(new Error(`radosgw: the supervisor exited (${signal ?? code}) before the cluster was up\n${stderr}`)));
    child.once('error', reject);
  });
  ready = true;
  return {
    endpoint: info.endpoint,
    directory: info.directory,
    startMs: info.startMs,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end();
      const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(late);
    },
  };
}
