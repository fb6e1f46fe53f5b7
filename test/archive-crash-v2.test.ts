/**
 * SIGKILL during index v2's own steps (durable node-fs on a real disk):
 * - migration from v1: a v1 archive (3,000 objects and a v1 index.json) is
 *   opened by a child that is killed at a random moment, often in the middle
 *   of writing the migrated run; afterwards index.json is either the v1
 *   document, byte for byte, or a v2 root, never neither;
 * - folds and merges: a child putting with compactAfter 4 (a fold every few
 *   puts, a merge every four folds) is killed at random moments.
 * After every kill the archive opens WITHOUT auto-repair, lists exactly the
 * objects on disk (every put the child saw return among them) and verify is clean.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { encodeIndex, type IndexRecord } from '../src/archive/index-file.js';
import { openArchive } from '../src/archive/index.js';
import { objectKey } from '../src/archive/layout.js';
import { canonicalBytes } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { buildChildScript, removeChildScripts } from './support/archive-child.js';
import { indexJsonHashes, scanDisk } from './support/archive-scan.js';
import { makeTempDir } from './support/fs-tmp.js';
import { mulberry32 } from './support/seeded-random.js';

const MIGRATION_KILLS = 8;
const FOLD_KILLS = 8;
const V1_OBJECTS = 3000;

/**
 * Runs the writer child and SIGKILLs it `delayMs` after a trigger: its `ready`
 * line (it opened the archive, so the kill lands among puts, folds and
 * merges), or the moment `<dir>/index/` appears (the migration has started
 * writing its run). Resolves the puts it saw return and whether it was ready.
 */
function runAndKill(
  script: string,
  dir: string,
  tag: string,
  delayMs: number,
  trigger: 'ready' | 'pieces',
): Promise<{ returned: string[]; ready: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir, tag, '1000000000', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const returned: string[] = [];
    let ready = false;
    let buffered = '';
    let stderr = '';
    let armed = false;
    const arm = () => {
      if (armed) return;
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    };
    const poll =
      trigger === 'pieces'
        ? setInterval(() => {
            if (existsSync(join(dir, 'index'))) arm();
          }, 1)
        : undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') {
          ready = true;
          arm(); // a migration too quick for the poll: kill among the first puts instead
        } else if (line.startsWith('ok ')) returned.push(line.slice(3));
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      if (signal !== 'SIGKILL') reject(new Error(`child ended by itself (code ${code}): ${stderr}`));
      else resolve({ returned, ready });
    });
  });
}

/** A v1 archive (objects + v1 index.json, as 0.1 left it) in `dir`. */
async function writeV1Archive(dir: string): Promise<Uint8Array> {
  const entries = new Map<string, IndexRecord>();
  const shards = new Set<string>();
  const files: [string, Uint8Array][] = [];
  for (let i = 0; i < V1_OBJECTS; i++) {
    const bytes = canonicalBytes({ v1: i, body: 'y'.repeat(100 + (i % 40)) });
    const hash = sha256Hex(bytes);
    entries.set(hash, { size: bytes.byteLength, storedAt: 1_600_000_000_000 + i });
    const key = objectKey(hash);
    shards.add(key.slice(0, key.lastIndexOf('/')));
    files.push([key, bytes]);
  }
  for (const s of shards) await mkdir(join(dir, s), { recursive: true });
  for (const [key, bytes] of files) await writeFile(join(dir, key), bytes);
  const index = encodeIndex(entries);
  await writeFile(join(dir, 'index.json'), index);
  return index;
}

/** After a kill: opens without auto-repair, checks the index equals the objects and verify is clean. */
async function checkAfterKill(dir: string, returned: Set<string>, label: string): Promise<void> {
  const disk = await scanDisk(dir);
  expect(disk.bad, `${label}: objects that do not hash to their name`).toEqual([]);
  for (const h of returned) expect(disk.good.has(h), `${label}: returned put ${h} is missing`).toBe(true);
  const adapter = nodeFsAdapter({ dir, durable: false }); // the check need not survive power loss
  try {
    const archive = await openArchive(adapter, { autoRepairIndex: false, lockTimeoutMs: 5000 });
    const listed: string[] = [];
    for await (const h of archive.list()) listed.push(h);
    expect(listed, `${label}: index disagrees with the objects`).toEqual([...disk.good].sort());
    expect((await archive.stats()).count, `${label}: root count`).toBe(disk.good.size);
    const report = await archive.verify();
    expect(report.ok, `${label}: ${JSON.stringify({ ...report, orphaned: report.orphaned.length, missing: report.missing.length })}`).toBe(true);
    await archive.close();
    expect(await indexJsonHashes(dir), `${label}: stored index after close`).toEqual([...disk.good].sort());
  } finally {
    await adapter.close();
  }
}

describe('crash: SIGKILL during index v2 migration, folds and merges', () => {
  afterAll(removeChildScripts);

  it(`${MIGRATION_KILLS} kills during migration from v1, ${FOLD_KILLS} during folds and merges: v1 or v2, never neither; nothing acknowledged lost`, async () => {
    const script = await buildChildScript('archive-writer-child');
    const { dir: base, cleanup } = await makeTempDir('crash-v2');
    const random = mulberry32(1414);
    const outcomes = { v1: 0, v2: 0, leftoverPieces: 0 };
    try {
      const template = join(base, 'template');
      await mkdir(template);
      const v1 = await writeV1Archive(template);
      for (let round = 0; round < MIGRATION_KILLS; round++) {
        const dir = join(base, `m${round}`);
        // cpSync: fs.promises.cp of the 3,000-file template took over half of this test's time (6.2 s vs 2.1 s a copy).
        cpSync(template, dir, { recursive: true });
        // Kills land while the migration writes its pieces (0-40 ms after the first appears), or just after.
        const run = await runAndKill(script, dir, `m${round}`, Math.floor(random() * 40), 'pieces');
        const root = await readFile(join(dir, 'index.json'));
        const doc = JSON.parse(root.toString('utf8')) as { version: number };
        if (doc.version === 1) {
          expect(Buffer.from(root).equals(Buffer.from(v1)), `round ${round}: a v1 index.json that is not the original`).toBe(true);
          outcomes.v1++;
        } else {
          expect(doc.version).toBe(2);
          outcomes.v2++;
        }
        const pieces = await readdir(join(dir, 'index')).catch(() => [] as string[]);
        if (doc.version === 1 && pieces.length > 0) outcomes.leftoverPieces++;
        await checkAfterKill(dir, new Set(run.returned), `migration round ${round}`);
        rmSync(dir, { recursive: true, force: true });
      }
      const dir = join(base, 'folds');
      await mkdir(dir);
      const returned = new Set<string>();
      for (let round = 0; round < FOLD_KILLS; round++) {
        const run = await runAndKill(script, dir, `f${round}`, Math.floor(random() * 400), 'ready');
        for (const h of run.returned) returned.add(h);
        await checkAfterKill(dir, returned, `fold round ${round}`);
      }
      console.log(`v2 crash test: migration kills left v1 ${outcomes.v1} times (${outcomes.leftoverPieces} with half-written pieces), v2 ${outcomes.v2} times; ${returned.size} puts returned across ${FOLD_KILLS} fold/merge kills`);
      expect(returned.size).toBeGreaterThan(FOLD_KILLS);
    } finally {
      await cleanup();
    }
  }, 420_000);
});
