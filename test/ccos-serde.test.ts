/**
 * The round trips through CCOS's own serde code (tools/ccos-serde), where
 * cargo is installed (CI has it): serde reads the committed fixtures as the
 * SDK does; a CCOS directory imported and exported by the SDK is read back by
 * serde with the same intents and edges; serde reads the SDK's backups; the
 * program makes the committed fixtures again byte for byte.
 *
 * Without cargo the suite is skipped with a message saying so; the committed
 * fixture round trips (test/ccos-import.test.ts) run everywhere.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { openArchive } from '../src/archive/archive.js';
import { exportCcosArchive, importCcosArchive } from '../src/ccos/index.js';
import { createMemoryIntentStore, parseBackup, serializeBackup } from '../src/intent-graph/index.js';
import type { IntentGraph } from '../src/intent-graph/types.js';
import { comparable, FIXTURE_BACKUP, FIXTURE_STORAGE_DIR, readTree, SERDE_FIXTURES } from './fixtures/ccos/helpers.js';

const tool = join(import.meta.dirname, '..', 'tools', 'ccos-serde');
const hasCargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasCargo) console.warn('test/ccos-serde.test.ts skipped: cargo is not installed, so the Rust (serde) round trips cannot run here; see tools/ccos-serde/README.md');

let binary = '';
const scratch = mkdtempSync(join(tmpdir(), 'ccos-serde-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(...args: string[]): unknown {
  const r = spawnSync(binary, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ccos-serde ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout ? JSON.parse(r.stdout) : undefined;
}

/** serde's summary of a FileArchiveStorage as a graph. */
function serdeArchiveGraph(dir: string): IntentGraph {
  const s = run('read-archive', dir) as IntentGraph & { intent_hashes: Record<string, string> };
  return { intents: s.intents, edges: s.edges };
}

describe.skipIf(!hasCargo)('CCOS round trips through serde (tools/ccos-serde)', () => {
  beforeAll(() => {
    // From inside the tool's folder, so that cargo reads its .cargo/config.toml (Debian's crates, offline).
    const build = spawnSync('cargo', ['build', '--offline', '--quiet'], { cwd: tool, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`cargo build of tools/ccos-serde failed (see its README for the Debian crates it needs):\n${build.stderr}`);
    binary = join(tool, 'target', 'debug', 'ccos-serde');
  }, 600_000);

  const backupGraph = parseBackup(readFileSync(FIXTURE_BACKUP)).graph;

  it('serde reads the committed fixtures as the SDK does', async () => {
    expect(comparable(serdeArchiveGraph(FIXTURE_STORAGE_DIR))).toEqual(comparable(backupGraph));
    const serde = run('read-backup', FIXTURE_BACKUP) as IntentGraph & { version: string; timestamp: number; rtfs: string };
    const sdk = parseBackup(readFileSync(FIXTURE_BACKUP));
    expect(JSON.parse(JSON.stringify(serde.intents))).toEqual(JSON.parse(JSON.stringify(sdk.graph.intents)));
    expect(JSON.parse(JSON.stringify(serde.edges))).toEqual(JSON.parse(JSON.stringify(sdk.graph.edges)));
    expect([serde.version, serde.timestamp, serde.rtfs]).toEqual([sdk.data.version, sdk.data.timestamp, sdk.data.rtfs]);
  });

  it('CCOS directory → importCcosArchive → exportCcosArchive (node-fs) → serde reads the same intents and edges', async () => {
    const source = nodeFsAdapter({ dir: FIXTURE_STORAGE_DIR, sweep: false });
    const archive = await openArchive(memoryAdapter());
    const store = createMemoryIntentStore();
    await importCcosArchive(source, archive, store);
    await source.close();
    const out = join(scratch, 'exported');
    const target = nodeFsAdapter({ dir: out });
    await exportCcosArchive(store, target);
    await target.close();
    const graph = await store.snapshot();
    expect(comparable(serdeArchiveGraph(out))).toEqual(comparable(graph));
    expect(comparable(graph)).toEqual(comparable(backupGraph));
  });

  it('serde reads the SDK’s own backup of the adversarial graph, field for field', async () => {
    const file = join(scratch, 'sdk-backup.json');
    const store = createMemoryIntentStore();
    await store.replaceAll(backupGraph);
    writeFileSync(file, serializeBackup(await store.backup({ now: () => 1_724_230_700_000 })));
    const serde = run('read-backup', file) as IntentGraph;
    expect(JSON.parse(JSON.stringify(serde.intents))).toEqual(JSON.parse(JSON.stringify(backupGraph.intents)));
    expect(JSON.parse(JSON.stringify(serde.edges))).toEqual(JSON.parse(JSON.stringify(backupGraph.edges)));
  });

  it('the program makes the committed fixtures again, byte for byte', () => {
    const dir = join(scratch, 'again');
    run('gen-fixtures', dir);
    const again = readTree(dir);
    const committed = readTree(SERDE_FIXTURES);
    for (const [rel, bytes] of committed) {
      if (!rel.startsWith('storage-backup') && !rel.startsWith('file-archive-storage/')) continue;
      expect(again.get(rel), rel).toEqual(bytes);
    }
    expect([...again.keys()].sort()).toEqual([...committed.keys()].filter((k) => k.startsWith('storage-backup') || k.startsWith('file-archive-storage/')).sort());
  });
});
