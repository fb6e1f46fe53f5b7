/**
 * Change events on the memory adapter (docs/changes.md, format.md "Change
 * log v2"): local and other-handle changes, resume after absence across a
 * fold, trimmed positions, hostile change segments, the intent-before-swap
 * rule of reference changes, and close.
 */
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { openArchive, type ArchiveChange, type ContentArchive, type DamagedChange } from '../src/index.js';
import { encodeRefSegment } from '../src/changes/lines.js';
import { sha256Hex } from '../src/hash.js';
import { openReferences } from '../src/refs/index.js';

const dec = new TextDecoder();
const enc = new TextEncoder();

/** Takes changes from `iterable` until `n` arrived (or `ms` passed: then what arrived). */
async function take(iterable: AsyncIterable<ArchiveChange>, n: number, ms = 5_000): Promise<ArchiveChange[]> {
  const out: ArchiveChange[] = [];
  const it = iterable[Symbol.asyncIterator]();
  const deadline = Date.now() + ms;
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const next = await Promise.race([it.next(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), left))]);
    if (next === 'timeout' || next.done) break;
    out.push(next.value);
  }
  void it.return?.();
  return out;
}

const tick = () => new Promise((r) => setTimeout(r, 3)); // segments of two writers in one ms are ordered by writer id

const brief = (c: ArchiveChange) =>
  c.kind === 'put' || c.kind === 'delete' ? `${c.kind} ${c.hash.slice(0, 8)}` : `${c.kind} ${c.name} ${c.seq}${c.kind === 'ref-set' ? ' ' + c.hash.slice(0, 8) : ''}`;

