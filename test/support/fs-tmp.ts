/** Temporary directories for node-fs tests, removed by the returned cleanup. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function makeTempDir(label = 'archive'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `as-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
