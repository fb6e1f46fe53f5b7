import { createHash } from 'node:crypto';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Adapter, type S3AdapterOptions } from '../adapters/s3/index.js';
import { decodeXmlText, deleteObjectsBody, escapeXmlText, parseDeleteResult, parseListObjectsV2, parseS3Error, walkXml } from '../adapters/s3/xml.js';
import { isArchiveStorageError } from '../src/errors.js';
import { runAdapterConformance } from '../src/testing/index.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';

const enc = new TextEncoder();
let prefixes = 0;
const freshPrefix = () => `t${++prefixes}-${Date.now().toString(36)}/`;

async function caught(p: Promise<unknown>): Promise<{ code?: string; message: string } | undefined> {
  try {
    await p;
  } catch (e) {
    return { code: isArchiveStorageError(e) ? e.code : undefined, message: e instanceof Error ? e.message : String(e) };
  }
  return undefined;
}

async function collect(iter: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of iter) out.push(k);
  return out;
}

// One server per conditional-PUT behaviour; every conformance test gets a fresh prefix in it.
const servers: Partial<Record<'ignored' | 'supported' | 'not-implemented', S3TestServer>> = {};
beforeAll(async () => {
  for (const mode of ['ignored', 'supported', 'not-implemented'] as const) servers[mode] = await startS3Server({ conditionalPut: mode });
});
afterAll(async () => {
  for (const s of Object.values(servers)) await s?.close();
});

function adapterOn(server: S3TestServer, extra: Partial<S3AdapterOptions> = {}) {
  return s3Adapter({ endpoint: server.endpoint, bucket: server.bucket, credentials: server.credentials, prefix: freshPrefix(), ...extra });
}

// 1200 keys: past one default page of 1000, so the listing follows a real continuation token (s3rver
// takes ~3 ms a request: the suite's default of 2000 would double this file's run time for nothing more).
runAdapterConformance(
  's3 on s3rver (If-None-Match ignored: HEAD-then-PUT create)',
  async () => {
    const prefix = freshPrefix();
    const opts = () => ({ endpoint: servers.ignored!.endpoint, bucket: servers.ignored!.bucket, credentials: servers.ignored!.credentials, prefix });
    return { adapter: s3Adapter(opts()), reopen: async () => s3Adapter(opts()) };
  },
  { manyKeys: 1200 },
);

runAdapterConformance(
  's3 on s3rver (If-None-Match honoured, 7-key list pages)',
  async () => ({ adapter: adapterOn(servers.supported!, { listPageSize: 7 }) }),
  { largeBytes: 1024 * 1024, manyKeys: 300 },
);

