import { afterAll, beforeAll } from 'vitest';
import { s3Adapter } from '../adapters/s3/index.js';
import { runArchiveConformance } from '../src/testing/index.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';

// The archive suite, unchanged, on s3rver over loopback; each test gets its own prefix in the bucket,
// and `reopen` is a second adapter (another client) on the same prefix.
let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server({ conditionalPut: 'supported' });
});
afterAll(() => server?.close());
let n = 0;

runArchiveConformance('s3 (s3rver on loopback)', async () => {
  const prefix = `archive-${++n}/`;
  const open = () => s3Adapter({ endpoint: server.endpoint, bucket: server.bucket, credentials: server.credentials, prefix });
  return { adapter: open(), reopen: async () => open() };
});
