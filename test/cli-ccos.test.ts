/**
 * `import-ccos` and `export-ccos` (issue 17, items 2 and 3) through the built
 * dist/cli.js: the committed CCOS fixture directory imported (read-only,
 * report of CCOS hash → canonical hash to a file or on stdout) and exported
 * again byte for byte; read back by the Rust serde program where cargo is
 * installed; hostile directories refused with exit 3, the directory and the
 * target unchanged and a new target not created; --skip-invalid; Ctrl+C
 * commits nothing; export-ccos's refusals.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { exportCcosArchive } from '../src/ccos/index.js';
import { parseBackup } from '../src/intent-graph/index.js';
import type { IntentGraph } from '../src/intent-graph/types.js';
import { comparable, FIXTURE_BACKUP, FIXTURE_STORAGE_DIR, pictureOf, readTree } from './fixtures/ccos/helpers.js';
import { ccosSerde, CLI, cliBuilt, hasCargo, runCli, tempDir } from './support/cli.js';
import { makeIntent } from './support/intent-graph.js';

const t = tempDir('as-cli-ccos-');
afterAll(() => t.cleanup());
const at = (...p: string[]) => join(t.dir, ...p);
let n = 0;
const fresh = (label: string) => at(`${label}-${n++}`);
const backupGraph: IntentGraph = parseBackup(readFileSync(FIXTURE_BACKUP)).graph;

/** A copy of the fixture directory, changed by `edit`. */
function ccosCopy(edit: (dir: string) => void = () => {}): string {
  const dir = fresh('ccos');
  cpSync(FIXTURE_STORAGE_DIR, dir, { recursive: true });
  edit(dir);
  return dir;
}
const intentIndex = (dir: string) => JSON.parse(readFileSync(join(dir, 'intents', 'index.json'), 'utf8')) as Record<string, string>;
const firstIntent = (dir: string) => Object.entries(intentIndex(dir))[0]!;

/**
 * Two CCOS directories hold the same graph: every edge file byte for byte, every
 * intent equal as a value. The store keeps intents as canonical JSON (keys
 * sorted), so an intent whose maps CCOS wrote in another order comes back with
 * the same content in sorted order, under another CCOS hash (docs/ccos.md).
 */
function expectSameCcosGraph(dir: string, expected: string) {
  const files = (d: string, base: string) => [...readTree(d)].filter(([k]) => k.startsWith(base) && !k.endsWith('index.json'));
  expect(new Map(files(dir, 'edges/'))).toEqual(new Map(files(expected, 'edges/')));
  const intents = (d: string) => Object.fromEntries(files(d, 'intents/').map(([, v]) => JSON.parse(new TextDecoder().decode(v))).map((i) => [i.intent_id, i]));
  expect(intents(dir)).toEqual(intents(expected));
  const byName = new Map(files(expected, 'intents/'));
  const renamed = files(dir, 'intents/').filter(([k, v]) => !byName.has(k) || Buffer.compare(Buffer.from(byName.get(k)!), Buffer.from(v)) !== 0);
  // Only intent-0000000000000001 has a map out of sorted order in the fixture (input_context: prompt, hasOwnProperty).
  expect(renamed.map(([, v]) => JSON.parse(new TextDecoder().decode(v)).intent_id)).toEqual(['intent-0000000000000001']);
}

beforeAll(() => {
  if (!cliBuilt()) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
});

