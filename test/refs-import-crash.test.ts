/**
 * SIGKILL during a bundle import with references (docs/format.md, "Bundle
 * v2", Writing): a child process imports a bundle of 600 objects (500 of
 * them new to the target) and 150 references (50 of them fast-forwards of
 * names the target holds at an earlier version, 100 new) into a node-fs archive and is killed at random
 * moments: anywhere in the import, or just after its reference record
 * appeared (so the kill lands among the reference writes). After every kill:
 * every reference's hashes are present; once the record is rolled forward
 * (`clearBundleStaging`, as the next import does it), the target holds all
 * of the bundle's reference changes or none of them, and no staging is left;
 * importing again completes it.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { nodeFsAdapter } from '../adapters/node-fs/index.js';
import { importBundleFromFile } from '../node/bundle-file.js';
import { openArchive } from '../src/archive/index.js';
import { clearBundleStaging, exportBundle, importBundle } from '../src/bundle/index.js';
import { openReferences } from '../src/refs/index.js';
import { buildChildScript, removeChildScripts } from './support/archive-child.js';
import { mulberry32 } from './support/seeded-random.js';

const root = mkdtempSync(join(tmpdir(), 'refs-import-crash-'));
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await removeChildScripts();
});

const OBJECTS = 600;
const ADVANCED = 50;
const CREATED = 100;
const KILLS_ANYWHERE = 4;
const KILLS_AMONG_REFERENCE_WRITES = 4;

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

/** The reference record of a running import, if it has written one (`<dir>/bundle-staging/<id>/references.json`). */
function recordWritten(dir: string): boolean {
  const staging = join(dir, 'bundle-staging');
  if (!existsSync(staging)) return false;
  try {
    return readdirSync(staging).some((d) => existsSync(join(staging, d, 'references.json')));
  } catch {
    return false;
  }
}

/** Runs the importing child and SIGKILLs it `delayMs` after it is ready, or after its record appears. Resolves whether it finished first. */
function runAndKill(script: string, dir: string, bundle: string, delayMs: number | undefined, trigger: 'ready' | 'record'): Promise<{ finished: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [script, dir, bundle], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let poll: ReturnType<typeof setInterval> | undefined;
    const kill = () => setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const wasReady = out.includes('ready\n');
      out += chunk;
      if (!wasReady && out.includes('ready\n') && delayMs !== undefined) {
        if (trigger === 'ready') kill();
        else
          poll = setInterval(() => {
            if (recordWritten(dir)) {
              clearInterval(poll);
              kill();
            }
          }, 1);
      }
    });
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      if (code === 0 || signal === 'SIGKILL') resolve({ finished: out.includes('done\n'), ms: Date.now() - started });
      else reject(new Error(`bundle-import-child exited ${code}: ${stderr}`));
    });
  });
}

