/**
 * Compare-and-set on one reference from several Node processes sharing one
 * node-fs directory (the derived compare-and-swap under the adapter's file
 * lock): every successful update is in the history exactly once, none lost.
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
});
