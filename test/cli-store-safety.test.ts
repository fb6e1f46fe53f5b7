/**
 * What the CLI does to stores it is pointed at (issue 17, item 4): read-only
 * commands change nothing, a file is not a store, a missing store is not
 * created by a read or a failed write, verify --repair says what is left,
 * exports are reproducible, put's input is bounded. Runs the built dist/cli.js.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putMemoryBound, readInput } from '../cli/io.js';
import { canonicalize } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { CLI, cliBuilt, runCli, runCliAll, tempDir } from './support/cli.js';

const t = tempDir();
const store = join(t.dir, 'store');
const cli = (args: string[], input?: string, env?: Record<string, string>) => runCli(['--store', store, ...args], { input, env });
const hashOf = (v: unknown) => sha256Hex(canonicalize(v));

/** Every path under `dir` with its size, mtime and content hash: what "changed nothing" compares. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const s = statSync(p);
      if (e.isDirectory()) {
        out[`${relative(dir, p)}/`] = String(s.mtimeMs);
        walk(p);
      } else out[relative(dir, p)] = `${s.size} ${s.mtimeMs} ${sha256Hex(readFileSync(p))}`;
    }
  };
  walk(dir);
  return out;
}

beforeAll(() => {
  if (!cliBuilt()) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
});
afterAll(() => t.cleanup());

describe('cli: read-only commands change nothing', () => {
  let h = '';
  let id = '';
  beforeAll(() => {
    h = cli(['put'], '{"keep":"me"}').stdout.trim();
    // Single puts leave journal segments that opening an archive would compact: a read must not.
    for (let i = 0; i < 5; i++) cli(['put'], JSON.stringify({ i }));
    id = cli(['intents', 'add', '--goal', 'stay']).stdout.trim();
    cli(['edges', 'add', id, id, 'RelatedTo', '--quiet']);
  });

  it('ls, get, has, stats, verify, intents ls/show/snapshot, edges ls, export, backup leave the store byte for byte', async () => {
    const before = tree(store);
    const out = join(t.dir, 'out');
    mkdirSync(out);
    const reads = [['ls'], ['get', h], ['has', h], ['has', 'f'.repeat(64)], ['stats'], ['verify'], ['intents', 'ls'], ['intents', 'show', id],
      ['intents', 'snapshot'], ['edges', 'ls'], ['export', join(out, 'x.zip')], ['backup', join(out, 'x.json')], ['--json', 'ls']];
    // Side by side, as readers of one store may well be: the tree is compared once all have exited (any change by any of them shows).
    const results = await runCliAll(reads.map((args) => ({ args: ['--store', store, ...args] })));
    for (const [i, args] of reads.entries()) expect(results[i]!.code, `${args.join(' ')}: ${results[i]!.stderr}`).toBeLessThanOrEqual(1);
    expect(tree(store), 'after every read').toEqual(before);
    expect(readdirSync(out).sort()).toEqual(['x.json', 'x.zip']);
  });

  it('a read-only command on an empty directory creates no index, lock or writer files', async () => {
    const empty = join(t.dir, 'empty');
    mkdirSync(empty);
    const reads = [['ls'], ['stats'], ['verify'], ['intents', 'ls'], ['edges', 'ls']];
    const results = await runCliAll(reads.map((args) => ({ args: ['--store', empty, ...args] })));
    for (const [i, args] of reads.entries()) expect(results[i]!.code, args.join(' ')).toBe(0);
    expect(readdirSync(empty), 'after every read').toEqual([]);
  });
});

describe('cli: what is and is not a store', () => {
  it('a file given as a store is NOT_A_STORE (exit 3) and nothing is created', async () => {
    const file = join(t.dir, 'afile');
    writeFileSync(file, 'plain text');
    const commands = [['ls'], ['put'], ['verify', '--repair'], ['intents', 'add', '--goal', 'g']];
    const results = await runCliAll(commands.map((args) => ({ args: ['--store', file, ...args], input: '{}' })));
    for (const [i, args] of commands.entries()) {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(/^archive-storage: NOT_A_STORE: .*afile is a file, not a store/);
      expect(r.stderr).not.toContain('ENOTDIR');
    }
    const inside = runCli(['--store', join(file, 'sub'), 'put'], { input: '{}' });
    expect(inside.code).toBe(3);
    expect(inside.stderr).toContain('is a file, not a directory');
    expect(readFileSync(file, 'utf8')).toBe('plain text');
    expect(readdirSync(t.dir).filter((n) => n.startsWith('afile'))).toEqual(['afile']);
  });

  it('a SQLite file given as a directory store says to use sqlite:', () => {
    const db = join(t.dir, 'db.sqlite');
    writeFileSync(db, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(84)]));
    expect(runCli(['--store', db, 'ls']).stderr).toContain(`give --store sqlite:${db}`);
  });

  it('a store that does not exist is STORE_NOT_FOUND (exit 1) for reads and edits, and is not created', async () => {
    const missing = join(t.dir, 'nope');
    const commands = [['ls'], ['get', 'a'.repeat(64)], ['rm', 'a'.repeat(64)], ['gc'], ['verify', '--repair'], ['export', join(t.dir, 'n.zip')],
      ['intents', 'set', 'x', '--status', 'Failed'], ['edges', 'add', 'a', 'b', 'Blocks'], ['edges', 'ls']];
    const results = await runCliAll(commands.map((args) => ({ args: ['--store', missing, ...args] })));
    for (const [i, args] of commands.entries()) {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^archive-storage: STORE_NOT_FOUND: no store at directory .*nope: it does not exist/);
    }
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(join(t.dir, 'n.zip'))).toBe(false);
  });

  it('failed import, put and restore into a store that does not exist create none', () => {
    const target = join(t.dir, 'fresh');
    const noFile = runCli(['--store', target, 'import', join(t.dir, 'missing.zip')]);
    expect(noFile.code).toBe(3);
    expect(noFile.stderr).toMatch(/^archive-storage: INPUT_UNREADABLE: cannot read .*missing\.zip: no such file/);
    const bad = join(t.dir, 'bad.zip');
    writeFileSync(bad, 'not a zip');
    expect(runCli(['--store', target, 'import', bad]).code).toBe(3);
    expect(runCli(['--store', target, 'put'], { input: '{"a":' }).code).toBe(3);
    expect(runCli(['--store', target, 'put', '--ndjson'], { input: '1\n{\n' }).code).toBe(3);
    expect(runCli(['--store', target, 'restore', bad]).code).toBe(3);
    expect(runCli(['--store', target, 'intents', 'add', '-'], { input: '{"intent_id":1}' }).code).toBe(3);
    expect(existsSync(target)).toBe(false);
  });
});

describe('cli: damage', () => {
  it('get of a corrupt object names the CLI command; verify --repair says what it did and exits 0 when nothing is left', () => {
    const value = { damaged: 'soon' };
    const h = cli(['put'], JSON.stringify(value)).stdout.trim();
    writeFileSync(join(store, 'objects', h.slice(0, 2), h.slice(2, 4), `${h}.json`), '{"tampered":true}');
    const get = cli(['get', h]);
    expect(get.code).toBe(3);
    expect(get.stderr).toContain('run `archive-storage verify --repair` to quarantine it');
    expect(get.stderr).not.toContain('verify({');
    const r = cli(['verify', '--repair']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain(`corrupt: ${h}`);
    expect(r.stdout).toContain('repaired: quarantined 1 corrupt object; index rebuilt');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('ok: nothing left to repair');
    expect(r.stdout).not.toMatch(/^damaged/m);
    expect(cli(['verify']).code).toBe(0);
    expect(cli(['has', h]).code).toBe(1);
  });
});

describe('cli: reproducible exports', () => {
  const zip = (name: string) => join(t.dir, name);
  it('SOURCE_DATE_EPOCH and --created-at give byte-identical bundles', () => {
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    expect(cli(['export', zip('e1.zip')], undefined, env).code).toBe(0);
    expect(cli(['export', zip('e2.zip')], undefined, env).code).toBe(0);
    const bytes = readFileSync(zip('e1.zip'));
    expect(readFileSync(zip('e2.zip')).equals(bytes)).toBe(true);
    const manifest = JSON.parse(new TextDecoder().decode(unzipSync(bytes)['manifest.json']));
    expect(manifest.createdAt).toBe('2023-11-14T22:13:20.000Z');
    const graph = JSON.parse(new TextDecoder().decode(unzipSync(bytes)['intent-graph/backup.json']));
    expect(graph.timestamp).toBe(1700000000);
    expect(cli(['export', zip('c1.zip'), '--created-at', '2023-11-14T22:13:20Z']).code).toBe(0);
    expect(readFileSync(zip('c1.zip')).equals(bytes)).toBe(true);
    // --created-at wins over the environment.
    expect(cli(['export', zip('c2.zip'), '--created-at', '2024-01-01T00:00:00Z'], undefined, env).code).toBe(0);
    expect(readFileSync(zip('c2.zip')).equals(bytes)).toBe(false);
  });

  it('a malformed pinned time is a usage error and writes nothing', () => {
    for (const [args, env] of [[['--created-at', 'yesterday'], {}], [['--created-at', '2024-01-01'], {}], [[], { SOURCE_DATE_EPOCH: '-5' }], [[], { SOURCE_DATE_EPOCH: '1.5' }]] as const) {
      const r = cli(['export', zip('pinned-bad.zip'), ...args], undefined, { ...env });
      expect(r.code, JSON.stringify([args, env])).toBe(2);
    }
    expect(existsSync(zip('pinned-bad.zip'))).toBe(false);
  });
});

describe('cli: put input size', () => {
  it('an input over the limit is INPUT_TOO_LARGE (exit 3) before it is read, and stores nothing', () => {
    const huge = join(t.dir, 'huge.json');
    writeFileSync(huge, '');
    truncateSync(huge, 10 * 2 ** 30); // sparse: 10 GiB declared, nothing on disk
    const target = join(t.dir, 'bounded');
    const r = runCli(['--store', target, 'put', huge]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^archive-storage: INPUT_TOO_LARGE: .*huge\.json is 10240\.0 MiB, over the limit of [\d.]+ MiB: run with a larger heap/);
    expect(existsSync(target)).toBe(false);
  });

  it('stdin is cut off at the limit', async () => {
    const stdin = Readable.from([Buffer.alloc(8), Buffer.alloc(8)]);
    await expect(readInput('-', stdin, { maxBytes: 10 })).rejects.toMatchObject({ code: 'INPUT_TOO_LARGE', exitCode: 3 });
    expect((await readInput('-', Readable.from([Buffer.alloc(8)]), { maxBytes: 10 })).byteLength).toBe(8);
  });

  it('an input whose parse would not fit in the heap is refused up front; one that fits is stored (child with a 96 MiB heap)', () => {
    const env = { NODE_OPTIONS: '--max-old-space-size=96' };
    const tiny = join(t.dir, 'tiny-values.json');
    writeFileSync(tiny, `[${'{},'.repeat(700_000)}{}]`);
    const target = join(t.dir, 'small-heap');
    const r = runCli(['--store', target, 'put', tiny], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^archive-storage: INPUT_TOO_LARGE: .*tiny-values\.json \(2\.0 MiB, up to 1400003 JSON values\) needs about [\d.]+ MiB to store, more than this process's heap limit/);
    expect(existsSync(target)).toBe(false);
    const text = JSON.stringify(Array.from({ length: 2000 }, (_, i) => `${i} ${'words '.repeat(160)}`));
    const ok = runCli(['--store', target, 'put'], { env, input: text });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(hashOf(JSON.parse(text)));
  });

  const haveTime = spawnSync('/usr/bin/time', ['-v', 'true']).status === 0;
  it.runIf(haveTime)('peak memory of put stays within the stated bound (measured in a child)', () => {
    const rss = (args: string[], input = '[1]') => {
      const r = spawnSync('/usr/bin/time', ['-v', process.execPath, CLI, ...args], { encoding: 'utf8', input });
      expect(r.status, r.stderr).toBe(0);
      return Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)![1]) * 1024;
    };
    const mem = join(t.dir, 'mem');
    const baseline = rss(['--store', mem, 'put']);
    const shapes = {
      records: Array.from({ length: 40_000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'], v: i / 4, nested: { x: true, y: null } })),
      empties: Array.from({ length: 600_000 }, () => ({})),
    };
    for (const [name, value] of Object.entries(shapes)) {
      const file = join(t.dir, `${name}.json`);
      const text = JSON.stringify(value);
      writeFileSync(file, text);
      const values = text.split('').filter((c) => c === ',' || c === '[' || c === '{').length + 1;
      const peak = rss(['--store', mem, 'put', file]);
      expect(runCli(['--store', mem, 'has', hashOf(value)]).code, name).toBe(0);
      expect(peak - baseline, `${name}: ${((peak - baseline) / text.length).toFixed(1)}x its ${text.length} bytes`).toBeLessThan(putMemoryBound(text.length, values));
    }
  }, 120_000);
});
