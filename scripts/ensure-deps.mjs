#!/usr/bin/env node
// Runs before `npm start` and `npm test`: on a fresh clone (no node_modules yet)
// installs the locked dependencies once, so the README's two lines work as written.
// Does nothing when they are installed (e.g. after .ci/run's own `npm ci`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const installed = existsSync(new URL('../node_modules/.package-lock.json', import.meta.url));
if (!installed) {
  console.error('archive-storage: first run in this clone: installing dependencies (npm ci)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
