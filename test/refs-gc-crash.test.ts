/**
 * SIGKILL during gc (node-fs): a child process runs
 * `gc({ unreferenced: true, graceMs: 0 })` over an archive holding
 * references (with history) and unreferenced objects, while two writer
 * processes set references, half of them to those old unreferenced objects
 * (the race gc's trash and put-back protocol exists for). The gc is killed
 * at a random step of that protocol (it announces each change it makes),
 * several times. After every kill, every object a reference keeps (current
 * or retained history) is present or has an intact copy in gc-trash/; after
 * the next, complete gc, every one is present and gc-trash/ holds no
 * object's only copy (docs/format.md, "Garbage collection and references").
 *
 * GC_CRASH_SEED=<n> repeats a run's kill points; GC_CRASH_NO_KILL=1 runs the
 * same without kills (the kill count check then fails, by design). The log
 * line counts gc runs stopped by index v2's MissingPieceError (a reader giving
 * up on a piece another process's merge removed): a separate, index-level
 * problem, which the gc child survives by starting over on a fresh handle.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { gcTrashKey, hashOfGcTrashKey, objectKey, GC_TRASH_PREFIX } from '../src/archive/layout.js';
import { openArchive } from '../src/archive/index.js';
import type { ContentArchive } from '../src/archive/types.js';
import { sha256Hex } from '../src/hash.js';
import { buildChildScript, removeChildScripts } from './support/archive-child.js';
import { makeTempDir } from './support/fs-tmp.js';
import { mulberry32 } from './support/seeded-random.js';

interface Run {
  lines: string[];
  steps: number;
  killed: boolean;
}

/** Runs one refs-gc-child; `killAtStep`: SIGKILL once it announced that many gc steps. */
async function child(script: string, args: string[], killAtStep?: number): Promise<Run> {
  const proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { lines: [], steps: 0, killed: false };
  let buffered = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const line of parts) {
      if (line.startsWith('step ')) run.steps++;
      else run.lines.push(line);
    }
    if (killAtStep !== undefined && run.steps >= killAtStep && !run.killed) {
      run.killed = true;
      proc.kill('SIGKILL');
    }
  });
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    proc.on('error', reject);
    proc.on('exit', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolve(run) : reject(new Error(`refs-gc-child ${args[1]} exited ${code}: ${stderr}`))));
  });
}

/** Every hash any reference keeps: current values and retained history. */
async function referenced(archive: ContentArchive): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const names: string[] = [];
  for await (const r of archive.refs.list()) names.push(r.name);
  for (const name of ['w/a/0', 'w/a/1', 'w/a/2', 'w/a/3', 'w/b/0', 'w/b/1', 'w/b/2', 'w/b/3', ...names]) {
    for (const v of await archive.refs.history(name)) if (v.hash) out.set(v.hash, name);
  }
  return out;
}

describe('SIGKILL during gc (node-fs)', () => {
  afterAll(removeChildScripts);

  it('killed at random steps of the trash protocol, with writers reviving old objects: no referenced object is ever lost', async () => {
    const seed = Number(process.env.GC_CRASH_SEED ?? Date.now() % 100_000);
    const rand = mulberry32(seed); // seeded, so a failure names its kill points
    const { dir: root, cleanup } = await makeTempDir('refs-gc-crash');
    const dir = join(root, 'store');
    const orphansFile = join(root, 'orphans.json');
    try {
      // 40 names with 3 versions each (120 objects kept), and 160 objects nothing keeps.
      const setup = await openArchive(nodeFsAdapter({ dir, durable: false }));
      for (let n = 0; n < 40; n++) for (let v = 0; v < 3; v++) await setup.refs.set(`keep/${n}`, await setup.put({ keep: n, v }));
      const orphans = await setup.putMany(Array.from({ length: 160 }, (_, i) => ({ orphan: i })));
      writeFileSync(orphansFile, JSON.stringify(orphans));
      await setup.close();
      const script = await buildChildScript('refs-gc-child');

      const rounds = 6;
      let kills = 0;
      let trashSeenAfterKill = 0;
      let revived = 0;
      const missingPieces: string[] = [];
      for (let round = 0; round < rounds; round++) {
        const killAt = 1 + Math.floor(rand() * 120);
        const [gc, ...writers] = await Promise.all([
          child(script, [dir, 'gc', `g${round}`, '3'], process.env.GC_CRASH_NO_KILL ? undefined : killAt),
          child(script, [dir, 'writer', `a${round}`, '16', orphansFile]),
          child(script, [dir, 'writer', `b${round}`, '16', orphansFile]),
        ]);
        if (gc!.killed) kills++;
        missingPieces.push(...gc!.lines.filter((l) => l.startsWith('missing-piece ')));
        const why = `seed ${seed}, round ${round}, gc killed at step ${killAt} (${gc!.killed ? 'killed' : 'finished first'})`;
        for (const w of writers) expect(w.lines.at(-1), why).toBe('done');
        // Right after the kill: every referenced object is there, or its trash copy is whole.
        const adapter = nodeFsAdapter({ dir, durable: false });
        const archive = await openArchive(adapter);
        const keep = await referenced(archive);
        for (const [hash, name] of keep) {
          if (await adapter.has(objectKey(hash))) continue;
          const trash = await adapter.read(gcTrashKey(hash));
          expect(trash && sha256Hex(trash), `${why}: ${name} keeps ${hash}, which is neither stored nor in gc-trash/`).toBe(hash);
          trashSeenAfterKill++;
        }
        for (const w of writers) revived += w.lines.filter((l) => l.startsWith('ok ') && orphans.includes(l.split(' ')[3]!)).length;
        await archive.close();
        await adapter.close();
      }

      // The next gc, run to its end, resolves what the killed ones left.
      const adapter = nodeFsAdapter({ dir, durable: false });
      const archive = await openArchive(adapter);
      await archive.gc({ unreferenced: true, graceMs: 0 });
      const keep = await referenced(archive);
      for (const [hash, name] of keep) expect(await archive.has(hash), `seed ${seed}: ${name} keeps ${hash}, missing after a complete gc`).toBe(true);
      const trash: string[] = [];
      for await (const key of adapter.list(GC_TRASH_PREFIX)) trash.push(key);
      for (const key of trash) expect(await adapter.has(objectKey(hashOfGcTrashKey(key)!)), `seed ${seed}: ${key} is the only copy`).toBe(true);
      expect((await archive.refs.check()).ok).toBe(true);
      // And gc did collect: most of what nothing keeps is gone (a put line of a killed process's journal may keep a few).
      const stored: string[] = [];
      for await (const h of archive.list()) stored.push(h);
      const unkept = stored.filter((h) => !keep.has(h));
      expect(unkept.length, `seed ${seed}`).toBeLessThan(orphans.length / 2);
      await archive.close();
      await adapter.close();
      // The test saw what it is about: kills in the middle, and old objects revived while gc ran.
      expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(2);
      expect(revived, `seed ${seed}`).toBeGreaterThan(0);
      console.log(`refs-gc-crash: seed ${seed}, ${kills} kills, ${trashSeenAfterKill} referenced objects found only in gc-trash/ right after a kill, ${revived} old objects revived, ${trash.length} trash entries left beside their objects, ${unkept.length} unkept objects left, ${missingPieces.length} gc runs stopped by index v2's MissingPieceError${missingPieces.length ? `: ${missingPieces[0]}` : ''}`);
    } finally {
      // A killed child's lock files may still be going away: retry the removal rather than fail on ENOTEMPTY.
      await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => cleanup());
    }
  }, 90_000);
});
