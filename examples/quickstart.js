// The smallest useful Node program: an archive in a directory, a value in, the same value out.
// Run after `npm run build`: node examples/quickstart.js (it imports the package by name, i.e. the built dist/)
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openArchive } from 'archive-storage';
import { nodeFsAdapter } from 'archive-storage/adapters/node-fs';

const dir = await mkdtemp(join(tmpdir(), 'archive-storage-example-'));
const adapter = nodeFsAdapter({ dir });
const archive = await openArchive(adapter);
const hash = await archive.put({ goal: 'back up the intent graph', priority: 1, tags: ['ccos', 'demo'] });
console.log(`stored ${hash}`);
console.log(JSON.stringify(await archive.get(hash)));
console.log(await archive.verify());
await archive.close();
await adapter.close(); // the adapter is ours: archive.close() leaves it open
console.log(`archive left in ${dir} (objects/aa/bb/<hash>.json + index.json)`);
