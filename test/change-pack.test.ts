/**
 * Change log v2 (docs/format.md, "Change log v2"): a fold writes ONE pack of
 * the segments it folded, their bytes as they were; readers expand packs
 * into the original segments (positions unchanged), survive a fold between
 * their listing and their read, skip damage in a pack without losing its
 * other parts, and still read v1's one-file copies; trimming goes by a
 * pack's newest part and counts files.
 */
import * as realFs from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter, type FsLike } from '../adapters/node-fs/index.js';
import { MAX_CHANGE_SEGMENTS, trimChangeLog } from '../src/archive/change-log.js';
import { CHANGE_PACK_KEY_PATTERN } from '../src/archive/layout.js';
import { splitPack } from '../src/changes/pack.js';
import { ChangeReader, type ChangeReaderSettings } from '../src/changes/reader.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { sha256Hex } from '../src/hash.js';
import { openArchive, type ArchiveChange, type DamagedChange } from '../src/index.js';
import { makeTempDir } from './support/fs-tmp.js';
import { instrumented } from './support/instrumented-fs.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A checksummed line of the change log. */
const line = (body: string) => `${sha256Hex(body).slice(0, 8)} ${body}\n`;
const t15 = (ms: number) => String(ms).padStart(15, '0');
const segName = (ms: number, writer: string, seq: number) => `${t15(ms)}-${writer}-${String(seq).padStart(8, '0')}.log`;
/** Segments and 'now' are named by the millisecond: a start at 'now' counts its own as the future. */
const tick = () => new Promise((r) => setTimeout(r, 3));
const brief = (c: ArchiveChange) => (c.kind === 'put' || c.kind === 'delete' ? `${c.kind} ${c.hash.slice(0, 8)}` : `${c.kind} ${c.name}`);

async function keys(adapter: StorageAdapter, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of adapter.list(prefix)) out.push(k);
  return out.sort();
}

/** `inner` with every key it is asked to write (by write or writeMany) logged in `written`. */
function counting(inner: StorageAdapter): { adapter: StorageAdapter; written: string[] } {
  const written: string[] = [];
  const adapter: StorageAdapter = {
    ...inner,
    write: (k, b, o) => {
      written.push(k);
      return inner.write(k, b, o);
    },
    writeMany: inner.writeMany && ((entries, o) => {
      written.push(...entries.map((e) => e.key));
      return inner.writeMany!(entries, o);
    }),
  };
  return { adapter, written };
}

/**
 * `inner` as a reader sees it, with a hook: once armed, `then` runs right after the reader's next
 * listing of `changes/` (between its listing and its reads), once.
 */
function afterListingChanges(inner: StorageAdapter): { adapter: StorageAdapter; arm: (then: () => Promise<void>) => void; armed: () => boolean } {
  let hook: (() => Promise<void>) | undefined;
  const adapter: StorageAdapter = {
    ...inner,
    list: (prefix, o) =>
      (async function* () {
        yield* inner.list(prefix, o);
        const run = prefix === 'changes/' ? hook : undefined;
        if (run) {
          hook = undefined;
          await run();
        }
      })(),
  };
  return { adapter, arm: (then) => void (hook = then), armed: () => hook !== undefined };
}

function readerSettings(adapter: StorageAdapter, onDamaged?: (d: DamagedChange) => void): ChangeReaderSettings {
  return { adapter, now: () => Date.now(), retentionMs: 3_600_000, concurrency: 4, isLocal: () => false, onDamaged };
}

/** Polls `reader` until `n` changes came (or `ms` passed), then once more: anything beyond `n` shows up too. */
async function pollFor(reader: ChangeReader, n: number, ms = 3_000): Promise<ArchiveChange[]> {
  const out: ArchiveChange[] = [];
  const deadline = Date.now() + ms;
  while (out.length < n && Date.now() < deadline) {
    out.push(...(await reader.poll()));
    if (out.length < n) await new Promise((r) => setTimeout(r, 5));
  }
  out.push(...(await reader.poll()));
  return out;
}

