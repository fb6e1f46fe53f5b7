/**
 * The S3 adapter: keys as objects in a bucket of any S3-compatible store (AWS
 * S3, MinIO, Ceph RGW, Cloudflare R2, Garage), over `fetch` with SigV4 signing
 * by `aws4fetch`, so it runs in Node and in browsers alike.
 *
 * - Keys live under an optional `prefix` in the bucket.
 * - `create` is write-if-absent: a PUT with `If-None-Match: *` where the server
 *   honours it (detected once per adapter, or forced with `conditionalWrites`),
 *   else HEAD-then-PUT serialised per key inside this process.
 * - `list` is ListObjectsV2, paged with continuation tokens.
 * - Throttling (429), 5xx, network errors and timeouts are retried with
 *   exponential backoff and full jitter, a bounded number of times.
 * - 403 is a `BackendError` saying what to check; a missing bucket is
 *   `NotFoundError`; a request out of time is `TimeoutError`; abort is `AbortError`.
 * - `writeMany` sends PUTs in parallel with bounded concurrency. S3 has no
 *   transactions: each object is atomic, the batch is not (a failure part-way
 *   leaves the entries already written).
 * - `deleteMany` is DeleteObjects: one POST per 1000 keys (S3's limit), a few
 *   pages in flight, each with the Content-MD5 S3 requires. A key the server
 *   could not delete (an `<Error>` in the answer) fails the call with
 *   `BackendError` naming it; the keys already deleted stay deleted.
 * - No `lock`, no `append` (S3 objects are immutable wholes), no `estimate`.
 *
 * @module
 */
import { md5 } from '@noble/hashes/legacy.js';
import { assertValidKey, type AdapterCapabilities, type StorageAdapter } from '../../src/adapter/contract.js';
import { defineAdapter } from '../../src/adapter/define.js';
import { BackendError, ClosedError, InvalidArgumentError, throwIfAborted } from '../../src/errors.js';
import { sleep } from '../../src/internal/abort.js';
import { KeyedMutex } from '../../src/internal/mutex.js';
import { forEachSettled } from '../../src/internal/pool.js';
import { randomId } from '../../src/internal/random-id.js';
import { globalFetch } from '../../src/platform.js';
import { S3Transport, base64, type S3Credentials, type S3Response } from './http.js';
import { S3XmlError, deleteObjectsBody, parseDeleteResult, parseListObjectsV2, parseS3Error } from './xml.js';

export type { S3Credentials } from './http.js';

/** Options of {@link s3Adapter}. */
export interface S3AdapterOptions {
  /** Base URL of the service, e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`. */
  endpoint: string;
  /** Bucket name (it must exist). */
  bucket: string;
  /** Key prefix inside the bucket, e.g. `archives/team-a/` (a missing trailing `/` is added). Default: the bucket root. */
  prefix?: string;
  /** Region used in the signature (default `us-east-1`; `auto` for Cloudflare R2). */
  region?: string;
  /** Access key. In a browser, prefer short-lived credentials (STS) scoped to the prefix. */
  credentials: S3Credentials;
  /**
   * `true` (default): `https://endpoint/bucket/key`, understood by every S3-compatible server.
   * `false`: virtual-hosted `https://bucket.endpoint/key` (AWS's preferred form; needs DNS for the bucket).
   */
  pathStyle?: boolean;
  /** The fetch to use (default: the global one, read when the adapter is created). */
  fetch?: typeof fetch;
  /** Retries after the first attempt on 429, 5xx, network errors and timeouts (default 4). */
  retries?: number;
  /** Time allowed for one attempt in ms (default 30 000). Past it the attempt is retried, then `TimeoutError`. */
  timeoutMs?: number;
  /** First backoff step in ms (default 100; doubles each retry, full jitter, capped at 5 s). */
  backoffMs?: number;
  /** PUTs in flight at once in `writeMany` (default 16); `deleteMany` sends at most 4 DeleteObjects pages at once, fewer if this is lower. */
  concurrency?: number;
  /**
   * How `create` gets write-if-absent: `auto` (default) probes once whether the server honours
   * `If-None-Match: *` on PUT; `always` trusts it does (AWS S3 since 2024, MinIO, R2);
   * `never` uses HEAD-then-PUT (atomic only within this process).
   */
  conditionalWrites?: 'auto' | 'always' | 'never';
  /** Keys per ListObjectsV2 page, 1-1000 (default 1000). */
  listPageSize?: number;
}

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  writeMany: true,
  create: true,
  append: false,
  locking: false,
  quota: false,
  // A successful PUT is stored durably by the service (AWS: replicated across zones before 200 OK).
  durability: 'strict',
  deleteMany: true,
});

