// A real S3 protocol server (s3rver) in its own process, for tests and benchmarks.
// Started by test/support/s3-server.ts and bench/s3.bench.js as
//   node --openssl-legacy-provider s3rver-process.cjs '{"directory":..., "buckets":[...], "conditionalPut":...}'
// It listens on 127.0.0.1 (a free port), prints {"port":N} on one line, and exits when its
// stdin closes (the parent ended or called close) or on SIGTERM.
//
// Why a process of its own, with the legacy OpenSSL provider: s3rver makes ListObjectsV2
// continuation tokens with DES, which Node 20's OpenSSL only has in its legacy provider;
// without it every truncated listing fails with a 500.
//
// Two changes make s3rver behave like S3 where the adapter contract depends on it:
// - s3rver writes an object straight into its final file, so a reader can see a half-written
//   object and an aborted upload leaves a truncated one; S3 does neither. Here an upload goes to
//   a temporary file that is renamed into place only once the whole body has arrived.
// - s3rver ignores If-None-Match on PUT. `conditionalPut` chooses what this server does with
//   `If-None-Match: *`: "ignored" (s3rver as shipped), "supported" (412 when the key exists, as
//   AWS S3, MinIO and R2 answer) or "not-implemented" (501).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const http = require('node:http');
const path = require('node:path');
const { Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const S3rver = require('s3rver');

const config = JSON.parse(process.argv[2] || '{}');
const buckets = config.buckets || ['test-bucket'];
const conditionalPut = config.conditionalPut || 'ignored';

const instance = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: config.directory,
  configureBuckets: buckets.map((name) => ({ name })),
});
const store = instance.store;

store.putObject = async function atomicPutObject(object) {
  const finalPath = store.getResourcePath(object.bucket, object.key, 'object');
  await fsp.mkdir(path.dirname(finalPath), { recursive: true });
  // A short name beside the object (a long key's own file name is already near NAME_MAX);
  // never listed, as it lacks s3rver's object suffix.
  const temp = path.join(path.dirname(finalPath), `.upload-${crypto.randomUUID().slice(0, 8)}`);
  const md5 = crypto.createHash('md5');
  let size = 0;
  try {
    if (Buffer.isBuffer(object.content)) {
      md5.update(object.content);
      size = object.content.length;
      await fsp.writeFile(temp, object.content);
    } else {
      const count = new Transform({
        transform(chunk, _enc, done) {
          md5.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(object.content, count, fs.createWriteStream(temp));
    }
    const declared = object.metadata['content-length'];
    if (declared !== undefined && Number(declared) !== size) throw new Error(`upload cut short: ${size} of ${declared} bytes`);
    await fsp.rename(temp, finalPath);
  } catch (e) {
    await fsp.rm(temp, { force: true });
    throw e;
  }
  const digest = md5.digest('hex');
  await store.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
};

/** Per-key FIFO queue, so that a conditional PUT's check and write are one step. */
const tails = new Map();
function exclusive(name, fn) {
  const previous = tails.get(name) || Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => undefined);
  tails.set(name, tail);
  tail.then(() => tails.get(name) === tail && tails.delete(name));
  return run;
}

function reply(req, res, status, code, message) {
  req.resume();
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

async function main() {
  await instance.configureBuckets();
  const handle = instance.callback();
  const server = http.createServer((req, res) => {
    const conditional = req.method === 'PUT' && req.headers['if-none-match'] === '*';
    if (!conditional || conditionalPut === 'ignored') return handle(req, res);
    if (conditionalPut === 'not-implemented') {
      return reply(req, res, 501, 'NotImplemented', 'A header you provided implies functionality that is not implemented');
    }
    // Path-style URL: /bucket/key
    const [, bucket = '', ...rest] = new URL(req.url || '/', 'http://x').pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    exclusive(`${bucket}/${key}`, async () => {
      if (await store.existsObject(bucket, key)) {
        return reply(req, res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      }
      await new Promise((resolve) => {
        res.once('close', resolve);
        handle(req, res);
      });
    }).catch((e) => reply(req, res, 500, 'InternalError', String(e)));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`s3rver-process: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
