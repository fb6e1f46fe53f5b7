/**
 * The CLI as a new user meets it (issue 17, item 4): option values, help and
 * typos, editing the intent graph, tab-separated output. Runs the built dist/cli.js.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBuilt, runCli, runCliAll, tempDir } from './support/cli.js';

const t = tempDir();
const store = join(t.dir, 'store');
const cli = (args: string[], input?: string) => runCli(['--store', store, ...args], { input });
const edgeLines = () => cli(['edges', 'ls']).stdout;

beforeAll(() => {
  if (!cliBuilt()) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
});
afterAll(() => t.cleanup());

let a = '';
let b = '';

describe('cli: option values', () => {
  beforeAll(() => {
    a = cli(['intents', 'add', '--goal', 'first']).stdout.trim();
    b = cli(['intents', 'add', '--goal', 'second']).stdout.trim();
    expect(a).toMatch(/^intent-[0-9a-f]{16}$/);
  });

  it('--weight takes negative numbers, with a space or an =', () => {
    const r = cli(['edges', 'add', a, b, 'DependsOn', '--weight', '-0.5']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(cli(['edges', 'add', b, a, 'Blocks', '--weight=-2.5']).code).toBe(0);
    expect(cli(['--json', 'edges', 'add', a, b, 'Enables', '--weight', '1e-7']).stdout.trim()).toBe(
      JSON.stringify({ from: a, to: b, edge_type: 'Enables', metadata: null, weight: 1e-7 }),
    );
    expect(edgeLines().trim().split('\n')).toEqual([`${a}\t${b}\tDependsOn\t-0.5`, `${b}\t${a}\tBlocks\t-2.5`, `${a}\t${b}\tEnables\t1e-7`]);
  });

  it('--weight refuses what is not a plain decimal a double holds exactly, and stores nothing', async () => {
    const before = edgeLines();
    const bads = ['0x10', ' 1', '1 ', '1e-400', '1e400', '12345678901234567890', 'Infinity', 'NaN', '', '+1', '.5', '1.', '1,5', '0.1.2', 'heavy'];
    // Side by side: each is refused as a usage error; what the store holds is compared once all have exited.
    const results = await runCliAll(bads.map((bad) => ({ args: ['--store', store, 'edges', 'add', a, b, 'RelatedTo', '--weight', bad] })));
    for (const [i, bad] of bads.entries()) {
      const r = results[i]!;
      expect(r.code, JSON.stringify(bad)).toBe(2);
      expect(r.stderr, JSON.stringify(bad)).toMatch(/^archive-storage: USAGE: --weight /);
    }
    expect(results[bads.indexOf('12345678901234567890')]!.stderr).toContain('cannot be held exactly');
    expect(results[bads.indexOf('1e-400')]!.stderr).toContain('underflows');
    expect(edgeLines()).toBe(before);
  });

  it('an unknown option suggests the closest one', () => {
    const r = cli(['edges', 'ls', '--wieght', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean "--weight"?');
  });
});

describe('cli: editing the intent graph', () => {
  it('edges add warns on a duplicate and on a self edge, and stores both (CCOS allows them)', () => {
    const dup = cli(['edges', 'add', a, b, 'DependsOn', '--weight', '-0.5']);
    expect(dup.code).toBe(0);
    expect(dup.stderr).toMatch(/^archive-storage: warning: .* is there already \(1 time\); stored another/);
    const self = cli(['edges', 'add', a, a, 'RelatedTo']);
    expect(self.code).toBe(0);
    expect(self.stderr).toContain('links an intent to itself');
    expect(cli(['--quiet', 'edges', 'add', a, a, 'RelatedTo']).stderr).toBe('');
    expect(edgeLines().split('\n').filter((l) => l === `${a}\t${b}\tDependsOn\t-0.5`)).toHaveLength(2);
  });

  it('edges rm removes one matching edge, --weight narrows, --all removes every one', () => {
    const r = cli(['edges', 'rm', a, b, 'DependsOn']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^removed 1 edge .*; 1 more edge matches/);
    expect(edgeLines().split('\n').filter((l) => l.startsWith(`${a}\t${b}\tDependsOn`))).toHaveLength(1);
    expect(cli(['edges', 'rm', a, b, 'DependsOn', '--weight', '0.5']).code).toBe(1);
    expect(cli(['edges', 'rm', a, b, 'DependsOn', '--weight', '-0.5']).code).toBe(0);
    expect(cli(['edges', 'rm', a, b, 'DependsOn']).code).toBe(1);
    const all = cli(['--json', 'edges', 'rm', a, a, 'RelatedTo', '--all']);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ left: 0, removed: [{ from: a, to: a }, { from: a, to: a }] });
    expect(edgeLines().trim().split('\n')).toEqual([`${b}\t${a}\tBlocks\t-2.5`, `${a}\t${b}\tEnables\t1e-7`]);
  });

  it('edges rm refuses bad input with a usage error and removes nothing', () => {
    const before = edgeLines();
    const typo = cli(['edges', 'rm', b, a, 'Blocked']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean "Blocks"?');
    expect(cli(['edges', 'rm', b, a]).code).toBe(2);
    expect(cli(['edges', 'rm', b, a, 'Blocks', '--weight', '0x1']).code).toBe(2);
    expect(cli(['edges', 'rm', b, a, 'Blocks', '--status', 'Active']).code).toBe(2);
    expect(edgeLines()).toBe(before);
  });

  it('intents set changes status, goal, priority and name, and stamps updated_at', () => {
    const old = JSON.parse(cli(['intents', 'show', a]).stdout);
    const r = cli(['intents', 'set', a, '--status', 'Completed', '--priority', '7', '--goal', 'first, done', '--name', 'one']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('status "Active" -> "Completed"');
    const now = JSON.parse(cli(['intents', 'show', a]).stdout);
    expect(now).toMatchObject({ status: 'Completed', priority: 7, goal: 'first, done', name: 'one' });
    expect(now.updated_at).toBeGreaterThanOrEqual(old.updated_at);
    expect({ ...now, status: old.status, priority: old.priority, goal: old.goal, name: old.name, updated_at: old.updated_at }).toEqual(old);
    expect(cli(['intents', 'set', a, '--name', '']).code).toBe(0);
    expect(JSON.parse(cli(['intents', 'show', a]).stdout).name).toBeNull();
    expect(cli(['intents', 'ls', '--status', 'Completed']).stdout.trim()).toBe(`${a}\tCompleted\t7\tfirst, done`);
  });

  it('intents set refuses bad values (exit 2), unknown ids (exit 1), and changes nothing', () => {
    const before = cli(['intents', 'show', a]).stdout;
    const typo = cli(['intents', 'set', a, '--status', 'completed']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean "Completed"?');
    for (const p of ['-1', '1.5', '4294967296', '0x10', ' 3']) expect(cli(['intents', 'set', a, '--priority', p]).code, p).toBe(2);
    expect(cli(['intents', 'set', a]).code).toBe(2);
    expect(cli(['intents', 'set', a, '--weight', '1']).code).toBe(2);
    expect(cli(['intents', 'set', 'ghost', '--status', 'Failed']).code).toBe(1);
    expect(cli(['intents', 'show', a]).stdout).toBe(before);
  });

  it('intents ls escapes tabs, newlines and backslashes, so each line has four columns', () => {
    const goal = 'tab\there\nnew line\r\\back';
    const id = cli(['intents', 'add', '--goal', goal]).stdout.trim();
    const line = cli(['intents', 'ls', '--goal-contains', 'tab']).stdout;
    expect(line).toBe(`${id}\tActive\t0\ttab\\there\\nnew line\\r\\\\back\n`);
    expect(line.trimEnd().split('\t')).toHaveLength(4);
    expect(JSON.parse(cli(['--json', 'intents', 'ls', '--goal-contains', 'tab']).stdout)[0].goal).toBe(goal);
  });
});

describe('cli: help and typos', () => {
  it('put --help, help put and intents --help print the command\'s own help', async () => {
    const cases = [
      [['put', '--help'], 'archive-storage put [--ndjson] [FILE|-]'],
      [['help', 'put'], 'archive-storage put [--ndjson] [FILE|-]'],
      [['intents', '--help'], 'archive-storage intents set ID'],
      [['intents', 'ls', '-h'], 'archive-storage intents ls'],
      [['edges', '--help'], 'archive-storage edges rm FROM TO TYPE'],
      [['export', '--help'], 'SOURCE_DATE_EPOCH'],
    ] as const;
    const results = await runCliAll(cases.map(([args]) => ({ args: [...args] })));
    for (const [i, [args, synopsis]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toContain(synopsis);
      expect(r.stdout, args.join(' ')).not.toContain('Global options:');
    }
    expect(runCli(['help']).stdout).toContain('Global options:');
  });

  it('a mistyped command says what was meant', () => {
    const r = runCli(['gett', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('archive-storage: USAGE: unknown command "gett"; did you mean "get"? (see archive-storage --help)\n');
    expect(runCli(['help', 'gett']).stderr).toContain('did you mean "get"?');
    expect(runCli(['intnets', 'ls']).stderr).toContain('did you mean "intents"?');
    expect(cli(['intents', 'lss']).stderr).toContain('did you mean "ls"?');
    expect(runCli(['frobnicate']).stderr).not.toContain('did you mean');
  });

  it('--help lists every exit code, 130 included', () => {
    const help = runCli(['--help']).stdout;
    for (const code of ['0', '1', '2', '3', '4', '130']) expect(help).toMatch(new RegExp(`^  ${code} +\\S`, 'm'));
    expect(help).toContain('intent-<16 hex>');
  });
});

describe('cli: plurals', () => {
  it('one object, one edge, one intent', () => {
    const single = join(t.dir, 'single');
    expect(runCli(['--store', single, 'put'], { input: '{"only":1}' }).code).toBe(0);
    const zip = join(t.dir, 'single.zip');
    expect(runCli(['--store', single, 'export', zip]).stderr).toMatch(/^exported 1 object \(\d+ bytes\) to /);
    const other = join(t.dir, 'other');
    expect(runCli(['--store', other, 'import', zip]).stderr).toMatch(/^imported 1 new object \(0 already present\) from /);
    const backup = join(t.dir, 'b.json');
    writeFileSync(backup, '');
    const one = join(t.dir, 'one');
    expect(runCli(['--store', one, 'intents', 'add', '--goal', 'x']).code).toBe(0);
    expect(runCli(['--store', one, 'backup', backup]).stderr).toBe(`backed up 1 intent and 0 edges to ${backup}\n`);
  });
});