/** Keys per DeleteObjects request: S3's own limit. */
const DELETE_PAGE_KEYS = 1000;
/** DeleteObjects requests in flight at once: each removes up to 1000 objects, so a few keep the server busy enough. */
const DELETE_PAGES_IN_FLIGHT = 4;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Creates an adapter over an S3 bucket. No request is made until the first call.
 * Throws `InvalidArgumentError` for unusable options.
 */
export function s3Adapter(options: S3AdapterOptions): StorageAdapter {
  const cfg = checkOptions(options);
  const http = new S3Transport({
    endpoint: cfg.endpoint,
    bucket: options.bucket,
    region: cfg.region,
    credentials: options.credentials,
    pathStyle: options.pathStyle ?? true,
    fetch: cfg.fetch,
    retries: cfg.retries,
    timeoutMs: cfg.timeoutMs,
    backoffMs: cfg.backoffMs,
    maxBackoffMs: 5000,
  });
  const prefix = cfg.prefix;
  const createLocks = new KeyedMutex();
  let conditional: Promise<boolean> | undefined =
    cfg.conditionalWrites === 'auto' ? undefined : Promise.resolve(cfg.conditionalWrites === 'always');
  /** Set once any answer proved the bucket exists, so a 404 on HEAD can be read as "no such key". */
  let bucketSeen = false;
  const label = `s3 adapter on bucket ${options.bucket}`;
  /** Set by close: a listing stops before its next page. */
  let closed = false;
  const seen = <T extends S3Response>(res: T): T => {
    if (res.status < 300 || res.status === 304 || parseS3Error(decode(res.body))?.code === 'NoSuchKey') bucketSeen = true;
    return res;
  };

  async function put(key: string, bytes: Uint8Array, signal: AbortSignal | undefined, ifAbsent = false): Promise<S3Response> {
    return seen(
      await http.send({
        method: 'PUT',
        key: prefix + key,
        body: bytes,
        headers: ifAbsent ? { 'if-none-match': '*' } : undefined,
        signal,
        what: `${ifAbsent ? 'create' : 'write'} ${key}`,
      }),
    );
  }

  async function head(key: string, signal: AbortSignal | undefined): Promise<boolean> {
    const res = seen(await http.send({ method: 'HEAD', key: prefix + key, signal, what: `has ${key}` }));
    if (res.status === 200) return true;
    if (res.status !== 404) throw http.failure(res, `has ${key}`);
    // A HEAD 404 has no body: it may mean "no such bucket". Ask the bucket once.
    if (!bucketSeen) await confirmBucket(signal);
    return false;
  }

  async function confirmBucket(signal: AbortSignal | undefined): Promise<void> {
    const res = seen(await http.send({ method: 'GET', query: { 'list-type': '2', 'max-keys': '0', prefix }, signal, what: 'check bucket' }));
    if (res.status !== 200) throw http.failure(res, 'check bucket');
  }

  /** Whether the server honours `If-None-Match: *` on PUT: two conditional PUTs of a scratch key. */
  async function probeConditionalWrites(signal: AbortSignal | undefined): Promise<boolean> {
    const probe = `.archive-storage-probe-${Date.now().toString(36)}${randomId(8)}`;
    try {
      const first = await put(probe, new Uint8Array([1]), signal, true);
      if (first.status === 501 || first.status === 400) return false;
      if (first.status !== 200) throw http.failure(first, 'probe conditional writes');
      const second = await put(probe, new Uint8Array([2]), signal, true);
      if (second.status === 412) return true;
      if (second.status === 200 || second.status === 501 || second.status === 400) return false;
      throw http.failure(second, 'probe conditional writes');
    } finally {
      await http.send({ method: 'DELETE', key: prefix + probe, what: 'delete probe' }).catch(() => undefined);
    }
  }

  function supportsConditional(signal: AbortSignal | undefined): Promise<boolean> {
    if (!conditional) {
      const probing = probeConditionalWrites(signal);
      conditional = probing;
      // A failed probe (network, abort) is not a verdict: the next create probes again.
      probing.catch(() => {
        if (conditional === probing) conditional = undefined;
      });
    }
    return conditional;
  }

  /** One DeleteObjects request for `keys` (at most 1000, valid, without the prefix). */
  async function deletePage(keys: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    const what = `deleteMany (${keys.length} key(s) from ${keys[0]!})`;
    const body = encoder.encode(deleteObjectsBody(keys.map((key) => prefix + key)));
    const res = seen(
      await http.send({
        method: 'POST',
        query: { delete: '' },
        body,
        // S3 refuses a DeleteObjects request without an integrity header; Content-MD5 is the one every S3-compatible server knows.
        headers: { 'content-md5': base64(md5(body)), 'content-type': 'application/xml' },
        signal,
        what,
      }),
    );
    if (res.status !== 200) throw http.failure(res, what);
    let failures;
    try {
      failures = parseDeleteResult(decode(res.body));
    } catch (e) {
      // A 200 carrying a whole-request <Error> document (S3 does so for calls that fail after the reply began) maps like an error status.
      if (parseS3Error(decode(res.body))) throw http.failure(res, what);
      throw new BackendError(`s3: ${what}: unreadable DeleteObjects answer (${e instanceof S3XmlError ? e.message : String(e)})`, { cause: e });
    }
    const first = failures[0];
    if (first) {
      const key = first.key.startsWith(prefix) ? first.key.slice(prefix.length) : first.key;
      const more = failures.length > 1 ? ` and ${failures.length - 1} more key(s) of the same request` : '';
      throw new BackendError(
        `s3: deleteMany: the server could not delete ${JSON.stringify(key)} (${first.code}: ${first.message})${more}; the other keys of the request are deleted`,
      );
    }
  }

  async function createIfAbsent(key: string, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<boolean> {
    if (await supportsConditional(signal)) {
      for (let attempt = 0; ; attempt++) {
        const res = await put(key, bytes, signal, true);
        if (res.status === 200) return true;
        if (res.status === 412) return false;
        // 409 ConditionalRequestConflict: another conditional PUT of the key is in flight; ask again.
        if (res.status === 409 && attempt < cfg.retries) {
          await sleep(Math.random() * cfg.backoffMs * 2 ** attempt, signal);
          continue;
        }
        throw http.failure(res, `create ${key}`);
      }
    }
    // HEAD-then-PUT: exclusive per key inside this process. Across processes two creators may
    // both write; for content-addressed keys they write the same bytes, so that race is harmless.
    return createLocks.run(prefix + key, async () => {
      if (await head(key, signal)) return false;
      const res = await put(key, bytes, signal);
      if (res.status !== 200) throw http.failure(res, `create ${key}`);
      return true;
    });
  }

  return defineAdapter({
    name: 's3',
    label,
    capabilities: CAPABILITIES,
    // Failures the transport has not typed already (none are expected): a BackendError naming the call.
    mapError: (e, call) => new BackendError(`s3: ${call} failed: ${String(e)}`, { cause: e }),
    async read(key, opts) {
      const res = seen(await http.send({ method: 'GET', key: prefix + key, signal: opts?.signal, what: `read ${key}` }));
      if (res.status === 200) return res.body;
      if (res.status === 404 && parseS3Error(decode(res.body))?.code !== 'NoSuchBucket') return undefined;
      throw http.failure(res, `read ${key}`);
    },
    has(key, opts) {
      return head(key, opts?.signal);
    },
    async write(key, bytes, opts) {
      const res = await put(key, bytes, opts?.signal);
      if (res.status !== 200) throw http.failure(res, `write ${key}`);
    },
    async writeMany(entries, opts) {
      // defineAdapter checked every key and value before the first PUT: a bad entry stores nothing.
      await forEachSettled(
        entries,
        cfg.concurrency,
        async ({ key, bytes }) => {
          const res = await put(key, bytes, opts?.signal);
          if (res.status !== 200) throw http.failure(res, `write ${key}`);
        },
        opts?.signal,
      );
    },
    create(key, bytes, opts) {
      return createIfAbsent(key, bytes, opts?.signal);
    },
    async delete(key, opts) {
      const res = seen(await http.send({ method: 'DELETE', key: prefix + key, signal: opts?.signal, what: `delete ${key}` }));
      if (res.status === 204 || res.status === 200) return;
      if (res.status === 404 && parseS3Error(decode(res.body))?.code === 'NoSuchKey') return;
      throw http.failure(res, `delete ${key}`);
    },
    async deleteMany(keys, opts) {
      // defineAdapter checked the array and every key before the first request: a bad key deletes nothing.
      const unique = [...new Set(keys)];
      const pages: string[][] = [];
      for (let i = 0; i < unique.length; i += DELETE_PAGE_KEYS) pages.push(unique.slice(i, i + DELETE_PAGE_KEYS));
      await forEachSettled(pages, Math.min(cfg.concurrency, DELETE_PAGES_IN_FLIGHT), (page) => deletePage(page, opts?.signal), opts?.signal);
    },
    async *list(listPrefix, opts) {
      let token: string | undefined;
      do {
        if (closed) throw new ClosedError(`${label} is closed`);
        throwIfAborted(opts?.signal);
        const query: Record<string, string> = { 'list-type': '2', prefix: prefix + listPrefix, 'max-keys': String(cfg.listPageSize) };
        if (token !== undefined) query['continuation-token'] = token;
        const res = seen(await http.send({ method: 'GET', query, signal: opts?.signal, what: `list ${listPrefix || '(all)'}` }));
        if (res.status !== 200) throw http.failure(res, `list ${listPrefix}`);
        let page;
        try {
          page = parseListObjectsV2(decode(res.body));
        } catch (e) {
          throw new BackendError(`s3: list ${listPrefix}: unreadable ListObjectsV2 answer (${e instanceof S3XmlError ? e.message : String(e)})`, { cause: e });
        }
        for (const full of page.keys) {
          throwIfAborted(opts?.signal);
          if (!full.startsWith(prefix)) continue;
          const key = full.slice(prefix.length);
          // Objects put there by other tools may not be valid keys of this SDK: they are not ours to list.
          if (isValidKey(key)) yield key;
        }
        token = page.isTruncated ? page.nextContinuationToken : undefined;
      } while (token !== undefined);
    },
    async close() {
      closed = true;
    },
  });
}

interface Checked {
  endpoint: URL;
  prefix: string;
  region: string;
  fetch: typeof fetch;
  retries: number;
  timeoutMs: number;
  backoffMs: number;
  concurrency: number;
  conditionalWrites: 'auto' | 'always' | 'never';
  listPageSize: number;
}

function checkOptions(o: S3AdapterOptions): Checked {
  const bad = (msg: string) => new InvalidArgumentError(`s3: ${msg}`);
  if (!o || typeof o !== 'object') throw bad('options are required: { endpoint, bucket, credentials }');
  let endpoint: URL;
  try {
    endpoint = new URL(o.endpoint);
  } catch (e) {
    throw new InvalidArgumentError(`s3: endpoint must be an absolute http(s) URL, not ${JSON.stringify(o.endpoint)}`, { cause: e });
  }
  if ((endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') || endpoint.search || endpoint.hash || endpoint.username) {
    throw bad(`endpoint must be a plain http(s) URL without credentials, query or fragment, not ${JSON.stringify(o.endpoint)}`);
  }
  if (typeof o.bucket !== 'string' || !BUCKET_NAME.test(o.bucket) || o.bucket.includes('..')) {
    throw bad(`bucket ${JSON.stringify(o.bucket)} is not a valid bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)`);
  }
  const c = o.credentials;
  if (!c || typeof c.accessKeyId !== 'string' || c.accessKeyId === '' || typeof c.secretAccessKey !== 'string' || c.secretAccessKey === '') {
    throw bad('credentials { accessKeyId, secretAccessKey } are required');
  }
  let prefix = o.prefix ?? '';
  if (typeof prefix !== 'string') throw bad('prefix must be a string');
  if (prefix !== '') {
    if (!prefix.endsWith('/')) prefix += '/';
    if (!isValidKey(prefix.slice(0, -1)) || prefix.length > 512) {
      throw bad(`prefix ${JSON.stringify(o.prefix)} must be up to 512 characters of '/'-separated segments of A-Z a-z 0-9 . _ ~ -`);
    }
  }
  const fetchImpl = o.fetch ?? globalFetch();
  if (typeof fetchImpl !== 'function') throw bad('no fetch in this runtime: pass options.fetch');
  const conditionalWrites = o.conditionalWrites ?? 'auto';
  if (!['auto', 'always', 'never'].includes(conditionalWrites)) throw bad(`conditionalWrites must be 'auto', 'always' or 'never'`);
  return {
    endpoint,
    prefix,
    region: o.region ?? 'us-east-1',
    fetch: fetchImpl,
    retries: int('retries', o.retries, 4, 0, 20),
    timeoutMs: int('timeoutMs', o.timeoutMs, 30_000, 1, 3_600_000),
    backoffMs: int('backoffMs', o.backoffMs, 100, 0, 60_000),
    concurrency: int('concurrency', o.concurrency, 16, 1, 256),
    conditionalWrites,
    listPageSize: int('listPageSize', o.listPageSize, 1000, 1, 1000),
  };
}

function int(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`s3: ${name} must be an integer from ${min} to ${max}, not ${String(value)}`);
  }
  return value;
}

function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}

const decoder = new TextDecoder();
const decode = (bytes: Uint8Array) => decoder.decode(bytes);
const encoder = new TextEncoder();
