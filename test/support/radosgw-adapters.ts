/**
 * One radosgw for a whole test file and S3 adapters on it: the setup the
 * S3 tests of references and change events share. The cluster starts in the
 * file's `beforeAll` (given 120 s: a loaded machine is slow to start ceph)
 * and goes in its `afterAll`.
 */
import { afterAll, beforeAll } from 'vitest';
import { s3Adapter, type S3AdapterOptions } from '../../adapters/s3/index.js';
import type { StorageAdapter } from '../../src/adapter/contract.js';
import { startRadosgw, type RadosgwServer } from './radosgw.js';

/** Adapters on the file's radosgw. */
export interface RadosgwAdapters {
  /** A new S3 adapter (its own connection and handle, as another machine's would be) on `prefix` of the cluster's bucket. */
  adapterOf(prefix: string, extra?: Partial<S3AdapterOptions>): StorageAdapter;
  /** The running server (only inside tests and hooks: it starts in `beforeAll`). */
  server(): RadosgwServer;
}

/** Starts a radosgw for the calling test file (call at its top level: it registers `beforeAll`/`afterAll`). */
export function radosgwForFile(): RadosgwAdapters {
  let gw: RadosgwServer | undefined;
  beforeAll(async () => {
    gw = await startRadosgw();
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
  });
  const server = (): RadosgwServer => {
    if (!gw) throw new Error('radosgwForFile: the server is not started yet (use it inside a test or hook)');
    return gw;
  };
  return {
    server,
    adapterOf: (prefix, extra = {}) => {
      const { endpoint, bucket, credentials } = server();
      return s3Adapter({ endpoint, bucket, prefix, credentials, ...extra });
    },
  };
}