describe('change log v2: one pack per fold', () => {
  it('a fold of 40 single-put segments writes exactly one change file, a pack; none with changeRetentionMs 0', async () => {
    for (const retention of [3_600_000, 0]) {
      const { adapter, written } = counting(memoryAdapter());
      const a = await openArchive(adapter, { compactAfter: 10_000, changeRetentionMs: retention });
      for (let i = 0; i < 40; i++) await a.put({ i });
      expect((await keys(adapter, 'journal/')).length).toBe(40);
      written.length = 0;
      await a.close(); // the fold
      const changeWrites = written.filter((k) => k.startsWith('changes/'));
      expect(changeWrites).toHaveLength(retention ? 1 : 0);
      expect(await keys(adapter, 'changes/')).toEqual(changeWrites);
      if (retention) expect(changeWrites[0]).toMatch(CHANGE_PACK_KEY_PATTERN);
    }
  });

  it('node-fs: 300 single puts and a close put ONE file under changes/ (one rename), not 300', async () => {
    const { dir, cleanup } = await makeTempDir('pack');
    try {
      const { fs, renames } = instrumented(realFs as FsLike);
      const adapter = nodeFsAdapter({ dir, fs, durable: false });
      const a = await openArchive(adapter, { compactAfter: 10_000 });
      for (let i = 0; i < 300; i++) await a.put({ i, pad: 'x'.repeat(180) });
      renames.length = 0;
      await a.close();
      const intoChanges = renames.filter((r) => r.startsWith('end ') && /[\\/]changes[\\/][^\\/]+$/.test(r));
      expect(intoChanges).toHaveLength(1);
      const files = await readdir(join(dir, 'changes'));
      expect(files).toHaveLength(1);
      expect(`changes/${files[0]}`).toMatch(CHANGE_PACK_KEY_PATTERN);
      const pack = splitPack(realFs.readFileSync(join(dir, 'changes', files[0]!)), { oldest: 0, newest: Number.MAX_SAFE_INTEGER });
      expect(pack.parts).toHaveLength(300);
      expect(pack.damaged).toBe(0);
      await adapter.close();
    } finally {
      await cleanup();
    }
  });

  it("a pack's parts are the journal's bytes: own segments and another writer's, a damaged line kept in place, a torn tail left out", async () => {
    const adapter = memoryAdapter();
    const a = await openArchive(adapter, { compactAfter: 10_000 });
    const h1 = await a.put('one');
    await a.putMany(['two', 'three']);
    const h4 = await a.put('four');
    // Another writer's segment (settled: its objects exist), with a damaged middle line and a torn tail.
    const foreign = segName(Date.now(), 'other', 0);
    const foreignBytes = enc.encode(line(`put ${h1} 5 1`) + `00000000 put ${h4} 6 1\n` + line(`put ${h4} 6 1`) + '3b1a9c00 put tor');
    await adapter.write(`journal/${foreign}`, foreignBytes);
    const journal = new Map<string, string>();
    for (const k of await keys(adapter, 'journal/')) journal.set(k.slice('journal/'.length), dec.decode(await adapter.read(k)));
    expect(journal.size).toBe(4);
    await a.close();
    expect(await keys(adapter, 'journal/')).toEqual([]);
    const [packKey, ...more] = await keys(adapter, 'changes/');
    expect(more).toEqual([]);
    const m = CHANGE_PACK_KEY_PATTERN.exec(packKey!)!;
    const names = [...journal.keys()].sort();
    expect(Number(m[2])).toBe(Number(names[0]!.slice(0, 15))); // oldest part
    expect(Number(m[1])).toBe(Number(names[names.length - 1]!.slice(0, 15))); // newest part
    const pack = splitPack((await adapter.read(packKey!))!, { oldest: Number(m[2]), newest: Number(m[1]) });
    expect(pack).toMatchObject({ damaged: 0, reasons: [] });
    expect(pack.parts.map((p) => p.name)).toEqual(names);
    for (const p of pack.parts) {
      const stored = journal.get(p.name)!;
      // Byte for byte up to the last newline: a torn tail would run into the next header.
      expect(p.lines.map((l) => l + '\n').join('')).toBe(stored.slice(0, stored.lastIndexOf('\n') + 1));
    }
    expect(pack.parts.find((p) => p.name === foreign)!.lines).toHaveLength(3);
  });
});

