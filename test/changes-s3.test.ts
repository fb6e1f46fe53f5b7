/**
 * Change events on a real S3 engine (Ceph radosgw): a listener on one
 * adapter (its own connection and handle, as another machine would be) sees
 * what two writers on other adapters put, delete and set as references — by
 * polling LIST, with folds moving segments to changes/ meanwhile
 * (compactAfter: 2) — and resumes from a position after an absence.
 */
import { describe, expect, it } from 'vitest';
import { openArchive, type ArchiveChange } from '../src/index.js';
import { radosgwForFile } from './support/radosgw-adapters.js';

const { adapterOf } = radosgwForFile();

const keyOf = (c: ArchiveChange) => (c.kind === 'ref-set' || c.kind === 'ref-delete' ? `${c.kind} ${c.name} ${c.seq}` : `${c.kind} ${c.hash}`);

async function collectUntil(iterable: AsyncIterable<ArchiveChange>, done: (got: ArchiveChange[]) => boolean, ms: number): Promise<ArchiveChange[]> {
  const got: ArchiveChange[] = [];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), ms);
  const it = iterable[Symbol.asyncIterator]();
  const aborted = new Promise<'timeout'>((r) => stop.signal.addEventListener('abort', () => r('timeout')));
  for (;;) {
    const next = await Promise.race([it.next(), aborted]);
    if (next === 'timeout' || next.done) break;
    got.push(next.value);
    if (done(got)) break;
  }
  clearTimeout(timer);
  void it.return?.(); // settles once the iteration ends (the listener's close)
  return got;
}

describe('change events on S3 (radosgw)', () => {
  it('a listener on its own adapter sees two writers’ changes; then resumes from a position', async () => {
    const prefix = `changes-${Date.now().toString(36)}/`;
    const listener = await openArchive(adapterOf(prefix));
    const stream = listener.changes({ pollMs: 50 });
    const made: string[] = [];
    await Promise.all(
      [0, 1].map(async (w) => {
        const archive = await openArchive(adapterOf(prefix), { compactAfter: 2 });
        for (let i = 0; i < 4; i++) {
          const h = await archive.put({ w, i });
          made.push(`put ${h}`);
          const r = await archive.refs.set(`w${w}/doc`, h);
          made.push(`ref-set ${r.name} ${r.seq}`);
        }
        await archive.close();
      }),
    );
    const got = await collectUntil(stream, (g) => made.every((m) => g.some((c) => keyOf(c) === m)), 30_000);
    expect(got.map(keyOf).sort()).toEqual([...made].sort());
    expect(got.some((c) => c.local)).toBe(false);

    // Away: a delete and a reference delete by another handle; back from the last position.
    const other = await openArchive(adapterOf(prefix));
    const gone = made[0]!.slice(4);
    await other.delete(gone);
    await other.refs.delete('w0/doc');
    await other.close();
    const back = await collectUntil(listener.changes({ since: got.at(-1)!.position, pollMs: 50 }), (g) => g.length >= 3, 3_000); // one more than due: nothing twice
    expect(back.map(keyOf)).toEqual([`delete ${gone}`, 'ref-delete w0/doc 5']);
    await listener.close();
  }, 180_000);
});
