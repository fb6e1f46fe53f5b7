/**
 * Two processes putting into one directory at the same time (durable node-fs
 * on a real disk), with a small compaction threshold so that their index
 * compactions interleave under the file lock. No index entry may be lost:
 * after both close, index.json lists exactly the objects on disk, which
 * include every put either process saw return. A second case kills one writer
 * mid-way while the other carries on and closes.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { openArchive } from '../src/archive/index.js';
import { buildChildScript, removeChildScripts } from './support/archive-child.js';
import { indexJsonHashes, scanDisk } from './support/archive-scan.js';
import { makeTempDir } from './support/fs-tmp.js';

interface Writer {
  returned: string[];
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ready: Promise<void>;
  kill(): void;
}

function startWriter(script: string, dir: string, tag: string, count: number): Writer {
  const child = spawn(process.execPath, [script, dir, tag, String(count), '16', 'close'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const returned: string[] = [];
  let buffered = '';
  let stderr = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') onReady();
      else if (line.startsWith('ok ')) returned.push(line.slice(3));
    }
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`writer ${tag} failed (code ${code}): ${stderr}`));
      else resolve({ code, signal });
    });
  });
  return { returned, done, ready, kill: () => child.kill('SIGKILL') };
}

describe('two processes writing one archive directory', () => {
  afterAll(removeChildScripts);

  it('lose no index entries', async () => {
    const script = await buildChildScript('archive-writer-child');
    const { dir, cleanup } = await makeTempDir('twoproc');
    try {
      const a = startWriter(script, dir, 'a', 400);
      const b = startWriter(script, dir, 'b', 400);
      await Promise.all([a.done, b.done]);
      const returned = new Set([...a.returned, ...b.returned]);
      expect(a.returned.length).toBeGreaterThanOrEqual(400);
      expect(b.returned.length).toBeGreaterThanOrEqual(400);
      const disk = await scanDisk(dir);
      expect(disk.bad).toEqual([]);
      expect(disk.temps).toEqual([]);
      for (const h of returned) expect(disk.good.has(h)).toBe(true);
      // Both closed: the last one out left an index of everything, and no journal.
      expect(await indexJsonHashes(dir)).toEqual([...disk.good].sort());
      const archive = await openArchive(nodeFsAdapter({ dir }), { autoRepairIndex: false });
      expect((await archive.verify()).ok).toBe(true);
      expect((await archive.stats()).count).toBe(disk.good.size);
      await archive.close();
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('lose no index entries when one of them is killed mid-way', async () => {
    const script = await buildChildScript('archive-writer-child');
    const { dir, cleanup } = await makeTempDir('twoproc-kill');
    try {
      const a = startWriter(script, dir, 'a', 1_000_000);
      const b = startWriter(script, dir, 'b', 400);
      await Promise.all([a.ready, b.ready]);
      await new Promise((r) => setTimeout(r, 300));
      a.kill();
      await Promise.all([a.done, b.done]);
      const returned = new Set([...a.returned, ...b.returned]);
      const disk = await scanDisk(dir);
      expect(disk.bad).toEqual([]);
      for (const h of returned) expect(disk.good.has(h)).toBe(true);
      // b's close saw a's last intents as possibly in flight and kept them; a fresh open settles them.
      const adapter = nodeFsAdapter({ dir });
      const archive = await openArchive(adapter, { autoRepairIndex: false });
      const listed: string[] = [];
      for await (const h of archive.list()) listed.push(h);
      expect(listed.sort()).toEqual([...disk.good].sort());
      await archive.close();
      await adapter.close();
      expect((await scanDisk(dir)).temps).toEqual([]);
    } finally {
      await cleanup();
    }
  }, 60_000);
});