describe('s3 adapter', () => {
  it('keeps keys under its prefix and lists only valid keys of its own', async () => {
    const server = servers.ignored!;
    const root = s3Adapter({ endpoint: server.endpoint, bucket: server.bucket, credentials: server.credentials });
    const prefix = freshPrefix();
    const a = s3Adapter({ endpoint: server.endpoint, bucket: server.bucket, credentials: server.credentials, prefix: prefix.slice(0, -1) });
    await a.write('objects/ab/x.json', enc.encode('1'));
    expect(await root.read(`${prefix}objects/ab/x.json`)).toEqual(enc.encode('1'));
    // An object another tool put under the prefix with a name this SDK would refuse.
    const foreign = await fetchSigned(server, 'PUT', `${prefix}odd%20name`, enc.encode('x'));
    expect(foreign.status).toBe(200);
    expect(await collect(a.list(''))).toEqual(['objects/ab/x.json']);
  });

  it('pages ListObjectsV2 with continuation tokens', async () => {
    const listings: string[] = [];
    const counting: typeof fetch = (input, init) => {
      if ((input as Request).url.includes('list-type=2')) listings.push((input as Request).url);
      return fetch(input, init);
    };
    const a = adapterOn(servers.ignored!, { listPageSize: 4, fetch: counting });
    const keys = Array.from({ length: 10 }, (_, i) => `k/${i}`);
    await a.writeMany!(keys.map((key) => ({ key, bytes: enc.encode(key) })));
    expect((await collect(a.list('k/'))).sort()).toEqual([...keys].sort());
    expect(listings).toHaveLength(3);
    expect(listings[0]).not.toContain('continuation-token');
    expect(listings[1]).toContain('continuation-token=');
    expect(listings[2]).toContain('continuation-token=');
  });

  it('create uses If-None-Match where honoured, and falls back when the server answers 501', async () => {
    for (const mode of ['supported', 'not-implemented', 'ignored'] as const) {
      const a = adapterOn(servers[mode]!);
      expect(await a.create!('c', enc.encode('first'))).toBe(true);
      expect(await a.create!('c', enc.encode('second'))).toBe(false);
      expect(await a.read('c')).toEqual(enc.encode('first'));
      expect(await collect(a.list(''))).toEqual(['c']); // the probe key is gone
    }
    // Forced conditional writes on a server that does not implement them: a clear failure, nothing written.
    const forced = adapterOn(servers['not-implemented']!, { conditionalWrites: 'always' });
    const failure = await caught(forced.create!('x', enc.encode('1')));
    expect(failure?.code).toBe('BACKEND_FAILURE');
    expect(failure?.message).toContain('NotImplemented');
    expect(await forced.has('x')).toBe(false);
  });

  it('retries 503 and 429 with backoff, then succeeds', async () => {
    const server = servers.ignored!;
    const statuses = [503, 429, 503];
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      calls++;
      const status = statuses.shift();
      if (status !== undefined) {
        return new Response(`<Error><Code>${status === 429 ? 'TooManyRequests' : 'SlowDown'}</Code><Message>Please reduce your request rate.</Message></Error>`, {
          status,
          headers: status === 429 ? { 'retry-after': '0' } : {},
        });
      }
      return fetch(input, init);
    };
    const a = adapterOn(server, { fetch: flaky, backoffMs: 5 });
    await a.write('r', enc.encode('after retries'));
    expect(calls).toBe(4);
    expect(await a.read('r')).toEqual(enc.encode('after retries'));
  });

  it('gives up after the bounded retries with BACKEND_FAILURE, and a network failure too', async () => {
    let calls = 0;
    const down: typeof fetch = async () => {
      calls++;
      return new Response('<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>', { status: 500 });
    };
    const a = adapterOn(servers.ignored!, { fetch: down, retries: 2, backoffMs: 1 });
    const failure = await caught(a.write('x', enc.encode('1')));
    expect(failure?.code).toBe('BACKEND_FAILURE');
    expect(failure?.message).toContain('InternalError');
    expect(calls).toBe(3);

    // A port nobody listens on: connection refused, retried, then reported.
    const closed = await freePort();
    const unreachable = s3Adapter({ endpoint: `http://127.0.0.1:${closed}`, bucket: 'b-b', credentials: servers.ignored!.credentials, retries: 1, backoffMs: 1 });
    const refused = await caught(unreachable.read('x'));
    expect(refused?.code).toBe('BACKEND_FAILURE');
    expect(refused?.message).toMatch(/cannot reach 127\.0\.0\.1:\d+ .* after 2 attempt/);
  });

  it('403 is BACKEND_FAILURE saying what to check', async () => {
    // s3rver checks the access key id (it does not verify SigV4 signatures), so an unknown key is its 403.
    const server = servers.ignored!;
    const a = s3Adapter({ endpoint: server.endpoint, bucket: server.bucket, credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'x' }, prefix: freshPrefix() });
    for (const call of [() => a.write('x', enc.encode('1')), () => a.read('x'), () => collect(a.list(''))]) {
      const failure = await caught(call());
      expect(failure?.code).toBe('BACKEND_FAILURE');
      expect(failure?.message).toMatch(/access denied \(403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist/);
      expect(failure?.message).toMatch(/access key id and secret.*region.*clock.*s3:PutObject/);
    }
  });

  it('a missing bucket is NOT_FOUND on every call, HEAD included', async () => {
    const server = servers.ignored!;
    const a = s3Adapter({ endpoint: server.endpoint, bucket: 'no-such-bucket', credentials: server.credentials });
    for (const call of [
      () => a.read('x'),
      () => a.has('x'),
      () => a.write('x', enc.encode('1')),
      () => a.delete('x'),
      () => a.deleteMany!(['x', 'y']),
      () => collect(a.list('')),
    ]) {
      const failure = await caught(call());
      expect(failure?.code).toBe('NOT_FOUND');
      expect(failure?.message).toContain('bucket "no-such-bucket" does not exist');
    }
  });

  it('a server that never answers is TIMEOUT after the retries; abort during it is ABORTED', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createTcpServer((s) => sockets.add(s)); // accepts, never replies
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const a = s3Adapter({ endpoint, bucket: 'b-b', credentials: { accessKeyId: 'k', secretAccessKey: 's' }, timeoutMs: 80, retries: 1, backoffMs: 1 });
      const t0 = Date.now();
      const failure = await caught(a.read('x'));
      expect(failure?.code).toBe('TIMEOUT');
      expect(failure?.message).toContain('within 80 ms (after 2 attempt(s))');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);

      const patient = s3Adapter({ endpoint, bucket: 'b-b', credentials: { accessKeyId: 'k', secretAccessKey: 's' }, timeoutMs: 10_000 });
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(), 50);
      expect((await caught(patient.write('x', enc.encode('1'), { signal: ctl.signal })))?.code).toBe('ABORTED');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('abort during a retry backoff is ABORTED and stops retrying', async () => {
    let calls = 0;
    const busy: typeof fetch = async () => {
      calls++;
      return new Response('', { status: 503, headers: { 'retry-after': '5' } });
    };
    const a = adapterOn(servers.ignored!, { fetch: busy, retries: 10 });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 30);
    expect((await caught(a.read('x', { signal: ctl.signal })))?.code).toBe('ABORTED');
    expect(calls).toBe(1);
  });

  it('writeMany runs with bounded concurrency and stops starting PUTs after a failure', async () => {
    const server = servers.ignored!;
    let inFlight = 0;
    let maxInFlight = 0;
    let puts = 0;
    const watched: typeof fetch = async (input, init) => {
      const req = input as Request;
      if (req.method !== 'PUT') return fetch(input, init);
      puts++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (req.url.endsWith('/w/13')) return new Response('<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>', { status: 403 });
        return await fetch(input, init);
      } finally {
        inFlight--;
      }
    };
    const a = adapterOn(server, { fetch: watched, concurrency: 3 });
    const entries = Array.from({ length: 60 }, (_, i) => ({ key: `w/${i}`, bytes: enc.encode(String(i)) }));
    const failure = await caught(a.writeMany!(entries));
    expect(failure?.code).toBe('BACKEND_FAILURE');
    expect(failure?.message).toContain('write w/13: access denied');
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(puts).toBeLessThan(20);
    expect(await a.has('w/0')).toBe(true); // each object is atomic, the batch is not
    expect(await a.has('w/59')).toBe(false);
  });

  it('deleteMany sends DeleteObjects pages of at most 1000 keys, a few in flight, each with a correct Content-MD5', async () => {
    const pages: { keys: number; md5Ok: boolean; status?: number; answer?: string }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const watched: typeof fetch = async (input, init) => {
      const req = input as Request;
      if (req.method !== 'POST') return fetch(input, init);
      expect(new URL(req.url).searchParams.has('delete')).toBe(true);
      const body = Buffer.from(await req.clone().arrayBuffer());
      const page: (typeof pages)[number] = {
        keys: body.toString('utf8').split('<Object>').length - 1,
        md5Ok: req.headers.get('content-md5') === createHash('md5').update(body).digest('base64'),
      };
      pages.push(page);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        const res = await fetch(input, init);
        page.status = res.status;
        if (res.status !== 200) page.answer = await res.clone().text();
        return res;
      } finally {
        inFlight--;
      }
    };
    const a = adapterOn(servers.ignored!, { fetch: watched });
    const keys = Array.from({ length: 2100 }, (_, i) => `many/${i % 10}/${i}`);
    await a.writeMany!(keys.map((key) => ({ key, bytes: enc.encode(key) })));
    const kept = keys.filter((_, i) => i % 500 === 0);
    const doomed = keys.filter((_, i) => i % 500 !== 0);
    // Duplicates are sent once; missing keys are no-ops.
    await a.deleteMany!([...doomed, ...doomed.slice(0, 50), 'many/none']);
    // s3rver deletes a request's keys all at once and its empty-folder clean-up races with itself
    // (two deletes in one folder: the second rmdir/readdir gets ENOENT), so a page may answer 500
    // InternalError; the adapter retries it like any 5xx (deleting is idempotent). Real S3 does not.
    for (const p of pages.filter((p) => p.status !== 200)) expect(p.answer).toContain('<Code>InternalError</Code>');
    expect(pages.filter((p) => p.status === 200).map((p) => p.keys).sort()).toEqual([1000, 1000, 96]);
    expect(pages.every((p) => p.md5Ok)).toBe(true);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    expect((await collect(a.list('many/'))).sort()).toEqual([...kept].sort());
  });

  it('deleteMany: a per-key <Error> in the answer is BACKEND_FAILURE naming the key, never ignored', async () => {
    const prefix = freshPrefix();
    let answer = '';
    let status = 200;
    const stub: typeof fetch = async (input, init) => {
      if ((input as Request).method !== 'POST') return fetch(input, init);
      return new Response(answer, { status, headers: { 'content-type': 'application/xml' } });
    };
    const server = servers.ignored!;
    const a = s3Adapter({ endpoint: server.endpoint, bucket: server.bucket, credentials: server.credentials, prefix, fetch: stub, retries: 1, backoffMs: 1 });

    answer = `<?xml version="1.0" encoding="UTF-8"?>
      <DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
        <Deleted><Key>${prefix}d/1</Key></Deleted>
        <Error><Key>${prefix}d/2</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
        <Error><Key>${prefix}d/3</Key><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>
      </DeleteResult>`;
    let failure = await caught(a.deleteMany!(['d/1', 'd/2', 'd/3']));
    expect(failure?.code).toBe('BACKEND_FAILURE');
    expect(failure?.message).toContain('could not delete "d/2" (AccessDenied: Access Denied) and 1 more key(s)');

    // The whole request refused: the adapter's usual mapping (403 says what to check).
    status = 403;
    answer = '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
    failure = await caught(a.deleteMany!(['d/1']));
    expect(failure?.code).toBe('BACKEND_FAILURE');
    expect(failure?.message).toMatch(/deleteMany \(1 key\(s\) from d\/1\): access denied \(403 AccessDenied/);

    // A 200 carrying an <Error> document, and an answer that is not XML at all.
    status = 200;
    answer = '<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>';
    failure = await caught(a.deleteMany!(['d/1']));
    expect(failure?.code).toBe('BACKEND_FAILURE');
    expect(failure?.message).toContain('InternalError: We encountered an internal error.');
    answer = '<DeleteResult><Error><Key>x';
    failure = await caught(a.deleteMany!(['d/1']));
    expect(failure?.code).toBe('BACKEND_FAILURE');
    expect(failure?.message).toContain('unreadable DeleteObjects answer');
  });

  it('deleteMany stops sending pages once aborted', async () => {
    let posts = 0;
    const ctl = new AbortController();
    const slow: typeof fetch = async (input, init) => {
      if ((input as Request).method !== 'POST') return fetch(input, init);
      posts++;
      ctl.abort();
      return new Response('<DeleteResult/>', { status: 200 });
    };
    const a = adapterOn(servers.ignored!, { fetch: slow, concurrency: 1 });
    const keys = Array.from({ length: 3000 }, (_, i) => `gone/${i}`);
    expect((await caught(a.deleteMany!(keys, { signal: ctl.signal })))?.code).toBe('ABORTED');
    expect(posts).toBe(1);
  });

  it('refuses unusable options with INVALID_ARGUMENT', () => {
    const base = { endpoint: 'http://127.0.0.1:1', bucket: 'ok-bucket', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
    const bad: Partial<S3AdapterOptions>[] = [
      { endpoint: 'not a url' },
      { endpoint: 'ftp://host' },
      { endpoint: 'http://user:pw@host' },
      { bucket: 'Upper_Case' },
      { bucket: 'ab' },
      { credentials: { accessKeyId: '', secretAccessKey: 'x' } },
      { prefix: '../up' },
      { prefix: 'a//b' },
      { retries: -1 },
      { listPageSize: 1001 },
      { conditionalWrites: 'maybe' as never },
    ];
    for (const b of bad) {
      let error: unknown;
      try {
        s3Adapter({ ...base, ...b });
      } catch (e) {
        error = e;
      }
      expect(isArchiveStorageError(error, 'INVALID_ARGUMENT'), JSON.stringify(b)).toBe(true);
    }
  });
});

