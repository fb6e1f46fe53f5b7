/**
 * A child process that puts values into an archive on S3 and reports on
 * stdout one line per acknowledged hash: `ok <hash>`. Used by the
 * many-writers test on radosgw (test/s3-multiwriter.test.ts).
 *
 * argv: <json config> where config is
 * `{ endpoint, bucket, prefix, credentials, tag, count, batch, compactAfter, writers }`.
 */
import { s3Adapter } from '../../adapters/s3/index.js';
import { openArchive } from '../../src/archive/index.js';

const c = JSON.parse(process.argv[2]!) as {
  endpoint: string;
  bucket: string;
  prefix: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  tag: string;
  count: number;
  batch: number;
  compactAfter: number;
  writers: 'many' | 'single';
};
const adapter = s3Adapter({ endpoint: c.endpoint, bucket: c.bucket, prefix: c.prefix, credentials: c.credentials, writers: c.writers });
const archive = await openArchive(adapter, { compactAfter: c.compactAfter });
for (let i = 0; i < c.count; i += c.batch) {
  const values = Array.from({ length: Math.min(c.batch, c.count - i) }, (_, k) => ({ writer: c.tag, n: i + k, body: 'x'.repeat(100) }));
  const hashes = await archive.putMany(values);
  process.stdout.write(hashes.map((h) => `ok ${h}\n`).join(''));
}
await archive.close();
await adapter.close?.();
process.stdout.write('done\n');
