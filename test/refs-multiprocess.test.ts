/**
 * Compare-and-set on one reference from several Node processes sharing one
 * node-fs directory (the derived compare-and-swap under the adapter's file
 * lock): every successful update is in the history exactly once, none lost;
 * and a writer killed (SIGKILL) in the middle of its changes leaves the
 * document whole.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { openArchive } from '../src/archive/index.js';
import { openReferences } from '../src/refs/index.js';
import { removeChildScripts } from './support/archive-child.js';
import { makeTempDir } from './support/fs-tmp.js';
import { raceChildren } from './support/refs-processes.js';

describe('references across processes (node-fs)', () => {
  afterAll(removeChildScripts);

  it('three processes doing compare-and-set on one name: every success in the history once, no lost update', async () => {
    const { dir, cleanup } = await makeTempDir('refs-procs');
    try {
      const processes = 3;
      const each = 20;
      const runs = await raceChildren(dir, 'refs', processes, each);
      const reported = runs.flatMap((r) => r.lines);
      expect(reported).toHaveLength(processes * each);
      const archive = await openArchive(nodeFsAdapter({ dir }));
      const history = await openReferences(archive).history('race/one');
      expect(history.map((v) => v.seq)).toEqual(Array.from({ length: processes * each }, (_, i) => processes * each - i));
      expect(new Set(history.map((v) => `${v.seq} ${v.hash}`))).toEqual(new Set(reported));
      for (const v of history) expect(await archive.has(v.hash!)).toBe(true);
      await archive.close();
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('SIGKILL of one writer in the middle of its changes: the document is whole, no update lost or doubled', async () => {
    const { dir, cleanup } = await makeTempDir('refs-kill');
    try {
      const [killed, survivor] = await raceChildren(dir, 'refs', 2, 30, 6);
      expect(killed!.killed).toBe(true);
      expect(survivor!.lines).toHaveLength(30);
      const archive = await openArchive(nodeFsAdapter({ dir }));
      const refs = openReferences(archive);
      const history = await refs.history('race/one'); // decodes: the kill left the old document or the new one
      const reported = [...killed!.lines, ...survivor!.lines];
      // The killed writer's last change may have landed before it could report it: at most one more.
      expect(history.length - reported.length).toBeGreaterThanOrEqual(0);
      expect(history.length - reported.length).toBeLessThanOrEqual(1);
      expect(history.map((v) => v.seq)).toEqual(Array.from({ length: history.length }, (_, i) => history.length - i));
      const stored = new Set(history.map((v) => `${v.seq} ${v.hash}`));
      for (const line of reported) expect(stored.has(line)).toBe(true);
      expect((await refs.check()).ok).toBe(true);
      // And it takes changes again.
      const h = await archive.put({ after: 'kill' });
      expect((await refs.compareAndSet('race/one', history[0]!.hash, h)).seq).toBe(history.length + 1);
      await archive.close();
    } finally {
      await cleanup();
    }
  }, 60_000);
});
