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

/** Hashes listed in `<dir>/index.json`. */
export async function indexJsonHashes(dir: string): Promise<string[]> {
  const doc = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { objects: Record<string, unknown> };
  return Object.keys(doc.objects).sort();
}
