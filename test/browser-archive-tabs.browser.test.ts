/**
 * The archive on the browser adapters where a browser differs from a process:
 * two pages of one origin putting at once, a reload (no close) that must keep
 * every put that resolved, and a real quota error (tiny quota in an isolated
 * browser) that must leave the archive consistent. For IndexedDB and OPFS.
 *
 * The second page runs `test/browser-peer.html` (see `browser-commands.ts`);
 * its code is passed as text, so it uses the same modules loaded there.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { openArchive } from '../src/archive/index.js';
import { tabBackends, type TabBackend as Backend } from './support/tab-backends.js';

let counter = 0;
const unique = (tag: string) => `tabs-${tag}-${Date.now().toString(36)}-${++counter}`;
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c().catch(() => {});
});

async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) out.push(x);
  return out;
}

const backends = tabBackends;

for (const backend of backends) {
  describe(`archive on ${backend.name} across pages`, () => {
    let peer: string | undefined;
    afterEach(async () => {
      if (peer) await commands.peerClose(peer);
      peer = undefined;
    });

    it('two pages putting at once lose nothing; both see every value', async () => {
      const id = unique(backend.name);
      cleanup.push(() => backend.forget(id));
      peer = await commands.peerOpen();
      const adapter = backend.here(id);
      const archive = await openArchive(adapter, { compactAfter: 16 });
      const peerPuts = commands.peerRun<string[]>(
        peer,
        `async (mods, id) => {
          const adapter = (${backend.peer})(mods, id);
          const archive = await mods.archive.openArchive(adapter, { compactAfter: 16 });
          const hashes = [];
          for (let i = 0; i < 120; i += 10) {
            const batch = Array.from({ length: 10 }, (_, j) => ({ page: 'peer', n: i + j }));
            if (i % 20 === 0) hashes.push(...(await archive.putMany([...batch, { shared: i }])));
            else hashes.push(...(await Promise.all(batch.map((v) => archive.put(v)))));
          }
          await archive.close();
          await adapter.close();
          return hashes;
        }`,
        id,
      );
      const ours: string[] = [];
      for (let i = 0; i < 120; i += 10) {
        const batch = Array.from({ length: 10 }, (_, j) => ({ page: 'test', n: i + j }));
        if (i % 20 === 0) ours.push(...(await archive.putMany([...batch, { shared: i }])));
        else ours.push(...(await Promise.all(batch.map((v) => archive.put(v)))));
      }
      const theirs = await peerPuts;
      await archive.close();
      const all = new Set([...ours, ...theirs]);
      expect(all.size).toBe(246);
      const reopened = await openArchive(adapter);
      expect(new Set(await collect(reopened.list()))).toEqual(all);
      const report = await reopened.verify();
      expect(report.ok).toBe(true);
      expect(report.checked).toBe(246);
      const seenByPeer = await commands.peerRun<number>(
        peer,
        `async (mods, id) => {
          const adapter = (${backend.peer})(mods, id);
          const archive = await mods.archive.openArchive(adapter);
          let n = 0;
          for await (const _ of archive.list()) n++;
          await archive.get(${JSON.stringify(ours[5])});
          await archive.close();
          await adapter.close();
          return n;
        }`,
        id,
      );
      expect(seenByPeer).toBe(246);
      await reopened.close();
      await adapter.close?.();
    });

    it('a reload without close keeps every put that resolved', async () => {
      const id = unique(backend.name);
      cleanup.push(() => backend.forget(id));
      peer = await commands.peerOpen();
      const hashes = await commands.peerRun<string[]>(
        peer,
        `async (mods, id) => {
          const archive = await mods.archive.openArchive((${backend.peer})(mods, id));
          const out = await archive.putMany(Array.from({ length: 50 }, (_, i) => ({ before: 'reload', i })));
          out.push(await archive.put({ lone: true }));
          return out; // no close: the page goes away with the journal not compacted
        }`,
        id,
      );
      await commands.peerReload(peer);
      const after = await commands.peerRun<{ count: number; ok: boolean; lone: unknown }>(
        peer,
        `async (mods, id) => {
          const adapter = (${backend.peer})(mods, id);
          const archive = await mods.archive.openArchive(adapter);
          const report = await archive.verify();
          const out = { count: (await archive.stats()).count, ok: report.ok, lone: await archive.get(${JSON.stringify(hashes[50])}) };
          await archive.close();
          await adapter.close();
          return out;
        }`,
        id,
      );
      expect(after).toEqual({ count: 51, ok: true, lone: { lone: true } });
    });

    it('a real quota error mid-way leaves the archive consistent: once space is freed the next put works, close() is clean, every resolved put readable, verify clean', async () => {
      // A real 3 MiB quota in a browser of its own (each engine sets it its own way: browser-commands.ts).
      peer = await commands.peerOpen({ isolated: true, quotaBytes: 3 * 1024 * 1024 });
      const id = unique(backend.name);
      const run = await commands.peerRun<{ stored: string[]; failedWith: string; failedAt: number; next: string; closed: string }>(
        peer,
        `async (mods, id) => {
          // Ballast freed again after the refusal, as a user would free space (the quota cannot be raised at
          // runtime in Firefox and WebKit).
          const top = await navigator.storage.getDirectory();
          const ballast = await (await top.getFileHandle('ballast.bin', { create: true })).createWritable();
          await ballast.write(new Uint8Array(1024 * 1024));
          await ballast.close();
          const adapter = (${backend.peer})(mods, id);
          const archive = await mods.archive.openArchive(adapter);
          const codeOf = async (p) => { try { await p; return 'resolved'; } catch (e) { return e.code ?? String(e); } };
          // Incompressible values (IndexedDB compresses): 64 KiB of random base64 each.
          const value = (i) => {
            const bytes = crypto.getRandomValues(new Uint8Array(48 * 1024));
            let s = ''; for (let j = 0; j < bytes.length; j += 8192) s += String.fromCharCode(...bytes.subarray(j, j + 8192));
            return { i, blob: btoa(s) };
          };
          const stored = [];
          for (let i = 0; i < 200; i += 4) {
            try {
              if (i % 8 === 0) stored.push(...(await archive.putMany([value(i), value(i + 1), value(i + 2), value(i + 3)])));
              else stored.push(...(await Promise.all([0, 1, 2, 3].map((j) => archive.put(value(i + j))))));
            } catch (e) {
              // The same archive goes on once there is room: the next put, and close() (which folds the journal
              // into the index: in Firefox's IndexedDB that write once met the InvalidStateError left by the refusal).
              await top.removeEntry('ballast.bin');
              const next = await codeOf(archive.put({ after: 'quota' }).then((h) => stored.push(h)));
              const closed = await codeOf(archive.close());
              await adapter.close();
              return { stored, failedWith: e.code ?? String(e), failedAt: i, next, closed };
            }
          }
          return { stored, failedWith: 'never', failedAt: -1, next: 'never', closed: 'never' };
        }`,
        id,
      );
      expect(run.failedWith).toBe('QUOTA_EXCEEDED');
      expect(run.stored.length).toBeGreaterThan(4);
      expect(run.next).toBe('resolved');
      expect(run.closed).toBe('resolved');
      const check = await commands.peerRun<{ ok: boolean; corrupt: number; missing: number; readable: number; count: number }>(
        peer,
        `async (mods, [id, stored]) => {
          const adapter = (${backend.peer})(mods, id);
          const archive = await mods.archive.openArchive(adapter);
          const report = await archive.verify();
          let readable = 0;
          for (const h of stored) { await archive.get(h); readable++; }
          const out = { ok: report.ok, corrupt: report.corrupt.length, missing: report.missing.length, readable, count: (await archive.stats()).count };
          await archive.close();
          await adapter.close();
          return out;
        }`,
        [id, run.stored],
      );
      expect(check.corrupt).toBe(0);
      expect(check.missing).toBe(0);
      expect(check.readable).toBe(run.stored.length);
      expect(check.count).toBeGreaterThanOrEqual(run.stored.length);
      expect(check.ok).toBe(true);
    });
  });
}
