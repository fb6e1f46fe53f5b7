/**
 * The CLI's `ref set|get|cas|rm|ls|log` and `gc --dry-run|--unreferenced`,
 * run as users run them (the built dist/cli.js): output, --json, exit codes
 * (a lost `ref cas` is CONFLICT, exit 1), refusals that leave the store as
 * it was, and the read-only subcommands writing nothing.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { cliBuilt, filesWithBytes, runCli, tempDir } from './support/cli.js';

const t = tempDir('as-cli-refs-');
const store = join(t.dir, 'store');
const cli = (args: string[], input?: string) => runCli(['--store', store, ...args], { input });
const hashOf = (v: unknown) => sha256Hex(canonicalize(v));

/** Every file under the store with its bytes: a refusal or a read must leave it so. */
function tree(dir = store): Map<string, string> {
  return filesWithBytes(dir);
}

beforeAll(() => {
  if (!cliBuilt()) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
});
afterAll(() => t.cleanup());

describe('cli: references', () => {
  const one = { note: 1 };
  const two = { note: 2 };
  const h1 = hashOf(one);
  const h2 = hashOf(two);

  it('ref set, get, cas, log, ls, rm', () => {
    expect(cli(['put'], JSON.stringify(one)).stdout.trim()).toBe(h1);
    expect(cli(['put'], JSON.stringify(two)).stdout.trim()).toBe(h2);
    const set = cli(['ref', 'set', 'notes/a', h1, '--meta', '{"by":"ana"}']);
    expect(set.code).toBe(0);
    expect(set.stdout).toBe(`${h1}\n`);
    expect(set.stderr).toBe(`notes/a -> ${h1} (version 1)\n`);
    expect(cli(['ref', 'get', 'notes/a']).stdout).toBe(`${h1}\n`);
    expect(JSON.parse(cli(['--json', 'ref', 'get', 'notes/a']).stdout)).toEqual({ name: 'notes/a', hash: h1, meta: { by: 'ana' }, seq: 1, time: expect.any(Number) });
    const cas = cli(['--json', 'ref', 'cas', 'notes/a', h1, h2]);
    expect(cas.code).toBe(0);
    expect(JSON.parse(cas.stdout)).toMatchObject({ name: 'notes/a', hash: h2, seq: 2 });
    expect(cli(['ref', 'cas', 'notes/b', '-', h1]).code).toBe(0);
    const log = cli(['ref', 'log', 'notes/a']);
    expect(log.code).toBe(0);
    const lines = log.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(lines.map((l) => [l[0], l[2], l[3]])).toEqual([
      ['2', h2, undefined],
      ['1', h1, '{"by":"ana"}'],
    ]);
    expect(lines[0]![1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(JSON.parse(cli(['--json', 'ref', 'log', 'notes/a']).stdout).map((v: { seq: number }) => v.seq)).toEqual([2, 1]);
    expect(cli(['ref', 'ls']).stdout).toBe(`notes/a\t${h2}\nnotes/b\t${h1}\n`);
    expect(cli(['ref', 'ls', 'notes/b']).stdout).toBe(`notes/b\t${h1}\n`);
    expect(cli(['ref', 'rm', 'notes/b']).code).toBe(0);
    expect(cli(['ref', 'get', 'notes/b']).code).toBe(1);
    expect(cli(['ref', 'log', 'notes/b']).stdout.trim().split('\n')[0]!.split('\t')[2]).toBe('-');
    expect(cli(['ref', 'ls']).stdout).toBe(`notes/a\t${h2}\n`);
  });

  it('a lost ref cas is CONFLICT, exit 1, saying where the reference is; nothing written', () => {
    const before = tree();
    const r = cli(['ref', 'cas', 'notes/a', h1, h1]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^archive-storage: CONFLICT: reference "notes/a" is at ${h2} \\(version 2\\), not ${h1} as expected; nothing was written\\n$`));
    const absent = cli(['--json', 'ref', 'cas', 'notes/a', '-', h1]);
    expect(absent.code).toBe(1);
    expect(JSON.parse(absent.stderr)).toMatchObject({ code: 'CONFLICT' });
    expect(tree()).toEqual(before);
  });

  it('refusals: usage (exit 2), bad names and meta (exit 3), unknown hashes and names (exit 1), the store unchanged', () => {
    const before = tree();
    for (const [args, code, error] of [
      [['ref'], 2, 'USAGE'],
      [['ref', 'sett', 'a', h1], 2, 'USAGE'],
      [['ref', 'set', 'a', 'nothash'], 2, 'USAGE'],
      [['ref', 'cas', 'a', 'x', h1], 2, 'USAGE'],
      [['ref', 'set', 'a/../b', h1], 3, 'INVALID_KEY'],
      [['ref', 'set', 'a', h1, '--meta', '{"a":1,"a":2}'], 3, 'INVALID_JSON'],
      [['ref', 'set', 'a', h1, '--meta', JSON.stringify({ big: 'x'.repeat(2000) })], 3, 'INVALID_ARGUMENT'],
      [['ref', 'set', 'a', 'f'.repeat(64)], 1, 'NOT_FOUND'],
      [['ref', 'get', 'nothing'], 1, 'NOT_FOUND'],
      [['ref', 'log', 'nothing'], 1, 'NOT_FOUND'],
      [['gc', '--unreferenced', '--grace', '1 hour'], 2, 'USAGE'],
    ] as const) {
      const r = cli(['--json', ...args]);
      expect([args, r.code]).toEqual([args, code]);
      expect(JSON.parse(r.stderr).code).toBe(error);
    }
    expect(tree()).toEqual(before);
  });

  it('gc --dry-run says what gc --unreferenced would delete and writes nothing; gc keeps what references keep', () => {
    const three = { note: 3 };
    const h3 = cli(['put'], JSON.stringify(three)).stdout.trim();
    const before = tree();
    const dry = cli(['gc', '--dry-run', '--unreferenced', '--grace', '0']);
    expect(dry.code).toBe(0);
    // h1 is in the history of notes/a (and of the deleted notes/b); h2 is current: only h3 goes.
    expect(dry.stdout).toBe(`would delete ${h3}\nwould delete: 1 object and 0 leftovers (${JSON.stringify(three).length} bytes)\n`);
    // Within the default grace (1h) nothing is old enough.
    expect(JSON.parse(cli(['--json', 'gc', '--dry-run', '--unreferenced']).stdout)).toMatchObject({ dryRun: true, wouldDelete: [] });
    expect(tree()).toEqual(before);
    const r = cli(['--json', 'gc', '--unreferenced', '--grace', '0s']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ deleted: 1, stagingKeysRemoved: 0 });
    expect(cli(['has', h3]).code).toBe(1);
    for (const h of [h1, h2]) expect(cli(['has', h]).code).toBe(0);
    // Plain gc removes leftovers only, as before.
    expect(cli(['gc']).stdout).toBe('deleted: 0 objects (0 bytes)\n');
  });

  it('help lists the ref commands and gc --dry-run', () => {
    const help = runCli(['--help']).stdout;
    expect(help).toContain('References:');
    for (const s of ['ref set NAME HASH', 'ref cas NAME EXPECTED HASH', 'ref log NAME', 'gc --dry-run']) expect(help).toContain(s);
    expect(runCli(['help', 'ref']).stdout).toContain('exits 1 with CONFLICT');
  });
});
