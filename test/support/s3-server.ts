/**
 * A real S3 protocol server for tests: `s3rver` in a child process
 * (`s3rver-process.cjs`, which says why it runs apart and what it changes to
 * behave like S3) on 127.0.0.1, a free port and a fresh temporary directory.
 * `close()` stops it and removes the directory; it also stops by itself when
 * the test process ends (its stdin closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The credentials s3rver accepts out of the box. */
export const S3RVER_CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });

export interface S3ServerOptions {
  /** Buckets created before the server starts (default `['test-bucket']`). */
  buckets?: string[];
  /** What the server does with `If-None-Match: *` on PUT (default `ignored`, s3rver's own behaviour). */
  conditionalPut?: 'ignored' | 'supported' | 'not-implemented';
}

export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** The first configured bucket. */
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The data directory (removed by close). */
  directory: string;
  close(): Promise<void>;
}

const script = fileURLToPath(new URL('./s3rver-process.cjs', import.meta.url));

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  const buckets = options.buckets ?? ['test-bucket'];
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', script, JSON.stringify({ directory, buckets, conditionalPut: options.conditionalPut ?? 'ignored' })],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let port: number;
  try {
    port = await readPort(child);
  } catch (e) {
    child.kill();
    await rm(directory, { recursive: true, force: true });
    throw e;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: buckets[0]!,
    credentials: { ...S3RVER_CREDENTIALS },
    directory,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.stdin?.end();
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        child.stdout?.off('data', onData);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`s3rver process exited (${code}) before listening`)));
    child.once('error', reject);
  });
}