describe('SIGKILL during a bundle import with references', () => {
  it(`${KILLS_ANYWHERE} kills anywhere and ${KILLS_AMONG_REFERENCE_WRITES} among the reference writes: hashes always present, all of the references or none`, { timeout: 150_000 }, async () => {
    const script = await buildChildScript('bundle-import-child');
    const random = mulberry32(19);

    // The source: objects, and references at two versions (the target gets those), then a third (the bundle's).
    const source = await openArchive(memoryAdapter());
    const refs = openReferences(source);
    const values = Array.from({ length: OBJECTS }, (_, i) => ({ i, text: `object ${i}` }));
    const hashes = await source.putMany(values.slice(0, 100));
    const names = Array.from({ length: ADVANCED + CREATED }, (_, i) => `crash/${String(i).padStart(3, '0')}`);
    for (const [i, name] of names.slice(0, ADVANCED).entries()) {
      await refs.set(name, hashes[i]!);
      await refs.set(name, hashes[i + 50]!);
    }
    const earlier = await collect(exportBundle(source, { createdAt: 0 }));
    hashes.push(...(await source.putMany(values.slice(100)))); // the bundle brings these 500 objects
    for (const [i, name] of names.entries()) await refs.set(name, hashes[i + 100]!, { meta: { round: 3 } });
    const bundle = join(root, 'bundle.zip');
    writeFileSync(bundle, await collect(exportBundle(source, { createdAt: 0 })));

    // The template target: the earlier bundle (its 100 names at version 2, some objects).
    const template = join(root, 'template');
    {
      const t = await openArchive(nodeFsAdapter({ dir: template, durable: false }));
      await importBundle(t, earlier);
      await t.close();
    }
    const docsOf = async (dir: string): Promise<Map<string, string | undefined>> => {
      const adapter = nodeFsAdapter({ dir, durable: false });
      const out = new Map<string, string | undefined>();
      for (const name of names) {
        const b = await adapter.read(`refs/${name}.json`);
        out.set(name, b && Buffer.from(b).toString('utf8'));
      }
      await adapter.close?.();
      return out;
    };
    const before = await docsOf(template);

    // An uncut import: the documents a complete import leaves, and how long it takes.
    const whole = join(root, 'whole');
    cpSync(template, whole, { recursive: true });
    const uncut = await runAndKill(script, whole, bundle, undefined, 'ready');
    expect(uncut.finished).toBe(true);
    const after = await docsOf(whole);
    for (const name of names) expect(after.get(name)).not.toBe(before.get(name));

    const outcomes = { none: 0, all: 0, rolledForward: 0, finished: 0 };
    let importedAgain = false;
    const rounds = [...Array<'ready'>(KILLS_ANYWHERE).fill('ready'), ...Array<'record'>(KILLS_AMONG_REFERENCE_WRITES).fill('record')];
    for (const [round, trigger] of rounds.entries()) {
      const dir = join(root, `r${round}`);
      cpSync(template, dir, { recursive: true });
      const delay = Math.floor(random() * (trigger === 'ready' ? uncut.ms : 400));
      const run = await runAndKill(script, dir, bundle, delay, trigger);
      if (run.finished) outcomes.finished++;

      // A kill between creating a lock file and writing its holder into it leaves a lock only its age can judge
      // (node-fs: staleLockMs, 30 s by default): the child is dead, so a second is enough here.
      const archive = await openArchive(nodeFsAdapter({ dir, durable: false, staleLockMs: 1000 }));
      const check = async () => {
        const report = await openReferences(archive).check();
        expect(report.dangling, `round ${round}`).toEqual([]);
      };
      // Reference documents are written only after their objects: nothing dangles, even before the roll-forward.
      await check();
      const hadRecord = recordWritten(dir);
      await clearBundleStaging(archive.adapter);
      await check();
      expect(existsSync(join(dir, 'bundle-staging')) ? readdirSync(join(dir, 'bundle-staging')).flatMap((d) => readdirSync(join(dir, 'bundle-staging', d))) : []).toEqual([]);

      const now = await docsOf(dir);
      const moved = names.filter((n) => now.get(n) === after.get(n));
      const kept = names.filter((n) => now.get(n) === before.get(n));
      expect(moved.length + kept.length, `round ${round}: every name is at the bundle's state or the previous one`).toBe(names.length);
      expect([0, names.length], `round ${round}: ${moved.length} of ${names.length} moved`).toContain(moved.length);
      if (moved.length === 0) outcomes.none++;
      else if (hadRecord) outcomes.rolledForward++;
      else outcomes.all++;

      // Importing again completes whatever the kill interrupted (once: it takes as long as the uncut import).
      if (round === rounds.length - 1 || (moved.length === 0 && !importedAgain)) {
        importedAgain = true;
        await importBundleFromFile(archive, bundle);
        expect(await docsOf(dir)).toEqual(after);
        await check();
      }
      await archive.close();
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(
      `import crash test: uncut import ${uncut.ms} ms; after ${rounds.length} kills: none ${outcomes.none}, all ${outcomes.all}, ` +
        `all by roll-forward of the record ${outcomes.rolledForward}; ${outcomes.finished} finished before the kill`,
    );
    // The record trigger must have landed some kills among the reference writes.
    expect(outcomes.rolledForward).toBeGreaterThan(0);
  });
});
