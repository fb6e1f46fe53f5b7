import { afterAll, beforeAll } from 'vitest';
import { s3Adapter } from '../adapters/s3/index.js';
import { runArchiveConformance } from '../src/testing/index.js';
import { startRadosgw, type RadosgwServer } from './support/radosgw.js';

// The archive suite, unchanged, on Ceph radosgw over loopback (one throwaway cluster for the file);
// each test gets its own prefix in the bucket, and `reopen` is a second adapter (another client) on
// the same prefix.
let server: RadosgwServer;
beforeAll(async () => {
  server = await startRadosgw();
});
afterAll(() => server?.close());
let n = 0;

runArchiveConformance('s3 (radosgw on loopback)', async () => {
  const prefix = `archive-${++n}/`;
  const open = () => s3Adapter({ endpoint: server.endpoint, bucket: server.bucket, credentials: server.credentials, prefix });
  return { adapter: open(), reopen: async () => open() };
});
