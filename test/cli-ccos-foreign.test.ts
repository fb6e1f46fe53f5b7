/**
 * Every CLI command pointed at a store that is not one (issue 17, item 1): a
 * CCOS FileArchiveStorage, a CCOS FileArchive, an index.json of another
 * format, a store of a newer index version, and a file. Each is refused with
 * its code and exit 3, writes no output, and leaves the directory byte for
 * byte as it was: no index, #locks, #writers or journal/. Runs the built
 * dist/cli.js.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_BACKUP, FIXTURE_STORAGE_DIR, pictureOf } from './fixtures/ccos/helpers.js';
import { cliBuilt, runCli, runCliAll, tempDir } from './support/cli.js';

const t = tempDir('as-cli-foreign-');
afterAll(() => t.cleanup());
const at = (...p: string[]) => join(t.dir, ...p);
const HASH = 'a'.repeat(64);
const ID = 'intent-0000000000000001';
const intentJson = JSON.stringify({
  intent_id: 'intent-00000000000000ff', name: null, original_request: 'r', rtfs_intent_source: '', goal: 'g', constraints: {}, preferences: {},
  success_criteria: null, parent_intent: null, child_intents: [], triggered_by: 'HumanRequest',
  generation_context: { arbiter_version: '1', generation_timestamp: 1, input_context: {}, reasoning_trace: null },
  status: 'Active', priority: 0, created_at: 1, updated_at: 1, metadata: {},
});

/** Every command, with inputs that pass its own checks, so that only the store can refuse it. Outputs go under out/. */
function commands(): { args: string[]; input?: string }[] {
  return [
    { args: ['put'], input: '{"a":1}' },
    { args: ['put', '--ndjson'], input: '1\n2\n' },
    { args: ['get', HASH] },
    { args: ['has', HASH] },
    { args: ['rm', HASH] },
    { args: ['ls'] },
    { args: ['stats'] },
    { args: ['verify'] },
    { args: ['verify', '--repair'] },
    { args: ['gc'] },
    { args: ['export', at('out', 'x.zip')] },
    { args: ['import', at('good.zip')] },
    { args: ['sync', '--to', at('out', 'sync-target')] },
    { args: ['backup', at('out', 'x.json')] },
    { args: ['restore', FIXTURE_BACKUP] },
    { args: ['intents', 'add', '--goal', 'g'] },
    { args: ['intents', 'add', '-'], input: intentJson },
    { args: ['intents', 'set', ID, '--status', 'Failed'] },
    { args: ['intents', 'ls'] },
    { args: ['intents', 'show', ID] },
    { args: ['intents', 'rm', ID] },
    { args: ['intents', 'snapshot'] },
    { args: ['edges', 'add', ID, ID, 'Blocks'] },
    { args: ['edges', 'rm', ID, ID, 'Blocks'] },
    { args: ['edges', 'ls'] },
    { args: ['import-ccos', at('ccos-source')] },
    { args: ['export-ccos', at('out', 'ccos')] },
  ];
}

/** Runs every command against `store`; each must exit 3 with `code`, write no output, and leave `dir` (the store or the file's folder) unchanged. */
async function expectEveryCommandRefused(store: string, code: string, message: RegExp, watched: string) {
  const before = pictureOf(watched);
  const list = commands();
  // Side by side (each is refused before it touches anything, so none depends on another): the picture is compared
  // once all have exited, which still catches any of them changing the store or writing an output.
  const results = await runCliAll(list.map(({ args, input }) => ({ args: ['--store', store, ...args], input })));
  for (const [i, { args }] of list.entries()) {
    const r = results[i]!;
    const what = args.join(' ');
    expect(r.code, `${what}: ${r.stderr}`).toBe(3);
    expect(r.stderr, what).toMatch(new RegExp(`^archive-storage: ${code}: `));
    expect(r.stderr, what).toMatch(message);
    expect(r.stdout, what).toBe('');
  }
  expect(pictureOf(watched), 'after every command').toEqual(before);
  expect(readdirSync(at('out')), 'after every command').toEqual([]);
  // --json: the same refusal, as one JSON object.
  const json = runCli(['--store', store, '--json', 'ls']);
  expect(JSON.parse(json.stderr)).toMatchObject({ code });
  // The target of sync is refused the same way, and the source is left alone.
  const sourceBefore = pictureOf(at('good'));
  const sync = runCli(['--store', at('good'), 'sync', '--to', store]);
  expect(sync.code, sync.stderr).toBe(3);
  expect(sync.stderr).toMatch(new RegExp(`^archive-storage: ${code}: `));
  expect(pictureOf(watched)).toEqual(before);
  expect(pictureOf(at('good'))).toEqual(sourceBefore);
  expect(list.length).toBe(27);
}

