/** The CLI's intent-graph, bundle and sync commands, run as a subprocess on the built dist/cli.js. */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { makeHostileBundles } from './fixtures/make-hostile-bundles.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRadosgw, type RadosgwServer } from './support/radosgw.js';
import { cliBuilt, runCli, runCliAll, tempDir } from './support/cli.js';

const t = tempDir();
const store = join(t.dir, 'store');
const cli = (args: string[], input?: string, env?: Record<string, string>) => runCli(['--store', store, ...args], { input, env });
const ccos = fileURLToPath(new URL('./fixtures/ccos/storage-backup-v1.1.json', import.meta.url));

beforeAll(() => {
  if (!cliBuilt()) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
});
afterAll(() => t.cleanup());

describe('cli: intent graph', () => {
  let a = '';
  let b = '';

  it('intents add --goal creates intents with generated ids', () => {
    const r1 = cli(['intents', 'add', '--goal', 'ship the backup format']);
    expect(r1.code).toBe(0);
    a = r1.stdout.trim();
    expect(a).toMatch(/^intent-[0-9a-f]{16}$/);
    b = cli(['intents', 'add', '--goal', 'write the docs']).stdout.trim();
    expect(b).not.toBe(a);
  });

  it('intents add FILE stores a StorableIntent; invalid intents exit 3 naming the path', () => {
    const shown = JSON.parse(cli(['intents', 'show', a]).stdout);
    const copy = { ...shown, intent_id: 'custom-1', goal: 'from a file', priority: 7, status: 'Suspended' };
    const file = join(t.dir, 'intent.json');
    writeFileSync(file, JSON.stringify(copy));
    expect(cli(['intents', 'add', file]).stdout.trim()).toBe('custom-1');
    const bad = cli(['intents', 'add', '-'], JSON.stringify({ ...copy, priority: -1 }));
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('$.priority');
  });

  it('intents ls filters by status and goal', () => {
    expect(cli(['intents', 'ls']).stdout.trim().split('\n').length).toBe(3);
    const suspended = cli(['intents', 'ls', '--status', 'Suspended']).stdout.trim().split('\n');
    expect(suspended).toEqual([expect.stringMatching(/^custom-1\tSuspended\t7\tfrom a file$/)]);
    expect(cli(['intents', 'ls', '--goal-contains', 'docs']).stdout).toContain(b);
    expect(cli(['intents', 'ls', '--status', 'Sleeping']).code).toBe(2);
  });

  it('edges add / ls, with unknown intents refused', () => {
    expect(cli(['edges', 'add', a, b, 'DependsOn', '--weight', '0.5']).code).toBe(0);
    expect(cli(['edges', 'add', b, 'custom-1', 'Enables']).code).toBe(0);
    expect(cli(['edges', 'ls']).stdout.trim().split('\n')).toEqual([`${a}\t${b}\tDependsOn\t0.5`, `${b}\tcustom-1\tEnables\t-`]);
    expect(cli(['edges', 'ls', 'custom-1']).stdout.trim().split('\n').length).toBe(1);
    expect(cli(['edges', 'add', a, 'ghost', 'Blocks']).code).toBe(1);
    expect(cli(['edges', 'add', a, b, 'Likes']).code).toBe(2);
    expect(cli(['edges', 'add', a, b, 'Blocks', '--weight', 'heavy']).code).toBe(2);
  });

  it('intents snapshot prints the RTFS snapshot', () => {
    const r = cli(['intents', 'snapshot']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^(;[^\n]*\n)*\(intent-graph/);
    expect(r.stdout).toContain('ship the backup format');
  });

  it('intents show / rm of an unknown id exit 1', () => {
    expect(cli(['intents', 'show', 'ghost']).code).toBe(1);
    expect(cli(['intents', 'rm', 'ghost']).code).toBe(1);
    expect(cli(['intents', 'frob']).code).toBe(2);
  });

  it('backup writes StorageBackupData v1.1; restore brings it back into another store', () => {
    const out = join(t.dir, 'backup.json');
    expect(cli(['backup', out, '--note', 'nightly']).code).toBe(0);
    const data = JSON.parse(readFileSync(out, 'utf8'));
    expect(data.version).toBe('1.1');
    expect(Object.keys(data.intents).sort()).toEqual([a, b, 'custom-1'].sort());
    expect(data.manifest.note).toBe('nightly');
    expect(data.rtfs).toContain('(intent-graph');
    const other = join(t.dir, 'other');
    expect(runCli(['--store', other, 'restore', out]).code).toBe(0);
    expect(runCli(['--store', other, 'intents', 'ls']).stdout).toBe(cli(['intents', 'ls']).stdout);
    expect(runCli(['--store', other, 'edges', 'ls']).stdout).toBe(cli(['edges', 'ls']).stdout);
  });

  it('restores a backup written by the original CCOS implementation', () => {
    const target = join(t.dir, 'ccos');
    const r = runCli(['--store', target, 'restore', ccos]);
    expect(r.code, r.stderr).toBe(0);
    const ids = Object.keys(JSON.parse(readFileSync(ccos, 'utf8')).intents).sort();
    expect(runCli(['--store', target, 'intents', 'ls']).stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(ids);
  });

  it('a v2.0 backup exits 3 with UNSUPPORTED_VERSION and leaves the graph as it was', () => {
    const before = cli(['intents', 'ls']).stdout;
    const v2 = join(t.dir, 'v2.json');
    writeFileSync(v2, JSON.stringify({ ...JSON.parse(readFileSync(ccos, 'utf8')), version: '2.0' }));
    const r = cli(['restore', v2]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^archive-storage: UNSUPPORTED_VERSION: /);
    const truncated = join(t.dir, 'trunc.json');
    writeFileSync(truncated, readFileSync(ccos, 'utf8').slice(0, 200));
    expect(cli(['restore', truncated]).code).toBe(3);
    expect(cli(['restore', join(t.dir, 'missing.json')]).code).toBe(3);
    expect(cli(['intents', 'ls']).stdout).toBe(before);
  });
});

describe('cli: bundles', () => {
  it('export then import into a fresh store gives the same objects and the intent graph', () => {
    cli(['put', '--ndjson'], Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })).join('\n'));
    const zip = join(t.dir, 'out.zip');
    const r = cli(['export', zip]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(t.dir).filter((f) => f.includes('.partial'))).toEqual([]);
    const fresh = join(t.dir, 'fresh');
    const imp = runCli(['--store', fresh, '--json', 'import', zip]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout).intentGraph).toBe('restored');
    expect(runCli(['--store', fresh, 'ls']).stdout.split('\n').sort()).toEqual(cli(['ls']).stdout.split('\n').sort());
    expect(runCli(['--store', fresh, 'intents', 'ls']).stdout).toBe(cli(['intents', 'ls']).stdout);
    // A second import adds nothing.
    const again = JSON.parse(runCli(['--store', fresh, '--json', 'import', zip]).stdout);
    expect(again.added).toBe(0);
  });

  it('a hostile bundle exits 3 with its code and the store is unchanged', () => {
    const before = cli(['ls']).stdout;
    const evil = join(t.dir, 'evil.zip');
    writeFileSync(evil, zipSync({ '../escape.json': new TextEncoder().encode('{}') }));
    const r = cli(['import', evil]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^archive-storage: BUNDLE_[A-Z_]+: /);
    writeFileSync(evil, 'not a zip at all');
    expect(cli(['import', evil]).code).toBe(3);
    expect(cli(['import', join(t.dir, 'nope.zip')]).code).not.toBe(0);
    expect(cli(['ls']).stdout).toBe(before);
  });

  it('the generated hostile corpus is refused by the CLI too, each with its own code', async () => {
    const before = cli(['ls']).stdout;
    // Cases that need non-default limits are the library's to test; the CLI uses the defaults.
    const cases = makeHostileBundles().filter((c) => c.code !== null && !c.limits);
    expect(cases.length).toBeGreaterThanOrEqual(10);
    const files = cases.map((c) => {
      const file = join(t.dir, `${c.name}.zip`);
      writeFileSync(file, c.bytes);
      return file;
    });
    // Independent refusals, side by side (60 cases one after another passed 60 s on a loaded machine).
    const results = await runCliAll(files.map((file) => ({ args: ['--store', store, '--json', 'import', file] })));
    for (const [i, c] of cases.entries()) {
      expect(results[i]!.code, c.name).toBe(3);
      expect(JSON.parse(results[i]!.stderr).code, c.name).toBe(c.code);
    }
    expect(cli(['ls']).stdout).toBe(before);
  });
});

