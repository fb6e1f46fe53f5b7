/**
 * SIGKILL crash test (durable node-fs on a real disk). A child process puts
 * values in every way the archive offers (single, concurrent, batches) and
 * reports each put that returned; it is killed at random moments, including
 * during open, journal replay and compaction. After every kill:
 * - every object file re-hashes to its name (no torn object is ever visible);
 * - the index, opened WITHOUT auto-repair (so only the journal can make it
 *   right), lists exactly the objects on disk;
 * - every put the child saw return is present;
 * - the dead writer's temp files are swept and its lock is taken over.
 * The same directory accumulates across kills, so recovery is tested on top
 * of earlier recoveries.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { openArchive } from '../src/archive/index.js';
import { buildChildScript, removeChildScripts } from './support/archive-child.js';
import { indexJsonHashes, scanDisk } from './support/archive-scan.js';
import { makeTempDir } from './support/fs-tmp.js';
import { mulberry32 } from './support/seeded-random.js';

const KILLS = 24;

async function journalSegments(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'journal')).catch(() => [] as string[])).filter((n) => n.endsWith('.log'));
}

/** Hashes named by put lines of a journal segment. */
async function intentHashes(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return [...text.matchAll(/ put ([0-9a-f]{64}) /g)].map((m) => m[1]!);
}

interface Run {
  returned: string[];
  sawReady: boolean;
}

/** Runs the writer child and SIGKILLs it `delayMs` after it is ready (or after spawn). */
function runAndKill(script: string, dir: string, tag: string, delayMs: number, fromSpawn: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir, tag, '1000000000', '40'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const returned: string[] = [];
    let sawReady = false;
    let buffered = '';
    let stderr = '';
    const kill = () => setTimeout(() => child.kill('SIGKILL'), delayMs);
    if (fromSpawn) kill();
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!; // a line cut by the kill is not a report
      for (const line of lines) {
        if (line === 'ready') {
          sawReady = true;
          if (!fromSpawn) kill();
        } else if (line.startsWith('ok ')) returned.push(line.slice(3));
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child ended by itself (code ${code}): ${stderr}`));
      else resolve({ returned, sawReady });
    });
  });
}

describe('crash: SIGKILL of a writing process', () => {
  afterAll(removeChildScripts);

  it(`after each of ${KILLS} kills the archive is intact and has every returned put`, async () => {
    const script = await buildChildScript('archive-writer-child');
    const { dir, cleanup } = await makeTempDir('crash');
    const random = mulberry32(20240611);
    const returned = new Set<string>();
    let killedBeforeReady = 0;
    try {
      for (let round = 0; round < KILLS; round++) {
        const fromSpawn = round % 3 === 2; // some kills land during open / replay / compaction
        const delay = fromSpawn ? 60 + Math.floor(random() * 250) : Math.floor(random() * 200);
        const run = await runAndKill(script, dir, `w${round}`, delay, fromSpawn);
        if (!run.sawReady) killedBeforeReady++;
        for (const h of run.returned) returned.add(h);

        const disk = await scanDisk(dir);
        expect(disk.bad, `round ${round}: objects that do not hash to their name`).toEqual([]);
        for (const h of returned) expect(disk.good.has(h), `round ${round}: returned put ${h} is missing`).toBe(true);

        const adapter = nodeFsAdapter({ dir });
        const archive = await openArchive(adapter, { autoRepairIndex: false, lockTimeoutMs: 5000 });
        const indexed: string[] = [];
        for await (const h of archive.list()) indexed.push(h);
        expect(indexed.sort(), `round ${round}: index disagrees with the objects`).toEqual([...disk.good].sort());
        if (round % 4 === 3 || round === KILLS - 1) {
          // A clean close in between: the portable layout, then more crashes on top.
          const report = await archive.verify();
          expect(report.ok, `round ${round}: ${JSON.stringify(report)}`).toBe(true);
          await archive.close();
          expect(await indexJsonHashes(dir)).toEqual([...disk.good].sort());
          // What close may leave: segments of the killed child holding an intent whose object never
          // landed (for all close can tell, the child might still be writing it, for pendingGraceMs).
          for (const name of await journalSegments(dir)) {
            const intents = await intentHashes(join(dir, 'journal', name));
            expect(intents.some((h) => !disk.good.has(h)), `round ${round}: close kept ${name}, all of whose intents are settled`).toBe(true);
          }
          // Told that no other writer is alive (pendingGraceMs: 0), close leaves exactly the portable layout.
          const sure = await openArchive(adapter, { autoRepairIndex: false, pendingGraceMs: 0 });
          await sure.close();
          expect(await journalSegments(dir), `round ${round}: journal left after close`).toEqual([]);
          expect(await indexJsonHashes(dir)).toEqual([...disk.good].sort());
        }
        await adapter.close(); // waits for the sweep of the dead child's temp files
        expect((await scanDisk(dir)).temps, `round ${round}: temp files left behind`).toEqual([]);
      }
      console.log(`crash test: ${KILLS} kills, ${returned.size} returned puts, ${killedBeforeReady} kills before the child was ready`);
      expect(returned.size).toBeGreaterThan(KILLS); // the child did real work between kills
      expect(killedBeforeReady).toBeLessThan(KILLS);
    } finally {
      await cleanup();
    }
  }, 120_000);
});
