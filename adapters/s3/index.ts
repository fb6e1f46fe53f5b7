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
 * - Refused credentials or permissions (401, 403, signature errors) are
 *   `AuthRefusedError` (AUTH_REFUSED), never retried; a missing bucket is
 *   `NotFoundError`; a request out of time is `TimeoutError`; abort is `AbortError`.
 * - `writeMany` sends PUTs in parallel with bounded concurrency. S3 has no
 *   transactions: each object is atomic, the batch is not (a failure part-way
 *   leaves the entries already written).
 * - `deleteMany` is DeleteObjects: one POST per 1000 keys (S3's limit), a few
 *   pages in flight, each with the Content-MD5 S3 requires. A key the server
 *   could not delete (an `<Error>` in the answer) fails the call with
 *   `BackendError` naming it; the keys already deleted stay deleted.
 * - Compare-and-swap (`readVersioned`/`swap`, version = the ETag): `If-Match`
 *   with the ETag in the form the server needs (quoted per RFC 9110, or bare as
 *   Ceph RGW wants: probed), `If-None-Match: *` to create. The archive's index
 *   root changes only this way, so many writers on one prefix never lose each
 *   other's entries. Fail closed: the first versioned call probes, once per
 *   endpoint, bucket and prefix, that the server really refuses a second
 *   `If-None-Match: *` PUT and a stale `If-Match`; where it does not (s3rver,
 *   some S3-compatible services) every versioned call throws
 *   `ConditionalWritesUnsupportedError` naming what the server did. `writers:
 *   'single'` turns compare-and-swap off for a prefix only one writer ever uses.
 * - No `lock`, no `append` (S3 objects are immutable wholes), no `estimate`.
 *
 * @module
 */
import { md5 } from '@noble/hashes/legacy.js';
import { assertValidKey, type AdapterCapabilities, type StorageAdapter, type Versioned } from '../../src/adapter/contract.js';
import { defineAdapter } from '../../src/adapter/define.js';
import { BackendError, ClosedError, ConditionalWritesUnsupportedError, InvalidArgumentError, throwIfAborted } from '../../src/errors.js';
import { bytesEqual } from '../../src/internal/bytes.js';
import { KeyedMutex } from '../../src/internal/mutex.js';
import { forEachSettled } from '../../src/internal/pool.js';
import { randomId } from '../../src/internal/random-id.js';
import { fullJitter, retrying } from '../../src/internal/retry.js';
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
   * `never` uses HEAD-then-PUT (atomic only within this process). Compare-and-swap
   * (`writers: 'many'`) always probes, whatever this says, and `never` disables it.
   */
  conditionalWrites?: 'auto' | 'always' | 'never';
  /** Keys per ListObjectsV2 page, 1-1000 (default 1000). */
  listPageSize?: number;
  /**
   * `many` (default): several processes or machines may write the same prefix;
   * the adapter offers compare-and-swap and refuses a server that does not
   * enforce conditional writes (`CONDITIONAL_WRITES_UNSUPPORTED`). `single`: you
   * promise only one writer ever uses this prefix at a time; no compare-and-swap
   * is offered or needed (works on any S3-compatible server; two writers would
   * lose each other's index entries).
   */
  writers?: 'many' | 'single';
}

/** What the probe found out about the server's conditional writes. */
interface ConditionalSupport {
  /** `If-None-Match: *` on PUT is refused (412) over an existing object. */
  ifNoneMatch: boolean;
  /** `If-Match` on PUT is enforced, and how the ETag must be sent; undefined when not enforced. */
  ifMatch: 'quoted' | 'bare' | undefined;
  /** What the server did, for the error message when something is not enforced. */
  observed: string;
}

