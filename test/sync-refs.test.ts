/**
 * References in `syncArchive` (docs/format.md, "Bundle v2", the rule per
 * name): created where absent, fast-forwarded where the target is at an
 * earlier version of the same history, kept where the target is ahead,
 * reported and not moved where the histories diverge, not written while the
 * target lacks their objects; objects first, through the target's
 * compare-and-swap; a second run changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { openArchive } from '../src/archive/index.js';
import { syncArchive } from '../src/archive/sync.js';
import type { ContentArchive } from '../src/archive/types.js';
import { canonicalBytes } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { openReferences } from '../src/refs/index.js';

const root = mkdtempSync(join(tmpdir(), 'sync-refs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `d${dirs++}`);

async function docs(archive: ContentArchive): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const k of archive.adapter.list('refs/')) out[k] = new TextDecoder().decode(await archive.adapter.read(k));
  return out;
}

describe('syncArchive and references', () => {
  it('creates, fast-forwards, keeps what is ahead, reports divergence and dangling names; objects first; idempotent', async () => {
    const source = await openArchive(memoryAdapter());
    const src = openReferences(source);
    const h = await source.putMany(Array.from({ length: 20 }, (_, i) => ({ i })));
    await src.set('a', h[0]!);
    await src.set('b', h[1]!);
    await src.set('c', h[2]!);
    await src.set('gone', h[3]!);
    await src.delete('gone');

    const target = await openArchive(nodeFsAdapter({ dir: freshDir(), durable: false }));
    const dst = openReferences(target);
    const first = await syncArchive(source, target);
    expect(first).toMatchObject({ copied: 20, ok: true, references: { created: 4, advanced: 0, unchanged: 0, behind: 0, conflicts: [], missing: [] } });
    expect(await docs(target)).toEqual(await docs(source));
    expect(await dst.get('gone')).toBeUndefined();

    // The source moves a, the target moves b, both move c differently; a dangling name appears at the source.
    await src.set('a', h[10]!);
    await dst.set('b', await target.put({ only: 'target' }));
    await src.set('c', h[11]!);
    await dst.set('c', await target.put({ other: 'c' }));
    await src.set('dangling', sha256Hex(canonicalBytes({ never: 'stored' })), { allowMissing: true });
    const targetC = await dst.get('c');
    const second = await syncArchive(source, target);
    expect(second.ok).toBe(false);
    expect(second.references).toEqual({
      created: 0,
      advanced: 1,
      unchanged: 1,
      behind: 1,
      conflicts: [{ name: 'c', target: { seq: 2, hash: targetC!.hash }, incoming: { seq: 2, hash: h[11] } }],
      missing: ['dangling'],
    });
    expect(await dst.history('a')).toEqual(await src.history('a'));
    expect((await dst.get('b'))?.seq).toBe(2);
    expect(await dst.get('c')).toEqual(targetC);
    expect(await dst.get('dangling')).toBeUndefined();

    const before = await docs(target);
    const third = await syncArchive(source, target);
    expect(third.references).toMatchObject({ created: 0, advanced: 0, unchanged: 2, behind: 1, missing: ['dangling'] });
    expect(await docs(target)).toEqual(before);
    await expect(syncArchive(source, target, { references: false })).resolves.toMatchObject({ ok: true, references: { created: 0, unchanged: 0, conflicts: [] } });
    await target.close();
  });

  it('a reference whose object reaches the target only by the sync itself is written after it', async () => {
    const source = await openArchive(nodeFsAdapter({ dir: freshDir(), durable: false }));
    const hash = await source.put({ big: 'x'.repeat(5000) });
    await openReferences(source).set('doc', hash);
    const target = await openArchive(memoryAdapter());
    const report = await syncArchive(source, target, { batchSize: 1 });
    expect(report.references.created).toBe(1);
    expect(await target.get(hash)).toEqual({ big: 'x'.repeat(5000) });
    expect((await openReferences(target).check()).ok).toBe(true);
    await source.close();
  });
});
