/**
 * Change events across two real tabs of one origin (docs/changes.md), on
 * IndexedDB and OPFS: what one tab puts, deletes and sets as references
 * reaches a listener in the other tab. The listener polls only once a minute,
 * so a change that arrives within the test's bound was delivered by the
 * BroadcastChannel wake-up, not by polling.
 *
 * The second tab runs `test/browser-peer.html` (see `browser-commands.ts`).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { openArchive, type ArchiveChange } from '../src/index.js';
import { tabBackends, type TabBackend as Backend } from './support/tab-backends.js';

let counter = 0;
const unique = (tag: string) => `changes-${tag}-${Date.now().toString(36)}-${++counter}`;
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c().catch(() => {});
});

const backends = tabBackends;

const brief = (c: ArchiveChange) => (c.kind === 'put' || c.kind === 'delete' ? `${c.kind} ${c.hash}` : `${c.kind} ${c.name} ${c.seq}`);

/**
 * The same changes; object changes in the writer's order, reference versions
 * in seq order (a put whose object shows up after the next reference change
 * is reported after it: the two have different writers, docs/changes.md).
 */
function expectSame(got: string[], made: string[]): void {
  // A put whose object a later delete removed before the listener looked shows as the delete alone
  // (docs/changes.md, "What a change says"), as in test/changes-multiprocess.test.ts.
  const undone = new Set(made.filter((x) => x.startsWith('delete ')).map((x) => x.slice('delete '.length)));
  made = made.filter((x) => !(x.startsWith('put ') && undone.has(x.slice('put '.length)) && !got.includes(x)));
  expect([...got].sort()).toEqual([...made].sort());
  const objects = (l: string[]) => l.filter((x) => x.startsWith('put ') || x.startsWith('delete '));
  const refs = (l: string[]) => l.filter((x) => x.startsWith('ref-'));
  expect(objects(got)).toEqual(objects(made));
  expect(refs(got)).toEqual(refs(made));
}

/** The writer tab's script: put 3 values, set a reference to each, delete the first; returns the changes it made, in order. */
const WRITE = (backend: Backend) => `async (mods, id) => {
  const adapter = (${backend.peer})(mods, id);
  const archive = await mods.archive.openArchive(adapter);
  const made = [];
  const hashes = [];
  for (let i = 0; i < 3; i++) {
    const h = await archive.put({ tab: 'writer', i });
    hashes.push(h);
    made.push('put ' + h);
    await new Promise((r) => setTimeout(r, 5));
    const r = await archive.refs.set('tabs/note', h);
    made.push('ref-set tabs/note ' + r.seq);
    await new Promise((r) => setTimeout(r, 5));
  }
  await archive.delete(hashes[0]);
  made.push('delete ' + hashes[0]);
  await archive.close();
  await adapter.close();
  return made;
}`;

for (const backend of backends) {
  describe(`change events across tabs on ${backend.name}`, () => {
    let peer: string | undefined;
    afterEach(async () => {
      if (peer) await commands.peerClose(peer);
      peer = undefined;
    });

    it('a change in the other tab reaches this tab by BroadcastChannel (no polling), not local', async () => {
      const id = unique(backend.name);
      cleanup.push(() => backend.forget(id));
      peer = await commands.peerOpen();
      const adapter = backend.here(id);
      const archive = await openArchive(adapter);
      const stop = new AbortController();
      const got: ArchiveChange[] = [];
      const listening = (async () => {
        for await (const c of archive.changes({ pollMs: 60_000, signal: stop.signal })) got.push(c);
      })();
      // The listener's first read is done before the writer starts (it would otherwise be what finds the changes).
      await new Promise((r) => setTimeout(r, 200));
      const made = await commands.peerRun<string[]>(peer, WRITE(backend), id);
      const deadline = Date.now() + 10_000;
      while (got.length < made.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      stop.abort();
      await listening;
      expectSame(got.map(brief), made);
      expect(got.some((c) => c.local)).toBe(false);
      await archive.close();
      await adapter.close?.();
    });

    it('the other tab listens while this one writes; and resumes from a position after being closed', async () => {
      const id = unique(backend.name);
      cleanup.push(() => backend.forget(id));
      peer = await commands.peerOpen();
      const adapter = backend.here(id);
      const archive = await openArchive(adapter);
      await commands.peerRun(peer, `async (mods, id) => { globalThis.ready = (${backend.peer})(mods, id); }`, id);
      const heard = commands.peerRun<{ changes: string[]; position: string }>(
        peer,
        `async (mods, id) => {
          const adapter = globalThis.ready;
          const archive = await mods.archive.openArchive(adapter);
          const changes = [];
          let position = '';
          const ac = new AbortController();
          const timer = setTimeout(() => ac.abort(), 10000);
          globalThis.listening = true;
          for await (const c of archive.changes({ pollMs: 60000, signal: ac.signal })) {
            changes.push((c.kind === 'put' || c.kind === 'delete' ? c.kind + ' ' + c.hash : c.kind + ' ' + c.name + ' ' + c.seq) + (c.local ? ' local' : ''));
            position = c.position;
            if (changes.length === 2) break;
          }
          clearTimeout(timer);
          await archive.close();
          await adapter.close();
          return { changes, position };
        }`,
        id,
      );
      // Until the other tab's listener is open (opening may take a while on a loaded machine), and its first read done.
      for (let i = 0; i < 200 && !(await commands.peerRun<boolean>(peer, 'async () => globalThis.listening === true')); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      const h1 = await archive.put({ tab: 'test', n: 1 });
      await new Promise((r) => setTimeout(r, 5));
      await archive.refs.set('tabs/a', h1);
      const first = await heard;
      expectSame(first.changes, [`put ${h1}`, 'ref-set tabs/a 1']);
      // While the other tab is away: more changes; it comes back with its position.
      const h2 = await archive.put({ tab: 'test', n: 2 });
      await archive.delete(h1);
      const rest = await commands.peerRun<string[]>(
        peer,
        `async (mods, [id, since]) => {
          const adapter = (${backend.peer})(mods, id);
          const archive = await mods.archive.openArchive(adapter);
          const out = [];
          for await (const c of archive.changes({ since, pollMs: 20 })) {
            out.push(c.kind + ' ' + c.hash);
            if (out.length === 2) break;
          }
          await archive.close();
          await adapter.close();
          return out;
        }`,
        [id, first.position],
      );
      expect(rest).toEqual([`put ${h2}`, `delete ${h1}`]);
      await archive.close();
      await adapter.close?.();
    });
  });
}