async function pair(): Promise<{ a: ContentArchive; b: ContentArchive; close: () => Promise<void> }> {
  const adapter = memoryAdapter();
  const a = await openArchive(adapter);
  const b = await openArchive(adapter);
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

describe('changes(): memory', () => {
  it('this handle: puts, deletes, reference set and delete, local, in order', async () => {
    const archive = await openArchive(memoryAdapter());
    const stream = archive.changes({ pollMs: 5_000 }); // no poll inside the test: local changes wake it
    const h1 = await archive.put({ n: 1 });
    const h2 = await archive.put({ n: 2 });
    await tick();
    await archive.refs.set('notes/1', h1, { meta: { by: 'ana' } });
    await archive.refs.set('notes/1', h2);
    await archive.refs.delete('notes/1');
    const it = stream[Symbol.asyncIterator]();
    const got: ArchiveChange[] = [];
    for (let i = 0; i < 5; i++) got.push((await it.next()).value as ArchiveChange);
    await archive.delete(h2);
    got.push((await it.next()).value as ArchiveChange);
    await it.return?.();
    expect(got.map(brief)).toEqual([
      `put ${h1.slice(0, 8)}`,
      `put ${h2.slice(0, 8)}`,
      `ref-set notes/1 1 ${h1.slice(0, 8)}`,
      `ref-set notes/1 2 ${h2.slice(0, 8)}`,
      'ref-delete notes/1 3',
      `delete ${h2.slice(0, 8)}`,
    ]);
    expect(got.every((c) => c.local)).toBe(true);
    expect(got[2]).toMatchObject({ kind: 'ref-set', meta: { by: 'ana' } });
    expect(got[0]).toMatchObject({ kind: 'put', size: 7 });
    await archive.close();
  });

  it('a put undone by a later delete before the reader looked: only the delete (the put line is void)', async () => {
    const archive = await openArchive(memoryAdapter());
    const stream = archive.changes({ pollMs: 5_000 });
    const h = await archive.put('short-lived');
    await archive.delete(h);
    const h2 = await archive.put('stays');
    expect((await take(stream, 2)).map(brief)).toEqual([`delete ${h.slice(0, 8)}`, `put ${h2.slice(0, 8)}`]);
    await archive.close();
  });

  it('another handle on the same storage: seen by polling, not local; since now skips what came before', async () => {
    const { a, b, close } = await pair();
    await a.put('before');
    await tick();
    const stream = b.changes({ pollMs: 20 });
    const h = await a.put('after');
    await tick();
    await a.refs.set('x', h);
    const got = await take(stream, 2);
    expect(got.map(brief)).toEqual([`put ${h.slice(0, 8)}`, `ref-set x 1 ${h.slice(0, 8)}`]);
    expect(got.some((c) => c.local)).toBe(false);
    await close();
  });

  it('resume from a position after an absence, across a fold into changes/: exactly what followed', async () => {
    const adapter = memoryAdapter();
    const a = await openArchive(adapter, { compactAfter: 2 });
    const first = await take(
      (async function* () {
        const s = a.changes({ pollMs: 5_000 });
        await a.put(1);
        yield* s;
      })(),
      1,
    );
    expect(first).toHaveLength(1);
    const saved = first[0]!.position;
    // While away: many commits, folded into index runs; the journal segments move into packs under changes/.
    const later: string[] = [];
    for (let i = 2; i < 12; i++) later.push(await a.put(i));
    await tick();
    await a.refs.set('r', later[0]!);
    await tick();
    await a.delete(later[1]!);
    const keys: string[] = [];
    for await (const k of adapter.list('')) keys.push(k);
    expect(keys.filter((k) => k.startsWith('changes/') && k.endsWith('.pack')).length).toBeGreaterThan(3); // a pack per fold
    const back = await take(a.changes({ since: saved, pollMs: 20 }), 11 + 1, 600);
    const puts = later.filter((_, i) => i !== 1); // put then deleted while away: only its delete
    expect(back.map(brief)).toEqual([...puts.map((h) => `put ${h.slice(0, 8)}`), `ref-set r 1 ${later[0]!.slice(0, 8)}`, `delete ${later[1]!.slice(0, 8)}`]);
    // Resuming from the middle gives the rest, once.
    const rest = await take(a.changes({ since: back[4]!.position, pollMs: 20 }), 7 + 1, 600); // one more than due: nothing twice
    expect(rest.map(brief)).toEqual(back.slice(5).map(brief));
    await a.close();
  });

  it('a position older than the retention is CHANGES_TRIMMED; a malformed one INVALID_ARGUMENT', async () => {
    let now = 1_800_000_000_000;
    const adapter = memoryAdapter();
    const a = await openArchive(adapter, { now: () => now, changeRetentionMs: 60_000 });
    const got = await take(
      (async function* () {
        const s = a.changes({ pollMs: 5_000 });
        await a.put('x');
        yield* s;
      })(),
      1,
    );
    const position = got[0]!.position;
    now += 10 * 60_000;
    const it = a.changes({ since: position })[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toMatchObject({ code: 'CHANGES_TRIMMED', position, retainedMs: 60_000 });
    expect(() => a.changes({ since: 'yesterday' })).not.toThrow(); // refused on first next(), typed
    await expect(a.changes({ since: 'yesterday' })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => a.changes({ pollMs: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // watch reports it through onError
    const errors: unknown[] = [];
    a.watch(() => {}, { since: position, onError: (e) => errors.push(e) });
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]).toMatchObject({ code: 'CHANGES_TRIMMED' });
    await a.close();
  });

  it('hostile change segments: skipped and reported, the listener goes on, nothing deleted', async () => {
    const adapter = memoryAdapter();
    const a = await openArchive(adapter);
    const damaged: DamagedChange[] = [];
    const stream = a.changes({ pollMs: 20, onDamaged: (d) => damaged.push(d) });
    const t = String(Date.now()).padStart(15, '0');
    const h = await a.put('good');
    const hostile: Record<string, Uint8Array> = {
      [`changes/${t}-evil-00000001.log`]: enc.encode(`00000000 put ${h} 6 1\n`), // bad checksum
      [`changes/${t}-evil-00000002.log`]: enc.encode('\u0000\u00ff garbage \n\n'), // garbage
      [`changes/${t}-evil-00000003.log`]: enc.encode(`${sha256Hex('mv a b').slice(0, 8)} mv a b\n`), // unknown line, good checksum
      [`changes/${t}-evil-00000004.log`]: enc.encode(`${sha256Hex('ref ../etc').slice(0, 8)} ref ../etc\n`), // not a name
      [`changes/${t}-evil-00000005.log`]: encodeRefSegment('broken'), // points at a damaged document
      'changes/not-a-segment.txt': enc.encode('whatever'),
    };
    await tick();
    await adapter.write('refs/broken.json', enc.encode('{"format":"nope"}'));
    for (const [k, v] of Object.entries(hostile)) await adapter.write(k, v);
    const h2 = await a.put('after');
    const got = await take(stream, 2);
    expect(got.map(brief)).toEqual([`put ${h.slice(0, 8)}`, `put ${h2.slice(0, 8)}`]);
    await expect.poll(() => damaged.length).toBe(5);
    expect(damaged.map((d) => d.key).sort()).toEqual([...Object.keys(hostile).slice(0, 4), 'refs/broken.json'].sort());
    for (const [k, v] of Object.entries(hostile)) expect(dec.decode(await adapter.read(k))).toBe(dec.decode(v));
    await a.close();
  });

  it('a reference intent without its swap (writer killed between them) emits nothing, and a late swap is still seen', async () => {
    const adapter = memoryAdapter();
    const a = await openArchive(adapter);
    const h = await a.put('v');
    await tick(); // 'now' counts the call's own millisecond as the future
    const stream = a.changes({ pollMs: 20 });
    // An intent whose compare-and-swap never happened: the document does not hold a newer version.
    await adapter.write(`changes/${String(Date.now()).padStart(15, '0')}-ghost-00000000.log`, encodeRefSegment('ghost'));
    // An intent whose swap lands 300 ms later (slow writer): the reader keeps it pending until then.
    const refs = openReferences(a);
    const slow = openReferences({ adapter: { ...adapter, write: async (k: string, b: Uint8Array, o?: { signal?: AbortSignal }) => {
      if (k.startsWith('refs/')) await new Promise((r) => setTimeout(r, 300));
      return adapter.write(k, b, o);
    } } as typeof adapter, has: (x) => a.has(x), putBytes: (b) => a.putBytes(b) });
    await slow.set('late', h);
    await refs.set('after', h);
    const got = await take(stream, 3, 1_500);
    expect(got.map(brief)).toEqual([`ref-set late 1 ${h.slice(0, 8)}`, `ref-set after 1 ${h.slice(0, 8)}`]);
    await a.close();
  });

  it('watch: a listener that throws is reported and keeps getting changes; stop() and close() end it', async () => {
    const a = await openArchive(memoryAdapter());
    const seen: string[] = [];
    const errors: unknown[] = [];
    const stop = a.watch(
      (c) => {
        seen.push(brief(c));
        if (seen.length === 1) throw new Error('listener bug');
      },
      { onError: (e) => errors.push(e) },
    );
    await a.put(1);
    await a.put(2);
    await expect.poll(() => seen.length).toBe(2);
    expect(errors).toHaveLength(1);
    stop();
    await a.put(3);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toHaveLength(2);
    // close ends a for-await loop cleanly
    const loop = (async () => {
      const got: ArchiveChange[] = [];
      for await (const c of a.changes({ pollMs: 20 })) got.push(c);
      return got;
    })();
    await new Promise((r) => setTimeout(r, 50));
    await a.close();
    await expect(loop).resolves.toEqual([]);
    expect(() => a.changes()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('a set that changes nothing writes no change segment; one that changes writes one small segment', async () => {
    const adapter = memoryAdapter();
    const a = await openArchive(adapter, { changeRetentionMs: 0 });
    const h = await a.put('v');
    const count = async () => {
      let n = 0;
      for await (const k of adapter.list('changes/')) if (k.endsWith('.log')) n++;
      return n;
    };
    await a.refs.set('n', h);
    expect(await count()).toBe(1);
    await a.refs.set('n', h); // idempotent
    expect(await count()).toBe(1);
    await a.refs.delete('n');
    expect(await count()).toBe(2);
    await a.close();
  });
});
