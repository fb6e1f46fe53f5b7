/**
 * A child process that imports a bundle file into a node-fs archive, for the
 * SIGKILL test of imports (test/refs-import-crash.test.ts).
 *
 * argv: <dir> <bundle file>. Prints `ready` once the archive is open and
 * `done` after the import returned.
 */
import { nodeFsAdapter } from '../../adapters/node-fs/index.js';
import { importBundleFromFile } from '../../node/bundle-file.js';
import { openArchive } from '../../src/archive/index.js';

const [dir, file] = process.argv.slice(2);
const archive = await openArchive(nodeFsAdapter({ dir: dir!, durable: false }));
process.stdout.write('ready\n');
await importBundleFromFile(archive, file!);
process.stdout.write('done\n');
await archive.close();