const noBookkeeping = (dir: string) => expect(readdirSync(dir).filter((n) => n === '#locks' || n === '#writers' || n === 'journal')).toEqual([]);

beforeAll(() => {
  if (!cliBuilt()) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
  mkdirSync(at('out'));
  cpSync(FIXTURE_STORAGE_DIR, at('ccos-source'), { recursive: true });
  // A real store and a bundle of it: the source of sync and a valid input of import.
  expect(runCli(['--store', at('good'), 'put'], { input: '{"good":true}' }).code).toBe(0);
  expect(runCli(['--store', at('good'), 'export', at('good.zip')]).code).toBe(0);
});

describe('cli: every command refuses a store that holds foreign data, and changes nothing', () => {
  it('a CCOS FileArchiveStorage (intents/, edges/) is FOREIGN_LAYOUT, saying to run import-ccos', async () => {
    const dir = at('ccos-storage');
    cpSync(FIXTURE_STORAGE_DIR, dir, { recursive: true });
    await expectEveryCommandRefused(dir, 'FOREIGN_LAYOUT', /holds a CCOS FileArchiveStorage \(intents\/, edges\/\), not an archive-storage store: run `archive-storage --store <new store> import-ccos .*ccos-storage`/, dir);
    expect(existsSync(join(dir, 'index.json'))).toBe(false);
    noBookkeeping(dir);
  }, 240_000);

  it('a CCOS FileArchive (index.json a map hash -> <aa>/<bb>/<hash>.json at the root) is FOREIGN_LAYOUT', async () => {
    const dir = at('ccos-file-archive');
    cpSync(join(FIXTURE_STORAGE_DIR, 'intents'), dir, { recursive: true });
    await expectEveryCommandRefused(dir, 'FOREIGN_LAYOUT', /holds a CCOS FileArchive \(index\.json maps 7 hashes/, dir);
    noBookkeeping(dir);
  }, 240_000);

  it('an index.json of another format is FOREIGN_LAYOUT', async () => {
    const dir = at('other-format');
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.json'), '{"format":"someone-else/catalog","version":2,"entries":[]}');
    await expectEveryCommandRefused(dir, 'FOREIGN_LAYOUT', /an index\.json of another format \("someone-else\/catalog"/, dir);
    noBookkeeping(dir);
  }, 240_000);

  it('a store of a newer index version ("version": 99) is UNSUPPORTED_VERSION', async () => {
    const dir = at('newer');
    expect(runCli(['--store', dir, 'put'], { input: '{"kept":1}' }).code).toBe(0);
    expect(runCli(['--store', dir, 'intents', 'add', '--goal', 'kept']).code).toBe(0);
    writeFileSync(join(dir, 'index.json'), '{"format":"archive-storage/index","runs":[],"version":99}');
    const names = readdirSync(dir).sort();
    await expectEveryCommandRefused(dir, 'UNSUPPORTED_VERSION', /index\.json has version 99; .*left untouched/, dir);
    expect(readdirSync(dir).sort()).toEqual(names);
  }, 240_000);

  it('a file is NOT_A_STORE', async () => {
    const file = at('files', 'a-file');
    mkdirSync(at('files'));
    writeFileSync(file, 'not a store');
    await expectEveryCommandRefused(file, 'NOT_A_STORE', /a-file is a file, not a store/, at('files'));
  }, 240_000);
});