describe('s3 XML', () => {
  it('decodes entities and character references, and refuses unknown ones', () => {
    expect(decodeXmlText('a&amp;b&lt;c&gt;&quot;&apos;&#233;&#x1F600;')).toBe(`a&b<c>"'é😀`);
    for (const bad of ['&bogus;', '& ', '&#xD800;', '&#0;', '&#12a;']) expect(() => decodeXmlText(bad)).toThrow();
  });

  it('reads a ListObjectsV2 page, nested elements included', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
      <!-- a comment -->
      <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
        <Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
        <IsTruncated>true</IsTruncated>
        <Contents><Key>p/a&amp;b</Key><Owner><ID>x</ID></Owner><Size>1</Size></Contents>
        <Contents><Key><![CDATA[p/<c>]]></Key></Contents>
        <NextContinuationToken>1/abc+=</NextContinuationToken>
      </ListBucketResult>`;
    expect(parseListObjectsV2(xml)).toEqual({ keys: ['p/a&b', 'p/<c>'], isTruncated: true, nextContinuationToken: '1/abc+=' });
  });

  it('refuses malformed and hostile documents instead of reading a short listing', () => {
    const bad = [
      '<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key></ListBucketResult>',
      '<ListBucketResult><IsTruncated>false</IsTruncated>',
      '<!DOCTYPE x [<!ENTITY e "boom">]><ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>',
      '<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>',
      '<Other><IsTruncated>false</IsTruncated></Other>',
      '<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult><Again/>',
      'junk',
    ];
    for (const xml of bad) expect(() => parseListObjectsV2(xml), xml).toThrow();
    expect(parseS3Error('<Error><Code>NoSuchKey</Code><Message>gone &amp; away</Message></Error>')).toEqual({ code: 'NoSuchKey', message: 'gone & away' });
    expect(parseS3Error('<html>502 Bad Gateway</html>')).toBeUndefined();
    expect(walkXml('<a><b/><c>t</c></a>', () => undefined)).toBe('a');
  });

  it('writes an escaped DeleteObjects body and reads every per-key error of the answer', () => {
    expect(escapeXmlText(`a&b<c>"d'`)).toBe('a&amp;b&lt;c&gt;&quot;d&apos;');
    const keys: string[] = [];
    walkXml(deleteObjectsBody(['p/a', 'p/<&>']), (path, text) => {
      if (path === 'Delete/Object/Key') keys.push(text);
      else if (path === 'Delete/Quiet') expect(text).toBe('true');
    });
    expect(keys).toEqual(['p/a', 'p/<&>']);
    const answer = `<DeleteResult><Deleted><Key>ok</Key></Deleted>
      <Error><Key>a&amp;b</Key><Code>AccessDenied</Code><Message>no</Message></Error>
      <Error><Code>InternalError</Code><Key>c</Key></Error></DeleteResult>`;
    expect(parseDeleteResult(answer)).toEqual([
      { key: 'a&b', code: 'AccessDenied', message: 'no' },
      { key: 'c', code: 'InternalError', message: '' },
    ]);
    expect(parseDeleteResult('<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>')).toEqual([]);
    for (const bad of ['<Error><Code>X</Code></Error>', '<DeleteResult><Error><Code>X</Code></Error></DeleteResult>', '<DeleteResult>']) {
      expect(() => parseDeleteResult(bad), bad).toThrow();
    }
  });
});

/** A raw signed request, as another S3 tool would send it. */
async function fetchSigned(server: S3TestServer, method: string, key: string, body?: Uint8Array): Promise<Response> {
  const { AwsClient } = await import('aws4fetch');
  const client = new AwsClient({ ...server.credentials, service: 's3', region: 'us-east-1', retries: 0 });
  return client.fetch(`${server.endpoint}/${server.bucket}/${key}`, { method, body: body as BodyInit | undefined });
}

async function freePort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
