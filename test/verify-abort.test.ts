/**
 * A verify over a synchronous backend stops when its signal is aborted by a
 * timer. better-sqlite3 (and the memory adapter) answer every call in a
 * microtask, so a scan that never gives the event loop a turn would let no
 * timer fire until it had read every object: a time limit, a progress bar or
 * a cancel button did nothing (seen at 1M objects on memory: an abort at 2 s
 * was ignored and verify ran 118 s).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteAdapter } from '../adapters/sqlite.js';
import { openArchive } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'verify-abort-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('verify on SQLite, aborted by a timer', () => {
  it('rejects ABORTED soon after the abort, long before it would have finished, and the store is unchanged', async () => {
    const adapter = await sqliteAdapter({ file: join(root, 'a.sqlite'), durability: 'relaxed' });
    const archive = await openArchive(adapter);
    const values = Array.from({ length: 20_000 }, (_, i) => ({ i, pad: 'x'.repeat(150) }));
    for (let i = 0; i < values.length; i += 2000) await archive.putMany(values.slice(i, i + 2000));
    const before = await archive.stats();

    // How long a whole verify takes here, so the abort below is known to land well inside one.
    const t0 = performance.now();
    const full = await archive.verify();
    const fullMs = performance.now() - t0;
    expect(full).toMatchObject({ ok: true, checked: values.length });

    const abortAfter = Math.max(5, Math.floor(fullMs / 10));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), abortAfter);
    // Without a turn of the event loop during the scan the timer fires only after it: verify resolves instead.
    await expect(archive.verify({ signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });

    expect(await archive.stats()).toEqual(before);
    expect(await archive.verify()).toMatchObject({ ok: true, checked: values.length });
    await archive.close();
    await adapter.close?.();
  }, 120_000);
});
