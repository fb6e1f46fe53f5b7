/**
 * The CLI's export / import / sync with references, run as users run them
 * (the built dist/cli.js): references travel with the bundle and with sync;
 * a reference on another history is listed one line per name; import then
 * refuses the whole bundle with CONFLICT, exit 1 (the store unchanged), or
 * with --skip-conflicts takes the rest; sync moves nothing for that name and
 * exits 1.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../src/json/canonical.js';
import { sha256Hex } from '../src/hash.js';
import { cliBuilt, filesWithBytes, runCli, tempDir } from './support/cli.js';

const t = tempDir('as-cli-transfer-refs-');
const hashOf = (v: unknown) => sha256Hex(canonicalize(v));
const at = (store: string) => (args: string[], input?: string) => runCli(['--store', join(t.dir, store), ...args], { input });

/** Every file under a store with its bytes, but the journal (the archive's own log). */
function tree(store: string): Map<string, string> {
  return filesWithBytes(join(t.dir, store), ['journal']);
}

beforeAll(() => {
  if (!cliBuilt()) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
});
afterAll(() => t.cleanup());

describe('cli: references in export, import and sync', () => {
  it('export carries the references, import brings them back; a conflict refuses the import and lists each name', () => {
    const src = at('src');
    const one = { note: 1 };
    const two = { note: 2 };
    expect(src(['put'], JSON.stringify(one)).code).toBe(0);
    expect(src(['put'], JSON.stringify(two)).code).toBe(0);
    expect(src(['ref', 'set', 'notes/a', hashOf(one)]).code).toBe(0);
    expect(src(['ref', 'set', 'notes/a', hashOf(two)]).code).toBe(0);
    expect(src(['ref', 'set', 'todo', hashOf(one)]).code).toBe(0);
    const bundle = join(t.dir, 'b.zip');
    const exported = src(['export', bundle, '--json']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ objects: 2, references: 2 });

    const dst = at('dst');
    const imported = dst(['import', bundle, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout).references).toEqual({ created: 2, advanced: 0, unchanged: 0, behind: 0, conflicts: [] });
    expect(dst(['ref', 'log', 'notes/a']).stdout).toBe(src(['ref', 'log', 'notes/a']).stdout);

    // A third store whose todo is on its own history.
    const other = at('other');
    const mine = { mine: true };
    expect(other(['put'], JSON.stringify(mine)).code).toBe(0);
    expect(other(['ref', 'set', 'todo', hashOf(mine)]).code).toBe(0);
    const before = tree('other');
    const refused = other(['import', bundle]);
    expect(refused.stderr).toContain('CONFLICT');
    expect(refused.stdout).toBe(`conflict todo here 1:${hashOf(mine)} incoming 1:${hashOf(one)}\n`);
    // The exit code the CLI gives every reference conflict (cli/errors.ts).
    expect(refused.code).toBe(1);
    expect(tree('other')).toEqual(before);
    // --skip-conflicts: the rest comes in, todo stays, still listed.
    const skipped = other(['import', bundle, '--skip-conflicts']);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stdout).toBe(refused.stdout);
    expect(JSON.parse(other(['ref', 'get', 'todo', '--json']).stdout)).toMatchObject({ hash: hashOf(mine) });
    expect(JSON.parse(other(['ref', 'get', 'notes/a', '--json']).stdout)).toMatchObject({ hash: hashOf(two), seq: 2 });
  });

  it('a store with an intent graph of its own keeps it whole: the bundle\'s graph is left out, not merged, and its other references come in', () => {
    const graph = (store: string, goals: string[]) => {
      const run = at(store);
      for (const g of goals) expect(run(['intents', 'add', '--goal', g]).code).toBe(0);
      const ids = run(['intents', 'ls']).stdout.trim().split('\n').map((l) => l.split('\t')[0]!);
      expect(run(['edges', 'add', ids[0]!, ids[1]!, 'DependsOn']).code).toBe(0);
      return run;
    };
    const a = graph('graph-a', ['A one', 'A two']);
    expect(a(['put'], JSON.stringify({ shared: 1 })).code).toBe(0);
    expect(a(['ref', 'set', 'notes/x', hashOf({ shared: 1 })]).code).toBe(0);
    const bundle = join(t.dir, 'graph-a.zip');
    expect(a(['export', bundle]).code).toBe(0);
    const b = graph('graph-b', ['B one', 'B two']);
    const intentsBefore = b(['intents', 'ls']).stdout;
    const edgesBefore = b(['edges', 'ls']).stdout;
    const imported = b(['import', bundle]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain('kept the existing graph');
    expect(b(['intents', 'ls']).stdout).toBe(intentsBefore);
    expect(b(['edges', 'ls']).stdout).toBe(edgesBefore);
    expect(JSON.parse(b(['ref', 'get', 'notes/x', '--json']).stdout)).toMatchObject({ hash: hashOf({ shared: 1 }) });
    // Into a store without a graph, the bundle's graph comes with it.
    const c = at('graph-c');
    expect(c(['import', bundle]).code).toBe(0);
    expect(c(['intents', 'ls']).stdout).toBe(a(['intents', 'ls']).stdout);
    expect(c(['edges', 'ls']).stdout).toBe(a(['edges', 'ls']).stdout);
  });

  it('sync advances the target, reports a divergent name and exits 1 with it unmoved', () => {
    const src = at('sync-src');
    const dst = at('sync-dst');
    const v = [{ s: 1 }, { s: 2 }, { s: 3 }];
    for (const x of v) expect(src(['put'], JSON.stringify(x)).code).toBe(0);
    expect(src(['ref', 'set', 'a', hashOf(v[0])]).code).toBe(0);
    expect(src(['ref', 'set', 'b', hashOf(v[0])]).code).toBe(0);
    const target = ['--to', join(t.dir, 'sync-dst')];
    const first = src(['sync', ...target, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).references).toMatchObject({ created: 2, conflicts: [] });

    expect(src(['ref', 'set', 'a', hashOf(v[1])]).code).toBe(0);
    expect(src(['ref', 'set', 'b', hashOf(v[1])]).code).toBe(0);
    expect(dst(['put'], JSON.stringify({ d: 1 })).code).toBe(0);
    expect(dst(['ref', 'set', 'b', hashOf({ d: 1 })]).code).toBe(0);
    const second = src(['sync', ...target]);
    expect(second.code).toBe(1);
    expect(second.stdout).toBe(`conflict b here 2:${hashOf({ d: 1 })} incoming 2:${hashOf(v[1])}\n`);
    expect(second.stderr).toContain('1 advanced');
    expect(JSON.parse(dst(['ref', 'get', 'a', '--json']).stdout)).toMatchObject({ hash: hashOf(v[1]), seq: 2 });
    expect(JSON.parse(dst(['ref', 'get', 'b', '--json']).stdout)).toMatchObject({ hash: hashOf({ d: 1 }) });
  });
});