describe('import-ccos, export-ccos: the fixture directory', () => {
  it('imports read-only, writes the report, and exports the same directory byte for byte', () => {
    const source = ccosCopy();
    const before = pictureOf(source);
    const store = fresh('store');
    const report = fresh('report') + '.json';
    const r = runCli(['--store', store, 'import-ccos', source, '--report', report]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^imported 7 intents and 10 edges from .* \(CCOS FileArchiveStorage\): 17 objects, 17 new, 0 already present; report \(CCOS hash -> canonical hash\) in /m);
    expect(r.stderr).toContain('warning: DANGLING_EDGE');
    expect(pictureOf(source)).toEqual(before);

    const written = JSON.parse(readFileSync(report, 'utf8'));
    expect(written).toMatchObject({ layout: 'FileArchiveStorage', intents: 7, edges: 10, objects: expect.any(Array), added: 17, present: 0, skipped: [] });
    const ccosHashes = [...Object.keys(intentIndex(source)), ...Object.keys(JSON.parse(readFileSync(join(source, 'edges', 'index.json'), 'utf8')))];
    expect(Object.keys(written.hashes).sort()).toEqual(ccosHashes.sort());
    // Every canonical hash is an object of the store.
    const ls = runCli(['--store', store, 'ls']).stdout.trim().split('\n');
    for (const canonical of Object.values(written.hashes as Record<string, string>)) expect(ls).toContain(canonical);
    expect(runCli(['--store', store, 'intents', 'ls']).stdout.trim().split('\n')).toHaveLength(7);

    const out = fresh('exported');
    const e = runCli(['--store', store, 'export-ccos', out]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/^exported 7 intents and 10 edges to .* \(CCOS FileArchiveStorage\): 19 files, \d+ bytes$/m);
    expect(readdirSync(out).sort()).toEqual(['edges', 'intents']); // no #writers left behind
    expectSameCcosGraph(out, FIXTURE_STORAGE_DIR);
  });

  it('--json prints the report on stdout; a second import adds nothing', () => {
    const source = ccosCopy();
    const store = fresh('store');
    const first = runCli(['--store', store, '--json', 'import-ccos', source]);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout);
    expect(Object.keys(report.hashes)).toHaveLength(17);
    expect(report.objects[0]).toMatchObject({ path: expect.stringMatching(/^(intents|edges)\//), ccosHash: expect.any(String), canonicalHash: expect.any(String) });
    const again = JSON.parse(runCli(['--store', store, '--json', 'import-ccos', source]).stdout);
    expect(again).toMatchObject({ intents: 7, edges: 0, added: 0, present: 17 });
    expect(again.hashes).toEqual(report.hashes);
  });

  it('export-ccos refuses a non-empty target unless --overwrite and it is a CCOS directory; a file is not a target', () => {
    const store = fresh('store');
    expect(runCli(['--store', store, 'import-ccos', ccosCopy()]).code).toBe(0);
    const out = ccosCopy();
    const before = pictureOf(out);
    const refused = runCli(['--store', store, 'export-ccos', out]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^archive-storage: INVALID_ARGUMENT: the target already holds 19 files?\(s\)? .*pass --overwrite to replace/);
    expect(pictureOf(out)).toEqual(before);
    expect(runCli(['--store', store, 'export-ccos', out, '--overwrite']).code).toBe(0);
    expectSameCcosGraph(out, FIXTURE_STORAGE_DIR);
    // The old files the new indices do not name are gone: one file per intent and edge, and the two indices.
    expect(readTree(out).size).toBe(19);
    const other = fresh('other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine');
    const foreign = runCli(['--store', store, 'export-ccos', other, '--overwrite']);
    expect(foreign.code).toBe(3);
    expect(foreign.stderr).toContain('"notes.txt", which is not part of a CCOS FileArchiveStorage; refusing to overwrite it');
    expect(readdirSync(other)).toEqual(['notes.txt']);
    const file = fresh('file');
    writeFileSync(file, 'x');
    const onFile = runCli(['--store', store, 'export-ccos', file]);
    expect([onFile.code, onFile.stderr]).toEqual([4, `archive-storage: OUTPUT_UNWRITABLE: cannot write to ${file}: it is a file, not a directory\n`]);
  });

  it('help import-ccos and help export-ccos; wrong arguments are usage errors', () => {
    expect(runCli(['help', 'import-ccos']).stdout).toContain('archive-storage import-ccos DIR [--report FILE] [--skip-invalid] [--replace]');
    expect(runCli(['export-ccos', '--help']).stdout).toContain('archive-storage export-ccos DIR [--overwrite]');
    expect(runCli(['--help']).stdout).toMatch(/CCOS archives:\n {2}import-ccos DIR/);
    expect(runCli(['import-ccos']).code).toBe(2);
    expect(runCli(['export-ccos', 'a', '--skip-invalid']).code).toBe(2);
    const missing = runCli(['--store', fresh('store'), 'import-ccos', at('no-such-dir')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/INPUT_UNREADABLE: cannot read .*no-such-dir: no such directory/);
  });
});

describe.skipIf(!hasCargo)('import-ccos → export-ccos → read by CCOS’s serde code (tools/ccos-serde)', () => {
  const roundTrip = () => {
    const store = fresh('store');
    expect(runCli(['--store', store, 'import-ccos', ccosCopy()]).code).toBe(0);
    const out = fresh('exported');
    expect(runCli(['--store', store, 'export-ccos', out]).code).toBe(0);
    return out;
  };

  it('serde reads every exported edge file and every intent whose maps keep their order, as CCOS wrote them', () => {
    const serde = ccosSerde();
    const out = roundTrip();
    // Without intent-0000000000000001 (see below), serde's own check passes on the whole directory.
    const index = intentIndex(out);
    const [hash] = Object.entries(index).find(([, rel]) => JSON.parse(readFileSync(join(out, 'intents', rel), 'utf8')).intent_id === 'intent-0000000000000001')!;
    rmSync(join(out, 'intents', index[hash]!));
    delete index[hash];
    writeFileSync(join(out, 'intents', 'index.json'), JSON.stringify(index, null, 2));
    const read = serde.run('read-archive', out) as IntentGraph;
    const { ['intent-0000000000000001']: _, ...others } = backupGraph.intents;
    expect(comparable({ intents: read.intents, edges: read.edges })).toEqual(comparable({ intents: others, edges: backupGraph.edges }));
  }, 600_000);

  // Known limitation, kept visible: CCOS itself loads a FileArchive without re-hashing (FileArchive::retrieve), but
  // tools/ccos-serde's read-archive re-serializes each intent through a HashMap with a fixed hasher and compares
  // hashes (CCOS's verify_integrity, whose result depends on HashMap order, random in CCOS). The store keeps
  // intents as canonical JSON, so an intent whose maps CCOS wrote out of sorted order is exported, same content,
  // in sorted order and under another name, which that check refuses. This test turns red (and is to be made
  // a plain test) once read-archive checks names as CCOS's loader does, by the file without whitespace.
  it.fails('serde reads the whole exported directory (refused today: see the comment)', () => {
    const read = ccosSerde().run('read-archive', roundTrip()) as IntentGraph;
    expect(comparable({ intents: read.intents, edges: read.edges })).toEqual(comparable(backupGraph));
  }, 600_000);
});

describe('import-ccos: hostile directories exit 3, nothing changed, no store created', () => {
  const outside = at('outside');
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['a symbolic link out of the tree', (d) => {
      mkdirSync(outside, { recursive: true });
      const file = join(d, 'intents', firstIntent(d)[1]);
      copyFileSync(file, join(outside, 'secret.json'));
      rmSync(file);
      symlinkSync(join(outside, 'secret.json'), file);
    }, /INVALID_BACKUP: intents\/.*NOT_A_FILE.*symbolic link/],
    ["an index path with '..'", (d) => {
      const index = intentIndex(d);
      index[Object.keys(index)[0]!] = '../../../../../../etc/passwd';
      writeFileSync(join(d, 'intents', 'index.json'), JSON.stringify(index, null, 2));
    }, /INVALID_BACKUP: intents\/index\.json: UNSAFE_PATH: .*etc\/passwd/],
    ['a 10 GB declared file', (d) => {
      const rel = `intents/ab/ab/${'ab'.repeat(32)}.json`;
      mkdirSync(join(d, 'intents', 'ab', 'ab'), { recursive: true });
      writeFileSync(join(d, rel), '');
      truncateSync(join(d, rel), 10 * 1024 ** 3);
    }, /TOO_LARGE: 10737418240 bytes, .*refused without reading it/],
    ['a non-JSON object file', (d) => writeFileSync(join(d, 'intents', firstIntent(d)[1]), Buffer.from([0xff, 0xfe, 0x00, 0x42])), /NOT_JSON/],
    ['an object edited by hand', (d) => {
      const file = join(d, 'intents', firstIntent(d)[1]);
      writeFileSync(file, readFileSync(file, 'utf8').replace('"goal": "', '"goal": "edited '));
    }, /^archive-storage: CORRUPT_OBJECT: CCOS object intents\//],
  ];
  for (const [what, edit, message] of cases) {
    it(what, () => {
      const source = ccosCopy(edit);
      const before = pictureOf(source);
      const missing = fresh('never-created');
      const r = runCli(['--store', missing, 'import-ccos', source]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('pass --skip-invalid');
      expect(existsSync(missing)).toBe(false);
      expect(pictureOf(source)).toEqual(before);
      // Into an existing store: the store is left byte for byte as it was.
      const store = fresh('store');
      expect(runCli(['--store', store, 'put'], { input: '{"mine":1}' }).code).toBe(0);
      const storeBefore = pictureOf(store);
      expect(runCli(['--store', store, 'import-ccos', source]).code).toBe(3);
      expect(pictureOf(store)).toEqual(storeBefore);
      expect(pictureOf(source)).toEqual(before);
    });
  }

  it('--skip-invalid imports the rest and lists what it left out', () => {
    const source = ccosCopy((d) => writeFileSync(join(d, 'intents', firstIntent(d)[1]), 'not json'));
    const r = runCli(['--store', fresh('store'), '--json', 'import-ccos', source, '--skip-invalid']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.skipped).toHaveLength(1);
    expect(report.skipped[0]).toMatchObject({ code: 'NOT_JSON', path: `intents/${firstIntent(source)[1]}` });
    expect(report.intents).toBe(6);
    expect(r.stderr).toContain('warning: SKIPPED_INVALID');
  });
});

/** A CCOS directory of `count` intents, written by the SDK's export (what CCOS writes). */
async function bigCcosDir(count: number): Promise<string> {
  const dir = fresh('big');
  const intents: IntentGraph['intents'] = {};
  for (let i = 0; i < count; i++) {
    const id = `intent-${i.toString(16).padStart(16, '0')}`;
    intents[id] = makeIntent(id, { goal: `goal ${i} ${'x'.repeat(200)}` });
  }
  const target = nodeFsAdapter({ dir, durable: false });
  await exportCcosArchive({ intents, edges: [] }, target);
  await target.close();
  rmSync(join(dir, '#writers'), { recursive: true, force: true });
  return dir;
}

describe('import-ccos: Ctrl+C', () => {
  it('exits 130 and commits nothing (in a terminal, interrupted while it verifies)', async () => {
    const source = await bigCcosDir(6000);
    const store = fresh('store');
    expect(runCli(['--store', store, 'intents', 'add', '--goal', 'already here']).code).toBe(0);
    const lsBefore = runCli(['--store', store, 'ls']).stdout;
    const intentsBefore = runCli(['--store', store, 'intents', 'ls']).stdout;
    // `script` gives the CLI a terminal; ^C typed into it is the SIGINT a user's Ctrl+C sends.
    const child = spawn('script', ['-qec', `${process.execPath} ${CLI} --store ${store} import-ccos ${source}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (!sent && /import-ccos (verify|commit) \[/.test(seen)) {
        sent = true;
        child.stdin.write('\x03');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(sent, seen).toBe(true);
    expect(code, seen).toBe(130);
    expect(seen).toContain('ABORTED');
    expect(runCli(['--store', store, 'ls']).stdout).toBe(lsBefore);
    expect(runCli(['--store', store, 'intents', 'ls']).stdout).toBe(intentsBefore);
  }, 240_000);
});
