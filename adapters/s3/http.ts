/**
 * Signed S3 requests with bounded retries, per-request timeouts and typed
 * errors: the transport under the S3 adapter. Platform-neutral (fetch and
 * aws4fetch's WebCrypto SigV4 work in Node and in browsers).
 *
 * @module
 */
import { AwsClient } from 'aws4fetch';
import { ArchiveStorageError, AuthRefusedError, BackendError, NotFoundError, QuotaExceededError, TimeoutError, throwIfAborted } from '../../src/errors.js';
import { sha256Hex } from '../../src/hash.js';
import { abortErrorOf, anySignal } from '../../src/internal/abort.js';
import { fullJitter, retrying } from '../../src/internal/retry.js';
import { parseS3Error } from './xml.js';

/** Credentials of an S3 access key. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** For temporary credentials (STS). */
  sessionToken?: string;
}

/** What the transport needs to know. */
export interface S3TransportConfig {
  endpoint: URL;
  bucket: string;
  region: string;
  credentials: S3Credentials;
  pathStyle: boolean;
  fetch: typeof fetch;
  /** Retries after the first attempt, for 5xx, 429, network errors and timeouts. */
  retries: number;
  /** Time allowed for one attempt (request and body), in ms. */
  timeoutMs: number;
  /** First backoff step in ms; doubles each retry, with full jitter, capped at `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}

/** One request: `key` is the full object key in the bucket, absent for bucket-level calls. */
export interface S3Request {
  /** `POST` only for idempotent bucket calls (DeleteObjects): every request may be retried. */
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'POST';
  key?: string;
  query?: Record<string, string>;
  body?: Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** What is being done, for error messages, e.g. `read objects/ab/...`. */
  what: string;
}

/** A response with its body read (inside the attempt, so a body cut short is retried too). */
export interface S3Response {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Statuses worth another attempt: throttling and server-side failures. */
const RETRYABLE = new Set([429, 500, 502, 503, 504]);
const EMPTY = new Uint8Array(0);

/** An attempt that got no answer (network error, time-out): worth another, and thrown after the last. */
class NoAnswer {
  constructor(readonly error: TimeoutError | BackendError) {}
}

/** Sends signed requests; see {@link S3Transport.send}. */
export class S3Transport {
  private readonly client: AwsClient;
  private readonly jitter: (attempt: number) => number;

  constructor(private readonly config: S3TransportConfig) {
    const { accessKeyId, secretAccessKey, sessionToken } = config.credentials;
    // aws4fetch's own retry loop is turned off: ours also covers network errors, timeouts and abort.
    this.client = new AwsClient({ accessKeyId, secretAccessKey, sessionToken, service: 's3', region: config.region, retries: 0 });
    this.jitter = fullJitter(config.backoffMs, config.maxBackoffMs);
  }

  /** The URL of `key` (or of the bucket), path-style or virtual-hosted. */
  url(key: string | undefined, query?: Record<string, string>): string {
    const { endpoint, bucket, pathStyle } = this.config;
    const base = endpoint.href.replace(/\/+$/, '');
    const host = pathStyle ? `${base}/${bucket}` : `${endpoint.protocol}//${bucket}.${endpoint.host}${endpoint.pathname.replace(/\/+$/, '')}`;
    // Keys are made of A-Z a-z 0-9 . _ ~ - and '/', all unreserved in a URL path: no encoding needed.
    let url = key === undefined ? `${host}/` : `${host}/${key}`;
    if (query) url += '?' + new URLSearchParams(query).toString();
    return url;
  }

  /**
   * Sends `req`, retrying throttling, 5xx, network errors and timeouts with
   * exponential backoff and full jitter (honouring `Retry-After`). Resolves any
   * other response, whatever its status; rejects with `AbortError`,
   * `TimeoutError` or `BackendError` when no attempt got an answer.
   */
  async send(req: S3Request): Promise<S3Response> {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body) {
      // The payload hash is signed: S3 refuses a body that changed on the way (XAmzContentSHA256Mismatch).
      headers['x-amz-content-sha256'] = sha256Hex(req.body);
      headers['content-type'] ??= 'application/octet-stream';
    }
    const url = this.url(req.key, req.query);
    const attempts = this.config.retries + 1;
    const outcome = await retrying<S3Response | NoAnswer>(
      {
        attempts,
        signal: req.signal,
        retryable: (o) => o.ok && (o.value instanceof NoAnswer || RETRYABLE.has(o.value.status)),
        backoff: (n, o) => this.backoff(n, o.ok && !(o.value instanceof NoAnswer) ? parseRetryAfter(o.value.headers.get('retry-after')) : undefined),
      },
      (n) => this.attempt(req, url, headers, n, n === attempts),
    );
    if (outcome instanceof NoAnswer) throw outcome.error;
    return outcome;
  }

