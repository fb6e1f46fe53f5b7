/**
 * The integration round trip of the original CCOS change, on our stack: fill
 * an intent graph in a file-backed store on the real file system (node-fs),
 * back it up to a file, restore it into fresh stores of the other kinds
 * (memory, archive-backed on node-fs), and compare everything.
 */
import fc from 'fast-check';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFsAdapter, writeFileAtomic } from '../adapters/node-fs/index.js';
import {
  INTENT_STATUSES,
  backupToBytes,
  createBackup,
  createMemoryIntentStore,
  openArchive,
  openArchiveIntentStore,
  openFileIntentStore,
  parseBackup,
  readBackup,
  restoreBackup,
  serializeBackup,
  writeBackup,
  type IntentGraph,
  type IntentStore,
} from '../src/index.js';
import { makeEdge, graphArbitrary } from './support/intent-graph.js';
import { makeTempDir } from './support/fs-tmp.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
async function tempDir(label: string): Promise<string> {
  const { dir, cleanup } = await makeTempDir(label);
  cleanups.push(cleanup);
  return dir;
}

/** A random but reproducible graph with hostile strings (no -0: JSON cannot carry it). */
function fixedGraph(seed: number): IntentGraph {
  const samples = fc.sample(graphArbitrary({ maxIntents: 25, withNegativeZero: false }), { seed, numRuns: 20 });
  return samples.reduce((a, b) => (Object.keys(b.intents).length > Object.keys(a.intents).length ? b : a));
}

/** Everything a caller can observe through the store API. */
async function observe(store: IntentStore) {
  const snapshot = await store.snapshot();
  const ids = Object.keys(snapshot.intents);
  const allIds = [...new Set([...ids, ...snapshot.edges.flatMap((e) => [e.from, e.to])])];
  return {
    snapshot,
    gets: await Promise.all(ids.map((id) => store.get(id))),
    lists: await Promise.all([
      store.list(),
      ...INTENT_STATUSES.map((status) => store.list({ status })),
      store.list({ priorityMin: 2 ** 31 }),
      store.list({ goalContains: 'a' }),
      store.list({ nameContains: ';' }),
    ]),
    edges: await store.edges(),
    edgesOf: await Promise.all(allIds.map((id) => store.edgesOf(id))),
    health: { ...(await store.healthCheck()), store: 'any' },
  };
}

describe('integration: file store on node-fs -> backup -> restore into memory and archive stores', () => {
  it('gives back exactly the same graph everywhere', async () => {
    const source = fixedGraph(20240821);
    expect(Object.keys(source.intents).length).toBeGreaterThanOrEqual(10);
    const fileDir = await tempDir('intent-file');
    const fileAdapter = nodeFsAdapter({ dir: fileDir });

    // Fill it the way CCOS does: one call per intent and edge, then updates and deletes.
    const fileStore = await openFileIntentStore({ adapter: fileAdapter, key: 'ccos/intent-graph.json' });
    for (const intent of Object.values(source.intents)) await fileStore.store(intent);
    for (const edge of source.edges) await fileStore.storeEdge(edge);
    const [firstId, secondId] = Object.keys(source.intents);
    await fileStore.update({ ...source.intents[firstId!]!, status: 'Completed', updated_at: 1_800_000_000 });
    await fileStore.delete(secondId!);
    await fileStore.storeEdge(makeEdge(firstId!, 'gone-intent', { edge_type: 'Blocks', weight: 0.1 }));
    await fileStore.storeEdge(makeEdge(firstId!, firstId!, { metadata: { '': '' }, weight: 1e21 }));
    if (source.edges[0]) await fileStore.deleteEdge(source.edges[0]);
    const expected = await observe(fileStore);
    await fileStore.close();
    await fileAdapter.close();

    // Reopened from disk by a new adapter: all there.
    const reopenedAdapter = nodeFsAdapter({ dir: fileDir });
    const reopened = await openFileIntentStore({ adapter: reopenedAdapter, key: 'ccos/intent-graph.json' });
    expect(await observe(reopened)).toEqual(expected);

    // Back up to a file (atomic write), and to an adapter key.
    const backupDir = await tempDir('intent-backup');
    const now = () => 1_750_000_000_000;
    const data = await createBackup(reopened, { manifest: { created_by: 'integration-test', source: fileDir, note: 'round trip' }, now });
    const backupPath = join(backupDir, 'intent-graph-backup.json');
    await writeFileAtomic(backupPath, backupToBytes(data));
    expect(await readdir(backupDir)).toEqual(['intent-graph-backup.json']); // no temp file left behind
    await writeBackup(reopenedAdapter, 'backups/latest.json', data);
    const text = await readFile(backupPath, 'utf8');
    expect(text).toBe(serializeBackup(data));
    expect((await readBackup(reopenedAdapter, 'backups/latest.json')).graph).toEqual(expected.snapshot);

    // Restore into a memory store and into an archive-backed store on node-fs.
    const memory = createMemoryIntentStore();
    const archiveDir = await tempDir('intent-archive');
    const archiveAdapter = nodeFsAdapter({ dir: archiveDir });
    const archive = await openArchive(archiveAdapter);
    const archived = await openArchiveIntentStore({ archive });
    const dangling = parseBackup(text).warnings.filter((w) => w.code === 'DANGLING_EDGE');
    expect(dangling.length).toBeGreaterThan(0); // the edge to 'gone-intent' at least
    for (const target of [memory, archived]) {
      const report = await restoreBackup(target, text);
      expect(report.warnings.every((w) => w.code === 'DANGLING_EDGE' || w.code === 'DANGLING_REFERENCE')).toBe(true);
      expect(report.intents).toBe(Object.keys(expected.snapshot.intents).length);
      expect(report.edges).toBe(expected.snapshot.edges.length);
      expect(await observe(target)).toEqual(expected);
      // Backups of the restored stores are byte-identical to the original backup.
      expect(serializeBackup(await createBackup(target, { manifest: data.manifest, now }))).toBe(text);
    }
    await archived.close();
    await archive.close();
    await archiveAdapter.close();

    // The archive-backed copy, reopened from disk: all there.
    const archiveAdapter2 = nodeFsAdapter({ dir: archiveDir });
    const archive2 = await openArchive(archiveAdapter2);
    const archived2 = await openArchiveIntentStore({ archive: archive2 });
    expect(await observe(archived2)).toEqual(expected);
    expect((await archive2.verify()).ok).toBe(true);
    await archive2.close();
    await archiveAdapter2.close();

    // And back into a fresh file store on node-fs, from the backup file.
    const fileStore2 = await openFileIntentStore({ adapter: reopenedAdapter, key: 'ccos/restored.json' });
    await fileStore2.restore(await readFile(backupPath));
    expect(await observe(fileStore2)).toEqual(expected);
    await reopenedAdapter.close();
  });
});