describe('change log v2: reading packs', () => {
  it('a reader that read some segments from journal/ before the fold emits nothing twice and misses nothing; positions resume across it', async () => {
    const adapter = memoryAdapter();
    const a = await openArchive(adapter, { compactAfter: 10_000 });
    const reader = await ChangeReader.open(readerSettings(adapter), 'now');
    await tick(); // 'now' counts its own millisecond as the future
    const h = [await a.put('a'), ...(await a.putMany(['b', 'c', 'd'])), await a.put('e')];
    const seen = await pollFor(reader, 5);
    expect(seen.map(brief)).toEqual(h.map((x) => `put ${x.slice(0, 8)}`));
    const midSegment = seen[2]!.position; // after 'c', the 2nd line of the putMany segment
    const afterFirst = seen[0]!.position;
    h.push(await a.put('f'), ...(await a.putMany(['g', 'h'])));
    await a.close(); // everything folds into one pack, journal/ is emptied
    expect(await keys(adapter, 'journal/')).toEqual([]);
    expect((await keys(adapter, 'changes/')).every((k) => CHANGE_PACK_KEY_PATTERN.test(k))).toBe(true);
    // The live reader: only what it had not read, once.
    expect((await pollFor(reader, 3)).map(brief)).toEqual(h.slice(5).map((x) => `put ${x.slice(0, 8)}`));
    // Resumed readers, from a position taken between segments and from one inside a segment.
    const fromFirst = await ChangeReader.open(readerSettings(adapter), afterFirst);
    expect((await pollFor(fromFirst, 7)).map(brief)).toEqual(h.slice(1).map((x) => `put ${x.slice(0, 8)}`));
    const fromMid = await ChangeReader.open(readerSettings(adapter), midSegment);
    expect((await pollFor(fromMid, 5)).map(brief)).toEqual(h.slice(3).map((x) => `put ${x.slice(0, 8)}`));
  });

  it('a fold between the reader listing changes/ and reading a journal segment: found in the new pack, not missed', async () => {
    const inner = memoryAdapter();
    const a = await openArchive(inner, { compactAfter: 10_000 });
    const { adapter, arm, armed } = afterListingChanges(inner);
    const reader = await ChangeReader.open(readerSettings(adapter), 'now');
    await tick();
    const h = [await a.put(1), await a.put(2), ...(await a.putMany([3, 4]))];
    arm(() => a.close());
    const got = await pollFor(reader, 4);
    expect(armed()).toBe(false); // the fold did run inside the poll
    expect(await keys(inner, 'journal/')).toEqual([]);
    expect(got.map(brief)).toEqual(h.map((x) => `put ${x.slice(0, 8)}`));
  });

  it('a damaged header, a part cut short, an unknown line, a look-alike header inside a part: reported and skipped, the other parts read, nothing changed', async () => {
    const adapter = memoryAdapter();
    const a = await openArchive(adapter);
    const [h1, h2, h3, h4, h5] = await a.putMany(['p1', 'p2', 'p3', 'p4', 'p5']);
    await a.close(); // the objects exist; the reader starts after their own (sound) pack
    await tick(); // 'now' counts its own millisecond as the future
    const damaged: DamagedChange[] = [];
    const reader2 = await ChangeReader.open(readerSettings(adapter, (d) => damaged.push(d)), 'now');
    await tick();
    const t = Date.now();
    const put = (h: string) => line(`put ${h} 4 1`);
    const text =
      line(`seg ${segName(t, 'evil', 0)} 1`) + put(h1!) + // a sound part
      `00000000 seg ${segName(t, 'evil', 1)} 1\n` + put(h2!) + // damaged header: both lines skipped
      line(`seg ${segName(t, 'evil', 2)} 3`) + line('mv a b') + put(h3!) + line(`seg ${segName(t, 'evil', 9)} 1`) + // unknown line; a look-alike header is content
      line(`seg ${segName(t + 10_000_000, 'evil', 3)} 1`) + put(h5!) + // named outside the pack's times
      line(`seg ${segName(t, 'evil', 4)} 3`) + put(h4!) + '1234abcd put to'; // cut short, its last line torn
    const key = `changes/${t15(t)}-${t15(t)}-evil-00000000.pack`;
    await adapter.write(key, enc.encode(text));
    const got = await pollFor(reader2, 3);
    expect(got.map(brief)).toEqual([h1!, h3!, h4!].map((x) => `put ${x.slice(0, 8)}`));
    expect(damaged.every((d) => d.key === key)).toBe(true);
    // The pack's structure: the damaged header and its line, the part outside the times, the line missing from the cut part.
    expect(damaged.find((d) => /header/.test(d.reason))).toMatchObject({ lines: 2 + 1 + 1 });
    // Within parts: the unknown line and the look-alike header of part 2, the torn line of part 4.
    expect(damaged.filter((d) => /of part/.test(d.reason)).map((d) => d.lines).sort()).toEqual([1, 2]);
    expect(dec.decode(await adapter.read(key))).toBe(text);
    // Read once: a later poll reads nothing again and reports nothing again.
    const before = damaged.length;
    expect(await reader2.poll()).toEqual([]);
    expect(damaged.length).toBe(before);
  });

  it('reads each pack once per reader, and not at all when its newest part is below the floor', async () => {
    const inner = memoryAdapter();
    const reads: string[] = [];
    const adapter: StorageAdapter = { ...inner, read: (k, o) => (reads.push(k), inner.read(k, o)) };
    const a = await openArchive(inner, { compactAfter: 2 });
    const old = Date.now() - 10 * 60_000;
    await inner.write(`changes/${t15(old)}-${t15(old)}-gone-00000000.pack`, enc.encode(line(`seg ${segName(old, 'gone', 0)} 0`)));
    const reader = await ChangeReader.open(readerSettings(adapter), 'now');
    await tick();
    const h: string[] = [];
    for (let i = 0; i < 6; i++) h.push(await a.put(i)); // three folds, three packs
    const got = await pollFor(reader, 6);
    expect(got.map(brief)).toEqual(h.map((x) => `put ${x.slice(0, 8)}`));
    for (let i = 0; i < 3; i++) await reader.poll();
    await a.close();
    const packReads = reads.filter((k) => k.endsWith('.pack')).sort();
    const packs = (await keys(inner, 'changes/')).filter((k) => k.endsWith('.pack') && !k.includes('-gone-'));
    expect(packs.length).toBeGreaterThanOrEqual(3);
    // Each pack the reader listed (all but the close's, which came after its last poll) was read exactly once.
    expect(packReads).toEqual(packs.filter((k) => packReads.includes(k)));
    expect(packReads.length).toBeGreaterThanOrEqual(3);
    expect(packReads.some((k) => k.includes('-gone-'))).toBe(false);
  });

  it("v1's one-file copy of a folded segment is still read (by name, and when the journal segment moves there mid-poll)", async () => {
    const inner = memoryAdapter();
    const a = await openArchive(inner);
    const [h1, h2] = await a.putMany(['v1-a', 'v1-b']);
    await a.close();
    await tick();
    const { adapter, arm, armed } = afterListingChanges(inner);
    const reader = await ChangeReader.open(readerSettings(adapter), 'now');
    await tick();
    const t = Date.now();
    await inner.write(`changes/${segName(t, 'oldbuild', 0)}`, enc.encode(line(`put ${h1} 6 1`)));
    // A v1 writer's fold after this poll listed changes/: copy to changes/<same name>, then delete the journal segment.
    const seg = segName(t, 'oldbuild', 1);
    await inner.write(`journal/${seg}`, enc.encode(line(`put ${h2} 6 1`)));
    arm(async () => {
      await inner.write(`changes/${seg}`, (await inner.read(`journal/${seg}`))!);
      await inner.delete(`journal/${seg}`);
    });
    expect((await pollFor(reader, 2)).map(brief)).toEqual([h1!, h2!].map((x) => `put ${x.slice(0, 8)}`));
    expect(armed()).toBe(false);
  });
});