  /**
   * Attempt `n` of `req`: its answer with the body read inside the attempt's
   * time (a retryable status before the last attempt is only drained), or
   * {@link NoAnswer} for a network error or a time-out. An abort, or a typed
   * error from below, is thrown: never retried.
   */
  private async attempt(req: S3Request, url: string, headers: Record<string, string>, n: number, last: boolean): Promise<S3Response | NoAnswer> {
    throwIfAborted(req.signal);
    const { timeoutMs } = this.config;
    const timeout = timeoutSignal(timeoutMs);
    const signal = anySignal(req.signal, timeout.signal)!;
    try {
      const signed = await this.client.sign(url, { method: req.method, headers, body: req.body as BodyInit | undefined, signal });
      const res = await this.config.fetch(signed);
      if (RETRYABLE.has(res.status) && !last) {
        await res.arrayBuffer().catch(() => undefined);
        return { status: res.status, headers: res.headers, body: EMPTY };
      }
      const body = req.method === 'HEAD' ? EMPTY : new Uint8Array(await res.arrayBuffer());
      return { status: res.status, headers: res.headers, body };
    } catch (e) {
      if (req.signal?.aborted) throw abortErrorOf(req.signal);
      if (e instanceof ArchiveStorageError) throw e;
      return new NoAnswer(
        timeout.signal.aborted
          ? new TimeoutError(`s3: ${req.what}: no answer from ${this.config.endpoint.host} within ${timeoutMs} ms (after ${n} attempt(s))`, { cause: e })
          : new BackendError(
              `s3: ${req.what}: cannot reach ${this.config.endpoint.host} (${e instanceof Error ? e.message : String(e)}) after ${n} attempt(s); check the endpoint and the network`,
              { cause: e },
            ),
      );
    } finally {
      timeout.clear();
    }
  }

  /** The wait after attempt `n` (1-based): what Retry-After asks (capped), else full jitter from `backoffMs`, capped at `maxBackoffMs`. */
  private backoff(n: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, this.config.maxBackoffMs);
    return this.jitter(n);
  }

  /**
   * The typed error for a response that is not what `req` expected. Refused
   * credentials or permissions are {@link AuthRefusedError} (see
   * {@link isAuthRefusal}; never retried: `send` retries only 429 and 5xx),
   * a missing bucket `NotFoundError`, a full store `QuotaExceededError`, each
   * with a message a person can act on; the S3 error code and message are kept
   * in the text.
   */
  failure(res: S3Response, what: string): ArchiveStorageError {
    const s3 = parseS3Error(new TextDecoder().decode(res.body));
    const detail = s3 ? `${s3.code}${s3.message ? `: ${s3.message}` : ''}` : `HTTP ${res.status}`;
    const { bucket, endpoint, region } = this.config;
    if (res.status === 507 || s3?.code === 'XMinioStorageFull' || s3?.code === 'QuotaExceeded') {
      // Before the 403 case: Ceph answers a full user or bucket quota with 403 QuotaExceeded.
      return new QuotaExceededError(`s3: ${what}: the object store is out of space or quota (${detail})`);
    }
    if (isAuthRefusal(res.status, s3?.code)) {
      return new AuthRefusedError(
        `s3: ${what}: the server at ${endpoint.host} refused the credentials (${s3 ? `${res.status} ${detail}` : detail}): ${authHint(s3?.code)}. ` +
          `Check the access key id and secret (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and AWS_SESSION_TOKEN for temporary credentials), ` +
          `the region ("${region}" is part of the signature), the machine's clock, and that the bucket policy grants ` +
          `s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on bucket "${bucket}"`,
      );
    }
    if (res.status === 404 && (s3?.code === 'NoSuchBucket' || s3 === undefined)) {
      return new NotFoundError(`s3: ${what}: bucket "${bucket}" does not exist at ${endpoint.host} (${detail}); create it first or fix the bucket name`);
    }
    if (res.status === 429 || res.status >= 500) {
      return new BackendError(`s3: ${what}: the server kept failing (${detail}) after ${this.config.retries + 1} attempt(s); try again later`);
    }
    return new BackendError(`s3: ${what}: unexpected answer ${detail}`);
  }
}

/** What each refusal code means, first in the message. */
const AUTH_HINTS: Record<string, string> = {
  InvalidAccessKeyId: 'the access key id is unknown to the server',
  SignatureDoesNotMatch: 'the signature does not match: the secret access key (or the region) is not the one of this access key id',
  AccessDenied: 'the credentials were accepted but are not allowed to do this',
  RequestTimeTooSkewed: "the machine's clock is too far from the server's",
  ExpiredToken: 'the session token has expired',
  InvalidToken: 'the session token is malformed or invalid',
  TokenRefreshRequired: 'the session token must be refreshed',
  AuthorizationHeaderMalformed: 'the signature names another region than the bucket is in',
  AllAccessDisabled: 'all access to this bucket or account has been disabled',
  AccountProblem: 'the account has a problem that stops this request',
  UserSuspended: 'the user is suspended',
};

function authHint(code: string | undefined): string {
  return code !== undefined && Object.hasOwn(AUTH_HINTS, code) ? AUTH_HINTS[code]! : 'the request was not allowed';
}

/** 403 codes that are not about credentials or permissions. */
const FORBIDDEN_NOT_AUTH = new Set(['InvalidObjectState', 'QuotaExceeded', 'XMinioStorageFull']);

/**
 * Whether an answer means the server refused the credentials or the permission:
 * 401, any 403 except a few codes that say something else (an archived object,
 * a full quota), and the 400s that are about the signature or the session token.
 */
export function isAuthRefusal(status: number, code: string | undefined): boolean {
  if (status === 401) return true;
  if (status === 403) return code === undefined || !FORBIDDEN_NOT_AUTH.has(code);
  if (status === 400) return code !== undefined && Object.hasOwn(AUTH_HINTS, code);
  return false;
}

/** A signal that aborts after `ms`, with a clear() so a finished attempt leaves no timer behind. */
function timeoutSignal(ms: number): { signal: AbortSignal; clear(): void } {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`timed out after ${ms} ms`)), ms);
  return { signal: ctl.signal, clear: () => clearTimeout(timer) };
}

/** Retry-After in ms (seconds or an HTTP date); undefined when absent or unreadable. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (with padding) of a few bytes, such as the Content-MD5 digest. */
export function base64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += BASE64[(n >> 18) & 63]! + BASE64[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? BASE64[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? BASE64[n & 63]! : '=';
  }
  return out;
}
