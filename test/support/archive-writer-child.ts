/**
 * A child process that writes to an archive on disk and reports on stdout,
 * one line per put that RETURNED: `ok <hash>`. Used by the SIGKILL crash test
 * and the two-process test. Stdout is a pipe, which Node writes synchronously
 * on POSIX, so a reported line is out of the process before the next put.
 *
 * argv: <dir> <writerTag> <count> <compactAfter> [close]
 */
import { nodeFsAdapter } from '../../adapters/node-fs/index.js';
import { openArchive } from '../../src/archive/index.js';

const [dir, tag, countArg, compactArg, closeArg] = process.argv.slice(2);
const count = Number(countArg);
const archive = await openArchive(nodeFsAdapter({ dir: dir! }), { compactAfter: Number(compactArg) });
process.stdout.write('ready\n');

const value = (i: number) => ({ writer: tag, i, body: 'x'.repeat(200 + (i % 50)), shared: i % 10 === 0 ? null : tag });
const shared = (i: number) => ({ shared: i % 20 });
const report = (hashes: string[]) => process.stdout.write(hashes.map((h) => `ok ${h}\n`).join(''));

let i = 0;
while (i < count) {
  const mode = i % 3;
  if (mode === 0) {
    // one put at a time
    report([await archive.put(value(i))]);
    i++;
  } else if (mode === 1) {
    // concurrent puts (group commit), each reported as it returns
    await Promise.all([0, 1, 2, 3].map((k) => archive.put(value(i + k)).then((h) => report([h]))));
    i += 4;
  } else {
    // a batch, plus a value both writers share
    report(await archive.putMany([value(i), value(i + 1), value(i + 2), shared(i)]));
    i += 3;
  }
}
if (closeArg === 'close') await archive.close();
process.stdout.write('done\n');
