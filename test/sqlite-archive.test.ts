import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { sqliteAdapter } from '../adapters/sqlite.js';
import { runArchiveConformance } from '../src/testing/index.js';

// The archive suite, unchanged, on a real database file; `reopen` is a second connection to it.
const root = mkdtempSync(join(tmpdir(), 'sqlite-archive-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

runArchiveConformance('sqlite (file on disk)', async () => {
  const file = join(root, `archive-${++n}.sqlite`);
  const adapter = await sqliteAdapter({ file });
  return { adapter, teardown: () => adapter.close?.(), reopen: () => sqliteAdapter({ file }) };
});
