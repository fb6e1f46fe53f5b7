/**
 * Ground truth for crash and multi-process tests: what is really on disk,
 * read without the archive's own code paths.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export interface DiskScan {
  /** Hashes of object files whose bytes hash to their name. */
  good: Set<string>;
  /** Object files whose bytes do not hash to their name. */
  bad: string[];
  /** Leftover temp files (names with `.#`). */
  temps: string[];
}

async function* files(dir: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) yield* files(full);
    else yield full;
  }
}

export async function scanDisk(dir: string): Promise<DiskScan> {
  const good = new Set<string>();
  const bad: string[] = [];
  const temps: string[] = [];
  for await (const f of files(dir)) {
    const rel = relative(dir, f).split(sep).join('/');
    if (rel.includes('.#')) {
      temps.push(rel);
      continue;
    }
    const m = /^objects\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})\.json$/.exec(rel);
    if (!m) continue;
    const actual = createHash('sha256').update(await readFile(f)).digest('hex');
    if (actual === m[3] && m[3].startsWith(m[1]! + m[2]!)) good.add(m[3]);
    else bad.push(rel);
  }
  return { good, bad, temps };
}

/**
 * Hashes the stored index of `<dir>` holds: a v1 `index.json`'s `objects`, or
 * index v2's runs (docs/format.md) read straight from the files, newest run
 * first winning, tombstones removing, every piece's digest checked.
 */
export async function indexJsonHashes(dir: string): Promise<string[]> {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const root = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    version: number;
    objects?: Record<string, unknown>;
    runs?: { id: string; directory: string }[];
  };
  if (root.version === 1) return Object.keys(root.objects!).sort();
  if (root.version !== 2) throw new Error(`index.json has version ${root.version}`);
  const seen = new Map<string, boolean>();
  for (const run of root.runs!) {
    const dirBytes = await readFile(join(dir, 'index', run.id, 'directory.json'));
    if (sha(dirBytes) !== run.directory) throw new Error(`run ${run.id}: directory does not hash to the root's digest`);
    const directory = JSON.parse(dirBytes.toString('utf8')) as { pages: [string, string, number, string][] };
    for (let n = 0; n < directory.pages.length; n++) {
      const bytes = await readFile(join(dir, 'index', run.id, `${String(n).padStart(6, '0')}.json`));
      if (sha(bytes) !== directory.pages[n]![3]) throw new Error(`run ${run.id} page ${n}: bad digest`);
      for (const e of (JSON.parse(bytes.toString('utf8')) as { entries: unknown[][] }).entries) {
        const h = e[0] as string;
        if (!seen.has(h)) seen.set(h, e.length === 3);
      }
    }
  }
  return [...seen].filter(([, live]) => live).map(([h]) => h).sort();
}
