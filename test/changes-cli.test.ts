/**
 * `archive-storage watch [SINCE]`, run as users run it (the built
 * dist/cli.js): one tab-separated line per change of other processes, ending
 * with its position; `watch POSITION` resumes after it; --json; Ctrl-C
 * (SIGINT) exits 0; a position the log no longer covers is CHANGES_TRIMMED;
 * a malformed one a usage-class refusal; the store is opened read-only.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { CLI, cliBuilt, runCli, tempDir } from './support/cli.js';

const t = tempDir('as-cli-watch-');
const store = join(t.dir, 'store');
const cli = (args: string[], input?: string) => runCli(['--store', store, ...args], { input });
const hashOf = (v: unknown) => sha256Hex(canonicalize(v));

/** Starts `watch` in the background; `stop()` sends SIGINT and resolves its output and exit code. */
function watch(args: string[]) {
  const child = spawn(process.execPath, [CLI, '--store', store, 'watch', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    lines: () => stdout.split('\n').filter(Boolean),
    ready: async () => {
      while (!stderr.includes('watching')) await new Promise((r) => setTimeout(r, 20));
    },
    stop: async () => {
      child.kill('SIGINT');
      return { code: await exited, stdout, stderr };
    },
  };
}

async function until(test: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !test() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 25));
}

beforeAll(() => {
  if (!cliBuilt()) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
  expect(cli(['put'], '"first"').code).toBe(0);
});
afterAll(() => t.cleanup());

describe('cli: watch', () => {
  it('prints each change of other processes with its position; SIGINT exits 0; a position resumes after it', async () => {
    const w = watch([]);
    await w.ready();
    const one = { watched: 1 };
    expect(cli(['put'], JSON.stringify(one)).code).toBe(0);
    expect(cli(['ref', 'set', 'notes/w', hashOf(one)]).code).toBe(0);
    await until(() => w.lines().length >= 2);
    const { code, stdout } = await w.stop();
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(lines.map((l) => l.slice(0, 4))).toEqual([
      ['put', '-', hashOf(one), '-'],
      ['ref-set', 'notes/w', hashOf(one), '1'],
    ]);
    // While nobody watched: a delete and a reference delete; resuming from the first line's position gives everything after it.
    expect(cli(['rm', hashOf('first')]).code).toBe(0);
    expect(cli(['ref', 'rm', 'notes/w']).code).toBe(0);
    const back = watch(['--json', lines[0]![4]!]);
    await until(() => back.lines().length >= 3);
    await new Promise((r) => setTimeout(r, 600)); // several polls: nothing comes twice
    const resumed = await back.stop();
    expect(resumed.code).toBe(0);
    const changes = resumed.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(changes.map((c) => [c.kind, c.name ?? c.hash, c.seq])).toEqual([
      ['ref-set', 'notes/w', 1],
      ['delete', hashOf('first'), undefined],
      ['ref-delete', 'notes/w', 2],
    ]);
    expect(changes.every((c) => typeof c.position === 'string' && c.local === false)).toBe(true);
  }, 60_000);

  it('a position from before the retention is CHANGES_TRIMMED; a malformed one INVALID_ARGUMENT; both write nothing', () => {
    const old = cli(['watch', '1:1000:abc.0.0']);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toMatch(/^archive-storage: CHANGES_TRIMMED: change position 1:1000:abc\.0\.0 is older than the change log keeps/m);
    const bad = cli(['--json', 'watch', 'yesterday']);
    expect(bad.code).toBe(3);
    expect(JSON.parse(bad.stderr.trim().split('\n').at(-1)!)).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(cli(['watch', 'a', 'b']).code).toBe(2);
    expect(cli(['help', 'watch']).stdout).toMatch(/watch \[SINCE\]/);
  });
});
