/**
 * A child process on one node-fs directory or SQLite file, for the change
 * events tests (test/changes-multiprocess.test.ts). One line per event on
 * stdout (a pipe: written synchronously on POSIX).
 *
 * argv: <kind: node-fs|sqlite> <path> <mode> <count> [since]
 * - mode `listen`: prints `ready`, then for each change
 *   `change <Date.now()> <JSON of the change>`, and exits after `count`.
 * - mode `write`: `count` rounds of put + reference set (+ every 5th round a
 *   reference delete and a delete of an earlier object); prints
 *   `sent <Date.now()> <kind> <hash or name> [seq]` after each call resolves.
 */
import { nodeFsAdapter } from '../../adapters/node-fs/index.js';
import { sqliteAdapter } from '../../adapters/sqlite.js';
import { openArchive } from '../../src/archive/index.js';

const [kind, path, mode, countArg, since] = process.argv.slice(2);
const count = Number(countArg);
const adapter = kind === 'sqlite' ? await sqliteAdapter({ file: path!, durability: 'relaxed' }) : nodeFsAdapter({ dir: path!, durable: false });
const out = (line: string) => process.stdout.write(`${line}\n`);
const archive = await openArchive(adapter);

if (mode === 'listen') {
  let n = 0;
  const changes = archive.changes({ since: since ?? 'now', pollMs: 20, onDamaged: (d) => out(`damaged ${JSON.stringify(d)}`) });
  out('ready');
  for await (const c of changes) {
    out(`change ${Date.now()} ${JSON.stringify(c)}`);
    if (++n >= count) break;
  }
} else if (mode === 'write') {
  const hashes: string[] = [];
  for (let i = 0; i < count; i++) {
    const h = await archive.put({ round: i, pid: process.pid });
    out(`sent ${Date.now()} put ${h}`);
    hashes.push(h);
    const r = await archive.refs.set(`doc/${i % 3}`, h);
    out(`sent ${Date.now()} ref-set ${r.name} ${r.seq}`);
    if (i % 5 === 4) {
      const gone = hashes.shift()!;
      await archive.delete(gone);
      out(`sent ${Date.now()} delete ${gone}`);
    }
  }
}
await archive.close();
await adapter.close?.();
