import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { cliBuilt, runCli, tempDir } from './support/cli.js';

const t = tempDir();
const store = join(t.dir, 'store');
const cli = (args: string[], input?: string) => runCli(['--store', store, ...args], { input });
const hashOf = (v: unknown) => sha256Hex(canonicalize(v));

beforeAll(() => {
  if (!cliBuilt()) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
});
afterAll(() => t.cleanup());

describe('cli: archive commands', () => {
  const value = { b: [1, 2], a: 'é' };

  it('--version and --help', () => {
    expect(runCli(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: archive-storage');
    expect(runCli([]).code).toBe(2);
  });

  it('put from stdin prints the hash of the canonical bytes', () => {
    const r = cli(['put'], JSON.stringify(value));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(hashOf(value));
  });

  it('put FILE and get print canonical JSON', () => {
    const file = join(t.dir, 'v.json');
    writeFileSync(file, '{ "z": null, "a": [true, 1.50] }');
    const put = cli(['put', file]);
    expect(put.code).toBe(0);
    const get = cli(['get', put.stdout.trim()]);
    expect(get.code).toBe(0);
    expect(get.stdout).toBe('{"a":[true,1.5],"z":null}\n');
  });

  it('put --ndjson stores one value per line and prints hashes in order', () => {
    const lines = [{ n: 1 }, { n: 2 }, 'three', { n: 1 }];
    const r = cli(['put', '--ndjson', '-'], lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(lines.map(hashOf));
  });

  it('put --ndjson with a bad line stores nothing and exits 3 naming the line', () => {
    const before = cli(['ls']).stdout;
    const r = cli(['put', '--ndjson'], '{"ok":1}\n{"bad":\n');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^archive-storage: INVALID_JSON: .*line 2/);
    expect(cli(['ls']).stdout).toBe(before);
  });

  it('has exits 0 / 1, rm removes, rm of a missing hash exits 1', () => {
    const h = hashOf(value);
    expect(cli(['has', h]).code).toBe(0);
    expect(cli(['rm', h]).code).toBe(0);
    expect(cli(['has', h]).code).toBe(1);
    expect(cli(['rm', h]).code).toBe(1);
    expect(cli(['put'], JSON.stringify(value)).code).toBe(0);
  });

  it('ls lists one hash per line; stats counts them', () => {
    const hashes = cli(['ls']).stdout.trim().split('\n').sort();
    expect(hashes).toContain(hashOf(value));
    const stats = cli(['--json', 'stats']);
    expect(stats.code).toBe(0);
    const s = JSON.parse(stats.stdout);
    expect(s.count).toBe(hashes.length);
    expect(s.bytes).toBeGreaterThan(0);
    expect(cli(['stats']).stdout).toMatch(/^objects: \d+/);
  });

  it('get of an unknown hash exits 1 with NOT_FOUND', () => {
    const r = cli(['get', 'f'.repeat(64)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^archive-storage: NOT_FOUND: /);
    expect(r.stdout).toBe('');
  });

  it('--json errors are one JSON object with code and message', () => {
    const r = cli(['--json', 'get', 'f'.repeat(64)]);
    expect(r.code).toBe(1);
    const e = JSON.parse(r.stderr);
    expect(e.code).toBe('NOT_FOUND');
    expect(typeof e.message).toBe('string');
  });

  it('malformed JSON on stdin exits 3 and stores nothing', () => {
    const before = cli(['ls']).stdout;
    for (const bad of ['{"a":', '{"a":1,"a":2}', 'NaN', '[1e400]', '']) {
      const r = cli(['put'], bad);
      expect(r.code, bad).toBe(3);
      expect(r.stderr).toMatch(/^archive-storage: INVALID_JSON: /);
    }
    expect(cli(['ls']).stdout).toBe(before);
  });

  it('a missing input file exits 3 with an actionable message', () => {
    const r = cli(['put', join(t.dir, 'nope.json')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no such file');
  });

  it('usage errors exit 2', () => {
    expect(cli(['frobnicate']).code).toBe(2);
    expect(cli(['get']).code).toBe(2);
    expect(cli(['get', 'not-a-hash']).code).toBe(2);
    expect(cli(['ls', '--repair']).code).toBe(2);
    expect(cli(['--bogus', 'ls']).code).toBe(2);
    expect(runCli(['--store', 'ftp://x', 'ls']).code).toBe(2);
  });

  it('read commands on a store that does not exist exit 1 and create nothing', () => {
    const missing = join(t.dir, 'never');
    const r = runCli(['--store', missing, 'ls']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no store at');
    expect(readdirSync(t.dir)).not.toContain('never');
  });

  it('verify exits 0 when intact, 1 with a report on a corrupt object, and --repair quarantines it', () => {
    expect(cli(['verify']).code).toBe(0);
    const h = hashOf(value);
    const path = join(store, 'objects', h.slice(0, 2), h.slice(2, 4), `${h}.json`);
    expect(readFileSync(path, 'utf8')).toBe(canonicalize(value));
    writeFileSync(path, '{"tampered":true}');
    const get = cli(['get', h]);
    expect(get.code).toBe(3);
    expect(get.stderr).toMatch(/CORRUPT_OBJECT/);
    const v = cli(['verify']);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`corrupt: ${h}`);
    const repaired = cli(['verify', '--repair']);
    expect(repaired.stdout).toContain('repaired');
    expect(cli(['verify']).code).toBe(0);
    expect(cli(['has', h]).code).toBe(1);
  });

  it('memory: store works for one command', () => {
    const r = runCli(['--store', 'memory:', 'put'], { input: '[1]' });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(hashOf([1]));
  });

  it('gc removes the staging of bundle imports that died a day ago, not of one running now', () => {
    expect(cli(['put'], '{"gc":1}').code).toBe(0);
    const dead = join(store, 'bundle-staging', `${(Date.now() - 25 * 3600_000).toString(36)}-deadimport`);
    const running = join(store, 'bundle-staging', `${Date.now().toString(36)}-running`);
    for (const d of [dead, running]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, '0.seg'), 'x');
    }
    const r = cli(['gc']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('removed 1 staging key of interrupted bundle imports');
    expect(existsSync(join(dead, '0.seg'))).toBe(false);
    expect(existsSync(join(running, '0.seg'))).toBe(true);
    const json = cli(['--json', 'gc']);
    expect(JSON.parse(json.stdout)).toMatchObject({ deleted: 0, stagingKeysRemoved: 0 });
  });

  it('ARCHIVE_STORE names the default store', () => {
    const r = runCli(['ls'], { env: { ARCHIVE_STORE: store } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
  });
});
