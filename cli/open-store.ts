/**
 * Opens the adapter behind a store spec. Backends are imported only when
 * named, so a missing optional one fails only when chosen.
 *
 * What a command may do to its store decides how it is opened:
 * - `read`: the store must exist; the adapter is wrapped in a read-only view,
 *   so nothing is created or changed (no index, lock or writer files);
 * - `modify`: the store must exist;
 * - `create`: the store is created when it does not exist yet.
 *
 * @module
 */
import { open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { CliError, EXIT } from './errors.js';
import { readOnlyView } from './read-only.js';
import { describeSpec, type StoreSpec } from './store-spec.js';

/** What a command does to its store. */
export type StoreAccess = 'read' | 'modify' | 'create';

export interface OpenStoreOptions {
  access: StoreAccess;
  env: Record<string, string | undefined>;
  endpoint?: string;
  region?: string;
}

/** What is at a path: nothing, a directory, a file (and whether it is a SQLite database), or a file in the way. */
type PathState = { kind: 'missing' } | { kind: 'dir' } | { kind: 'file'; sqlite: boolean } | { kind: 'blocked'; by: string };

const SQLITE_MAGIC = 'SQLite format 3\0';

async function isSqliteFile(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'r');
    try {
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(16), 0, 16, 0);
      return bytesRead === 16 && buffer.toString('latin1') === SQLITE_MAGIC;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

async function pathState(path: string): Promise<PathState> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? { kind: 'dir' } : { kind: 'file', sqlite: await isSqliteFile(path) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      throw new CliError('BACKEND_UNREACHABLE', `cannot reach ${path}: ${code ?? (e as Error).message}`, EXIT.backend, { cause: e });
    }
  }
  // Missing: is a file standing where a parent directory should be?
  for (let p = dirname(resolve(path)); ; p = dirname(p)) {
    try {
      if (!(await stat(p)).isDirectory()) return { kind: 'blocked', by: p };
      return { kind: 'missing' };
    } catch {
      if (dirname(p) === p) return { kind: 'missing' };
    }
  }
}

function noStore(spec: StoreSpec): CliError {
  return new CliError(
    'STORE_NOT_FOUND',
    `no store at ${describeSpec(spec)}: it does not exist (put, import, restore or intents add create one; or give --store)`,
    EXIT.notFound,
  );
}

const notAStore = (message: string) => new CliError('NOT_A_STORE', message, EXIT.badInput);

/** Refuses a path that cannot be (or become) the store, before anything is created there. */
async function checkPath(spec: StoreSpec & { kind: 'file' | 'sqlite' }, access: StoreAccess): Promise<void> {
  const path = spec.kind === 'file' ? spec.dir : spec.file;
  const state = await pathState(path);
  if (state.kind === 'blocked') throw notAStore(`${path} cannot be a store: ${state.by} is a file, not a directory`);
  if (state.kind === 'missing') {
    if (access !== 'create') throw noStore(spec);
    return;
  }
  if (spec.kind === 'file' && state.kind === 'file') {
    const hint = state.sqlite ? ` It is a SQLite database: give --store sqlite:${path}` : ' A store is a directory: give --store a directory (or sqlite:<file> for a SQLite store)';
    throw notAStore(`${path} is a file, not a store.${hint}`);
  }
  if (spec.kind === 'sqlite' && state.kind === 'dir') {
    throw notAStore(`${path} is a directory, not a SQLite database: give --store ${path} for a directory store`);
  }
  if (spec.kind === 'sqlite' && state.kind === 'file' && !state.sqlite && (await stat(path)).size > 0) {
    throw notAStore(`${path} is not a SQLite database (it does not start with the SQLite header)`);
  }
}

/** The adapter for `spec`, opened as `options.access` allows. */
export async function openStoreAdapter(spec: StoreSpec, options: OpenStoreOptions): Promise<StorageAdapter> {
  const adapter = await openBackend(spec, options);
  return options.access === 'read' ? readOnlyView(adapter) : adapter;
}

async function openBackend(spec: StoreSpec, options: OpenStoreOptions): Promise<StorageAdapter> {
  switch (spec.kind) {
    case 'memory': {
      const { memoryAdapter } = await import('../adapters/memory.js');
      return memoryAdapter();
    }
    case 'file': {
      await checkPath(spec, options.access);
      const { nodeFsAdapter } = await import('../adapters/node-fs/index.js');
      // A reader sweeps no temp files: that is a change, and writers do it.
      return nodeFsAdapter({ dir: spec.dir, sweep: options.access !== 'read' });
    }
    case 'sqlite': {
      await checkPath(spec, options.access);
      const { sqliteAdapter } = await import('../adapters/sqlite.js');
      return sqliteAdapter({ file: spec.file });
    }
    case 's3': {
      const env = options.env;
      const endpoint = options.endpoint ?? env.ARCHIVE_S3_ENDPOINT;
      const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
      const accessKeyId = env.AWS_ACCESS_KEY_ID;
      const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey) {
        throw new CliError(
          'BACKEND_UNREACHABLE',
          `no credentials for ${describeSpec(spec)}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
          EXIT.backend,
        );
      }
      const { s3Adapter } = await import('../adapters/s3/index.js');
      return s3Adapter({
        bucket: spec.bucket,
        prefix: spec.prefix,
        region,
        credentials: { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN },
        // With an explicit endpoint (MinIO, Garage, s3rver...) path-style; else AWS itself, virtual-hosted.
        endpoint: endpoint ?? `https://s3.${region}.amazonaws.com`,
        pathStyle: endpoint !== undefined,
      });
    }
  }
}

/**
 * Whether the store named by `spec` exists already (a directory or database
 * file is there). S3 and memory stores count as existing: a memory store is
 * gone with the command, and an S3 prefix cannot be told apart from an empty
 * store without listing it (so a failed import into a new S3 prefix may leave
 * its empty index.json there).
 */
export async function storeExists(spec: StoreSpec): Promise<boolean> {
  if (spec.kind !== 'file' && spec.kind !== 'sqlite') return true;
  return (await pathState(spec.kind === 'file' ? spec.dir : spec.file)).kind !== 'missing';
}