describe('cli: sync', () => {
  // A throwaway Ceph radosgw (real S3: SigV4 checked, listings in order), one for this block.
  let s3: RadosgwServer;
  beforeAll(async () => {
    s3 = await startRadosgw({ buckets: ['backups'] });
  }, 60_000);
  afterAll(async () => s3?.close());

  it('sync --to s3:// then to a fresh directory gives identical hashes', () => {
    const env = { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey };
    const up = runCli(['--store', store, '--json', 'sync', '--to', 's3://backups/laptop', '--endpoint', s3.endpoint], { env });
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).copied).toBeGreaterThan(0);
    const remote = runCli(['--store', 's3://backups/laptop', '--endpoint', s3.endpoint, 'ls'], { env });
    expect(remote.code, remote.stderr).toBe(0);
    expect(remote.stdout.split('\n').sort()).toEqual(cli(['ls']).stdout.split('\n').sort());
    const down = join(t.dir, 'down');
    mkdirSync(down);
    const r = runCli(['--store', 's3://backups/laptop', '--json', 'sync', '--to', down], { env: { ...env, ARCHIVE_S3_ENDPOINT: s3.endpoint } });
    expect(r.code, r.stderr).toBe(0);
    expect(runCli(['--store', down, 'ls']).stdout.split('\n').sort()).toEqual(cli(['ls']).stdout.split('\n').sort());
    expect(runCli(['--store', down, 'verify']).code).toBe(0);
    // Resumable / idempotent: a second run copies nothing.
    expect(JSON.parse(runCli(['--store', store, '--json', 'sync', '--to', down]).stdout).copied).toBe(0);
  });

  it('an unreachable or unconfigured S3 store exits 4 with what to do', () => {
    const noCreds = runCli(['--store', 's3://backups/x', '--endpoint', s3.endpoint, 'ls']);
    expect(noCreds.code).toBe(4);
    expect(noCreds.stderr).toContain('AWS_ACCESS_KEY_ID');
    const env = { AWS_ACCESS_KEY_ID: 'NOBODY', AWS_SECRET_ACCESS_KEY: 'x' };
    const down = runCli(['--store', 's3://backups/x', '--endpoint', 'http://127.0.0.1:9', 'ls'], { env });
    expect(down.code).toBe(4);
  });

  it('a wrong secret exits 4 (AUTH_REFUSED) saying the credentials were refused, at once (no retries)', () => {
    const env = { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: 'not-the-secret' };
    const t0 = Date.now();
    const r = runCli(['--store', store, '--json', 'sync', '--to', 's3://backups/refused', '--endpoint', s3.endpoint], { env });
    expect(r.code, r.stderr).toBe(4);
    const error = JSON.parse(r.stderr) as { code: string; message: string };
    expect(error.code).toBe('AUTH_REFUSED');
    expect(error.message).toContain('refused the credentials');
    expect(error.message).toContain('SignatureDoesNotMatch');
    expect(error.message).toContain('AWS_SECRET_ACCESS_KEY');
    expect(Date.now() - t0).toBeLessThan(15_000);
    const plain = runCli(['--store', 's3://backups/laptop', '--endpoint', s3.endpoint, 'ls'], { env });
    expect(plain.code).toBe(4);
    expect(plain.stderr).toMatch(/refused the credentials.*access key id and secret/);
  });

  it('sync needs --to', () => {
    expect(cli(['sync']).code).toBe(2);
  });
});