/** One probe per endpoint, bucket and prefix in this process (every adapter on them shares the verdict). */
const probes = new Map<string, Promise<ConditionalSupport>>();

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  writeMany: true,
  create: true,
  append: false,
  locking: false,
  quota: false,
  // A successful PUT is stored durably by the service (AWS: replicated across zones before 200 OK).
  durability: 'strict',
  deleteMany: true,
  compareAndSwap: true,
});
const SINGLE_WRITER_CAPABILITIES: AdapterCapabilities = Object.freeze({ ...CAPABILITIES, compareAndSwap: false });

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

  async function put(key: string, bytes: Uint8Array, signal: AbortSignal | undefined, ifAbsent = false, headers?: Record<string, string>): Promise<S3Response> {
    return seen(
      await http.send({
        method: 'PUT',
        key: prefix + key,
        body: bytes,
        headers: ifAbsent ? { 'if-none-match': '*' } : headers,
        signal,
        what: `${ifAbsent ? 'create' : headers ? 'swap' : 'write'} ${key}`,
      }),
    );
  }

  const conflictBackoff = fullJitter(cfg.backoffMs);
  /**
   * Sends a conditional PUT again while the server answers 409 (another
   * conditional PUT of the key in flight): `retries` more times, full jitter
   * from `backoffMs`, uncapped. Resolves the last answer, a 409 included.
   */
  function retryingConflicts(send: () => Promise<S3Response>, signal: AbortSignal | undefined): Promise<S3Response> {
    return retrying({ attempts: cfg.retries + 1, signal, retryable: (o) => o.ok && o.value.status === 409, backoff: conflictBackoff }, send);
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

  /**
   * What the server enforces, tried on a scratch key: two `If-None-Match: *`
   * PUTs (the second must be refused), then `If-Match` with a wrong ETag (must
   * be refused) and with the right one, quoted and then bare (one must pass).
   */
  async function probeConditionalWrites(signal: AbortSignal | undefined): Promise<ConditionalSupport> {
    const probe = `.archive-storage-probe-${Date.now().toString(36)}${randomId(8)}`;
    const no = (observed: string): ConditionalSupport => ({ ifNoneMatch: false, ifMatch: undefined, observed });
    try {
      const first = await put(probe, new Uint8Array([1]), signal, true);
      if (first.status === 501 || first.status === 400) return no(`answered HTTP ${first.status} to a PUT with If-None-Match: *`);
      if (first.status !== 200) throw http.failure(first, 'probe conditional writes');
      const second = await put(probe, new Uint8Array([2]), signal, true);
      if (second.status === 200) return no('accepted a second PUT with If-None-Match: * and replaced the object');
      if (second.status === 501 || second.status === 400) return no(`answered HTTP ${second.status} to a PUT with If-None-Match: *`);
      if (second.status !== 412) throw http.failure(second, 'probe conditional writes');
      const etag = etagOf(first);
      if (etag === undefined) return { ifNoneMatch: true, ifMatch: undefined, observed: 'sent no ETag for a PUT' };
      const stale = await put(probe, new Uint8Array([3]), signal, false, { 'if-match': `"${etag}0"` });
      if (stale.status === 200) return { ifNoneMatch: true, ifMatch: undefined, observed: 'accepted a PUT with a stale If-Match ETag' };
      for (const form of ['quoted', 'bare'] as const) {
        const res = await put(probe, new Uint8Array([4]), signal, false, { 'if-match': form === 'quoted' ? `"${etag}"` : etag });
        if (res.status === 200) return { ifNoneMatch: true, ifMatch: form, observed: `enforces If-None-Match and If-Match (${form} ETag)` };
      }
      return { ifNoneMatch: true, ifMatch: undefined, observed: "refused a PUT with If-Match of the object's own ETag, quoted and bare" };
    } finally {
      await http.send({ method: 'DELETE', key: prefix + probe, what: 'delete probe' }).catch(() => undefined);
    }
  }

  /** The probe's verdict for this endpoint, bucket and prefix (probed once; a probe that failed to run is not a verdict). */
  function conditionalSupport(signal: AbortSignal | undefined): Promise<ConditionalSupport> {
    const id = `${cfg.endpoint.href} ${options.bucket} ${prefix}`;
    let probing = probes.get(id);
    if (!probing) {
      probing = probeConditionalWrites(signal);
      probes.set(id, probing);
      const mine = probing;
      mine.catch(() => {
        if (probes.get(id) === mine) probes.delete(id);
      });
    }
    return probing;
  }

  function supportsConditional(signal: AbortSignal | undefined): Promise<boolean> {
    if (!conditional) conditional = conditionalSupport(signal).then((c) => c.ifNoneMatch);
    const mine = conditional;
    mine.catch(() => {
      if (conditional === mine) conditional = undefined;
    });
    return mine;
  }

  /** The If-Match form to use; throws CONDITIONAL_WRITES_UNSUPPORTED when the server does not enforce both conditions. */
  async function swapForm(signal: AbortSignal | undefined): Promise<'quoted' | 'bare'> {
    if (cfg.conditionalWrites === 'never') {
      throw new ConditionalWritesUnsupportedError(
        'disabled',
        `${label}: compare-and-swap needs conditional writes, which conditionalWrites: 'never' turns off; ` +
          `several writers on prefix "${prefix}" would lose each other's changes. Use writers: 'single' if only one writer ever uses it`,
      );
    }
    const c = await conditionalSupport(signal);
    if (c.ifNoneMatch && c.ifMatch) return c.ifMatch;
    throw new ConditionalWritesUnsupportedError(
      c.observed,
      `${label}: the server at ${cfg.endpoint.host} does not enforce conditional writes (it ${c.observed}), so several writers ` +
        `on prefix "${prefix}" would silently lose each other's changes. Use a server that enforces If-None-Match and If-Match on PUT ` +
        `(AWS S3, Cloudflare R2, MinIO, Ceph RGW: see docs/s3.md), or pass writers: 'single' if only one writer ever uses this prefix`,
    );
  }

  async function readVersioned(key: string, signal: AbortSignal | undefined): Promise<Versioned | undefined> {
    await swapForm(signal);
    const res = seen(await http.send({ method: 'GET', key: prefix + key, signal, what: `read ${key}` }));
    if (res.status === 404 && parseS3Error(decode(res.body))?.code !== 'NoSuchBucket') return undefined;
    if (res.status !== 200) throw http.failure(res, `read ${key}`);
    const version = etagOf(res);
    if (version === undefined) throw new BackendError(`s3: read ${key}: the server sent no ETag, which compare-and-swap needs`);
    return { bytes: res.body, version };
  }

  /**
   * PUT with `If-Match` (or `If-None-Match: *` for `expected === null`). A
   * refusal is checked against what is stored: when it holds exactly these
   * bytes, an earlier attempt of this very call (retried by the transport after
   * its answer was lost, or a 5xx from a server that had written) won, and the
   * swap succeeded.
   */
  async function swap(key: string, bytes: Uint8Array, expected: string | null, signal: AbortSignal | undefined): Promise<string | null> {
    const form = await swapForm(signal);
    const headers: Record<string, string> = expected === null ? { 'if-none-match': '*' } : { 'if-match': form === 'quoted' ? `"${expected}"` : expected };
    // 409 ConditionalRequestConflict (AWS): a concurrent conditional PUT of the key; ask again.
    const res = await retryingConflicts(() => put(key, bytes, signal, false, headers), signal);
    if (res.status === 200) {
      const version = etagOf(res) ?? (await readVersioned(key, signal))?.version;
      if (version === undefined) throw new BackendError(`s3: swap ${key}: the server sent no ETag, which compare-and-swap needs`);
      return version;
    }
    // 412 (AWS: 404 for If-Match on a missing key; RGW: 412); a 409 still there after the retries counts as lost too.
    if (res.status === 412 || res.status === 409 || (res.status === 404 && expected !== null && parseS3Error(decode(res.body))?.code !== 'NoSuchBucket')) {
      const now = await readVersioned(key, signal);
      return now && bytesEqual(now.bytes, bytes) ? now.version : null;
    }
    throw http.failure(res, `swap ${key}`);
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
      // 409 ConditionalRequestConflict: another conditional PUT of the key is in flight; ask again.
      const res = await retryingConflicts(() => put(key, bytes, signal, true), signal);
      if (res.status === 200) return true;
      if (res.status === 412) return false;
      throw http.failure(res, `create ${key}`);
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

  const single = cfg.writers === 'single';
  return defineAdapter({
    name: 's3',
    label,
    capabilities: single ? SINGLE_WRITER_CAPABILITIES : CAPABILITIES,
    readVersioned: single ? undefined : (key, opts) => readVersioned(key, opts?.signal),
    swap: single ? undefined : (key, bytes, expected, opts) => swap(key, bytes, expected, opts?.signal),
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
  writers: 'many' | 'single';
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
  const writers = o.writers ?? 'many';
  if (writers !== 'many' && writers !== 'single') throw bad(`writers must be 'many' or 'single', not ${JSON.stringify(o.writers)}`);
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
    writers,
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

/** The ETag of a response without quotes or weak marker: the version token of compare-and-swap. */
function etagOf(res: S3Response): string | undefined {
  const raw = res.headers.get('etag');
  if (!raw) return undefined;
  return raw.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

const decoder = new TextDecoder();
const decode = (bytes: Uint8Array) => decoder.decode(bytes);
const encoder = new TextEncoder();
