// The S3 adapter's 409 loops (create and swap, through src/internal/retry.ts) on radosgw: a
// fetch in front of the real server answers 409 ConditionalRequestConflict (what AWS says while
// another conditional PUT of the key is in flight) to the first conditional PUTs of one key, and
// forwards everything else. Each loop asks again exactly `retries` more times, then surfaces what
// it surfaced before the loops were one helper: create a BACKEND_FAILURE, swap a lost swap (null);
// an abort during the wait is ABORTED; nothing is written that the server did not accept.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { s3Adapter, type S3AdapterOptions } from '../adapters/s3/index.js';
import { isArchiveStorageError } from '../src/errors.js';
import { startRadosgw, type RadosgwServer } from './support/radosgw.js';

const enc = new TextEncoder();
const TARGET = 'contended/key';

let rgw: RadosgwServer;
beforeAll(async () => {
  rgw = await startRadosgw();
});
afterAll(async () => rgw?.close());

let prefixes = 0;

/**
 * An adapter whose fetch answers 409 to the first `conflicts` conditional PUTs of {@link TARGET}
 * (`puts()` counts those PUTs), and a plain one on the same prefix (a fresh one unless `extra` names it).
 */
function contended(conflicts: number, extra: Partial<S3AdapterOptions> = {}) {
  let puts = 0;
  const fetch409: typeof fetch = async (input, init) => {
    const req = input as Request;
    const conditional = req.headers.has('if-match') || req.headers.has('if-none-match');
    if (req.method === 'PUT' && conditional && new URL(req.url).pathname.endsWith(`/${TARGET}`)) {
      puts++;
      if (puts <= conflicts) {
        await req.arrayBuffer();
        return new Response('<Error><Code>ConditionalRequestConflict</Code><Message>A conflicting conditional operation is in progress.</Message></Error>', {
          status: 409,
        });
      }
    }
    return fetch(input, init);
  };
  const prefix = extra.prefix ?? `r${++prefixes}-${Date.now().toString(36)}/`;
  const adapter = s3Adapter({ endpoint: rgw.endpoint, bucket: rgw.bucket, credentials: rgw.credentials, fetch: fetch409, backoffMs: 2, ...extra, prefix });
  const plain = s3Adapter({ endpoint: rgw.endpoint, bucket: rgw.bucket, credentials: rgw.credentials, prefix });
  return { adapter, plain, prefix, puts: () => puts };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isArchiveStorageError(e) ? e.code : String(e);
  }
  return undefined;
}

describe('s3 adapter: 409 ConditionalRequestConflict', () => {
  it('create asks again after 409s and creates, in conflicts + 1 PUTs', async () => {
    const { adapter, plain, puts } = contended(3, { retries: 4 });
    expect(await adapter.create!(TARGET, enc.encode('first'))).toBe(true);
    expect(puts()).toBe(4);
    expect(await plain.read(TARGET)).toEqual(enc.encode('first'));
    expect(await adapter.create!(TARGET, enc.encode('second'))).toBe(false); // 412 now: present
    expect(await plain.read(TARGET)).toEqual(enc.encode('first'));
  });

  it('create gives up after exactly retries + 1 PUTs with BACKEND_FAILURE, and nothing is stored', async () => {
    const { adapter, plain, puts } = contended(Infinity, { retries: 2 });
    expect(await codeOf(adapter.create!(TARGET, enc.encode('never')))).toBe('BACKEND_FAILURE');
    expect(puts()).toBe(3);
    expect(await plain.read(TARGET)).toBeUndefined();
  });

  it('swap asks again after 409s and wins, in conflicts + 1 PUTs', async () => {
    const { adapter, plain, puts } = contended(2, { retries: 4 });
    const v1 = await adapter.swap!(TARGET, enc.encode('v1'), null);
    expect(v1).toEqual(expect.any(String));
    expect(puts()).toBe(3);
    const v2 = await adapter.swap!(TARGET, enc.encode('v2'), v1!);
    expect(v2).toEqual(expect.any(String));
    expect(puts()).toBe(4);
    expect(await plain.read(TARGET)).toEqual(enc.encode('v2'));
  });

  it('swap still refused after retries + 1 PUTs is a lost swap (null), and the stored bytes are unchanged', async () => {
    const { adapter, plain, prefix, puts } = contended(1, { retries: 2 });
    const v1 = await adapter.swap!(TARGET, enc.encode('v1'), null);
    expect(puts()).toBe(2);
    // A second adapter on the same prefix whose every conditional PUT of the key meets a 409.
    const always = contended(Infinity, { retries: 2, prefix });
    expect(await always.adapter.swap!(TARGET, enc.encode('v2'), v1!)).toBeNull();
    expect(always.puts()).toBe(3);
    expect(await plain.read(TARGET)).toEqual(enc.encode('v1'));
  });

  it('an abort during the wait after a 409 is ABORTED at once, with no further PUT', { timeout: 20_000 }, async () => {
    const { adapter, plain, puts } = contended(Infinity, { retries: 5, backoffMs: 60_000 });
    await plain.write('other', enc.encode('o')); // the bucket check and probe go first, outside the pinned randomness
    expect(await adapter.create!('other', enc.encode('o'))).toBe(false);
    // The wait is pinned near its 60 s bound: one that ignored the abort would outlast the test's 20 s.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);
    try {
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(), 50);
      expect(await codeOf(adapter.create!(TARGET, enc.encode('x'), { signal: ctl.signal }))).toBe('ABORTED');
    } finally {
      random.mockRestore();
    }
    expect(puts()).toBe(1);
    expect(await plain.read(TARGET)).toBeUndefined();
  });
});
