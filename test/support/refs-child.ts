/**
 * A child process racing other processes on one node-fs directory, reporting
 * on stdout one line per change that RETURNED (stdout is a pipe: Node writes
 * it synchronously on POSIX, so a reported line is out before the next call).
 *
 * argv: <dir> <mode> <tag> <count>
 * - mode `counter`: `count` increments of the key `counter/n` by the derived
 *   compare-and-swap (src/adapter/cas.ts); line `ok <new value>`.
 * - mode `refs`: `count` compare-and-sets of the reference `race/one`, each
 *   to a new object; line `ok <seq> <hash>`. A lost round retries from the
 *   value the conflict carries.
 */
import { nodeFsAdapter } from '../../adapters/node-fs/index.js';
import { compareAndSwapOf } from '../../src/adapter/cas.js';
import { openArchive } from '../../src/archive/index.js';
import { openReferences } from '../../src/refs/index.js';
import { compareAndSetRetrying } from './refs-race.js';

const [dir, mode, tag, countArg] = process.argv.slice(2);
const count = Number(countArg);
const adapter = nodeFsAdapter({ dir: dir!, durable: false });
const out = (line: string) => process.stdout.write(`${line}\n`);

if (mode === 'counter') {
  const cas = compareAndSwapOf(adapter);
  out('ready');
  for (let i = 0; i < count; i++) {
    for (;;) {
      const cur = await cas.read('counter/n');
      const n = cur ? Number(new TextDecoder().decode(cur.bytes)) : 0;
      if ((await cas.swap('counter/n', new TextEncoder().encode(String(n + 1)), cur?.version ?? null)) !== null) {
        out(`ok ${n + 1}`);
        break;
      }
    }
  }
} else if (mode === 'refs') {
  const archive = await openArchive(adapter);
  const refs = openReferences(archive, { keepVersions: 1000 });
  out('ready');
  let seen = (await refs.get('race/one'))?.hash ?? null;
  for (let i = 0; i < count; i++) {
    const hash = await archive.put({ writer: tag, i });
    const r = await compareAndSetRetrying(refs, 'race/one', seen, hash);
    out(`ok ${r.seq} ${r.hash}`);
    seen = r.hash;
  }
  await archive.close();
} else {
  throw new Error(`unknown mode ${mode}`);
}
out('done');
await adapter.close();