describe('change log v2: retention', () => {
  it("trims packs by their newest part, .log files by their time; keeps a pack whose oldest part alone is old", async () => {
    const adapter = memoryAdapter();
    const now = 1_800_000_000_000;
    const hour = 3_600_000;
    const files = {
      oldPack: `changes/${t15(now - 2 * hour)}-${t15(now - 3 * hour)}-w-00000000.pack`,
      straddling: `changes/${t15(now - hour / 2)}-${t15(now - 2 * hour)}-w-00000001.pack`,
      youngPack: `changes/${t15(now - 1000)}-${t15(now - 2000)}-w-00000002.pack`,
      oldLog: `changes/${segName(now - 2 * hour, 'r', 0)}`,
      youngLog: `changes/${segName(now - 1000, 'r', 1)}`,
      foreign: 'changes/notes.txt',
    };
    for (const k of Object.values(files)) await adapter.write(k, enc.encode('x'));
    await trimChangeLog(adapter, now, hour, 4);
    expect(await keys(adapter, 'changes/')).toEqual([files.straddling, files.youngPack, files.youngLog, files.foreign].sort());
  });

  it(`keeps at most ${MAX_CHANGE_SEGMENTS} files of both kinds, oldest leading time first; CHANGES_TRIMMED judges by a pack's oldest part`, async () => {
    const adapter = memoryAdapter();
    const now = Date.now();
    const extra = 5;
    const total = MAX_CHANGE_SEGMENTS + extra;
    const made: { key: string; time: number }[] = [];
    for (let i = 0; i < total; i++) {
      const time = now - 60_000 + i; // all inside the retention
      const key = i % 2 ? `changes/${t15(time)}-${t15(time - 500)}-w-${String(i).padStart(8, '0')}.pack` : `changes/${segName(time, 'r', i)}`;
      made.push({ key, time });
    }
    await Promise.all(made.map(({ key }) => adapter.write(key, enc.encode('x'))));
    await trimChangeLog(adapter, now, 3_600_000, 8);
    const left = await keys(adapter, 'changes/');
    expect(left).toHaveLength(MAX_CHANGE_SEGMENTS);
    expect(left).toEqual(made.slice(extra).map((m) => m.key).sort());
    // The oldest kept file is a pack whose oldest part is 500 ms before its name's leading time.
    const first = made[extra]!;
    expect(first.key.endsWith('.pack')).toBe(true);
    const position = (floor: number) => `1:${floor}:`;
    const settings = readerSettings(adapter);
    await expect(ChangeReader.open(settings, position(first.time - 600))).rejects.toMatchObject({ code: 'CHANGES_TRIMMED' });
    await expect(ChangeReader.open(settings, position(first.time - 400))).resolves.toBeInstanceOf(ChangeReader);
  });
});
